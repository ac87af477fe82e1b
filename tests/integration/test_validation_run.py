"""validate_run over many extractions: groups, worker processes, and a source that breaks."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rapport.records import EXPORT_FILES, RECORD_TYPES
from rapport.validation import staged_parts
from rapport.validation.suites import BATCH_COLUMN
from tests.integration.conftest import DEMO_UNTIL

pytestmark = pytest.mark.slow


def staged_and_quarantined(home: Path) -> dict[str, list[str]]:
    data = home / "data"
    staged = [batch["extraction_id"] for part in staged_parts(data / "validated") for batch in part.batches]
    quarantined = [path.name for path in (data / "quarantine").glob("run_date=*/extraction=*")]
    return {"validated": sorted(staged), "quarantine": sorted(quarantined)}


def staged_rows(home: Path) -> dict[str, pd.DataFrame]:
    """Every staged row of each table, batch by batch in the order each batch staged them."""
    parts = staged_parts(home / "data" / "validated")
    return {
        record_type.name: pd.concat([pd.read_parquet(part.file(record_type.name)) for part in parts])
        .sort_values(BATCH_COLUMN, kind="stable")
        .reset_index(drop=True)
        for record_type in RECORD_TYPES
    }


def test_normalizing_in_worker_processes_stages_what_one_process_stages(
    rapport_home: Path, monkeypatch: pytest.MonkeyPatch
):
    from rapport import pipeline, validation
    from rapport.accounts import load_registry
    from rapport.settings import get_settings

    for account_id in pipeline.list_account_ids():
        pipeline.extract_account(account_id, DEMO_UNTIL)
    settings = get_settings()
    registry = load_registry(settings.accounts_file)
    one = validation.validate_run(settings, registry, DEMO_UNTIL.date(), workers=1)
    staged_alone = staged_and_quarantined(rapport_home)
    rows_alone = staged_rows(rapport_home)
    # Groups of three extractions, two worker processes: 8 accounts make three groups.
    monkeypatch.setattr(validation, "_GROUP_EXTRACTIONS", 3)
    monkeypatch.setattr(validation, "_PARALLEL_FROM", 2)
    two = validation.validate_run(settings, registry, DEMO_UNTIL.date(), workers=2)
    assert [outcome.extraction_id for outcome in two.outcomes] == [
        outcome.extraction_id for outcome in one.outcomes
    ]
    assert [outcome.status for outcome in two.outcomes] == ["staged"] * 8
    assert staged_and_quarantined(rapport_home) == staged_alone
    assert len(staged_parts(rapport_home / "data" / "validated")) == 3
    rows_together = staged_rows(rapport_home)
    for name, rows in rows_alone.items():
        assert len(rows) > 0 or name == EXPORT_FILES.name, name  # the demo imports no file
        pd.testing.assert_frame_equal(rows_together[name], rows, obj=name)


def test_a_source_that_raises_an_unexpected_error_gets_its_batch_quarantined_and_the_others_staged(
    rapport_home: Path, monkeypatch: pytest.MonkeyPatch
):
    from rapport import pipeline
    from rapport.sources import demo

    for account_id in pipeline.list_account_ids():
        pipeline.extract_account(account_id, DEMO_UNTIL)
    real_normalize = demo.normalize

    def normalize_with_a_bug(pages, account, observed_at, fetched_at=None):
        if account.handle == "@petit_theatre":
            raise ZeroDivisionError("a bug in the source")
        return real_normalize(pages, account, observed_at, fetched_at)

    monkeypatch.setattr(demo, "normalize", normalize_with_a_bug)
    result = pipeline.validate_run(DEMO_UNTIL)
    assert result["quarantined"] == ["demo:@petit_theatre"]
    assert result["staged"] == 7
    [report] = (rapport_home / "data" / "quarantine").glob("run_date=*/extraction=*/validation.json")
    failures = json.loads(report.read_text())["failures"]
    assert failures[0]["check"] == "normalizable"
    assert "ZeroDivisionError while normalizing: a bug in the source" in failures[0]["detail"]

    # The source fixed, the date validated again: nothing is left in quarantine as if it still failed.
    monkeypatch.setattr(demo, "normalize", real_normalize)
    result = pipeline.validate_run(DEMO_UNTIL)
    assert (result["quarantined"], result["staged"]) == ([], 8)
    assert staged_and_quarantined(rapport_home)["quarantine"] == []


def test_rows_that_do_not_take_the_column_types_are_typed_batch_by_batch_and_only_their_batch_suffers(
    rapport_home: Path, monkeypatch: pytest.MonkeyPatch
):
    """Validation types the rows of many extractions at once. When one extraction's rows do not take
    the column types, each is typed alone: a count given as text is converted and staged (as one
    extraction's frame always was), a missing count quarantines its batch, and the others are staged."""
    from rapport import pipeline
    from rapport.sources import demo

    for account_id in pipeline.list_account_ids():
        pipeline.extract_account(account_id, DEMO_UNTIL)
    pipeline.validate_run(DEMO_UNTIL)
    clean = staged_rows(rapport_home)["posts"]
    real_normalize = demo.normalize

    def normalize_with_bad_counts(pages, account, observed_at, fetched_at=None):
        records = real_normalize(pages, account, observed_at, fetched_at)
        post = records["posts"][0]
        if account.handle == "@petit_theatre":
            post["like_count"] = None
        elif account.handle == "@riviere_transit":
            post["like_count"] = str(post["like_count"])
        return records

    monkeypatch.setattr(demo, "normalize", normalize_with_bad_counts)
    result = pipeline.validate_run(DEMO_UNTIL)
    assert result["quarantined"] == ["demo:@petit_theatre"]
    assert result["staged"] == 7
    [report] = (rapport_home / "data" / "quarantine").glob("run_date=*/extraction=*/validation.json")
    [failure] = json.loads(report.read_text())["failures"]
    assert (failure["table"], failure["check"]) == ("payload", "normalizable")
    assert "while making frames of its records" in failure["detail"], failure["detail"]
    posts = staged_rows(rapport_home)["posts"]
    assert posts["like_count"].dtype == "int64"
    assert posts["account_id"].nunique() == 7
    riviere = "demo:@riviere_transit"
    pd.testing.assert_frame_equal(  # the count given as text is the same count once converted
        posts[posts["account_id"] == riviere].reset_index(drop=True),
        clean[clean["account_id"] == riviere].reset_index(drop=True),
    )


def test_workers_start_under_a_parent_whose_main_script_cannot_be_imported_again(
    rapport_home: Path, tmp_path: Path
):
    """As under Airflow: a task process runs the `airflow` command, whose import fails in a worker."""
    import subprocess
    import sys

    from rapport import pipeline

    for account_id in pipeline.list_account_ids():
        pipeline.extract_account(account_id, DEMO_UNTIL)
    script = tmp_path / "task.py"
    script.write_text(
        "import sys\n"
        "if __name__ != '__main__':\n"
        "    raise SystemExit('this script was imported again by a worker process')\n"
        "from datetime import date\n"
        "from rapport import validation\n"
        "from rapport.accounts import load_registry\n"
        "from rapport.settings import get_settings\n"
        "validation._GROUP_EXTRACTIONS, validation._PARALLEL_FROM = 3, 2\n"
        "settings = get_settings()\n"
        f"report = validation.validate_run(settings, load_registry(settings.accounts_file), date.fromisoformat({DEMO_UNTIL.date().isoformat()!r}), workers=2)\n"
        "print(sorted(outcome.status for outcome in report.outcomes))\n",
        encoding="utf-8",
    )
    completed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip().splitlines()[-1] == str(["staged"] * 8)


def truncate(file: Path) -> Path:
    """Cut a landed file in half, as a disk or a copy gone wrong would."""
    file.chmod(0o644)
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    return file


def landed_path(home: Path, extraction_id: str) -> Path:
    return next((home / "data" / "landing").rglob(f"extraction={extraction_id}"))


def test_a_damaged_manifest_quarantines_its_extraction_naming_the_file_and_the_other_accounts_go_on(
    rapport_home: Path,
):
    from rapport import pipeline
    from rapport.accounts import load_registry
    from rapport.settings import get_settings
    from rapport.summary import run_problems

    extracted = {
        account_id: pipeline.extract_account(account_id, DEMO_UNTIL)["extraction_id"]
        for account_id in pipeline.list_account_ids()
    }
    damaged = landed_path(rapport_home, extracted["demo:@petit_theatre"])
    manifest = truncate(damaged / "manifest.json")

    result = pipeline.validate_run(DEMO_UNTIL)

    assert (result["quarantined"], result["staged"]) == (["demo:@petit_theatre"], 7)
    [record] = (rapport_home / "data" / "quarantine").glob("run_date=2026-11-23/extraction=*/validation.json")
    quarantined = json.loads(record.read_text())
    assert record.parent.name == damaged.name
    assert quarantined["account_id"] == "demo:@petit_theatre"
    assert quarantined["landing_path"] == str(damaged)
    [failure] = quarantined["failures"]
    assert failure["detail"].startswith(f"{manifest}: unreadable manifest (")
    settings = get_settings()
    problems = run_problems(settings, load_registry(settings.accounts_file), DEMO_UNTIL.date())
    assert problems == [
        f"demo:@petit_theatre: landed extraction unreadable, quarantined: {failure['detail']}"
    ]


def test_a_quarantined_backfill_is_fetched_again_by_the_next_night(rapport_home: Path):
    """A backfill whose page was truncated on disk is quarantined: the next night must not take its
    window as fetched (it would keep 2 of its 26 weeks for good), but backfill the history again."""
    from datetime import timedelta

    from rapport import pipeline
    from rapport.accounts import load_registry
    from rapport.settings import get_settings

    account_id = "demo:@petit_theatre"
    night_before = DEMO_UNTIL - timedelta(days=1)
    first = pipeline.extract_account(account_id, night_before)
    assert first["backfill"] is True
    truncate(sorted(landed_path(rapport_home, first["extraction_id"]).glob("*.json.gz"))[-1])
    assert pipeline.validate_run(night_before)["quarantined"] == [account_id]

    settings = get_settings()
    plan = pipeline.plan_extraction(
        settings, load_registry(settings.accounts_file).account(account_id), DEMO_UNTIL
    )
    assert plan.is_backfill is True
    assert plan.window.since == DEMO_UNTIL - timedelta(weeks=settings.history_weeks)
    again = pipeline.extract_account(account_id, DEMO_UNTIL)
    assert (again["backfill"], again["since"]) == (True, plan.window.since.isoformat())
    assert pipeline.validate_run(DEMO_UNTIL)["staged"] == 1
