from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import shutil
import signal
import socket
import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from rapport.accounts import Account
from rapport.landing import (
    LandingError,
    find_extractions,
    land_extraction,
    latest_until,
    read_extraction,
    salvage_interrupted,
)
from rapport.sources import DeferredError, Page, SourceError, Window

ACCOUNT = Account(organization_id="city-library", platform="demo", handle="@city")
UNTIL = datetime(2026, 11, 23, tzinfo=UTC)
WINDOW = Window(UNTIL - timedelta(days=14), UNTIL)
PAGES = [
    Page("accounts/lookup", b'{"id": "1"}', params={"acct": "@city"}),
    Page("accounts/statuses", '[{"id": "2", "content": "é 🎉"}]'.encode(), params={"page": "1"}),
]


def land(landing_dir: Path, pages, run_date: date = date(2026, 11, 23), fetched_at: datetime = UNTIL):
    return land_extraction(landing_dir, ACCOUNT, run_date, WINDOW, fetched_at, pages)


def test_pages_are_stored_compressed_byte_for_byte_under_platform_account_and_run_date(tmp_path: Path):
    extraction = land(tmp_path, PAGES)
    assert extraction.path.parent == tmp_path / "platform=demo" / "account=city" / "run_date=2026-11-23"
    assert [page.body for page in extraction.read_pages()] == [page.body for page in PAGES]
    assert gzip.decompress((extraction.path / "0002.json.gz").read_bytes()) == PAGES[1].body
    assert extraction.is_complete
    assert extraction.pages[1]["params"] == {"page": "1"}


def test_landed_files_are_read_only(tmp_path: Path):
    extraction = land(tmp_path, PAGES)
    for file in extraction.path.iterdir():
        assert not file.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_landing_the_same_responses_twice_keeps_one_copy(tmp_path: Path):
    first = land(tmp_path, PAGES)
    second = land(tmp_path, PAGES)
    assert first.extraction_id == second.extraction_id
    assert list(find_extractions(tmp_path)) == [first.path]


def test_a_later_observation_of_the_same_window_is_landed_beside_the_first(tmp_path: Path):
    land(tmp_path, PAGES)
    land(tmp_path, PAGES, fetched_at=UNTIL + timedelta(hours=1))
    assert len(list(find_extractions(tmp_path, date(2026, 11, 23)))) == 2


def test_a_failing_source_lands_what_it_returned_then_reraises(tmp_path: Path):
    def failing() -> Iterator[Page]:
        yield PAGES[0]
        raise SourceError("demo:@city: https://example.test/api/v1/statuses: HTTP 503 after 4 attempts")

    with pytest.raises(SourceError, match="HTTP 503"):
        land(tmp_path, failing())
    [path] = find_extractions(tmp_path)
    extraction = read_extraction(path)
    assert extraction.status == "failed"
    assert "HTTP 503" in (extraction.error or "")
    assert [page.body for page in extraction.read_pages()] == [PAGES[0].body]


def test_a_source_the_platform_defers_lands_deferred_and_moves_no_watermark(tmp_path: Path):
    def deferred() -> Iterator[Page]:
        yield PAGES[0]
        raise DeferredError("demo:@city: the platform's quota of run date 2026-11-24 is spent")

    with pytest.raises(DeferredError):
        land(tmp_path, deferred(), run_date=date(2026, 11, 24))
    [path] = find_extractions(tmp_path)
    extraction = read_extraction(path)
    assert (extraction.status, extraction.is_deferred, extraction.is_complete) == ("deferred", True, False)
    assert "quota" in (extraction.error or "")
    assert [page.body for page in extraction.read_pages()] == [PAGES[0].body]  # nothing received is lost
    # Not read: the next night starts where the last complete extraction ended.
    assert latest_until(tmp_path, ACCOUNT, before=date(2026, 11, 25)) is None


def test_a_full_disk_fails_clearly_and_leaves_earlier_extractions_intact(tmp_path: Path, monkeypatch):
    earlier = land(tmp_path, PAGES, run_date=date(2026, 11, 22))

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("rapport.landing.os.fsync", no_space)
    with pytest.raises(LandingError, match="No space left on device"):
        land(tmp_path, PAGES)
    assert list(find_extractions(tmp_path)) == [earlier.path]
    assert [page.body for page in read_extraction(earlier.path).read_pages()] == [p.body for p in PAGES]
    assert not list((tmp_path / "platform=demo" / "account=city" / "run_date=2026-11-23").iterdir())


def test_a_landed_extraction_is_synced_to_disk_its_files_then_its_folder_then_its_name(
    tmp_path: Path, monkeypatch
):
    """A power cut after landing loses nothing: each file, the folder's entries, then the rename."""
    synced: list[Path] = []
    fsync = os.fsync

    def recording(descriptor: int) -> None:
        synced.append(Path(os.readlink(f"/proc/self/fd/{descriptor}")))
        fsync(descriptor)

    monkeypatch.setattr("rapport.landing.os.fsync", recording)
    extraction = land(tmp_path, PAGES)
    *files, folder, parent = synced
    assert parent == extraction.path.parent
    assert folder.parent == parent and folder.name.startswith(".landing-")
    assert sorted(file.name for file in files) == sorted(path.name for path in extraction.path.iterdir())
    assert all(file.parent == folder for file in files)


def test_a_corrupted_payload_is_reported_with_its_path(tmp_path: Path):
    extraction = land(tmp_path, PAGES)
    file = extraction.path / "0002.json.gz"
    file.chmod(0o644)
    file.write_bytes(b"not gzip at all")
    with pytest.raises(LandingError, match=r"0002\.json\.gz: cannot read landed payload"):
        extraction.read_pages()


def test_a_tampered_payload_fails_its_checksum(tmp_path: Path):
    extraction = land(tmp_path, PAGES)
    file = extraction.path / "0001.json.gz"
    file.chmod(0o644)
    file.write_bytes(gzip.compress(b'{"id": "666"}'))
    with pytest.raises(LandingError, match="does not match the checksum"):
        extraction.read_pages()


def test_the_watermark_is_the_newest_complete_window_of_an_earlier_run(tmp_path: Path):
    assert latest_until(tmp_path, ACCOUNT, before=date(2026, 11, 24)) is None
    land(tmp_path, PAGES, run_date=date(2026, 11, 23))
    assert latest_until(tmp_path, ACCOUNT, before=date(2026, 11, 24)) == UNTIL
    assert latest_until(tmp_path, ACCOUNT, before=date(2026, 11, 23)) is None


def rewrite_manifest(extraction_path: Path, text: str) -> Path:
    manifest = extraction_path / "manifest.json"
    manifest.chmod(0o644)
    manifest.write_text(text, encoding="utf-8")
    return manifest


def edited(manifest: dict, change) -> str:
    change(manifest)
    return json.dumps(manifest)


DAMAGED_MANIFESTS = {
    "truncated": (lambda text, manifest: text[: len(text) // 2], "Expecting"),
    "not-json": (lambda text, manifest: "<html>502 Bad Gateway</html>", "Expecting value"),
    "not-an-object": (lambda text, manifest: "[1, 2]", "a JSON object is expected, not list"),
    "field-missing": (
        lambda text, manifest: edited(manifest, lambda m: m.pop("window")),
        "field 'window' is missing",
    ),
    "wrong-type": (
        lambda text, manifest: edited(manifest, lambda m: m.update(pages="0001.json.gz")),
        "field 'pages' must be list, not str",
    ),
    "window-without-time-zone": (
        lambda text, manifest: edited(manifest, lambda m: m["window"].update(until="2026-11-23T00:00:00")),
        "field 'window.until' has no time zone",
    ),
    "page-outside-its-folder": (
        lambda text, manifest: edited(manifest, lambda m: m["pages"][0].update(file="../../secrets")),
        "field 'pages[1].file' is not a file name",
    ),
    "page-status-wrong-type": (
        lambda text, manifest: edited(manifest, lambda m: m["pages"][1].update(status="200")),
        "field 'pages[2].status' must be int, not str",
    ),
    "another-folder's-id": (
        lambda text, manifest: edited(manifest, lambda m: m.update(extraction_id="../../../etc")),
        "extraction_id '../../../etc' is not its folder's",
    ),
}


@pytest.mark.parametrize("damage", DAMAGED_MANIFESTS, ids=list(DAMAGED_MANIFESTS))
def test_a_damaged_manifest_is_refused_naming_the_file_and_what_is_wrong(tmp_path: Path, damage: str):
    extraction = land(tmp_path, PAGES)
    text = (extraction.path / "manifest.json").read_text()
    damaged, reason = DAMAGED_MANIFESTS[damage]
    manifest = rewrite_manifest(extraction.path, damaged(text, json.loads(text)))
    with pytest.raises(LandingError) as refused:
        read_extraction(extraction.path)
    assert str(refused.value).startswith(f"{manifest}: unreadable manifest (")
    assert reason in str(refused.value)


def test_the_watermark_skips_an_extraction_whose_manifest_is_damaged_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    land(tmp_path, PAGES, run_date=date(2026, 11, 16))
    damaged = land(tmp_path, PAGES[:1], run_date=date(2026, 11, 23))
    manifest = rewrite_manifest(damaged.path, (damaged.path / "manifest.json").read_text()[:40])
    with caplog.at_level("WARNING", logger="rapport.landing"):
        assert latest_until(tmp_path, ACCOUNT, before=date(2026, 11, 30)) == UNTIL
    assert any(f"{manifest}: unreadable manifest" in record.getMessage() for record in caplog.records)


def test_the_watermark_never_moves_past_a_quarantined_extraction(tmp_path: Path):
    from rapport import zones

    landing, quarantine = tmp_path / "landing", tmp_path / "quarantine"
    earlier = land_extraction(
        landing, ACCOUNT, date(2026, 11, 16), Window(WINDOW.since, UNTIL - timedelta(days=7)), UNTIL, PAGES
    )
    later = land(landing, PAGES, run_date=date(2026, 11, 23))
    assert latest_until(landing, ACCOUNT, before=date(2026, 11, 30), quarantine_dir=quarantine) == UNTIL

    zones.quarantine_batch_dir(quarantine, later.run_date, later.extraction_id).mkdir(parents=True)
    assert (
        latest_until(landing, ACCOUNT, before=date(2026, 11, 30), quarantine_dir=quarantine)
        == earlier.window.until
    )
    zones.quarantine_batch_dir(quarantine, earlier.run_date, earlier.extraction_id).mkdir(parents=True)
    assert latest_until(landing, ACCOUNT, before=date(2026, 11, 30), quarantine_dir=quarantine) is None


def test_each_storage_zone_writes_its_path_format_in_one_place_only():
    """A folder name such as ``run_date=…`` is spelled in :mod:`rapport.zones` alone; every other
    module asks it for a zone's paths (docstrings may show the layout)."""
    import ast

    import rapport

    package = Path(rapport.__file__).parent
    formats = ("run_date=", "extraction=", "part=")
    found: dict[str, list[str]] = {}
    for module in sorted(package.rglob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                for name in formats:
                    if name in node.value:
                        found.setdefault(name, []).append(f"{module.relative_to(package)}:{node.lineno}")
    assert set(found) == set(formats)  # each is written somewhere: the test looks at the right thing
    assert {
        name: sorted({place.partition(":")[0] for place in places}) for name, places in found.items()
    } == {name: ["zones.py"] for name in formats}


def test_the_same_content_landed_by_another_process_between_check_and_rename_is_taken_as_landed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    real_rename = Path.rename
    raced: list[Path] = []

    def rename_after_another_process_landed(self: Path, target: Path) -> Path:
        # The other process (the same account and date, extracted at the same moment) wins the race.
        monkeypatch.setattr(Path, "rename", real_rename)
        raced.append(land(tmp_path, PAGES).path)
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename_after_another_process_landed)
    extraction = land(tmp_path, PAGES)
    assert raced == [extraction.path]
    assert list(find_extractions(tmp_path)) == [extraction.path]
    assert [page.body for page in extraction.read_pages()] == [page.body for page in PAGES]
    assert [path.name for path in extraction.path.parent.iterdir()] == [extraction.path.name]


def test_a_failing_rename_into_place_names_the_extraction_and_leaves_nothing_half_landed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def read_only_file_system(self: Path, target: Path) -> Path:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(Path, "rename", read_only_file_system)
    with pytest.raises(LandingError, match=r"extraction=[0-9a-f]{16}: cannot move the extraction into place"):
        land(tmp_path, PAGES)
    assert not list((tmp_path / "platform=demo" / "account=city" / "run_date=2026-11-23").iterdir())


RUN_DIR = Path("platform=demo") / "account=city" / "run_date=2026-11-23"


def land_then_get_killed(landing_dir: Path) -> None:
    """In a child process: land two pages, then die by SIGKILL while waiting for the third."""

    def killed_mid_way() -> Iterator[Page]:
        yield from PAGES
        os.kill(os.getpid(), signal.SIGKILL)

    land(landing_dir, killed_mid_way())


def killed_landing(landing_dir: Path) -> Path:
    child = multiprocessing.get_context("fork").Process(target=land_then_get_killed, args=(landing_dir,))
    child.start()
    child.join()
    assert child.exitcode == -signal.SIGKILL
    [staging] = (landing_dir / RUN_DIR).glob(".landing-*")
    return staging


def test_an_extraction_killed_mid_way_is_landed_as_failed_by_the_next_landing_of_its_account(tmp_path: Path):
    killed_landing(tmp_path)
    assert list(find_extractions(tmp_path)) == []  # a reader never sees half an extraction

    retried = land(tmp_path, [*PAGES, Page("accounts/statuses", b"[]", params={"page": "2"})])

    extractions = [read_extraction(path) for path in find_extractions(tmp_path)]
    [interrupted] = [extraction for extraction in extractions if extraction.path != retried.path]
    assert interrupted.status == "failed" and "interrupted" in (interrupted.error or "")
    assert [page.body for page in interrupted.read_pages()] == [page.body for page in PAGES]
    assert (interrupted.window, interrupted.fetched_at) == (WINDOW, UNTIL)
    assert not list((tmp_path / RUN_DIR).glob(".landing-*"))


def test_a_landing_killed_on_one_date_is_salvaged_by_the_landing_of_its_account_on_a_later_date(
    tmp_path: Path,
):
    """The run that was killed is not always run again: the next night's landing salvages it,
    within a week. Another account's landing leaves it alone."""
    staging = killed_landing(tmp_path)
    week_before = staging.parent.with_name("run_date=2026-11-15")
    week_before.mkdir()
    older = week_before / staging.name
    shutil.copytree(staging, older)

    other = Account(organization_id="museum", platform="demo", handle="@museum")
    land_extraction(tmp_path, other, date(2026, 11, 24), WINDOW, UNTIL, PAGES)
    assert staging.exists()

    land(tmp_path, PAGES, run_date=date(2026, 11, 24))

    [interrupted] = [read_extraction(path) for path in find_extractions(tmp_path, date(2026, 11, 23))]
    assert interrupted.status == "failed" and "interrupted" in (interrupted.error or "")
    assert [page.body for page in interrupted.read_pages()] == [page.body for page in PAGES]
    assert not staging.exists()
    assert older.exists()  # eight days before: left for a landing of its own date


def test_the_page_being_written_when_the_process_died_is_left_out_and_the_others_are_kept(tmp_path: Path):
    staging = killed_landing(tmp_path)
    (staging / "0003.json.gz").write_bytes(gzip.compress(b'[{"id": "3"}]')[:20])
    with (staging / "journal.jsonl").open("a") as journal:
        journal.write('{"file": "0003.json.gz", "endpo')

    [salvaged] = salvage_interrupted(tmp_path / RUN_DIR)

    interrupted = read_extraction(salvaged)
    assert [page.body for page in interrupted.read_pages()] == [page.body for page in PAGES]
    assert sorted(path.name for path in salvaged.iterdir()) == [
        "0001.json.gz",
        "0002.json.gz",
        "manifest.json",
    ]


def test_a_folder_still_being_landed_is_left_alone_until_its_process_is_gone(tmp_path: Path):
    (tmp_path / RUN_DIR).mkdir(parents=True)
    header = {
        "platform": "demo",
        "account_id": ACCOUNT.account_id,
        "run_date": "2026-11-23",
        "window": {"since": WINDOW.since.isoformat(), "until": WINDOW.until.isoformat()},
        "fetched_at": UNTIL.isoformat(),
    }
    with subprocess.Popen(["sleep", "60"]) as landing_process:
        staging = tmp_path / RUN_DIR / f".landing-{landing_process.pid}@{socket.gethostname()}-x1"
        staging.mkdir()
        (staging / "journal.jsonl").write_text(json.dumps(header) + "\n")
        assert salvage_interrupted(tmp_path / RUN_DIR) == []
        assert staging.exists()
        landing_process.kill()
    [salvaged] = salvage_interrupted(tmp_path / RUN_DIR)
    assert read_extraction(salvaged).pages == ()


def test_a_folder_of_another_machine_is_salvaged_once_it_has_been_left_untouched_for_a_day(tmp_path: Path):
    staging = killed_landing(tmp_path)
    elsewhere = staging.with_name(".landing-12345@another-machine-x2")
    staging.rename(elsewhere)
    assert salvage_interrupted(tmp_path / RUN_DIR) == []
    # A day before the folder's own time: the disk's clock, which need not be ours.
    a_day_ago = elsewhere.stat().st_mtime - timedelta(days=1, minutes=1).total_seconds()
    os.utime(elsewhere, (a_day_ago, a_day_ago))
    [salvaged] = salvage_interrupted(tmp_path / RUN_DIR)
    assert len(read_extraction(salvaged).pages) == 2


def test_a_landing_killed_after_its_manifest_was_written_is_moved_into_place_as_it_was(tmp_path: Path):
    finished = land(tmp_path / "elsewhere", PAGES)
    (tmp_path / "landing" / RUN_DIR).mkdir(parents=True)
    staging = (
        tmp_path / "landing" / RUN_DIR / f".landing-{2**22 + 1}@{socket.gethostname()}-x3"
    )  # no such pid
    shutil.copytree(finished.path, staging)
    for file in staging.iterdir():
        file.chmod(0o644)

    [salvaged] = salvage_interrupted(tmp_path / "landing" / RUN_DIR)

    assert salvaged.name == finished.path.name and read_extraction(salvaged).is_complete
    assert [page.body for page in read_extraction(salvaged).read_pages()] == [page.body for page in PAGES]
