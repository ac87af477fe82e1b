"""Faults the pipeline must come through, on the demo platform's eight accounts: a load, a validation,
a dbt build, a publication and a rebuild killed mid-way, two writers at once (a rebuild racing a load),
two extractions landing the same content at once, a disk filling up under the landing zone and under
the warehouse, and a backfill that must score like the same dates run one after another.

Steps run in child processes where the fault needs one. A child can be held at a chosen moment (inside
the load's transaction, just after its commit, just before an extraction moves into place) until the
test lets it go or kills it: the hooks are patched in by the child's own code below, never by the package.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import DEMO_UNTIL, demo_home_at, query, rapport_environment

pytestmark = pytest.mark.slow

PREVIOUS = DEMO_UNTIL - timedelta(weeks=1)
MARTS = ("dim_accounts", "fct_account_weekly_metrics", "fct_relationship_scores")
HELD_TIMEOUT_SECONDS = 120

# The child: one pipeline step, held where argv says until the file ``release`` appears.
CHILD = r"""
import sys
import time
from datetime import datetime
from pathlib import Path

step, moment, ready, release, until, *rest = sys.argv[1:]


def hold():
    Path(ready).write_text("held")
    deadline = time.monotonic() + 120
    while not Path(release).exists():
        if time.monotonic() > deadline:
            raise SystemExit("held for 120 s and never released")
        time.sleep(0.01)


if moment == "inside-transaction":
    import rapport.load

    real_upsert = rapport.load._upsert

    def upsert_then_hold(connection, record_type, files, **options):
        rows = real_upsert(connection, record_type, files, **options)
        if record_type.name == "posts":  # snapshots and posts written, interactions not yet, no commit
            hold()
        return rows

    rapport.load._upsert = upsert_then_hold
elif moment == "after-commit":
    import rapport.load

    real_connect = rapport.load.connect

    class HeldAfterCommit:
        def __init__(self, connection):
            self._connection = connection

        def __getattr__(self, name):
            return getattr(self._connection, name)

        def execute(self, statement, *arguments):
            result = self._connection.execute(statement, *arguments)
            if statement == "commit":  # committed, not yet checkpointed: the load is in the WAL only
                hold()
            return result

    rapport.load.connect = lambda warehouse, read_only=False: HeldAfterCommit(real_connect(warehouse, read_only))
elif moment == "before-rename":
    real_rename = Path.rename

    def rename_once_released(self, target):
        if self.name.startswith(".landing-"):
            hold()
        return real_rename(self, target)

    Path.rename = rename_once_released
elif moment == "inside-validation":  # the date's staged and quarantined folders emptied, none written
    import rapport.validation

    real_validate_group = rapport.validation._validate_group

    def validate_group_held(*arguments):
        hold()
        return real_validate_group(*arguments)

    rapport.validation._validate_group = validate_group_held
elif moment == "before-replace":  # a rebuild's new warehouse complete, aside; the old one in place
    import rapport.load

    real_replace_warehouse = rapport.load.replace_warehouse

    def replace_warehouse_held(new, warehouse):
        hold()
        return real_replace_warehouse(new, warehouse)

    rapport.load.replace_warehouse = replace_warehouse_held
elif moment == "before-serving-rename":  # a publication's new serving file written, not yet in place
    real_replace = Path.replace

    def replace_once_released(self, target):
        if self.name.startswith(".rapport.duckdb"):
            hold()
        return real_replace(self, target)

    Path.replace = replace_once_released

from rapport import pipeline

if step == "validate":  # it says when it waits for another validation of its date
    import logging

    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
until = datetime.fromisoformat(until)
if step == "load":
    print(pipeline.load_run(until), flush=True)
elif step == "extract":
    print(pipeline.extract_account(rest[0], until)["extraction_id"], flush=True)
elif step == "validate":
    print(pipeline.validate_run(until), flush=True)
elif step == "build":
    pipeline.build_models()
elif step == "publish":
    print(pipeline.publish_marts(until), flush=True)
elif step == "rebuild":
    print(pipeline.rebuild(), flush=True)
"""


@dataclass
class Child:
    """A pipeline step running in its own process, maybe held at a moment of the test's choosing."""

    process: subprocess.Popen
    ready: Path
    release: Path
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_until_held(self) -> None:
        deadline = time.monotonic() + HELD_TIMEOUT_SECONDS
        while not self.ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"the child never reached its moment (exit {self.process.poll()}):\n{self.output}"
                )
            time.sleep(0.01)

    def kill(self) -> None:
        """SIGKILL the child where it is held, and its own children (dbt): no handler, no cleanup, as
        the kernel's OOM killer does."""
        os.killpg(self.process.pid, signal.SIGKILL)
        assert self.process.wait(30) == -signal.SIGKILL

    def finish(self) -> int:
        """Let the child go on; return its exit status."""
        self.release.touch()
        return self.process.wait(HELD_TIMEOUT_SECONDS)


def start_step(
    workdir: Path, step: str, *arguments: str, moment: str = "none", release: Path | None = None
) -> Child:
    """Start ``step`` (``load``, ``validate``, ``build``, ``publish``, ``rebuild``, or ``extract`` and an
    account) for DEMO_UNTIL in a child process, in a session of its own, with this process's
    environment; ``release`` may be shared by several children."""
    workdir.mkdir(parents=True, exist_ok=True)
    ready, log = workdir / "ready", workdir / "output.log"
    release = release or workdir / "release"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                step,
                moment,
                str(ready),
                str(release),
                DEMO_UNTIL.isoformat(),
                *arguments,
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
            start_new_session=True,
        )
    return Child(process, ready, release, log)


# Columns holding the wall clock of a load or a build: the one thing two identical runs do not share.
WALL_CLOCK_COLUMNS = ("loaded_at", "loaded_through_at")


def tables(warehouse: Path, schema: str) -> dict[str, list[tuple]]:
    """Every row of every table of a schema, in order, without the wall-clock columns."""
    columns: dict[str, list[str]] = {}
    for table, column in query(
        warehouse,
        "select table_name, column_name from information_schema.columns where table_schema = ? "
        "order by table_name, ordinal_position",
        [schema],
    ):
        columns.setdefault(table, [])
        if column not in WALL_CLOCK_COLUMNS:
            columns[table].append(f'"{column}"')
    return {
        table: query(warehouse, f"select {', '.join(kept)} from {schema}.{table} order by all")
        for table, kept in columns.items()
    }


def assert_same_tables(actual: dict[str, list[tuple]], expected: dict[str, list[tuple]]) -> None:
    assert sorted(actual) == sorted(expected)
    for name, rows in expected.items():
        if actual[name] != rows:
            first = next(
                (
                    index
                    for index, pair in enumerate(zip(actual[name], rows, strict=False))
                    if pair[0] != pair[1]
                ),
                min(len(actual[name]), len(rows)),
            )
            pytest.fail(
                f"{name}: {len(actual[name])} rows, expected {len(rows)}; first difference at row {first}:\n"
                f"  got      {actual[name][first : first + 1]}\n  expected {rows[first : first + 1]}"
            )


def warehouse_of(home: Path) -> Path:
    return home / "data" / "warehouse.duckdb"


def landed(home: Path) -> list[str]:
    """The extraction directories of a home's landing zone (their names are content hashes)."""
    return sorted(str(path.relative_to(home)) for path in (home / "data" / "landing").rglob("extraction=*"))


def copy_home(template: Path, destination: Path) -> Path:
    shutil.copytree(template, destination)
    return destination


WEEKLY_RUN_DATES = [DEMO_UNTIL - timedelta(weeks=weeks) for weeks in range(7, -1, -1)]


@dataclass(frozen=True)
class WeeklyRuns:
    """Eight weekly runs, one after another (rapport_nightly with RAPPORT_SCHEDULE="0 0 * * 1"), each
    extracting, validating and loading; dbt builds once, from scratch, after the last load. Their
    marts are what any other way of running these dates (a backfill, a run that crashed and ran again)
    must give: a build reads the raw tables only, and building only once leaves no incremental state
    that could hide a difference."""

    home: Path
    ready_to_load: Path  # a copy of ``home`` between the last run's validate and its load
    landed: list[str]
    raw: dict[str, list[tuple]]
    marts: dict[str, list[tuple]]


@pytest.fixture(scope="module")
def weekly(tmp_path_factory: pytest.TempPathFactory) -> WeeklyRuns:
    from rapport import pipeline

    root = tmp_path_factory.mktemp("weekly")
    with rapport_environment(demo_home_at(root / "home")) as home:
        for until in WEEKLY_RUN_DATES:
            for account_id in pipeline.list_account_ids():
                pipeline.extract_account(account_id, until)
            assert pipeline.validate_run(until)["quarantined"] == []
            if until == DEMO_UNTIL:
                ready_to_load = copy_home(home, root / "ready-to-load")
            pipeline.load_run(until)
        pipeline.build_models()
    marts = tables(warehouse_of(home), "marts")
    assert set(MARTS) <= set(marts) and all(marts[name] for name in MARTS)
    return WeeklyRuns(home, ready_to_load, landed(home), tables(warehouse_of(home), "raw"), marts)


# A backfill of eight weeks against the same eight weeks run one after another


def test_a_weekly_backfill_that_reran_one_date_lands_loads_and_scores_like_the_runs_one_after_another(
    weekly: WeeklyRuns, tmp_path: Path
):
    """The eight dates as `airflow backfill create --max-active-runs 1` runs them, every step of every
    run, build included: the logical dates as Airflow passes them (pendulum's), the mapped extractions
    finishing in another order, and the third run's load failing (the warehouse held by another
    writer) while the backfill goes on; that run is cleared and re-run whole once the others are done,
    so its extraction is planned again with later ones landed, and its older observations are loaded
    and built after newer ones.

    In this process, not under the scheduler: eight runs of rapport_nightly under `airflow standalone`
    take some six minutes (each task its own process); test_scheduler.py runs the DAG there.
    """
    import pendulum

    from rapport import pipeline

    def run(until: datetime, account_ids: list[str], load_fails: bool = False) -> None:
        for account_id in account_ids:
            pipeline.extract_account(account_id, until)
        assert pipeline.validate_run(until)["quarantined"] == []
        if not load_fails:
            pipeline.load_run(until)
            pipeline.build_models()

    with rapport_environment(demo_home_at(tmp_path / "backfill")) as backfill:
        account_ids = pipeline.list_account_ids()
        dates = [pendulum.instance(until) for until in WEEKLY_RUN_DATES]
        for until in dates:
            run(until, account_ids[::-1], load_fails=until == dates[2])
        run(dates[2], account_ids)  # cleared and re-run

    assert landed(backfill) == weekly.landed
    assert len(weekly.landed) == 8 * 8  # one extraction per account and run date
    assert_same_tables(tables(warehouse_of(backfill), "raw"), weekly.raw)
    assert_same_tables(tables(warehouse_of(backfill), "marts"), weekly.marts)


# A load killed


def test_a_load_killed_inside_its_transaction_leaves_the_warehouse_as_it_was_and_a_rerun_scores_like_a_clean_run(
    weekly: WeeklyRuns, tmp_path: Path
):
    from rapport import pipeline

    home = copy_home(weekly.ready_to_load, tmp_path / "home")
    warehouse = warehouse_of(home)
    before = tables(warehouse, "raw")
    assert len(before["load_batches"]) == 7 * 8  # the seven runs before
    with rapport_environment(home):
        child = start_step(tmp_path / "load", "load", moment="inside-transaction")
        child.wait_until_held()
        child.kill()

        assert_same_tables(tables(warehouse, "raw"), before)  # it opens; nothing of the killed load in it
        pipeline.load_run(DEMO_UNTIL)
        pipeline.build_models()
    assert_same_tables(tables(warehouse, "raw"), weekly.raw)
    assert_same_tables(tables(warehouse, "marts"), weekly.marts)


def test_a_load_killed_after_its_commit_is_recovered_whole_from_the_wal_and_loading_again_changes_nothing(
    weekly: WeeklyRuns, tmp_path: Path
):
    from rapport import pipeline

    home = copy_home(weekly.ready_to_load, tmp_path / "home")
    warehouse = warehouse_of(home)
    with rapport_environment(home):
        child = start_step(tmp_path / "load", "load", moment="after-commit")
        child.wait_until_held()
        wal = warehouse.with_name(f"{warehouse.name}.wal")
        assert wal.stat().st_size > 0  # the commit is in the write-ahead log, not yet in the file
        child.kill()

        assert_same_tables(tables(warehouse, "raw"), weekly.raw)  # committed means kept
        pipeline.load_run(DEMO_UNTIL)  # the task is retried: loading the same batches again
    assert_same_tables(tables(warehouse, "raw"), weekly.raw)


# Two writers at once, two extractions landing at once


def test_a_second_writer_while_a_load_holds_the_warehouse_is_refused_naming_the_file_and_corrupts_nothing(
    weekly: WeeklyRuns, tmp_path: Path
):
    from rapport import pipeline
    from rapport.transform import TransformError

    home = copy_home(weekly.ready_to_load, tmp_path / "home")
    warehouse = warehouse_of(home)
    with rapport_environment(home):
        first = start_step(tmp_path / "first", "load", moment="inside-transaction")
        first.wait_until_held()

        second = start_step(tmp_path / "second", "load")
        assert second.process.wait(HELD_TIMEOUT_SECONDS) != 0
        assert f"{warehouse}: cannot open the warehouse (another process holds it" in second.output
        with pytest.raises(TransformError) as refused:
            pipeline.build_models()
        # dbt is not even started: the error names the file and the writer holding it, and no traceback.
        message = str(refused.value)
        assert message.startswith(f"{warehouse}: cannot open the warehouse (another process holds it")
        assert f"its writer lock is held by process {first.process.pid} on " in message
        assert "Traceback" not in message

        assert first.finish() == 0, first.output
        pipeline.load_run(DEMO_UNTIL)  # one more run
        pipeline.build_models()
    assert_same_tables(tables(warehouse, "raw"), weekly.raw)
    assert_same_tables(tables(warehouse, "marts"), weekly.marts)


def test_two_processes_landing_the_same_extraction_at_the_same_moment_both_succeed_with_one_copy(
    tmp_path: Path,
):
    from rapport.landing import find_extractions, read_extraction

    home = demo_home_at(tmp_path / "home")
    go = tmp_path / "go"
    with rapport_environment(home):
        # Both have written every page and checked the target; then both rename into it.
        runs = [
            start_step(tmp_path / name, "extract", "demo:@petit_theatre", moment="before-rename", release=go)
            for name in "ab"
        ]
        for run in runs:
            run.wait_until_held()
        go.touch()
        for run in runs:
            assert run.process.wait(HELD_TIMEOUT_SECONDS) == 0, run.output[-3000:]
    [identifier] = {run.output.strip().splitlines()[-1] for run in runs}
    landing = home / "data" / "landing"
    [extraction] = find_extractions(landing)
    assert extraction.name == f"extraction={identifier}"
    assert [path.name for path in extraction.parent.iterdir()] == [extraction.name]  # no staging left
    assert read_extraction(extraction).read_pages()  # every page there, matching its checksum


# A disk filling up under the landing zone


@dataclass
class Disk:
    """A landing zone whose disk can be made to fill up after a given number of files."""

    landing_dir: Path
    monkeypatch: pytest.MonkeyPatch
    mounted: bool

    def fill_after(self, files: int, sizes: list[int]) -> None:
        """Let ``files`` more files of these ``sizes`` be written, then refuse with ENOSPC."""
        if self.mounted:
            # tmpfs counts whole pages per file; leave room for exactly ``files`` of them, and for
            # the landing's journal (a line per file: one page).
            room = sum(-(-size // 4096) * 4096 for size in sizes[:files]) + 4096
            stats = os.statvfs(self.landing_dir)
            (self.landing_dir / "ballast").write_bytes(b"\0" * (stats.f_bavail * stats.f_frsize - room))
            return
        import rapport.landing

        real_fsync, written = os.fsync, []

        def fsync_until_full(descriptor: int) -> None:
            if len(written) == files:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            written.append(descriptor)
            real_fsync(descriptor)

        self.monkeypatch.setattr(rapport.landing.os, "fsync", fsync_until_full)

    def make_room(self) -> None:
        if self.mounted:
            (self.landing_dir / "ballast").unlink()
        else:
            self.monkeypatch.undo()


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A real file system of ``size`` mounted on ``folder`` (a tmpfs: mounting needs root, the test is
    skipped without; its injected case covers it), unmounted when the block ends."""
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (the injected case covers it): {mounted.stderr!r}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture(params=["tmpfs", "injected"])
def disk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Disk]:
    """``tmpfs``: a real 4 MB file system; ``injected``: the landing zone's fsync fails with ENOSPC,
    where a full disk shows on delayed-allocation file systems."""
    landing_dir = tmp_path / "landing"
    landing_dir.mkdir()
    if request.param == "injected":
        yield Disk(landing_dir, monkeypatch, mounted=False)
        return
    with small_disk(landing_dir, "4m"):
        yield Disk(landing_dir, monkeypatch, mounted=True)


def checksums(landing_dir: Path) -> dict[str, str]:
    return {
        str(path.relative_to(landing_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(landing_dir.rglob("*"))
        if path.is_file() and path.name != "ballast"
    }


def test_a_disk_filling_up_while_landing_fails_naming_the_file_keeps_what_was_landed_and_a_rerun_lands_it(
    disk: Disk, tmp_path: Path
):
    from rapport import pipeline
    from rapport.landing import LandingError, find_extractions, read_extraction

    account_id = "demo:@petit_theatre"
    # Its first run (a backfill of its history: several pages), on a healthy disk.
    with rapport_environment(demo_home_at(tmp_path / "healthy")) as healthy:
        expected_id = pipeline.extract_account(account_id, DEMO_UNTIL)["extraction_id"]
    [expected] = (healthy / "data" / "landing").rglob(f"extraction={expected_id}")
    pages = sorted(expected.glob("*.json.gz"))
    assert len(pages) >= 4

    with rapport_environment(demo_home_at(tmp_path / "home"), RAPPORT_LANDING_DIR=str(disk.landing_dir)):
        for until in (PREVIOUS, DEMO_UNTIL):  # another account, landed before: its last run date is this one
            pipeline.extract_account("demo:@atlas_energy", until)
        earlier, before = list(find_extractions(disk.landing_dir)), checksums(disk.landing_dir)

        disk.fill_after(2, [page.stat().st_size for page in pages])
        with pytest.raises(LandingError) as full:
            pipeline.extract_account(account_id, DEMO_UNTIL)
        run_date_dir = disk.landing_dir / "platform=demo" / "account=petit_theatre" / "run_date=2026-11-23"
        assert str(run_date_dir / ".landing-") in str(full.value)
        assert f"/0003.json.gz: cannot write to the landing zone ([Errno {errno.ENOSPC}]" in str(full.value)

        assert checksums(disk.landing_dir) == before  # nothing changed, nothing half-written is left
        assert list(find_extractions(disk.landing_dir)) == earlier
        for path in earlier:
            assert read_extraction(path).read_pages()  # the manifests' checksums still match

        disk.make_room()
        again = pipeline.extract_account(account_id, DEMO_UNTIL)
    assert again["extraction_id"] == expected_id
    assert checksums(run_date_dir) == checksums(expected.parent)


# A disk filling up under the warehouse


@pytest.mark.parametrize("full", ["tmpfs", "injected"])
def test_a_disk_filling_up_during_a_load_reports_the_full_disk_not_the_rollback_that_failed_after_it(
    full: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """A commit that fails has already ended its transaction: DuckDB refuses the rollback after it
    ("no transaction is active"), and that refusal hid the cause. The load's error is the first one;
    the rollback's is logged."""
    import duckdb

    from rapport import pipeline

    disk = tmp_path / "disk"
    disk.mkdir()
    with rapport_environment(
        demo_home_at(tmp_path / "home"), RAPPORT_WAREHOUSE=str(disk / "warehouse.duckdb")
    ):
        for account_id in pipeline.list_account_ids():
            pipeline.extract_account(account_id, DEMO_UNTIL)
        pipeline.validate_run(DEMO_UNTIL)
        with nullcontext(disk) if full == "injected" else small_disk(disk, "512k"):
            if full == "injected":  # DuckDB's own behaviour: a failed commit rolls back, then raises
                import rapport.load

                real_connect = rapport.load.connect

                class FullAtCommit:
                    def __init__(self, connection):
                        self._connection = connection

                    def __getattr__(self, name):
                        return getattr(self._connection, name)

                    def execute(self, statement, *arguments):
                        if statement == "commit":
                            self._connection.execute("rollback")
                            raise duckdb.IOException(
                                f'Could not write file "{disk / "warehouse.duckdb"}": No space left on device'
                            )
                        return self._connection.execute(statement, *arguments)

                monkeypatch.setattr(
                    rapport.load,
                    "connect",
                    lambda warehouse, read_only=False: FullAtCommit(real_connect(warehouse)),
                )
            with caplog.at_level("WARNING", logger="rapport.load"), pytest.raises(duckdb.Error) as failed:
                pipeline.load_run(DEMO_UNTIL)
            assert "No space left on device" in str(failed.value)
            assert "cannot rollback" not in str(failed.value)
            assert any("could not roll back after" in record.getMessage() for record in caplog.records)


# Kills at the other steps, and a rebuild racing a writer


def test_a_validation_killed_mid_way_then_run_again_loads_and_scores_like_a_clean_run(
    weekly: WeeklyRuns, tmp_path: Path
):
    from rapport import pipeline

    home = copy_home(weekly.ready_to_load, tmp_path / "home")
    with rapport_environment(home):
        child = start_step(tmp_path / "validate", "validate", moment="inside-validation")
        child.wait_until_held()
        child.kill()

        assert pipeline.validate_run(DEMO_UNTIL)["staged"] == 8  # its lock went with it: no wait
        pipeline.load_run(DEMO_UNTIL)
        pipeline.build_models()
    assert_same_tables(tables(warehouse_of(home), "raw"), weekly.raw)
    assert_same_tables(tables(warehouse_of(home), "marts"), weekly.marts)


def test_a_dbt_build_killed_mid_way_then_run_again_scores_like_a_clean_run(
    weekly: WeeklyRuns, tmp_path: Path
):
    from rapport import pipeline

    home = copy_home(weekly.ready_to_load, tmp_path / "home")
    dbt_log = home / "data" / "logs" / "dbt" / "dbt.log"
    with rapport_environment(home):
        pipeline.load_run(DEMO_UNTIL)
        dbt_log.unlink(missing_ok=True)
        child = start_step(tmp_path / "build", "build")
        deadline = time.monotonic() + HELD_TIMEOUT_SECONDS
        # Killed once dbt has written some models, not all: it runs them on the project's threads.
        while not (dbt_log.exists() and dbt_log.read_text(errors="replace").count("OK created") >= 3):
            assert child.process.poll() is None and time.monotonic() < deadline, child.output
            time.sleep(0.02)
        child.kill()

        pipeline.build_models()
    assert_same_tables(tables(warehouse_of(home), "raw"), weekly.raw)
    assert_same_tables(tables(warehouse_of(home), "marts"), weekly.marts)


def test_a_publication_killed_before_its_rename_leaves_the_previous_one_readable_and_a_rerun_publishes(
    weekly: WeeklyRuns, tmp_path: Path
):
    from rapport import pipeline

    home = copy_home(weekly.home, tmp_path / "home")
    serving = home / "data" / "published" / "rapport.duckdb"
    with rapport_environment(home):
        pipeline.publish_marts(DEMO_UNTIL)
        previous = tables(serving, "marts")
        child = start_step(tmp_path / "publish", "publish", moment="before-serving-rename")
        child.wait_until_held()
        child.kill()

        assert_same_tables(tables(serving, "marts"), previous)  # readers see the previous one, whole
        pipeline.publish_marts(DEMO_UNTIL)
    assert_same_tables(tables(serving, "marts"), weekly.marts)


def test_a_rebuild_killed_before_it_replaces_the_warehouse_leaves_the_old_one_and_a_rerun_rebuilds_it(
    weekly: WeeklyRuns, tmp_path: Path
):
    from rapport import pipeline

    home = copy_home(weekly.home, tmp_path / "home")
    warehouse = warehouse_of(home)
    with rapport_environment(home):
        child = start_step(tmp_path / "rebuild", "rebuild", moment="before-replace")
        child.wait_until_held()
        [new] = warehouse.parent.glob(".warehouse.duckdb.rebuild-????????????")
        assert new.stat().st_size > 0  # the new warehouse complete, aside
        child.kill()

        assert_same_tables(tables(warehouse, "raw"), weekly.raw)  # the old one, as it was
        assert_same_tables(tables(warehouse, "marts"), weekly.marts)
        result = pipeline.rebuild()
    assert result["quarantined"] == [] and result["run_dates"] == len(WEEKLY_RUN_DATES)
    assert_same_tables(tables(warehouse, "raw"), weekly.raw)
    assert_same_tables(tables(warehouse, "marts"), weekly.marts)
    assert [path.name for path in warehouse.parent.iterdir() if ".rebuild-" in path.name] == []


def test_a_load_and_a_dbt_build_while_a_rebuild_runs_are_refused_naming_the_warehouse_and_nothing_is_lost(
    weekly: WeeklyRuns, tmp_path: Path
):
    from rapport import pipeline
    from rapport.transform import TransformError

    home = copy_home(weekly.ready_to_load, tmp_path / "home")
    warehouse = warehouse_of(home)
    busy = f"{warehouse}: cannot open the warehouse (another process holds it"
    with rapport_environment(home):
        rebuild = start_step(tmp_path / "rebuild", "rebuild", moment="before-replace")
        rebuild.wait_until_held()
        from rapport.load import WarehouseBusyError

        with pytest.raises(WarehouseBusyError, match=re.escape(busy)):
            pipeline.load_run(DEMO_UNTIL)
        with pytest.raises(TransformError, match=re.escape(busy)):
            pipeline.build_models()
        assert rebuild.finish() == 0, rebuild.output

        pipeline.load_run(DEMO_UNTIL)  # the refused load, retried (the rebuild loaded its batches too)
        pipeline.build_models()
    assert_same_tables(tables(warehouse, "raw"), weekly.raw)
    assert_same_tables(tables(warehouse, "marts"), weekly.marts)


def test_a_rebuild_while_a_load_holds_the_warehouse_is_refused_and_the_load_commits_into_the_warehouse(
    weekly: WeeklyRuns, tmp_path: Path
):
    """The rebuild deleted the warehouse under the load, which then committed into the deleted file and
    reported success: that load was lost."""
    from rapport import pipeline

    home = copy_home(weekly.ready_to_load, tmp_path / "home")
    warehouse = warehouse_of(home)
    with rapport_environment(home):
        load = start_step(tmp_path / "load", "load", moment="inside-transaction")
        load.wait_until_held()
        with pytest.raises(Exception) as refused:  # its type and message are checked below
            pipeline.rebuild()
        assert type(refused.value).__name__ == "WarehouseBusyError"
        assert str(refused.value).startswith(
            f"{warehouse}: cannot open the warehouse (another process holds it"
        )
        assert f"held by process {load.process.pid}" in str(refused.value)
        assert load.finish() == 0, load.output
    assert_same_tables(tables(warehouse, "raw"), weekly.raw)


# Two validations of one date at once


def test_two_validations_of_one_run_date_started_at_once_run_one_after_the_other_and_both_succeed(
    tmp_path: Path,
):
    """Great Expectations' project, the staged and the quarantined folders of a run date are one
    validation's at a time: a second one waits for the first (it failed with "ExpectationSuite has
    changed", or staged beside the first's files, when they ran together)."""
    from rapport import pipeline
    from rapport.validation import staged_parts

    staged = "'staged': 8, 'quarantined': []"
    with rapport_environment(demo_home_at(tmp_path / "home")) as home:
        for account_id in pipeline.list_account_ids():
            pipeline.extract_account(account_id, DEMO_UNTIL)
        # The first held inside its validation; the second must wait for it, not run beside it.
        first = start_step(tmp_path / "first", "validate", moment="inside-validation")
        first.wait_until_held()
        second = start_step(tmp_path / "second", "validate")
        deadline = time.monotonic() + HELD_TIMEOUT_SECONDS
        while "waiting for process" not in second.output and second.process.poll() is None:
            assert time.monotonic() < deadline, second.output
            time.sleep(0.05)
        assert second.process.poll() is None, f"the second ran beside the first:\n{second.output[-3000:]}"
        assert f"2026-11-23.lock: waiting for process {first.process.pid} on " in second.output
        assert first.finish() == 0, first.output
        assert second.process.wait(HELD_TIMEOUT_SECONDS) == 0, second.output
        assert staged in first.output and staged in second.output
        # Started at once, free to run: twice more, both succeed and the staged result is whole.
        for round_number in range(2):
            pair = [start_step(tmp_path / f"round{round_number}{name}", "validate") for name in "ab"]
            for child in pair:
                assert child.process.wait(HELD_TIMEOUT_SECONDS) == 0, child.output[-3000:]
                assert staged in child.output
            parts = staged_parts(home / "data" / "validated")
            assert sum(len(part.batches) for part in parts) == 8
            assert not list((home / "data" / "quarantine").rglob("validation.json"))


# A rebuild that would drop history


def test_a_rebuild_with_a_quarantined_extraction_is_refused_naming_it_and_keeps_the_warehouse(tmp_path: Path):
    from typer.testing import CliRunner

    from rapport import pipeline
    from rapport.cli import app

    with rapport_environment(demo_home_at(tmp_path / "home")) as home:
        extracted = {
            account_id: pipeline.extract_account(account_id, DEMO_UNTIL)["extraction_id"]
            for account_id in pipeline.list_account_ids()
        }
        pipeline.validate_run(DEMO_UNTIL)
        pipeline.load_run(DEMO_UNTIL)
        warehouse = warehouse_of(home)
        before = hashlib.sha256(warehouse.read_bytes()).hexdigest()
        [landed_at] = (home / "data" / "landing").rglob(f"extraction={extracted['demo:@petit_theatre']}")
        page = sorted(landed_at.glob("*.json.gz"))[-1]
        page.chmod(0o644)
        page.write_bytes(page.read_bytes()[:20])  # truncated

        with pytest.raises(pipeline.RebuildRefusedError) as refused:
            pipeline.rebuild()
        message = str(refused.value)
        assert message.startswith(
            f"{warehouse}: not rebuilt, kept as it is: 1 landed extraction(s) are quarantined"
        )
        assert (
            f"- demo:@petit_theatre, run date 2026-11-23, {landed_at}: payload: readable ({page}" in message
        )
        assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before

        command = CliRunner().invoke(app, ["rebuild"])
        assert command.exit_code == 1
        assert command.output.startswith(f"error: {warehouse}: not rebuilt")
        assert "Traceback" not in command.output and str(page) in command.output
        assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before

        forced = pipeline.rebuild(force=True)
    assert [(item["account_id"], item["extraction"]) for item in forced["quarantined"]] == [
        ("demo:@petit_theatre", str(landed_at))
    ]
    assert query(warehouse, "select count(distinct account_id) from raw.posts") == [(7,)]
