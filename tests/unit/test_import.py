"""Importing an account's export files: the inbox, landing byte for byte, duplicates, overlaps,
files of later dates, refused files, the registry's inbox and ``rapport import``.

The format is a throwaway one (tests/trial_exports.py): the machinery knows no format.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rapport.accounts import RegistryError, load_registry
from rapport.cli import app
from rapport.landing import find_extractions, read_extraction
from rapport.pipeline import extract_account
from rapport.sources.exports import ExportFileError
from rapport.sources.exports.records import normalize_files
from tests.conftest import write_registry
from tests.trial_exports import trial_file, trial_platform

RUN = datetime(2026, 11, 30, tzinfo=UTC)
ACCOUNT = "trialexport:@cityhall"
runner = CliRunner()


def days(first: date, count: int, *, posts_every: int = 2, followers: int | None = 100) -> list:
    return [
        (
            first + timedelta(days=offset),
            f"p{(first + timedelta(days=offset)).isoformat()}" if offset % posts_every == 0 else None,
            None if followers is None else followers + offset,
        )
        for offset in range(count)
    ]


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[str]:
    with trial_platform(tmp_path / "platforms") as name:
        yield name


@pytest.fixture
def home(rapport_home: Path, platform: str) -> Path:
    write_registry(
        rapport_home / "config" / "accounts.yml",
        """organizations:
  - id: city-hall
    name: City Hall
    peer_group: public-services
    size_band: medium
    language: en
    accounts:
      - platform: trialexport
        handle: "@cityhall"
""",
    )
    return rapport_home


def inbox(home: Path) -> Path:
    folder = home / "data" / "inbox" / "platform=trialexport" / "account=cityhall"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def landed(home: Path) -> list:
    return sorted(
        (read_extraction(path) for path in find_extractions(home / "data" / "landing")),
        key=lambda extraction: extraction.pages[0]["params"]["file"],
    )


def test_each_new_file_of_the_inbox_is_landed_byte_for_byte_as_an_extraction_of_its_own(home: Path):
    october = trial_file(days(date(2026, 10, 1), 31))
    november = trial_file(days(date(2026, 11, 1), 29))
    (inbox(home) / "october.csv").write_bytes(october)
    (inbox(home) / "november.csv").write_bytes(november)
    summary = extract_account(ACCOUNT, RUN)
    assert [file["file"] for file in summary["files"]] == ["november.csv", "october.csv"]
    november_extraction, october_extraction = landed(home)
    assert october_extraction.read_pages()[0].body == october  # the very bytes dropped
    page = october_extraction.pages[0]
    assert page["params"]["sha256"] == hashlib.sha256(october).hexdigest()
    assert gzip.decompress((october_extraction.path / page["file"]).read_bytes()) == october
    # Its window is the days it covers, observed at their end; the run date is the run's.
    assert october_extraction.window.since == datetime(2026, 10, 1, tzinfo=UTC)
    assert october_extraction.window.until == datetime(2026, 11, 1, tzinfo=UTC)
    assert october_extraction.run_date == date(2026, 11, 30)
    assert october_extraction.fetched_at == RUN  # the logical date, not the wall clock
    assert november_extraction.extraction_id != october_extraction.extraction_id


def test_a_file_dropped_again_under_any_name_is_imported_once(home: Path):
    data = trial_file(days(date(2026, 10, 1), 31))
    (inbox(home) / "october.csv").write_bytes(data)
    extract_account(ACCOUNT, RUN)
    (inbox(home) / "october (1).csv").write_bytes(data)
    summary = extract_account(ACCOUNT, RUN + timedelta(days=1))
    assert summary["files"] == []
    assert sorted(summary["already_imported"]) == ["october (1).csv", "october.csv"]
    assert len(landed(home)) == 1


def test_hidden_lock_and_partial_files_are_left_for_a_later_night(home: Path):
    data = trial_file(days(date(2026, 10, 1), 31))
    for name in (".october.csv", "~$october.xlsx", "october.csv.crdownload", "october.csv.part"):
        (inbox(home) / name).write_bytes(data)
    assert extract_account(ACCOUNT, RUN)["files"] == []
    assert landed(home) == []


def test_a_file_whose_days_start_after_the_run_date_is_left_for_the_runs_of_its_dates(home: Path):
    (inbox(home) / "december.csv").write_bytes(trial_file(days(date(2026, 12, 1), 10)))
    summary = extract_account(ACCOUNT, RUN)  # a backfill of 2026-11-30
    assert summary["left_for_later_dates"] == ["december.csv"] and landed(home) == []
    summary = extract_account(ACCOUNT, datetime(2026, 12, 11, tzinfo=UTC))
    assert [file["file"] for file in summary["files"]] == ["december.csv"]


def test_a_file_overlapping_one_imported_before_is_landed_refused_naming_both(home: Path):
    (inbox(home) / "october.csv").write_bytes(trial_file(days(date(2026, 10, 1), 31)))
    extract_account(ACCOUNT, RUN)
    (inbox(home) / "mid-october.csv").write_bytes(trial_file(days(date(2026, 10, 15), 20), likes=9))
    (inbox(home) / "december.csv").write_bytes(trial_file(days(date(2026, 11, 1), 30)))
    summary = extract_account(ACCOUNT, datetime(2026, 12, 1, tzinfo=UTC))
    problems = {file["file"]: file["problem"] for file in summary["files"]}
    assert problems["december.csv"] is None
    assert (
        "2026-10-15 to 2026-11-03 overlap those of october.csv (2026-10-01 to 2026-10-31"
        in (problems["mid-october.csv"])
    )
    refused = next(
        extraction
        for extraction in landed(home)
        if extraction.pages[0]["params"]["file"] == "mid-october.csv"
    )
    with pytest.raises(
        ExportFileError, match=r"^mid-october.csv: its days 2026-10-15 .* overlap those of october"
    ):
        normalize_files(
            refused.read_pages(), load_registry(home / "config" / "accounts.yml").account(ACCOUNT), RUN
        )


def test_the_same_days_in_two_files_of_one_night_refuse_the_second(home: Path):
    (inbox(home) / "a.csv").write_bytes(trial_file(days(date(2026, 10, 1), 31)))
    (inbox(home) / "b.csv").write_bytes(trial_file(days(date(2026, 10, 1), 31), likes=7))  # duplicate range
    problems = {file["file"]: file["problem"] for file in extract_account(ACCOUNT, RUN)["files"]}
    assert problems["a.csv"] is None and "overlap those of a.csv" in problems["b.csv"]


def test_files_giving_different_things_for_the_same_days_do_not_overlap(home: Path):
    posts_only = trial_file(days(date(2026, 10, 1), 31, followers=None))
    followers_only = trial_file([(date(2026, 10, 1) + timedelta(days=n), None, 100 + n) for n in range(31)])
    (inbox(home) / "posts.csv").write_bytes(posts_only)
    (inbox(home) / "followers.csv").write_bytes(followers_only)
    assert all(file["problem"] is None for file in extract_account(ACCOUNT, RUN)["files"])


def test_a_file_that_cannot_be_read_is_landed_all_the_same_with_the_runs_window(home: Path):
    (inbox(home) / "notes.txt").write_bytes(b"meeting notes, not an export\n")
    (inbox(home) / "another.csv").write_bytes(trial_file(days(date(2026, 10, 1), 31), account="@museum"))
    problems = {file["file"]: file["problem"] for file in extract_account(ACCOUNT, RUN)["files"]}
    assert problems["notes.txt"].startswith("notes.txt: unknown format: not one of the Trial export exports")
    assert "it starts with 'meeting notes, not an export'" in problems["notes.txt"]
    assert problems["another.csv"] == (
        "another.csv: a file of another account: it names handle '@museum', "
        "not trialexport:@cityhall's '@cityhall'"
    )
    for extraction in landed(home):
        assert extraction.status == "complete" and extraction.window.until == RUN  # kept, to quarantine


def test_a_file_too_large_to_be_an_export_is_refused_unread_and_not_held_in_memory(
    home: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("rapport.sources.exports.inbox.MAX_FILE_BYTES", 100)
    data = trial_file(days(date(2026, 10, 1), 31))
    (inbox(home) / "huge.csv").write_bytes(data)
    [file] = extract_account(ACCOUNT, RUN)["files"]
    assert file["problem"] == f"{len(data)} bytes, more than the 100 an export can be"
    [extraction] = landed(home)
    assert extraction.pages[0]["params"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert extraction.read_pages()[0].body == b""  # never read whole: the inbox keeps it
    assert extract_account(ACCOUNT, RUN + timedelta(days=1))["already_imported"] == ["huge.csv"]


def test_a_file_is_read_into_posts_followers_by_day_and_its_record(home: Path):
    data = trial_file(days(date(2026, 10, 1), 31))
    (inbox(home) / "october.csv").write_bytes(data)
    extract_account(ACCOUNT, RUN)
    [extraction] = landed(home)
    account = load_registry(home / "config" / "accounts.yml").account(ACCOUNT)
    records = normalize_files(extraction.read_pages(), account, extraction.window.until.replace(tzinfo=None))
    posts, snapshots, [file] = records["posts"], records["account_snapshots"], records["export_files"]
    assert len(posts) == 16 and {post["post_type"] for post in posts} == {"original"}
    assert posts[0]["reply_count"] == 1 and posts[0]["like_count"] == 3
    assert posts[0]["observed_at"] == datetime(2026, 11, 1)  # the end of the days the file covers
    assert len(snapshots) == 31 and snapshots[0]["followers_count"] == 100
    assert snapshots[0]["observed_at"] == datetime(2026, 10, 2)  # at the end of its day
    assert snapshots[0]["following_count"] is None and snapshots[0]["posts_count"] is None
    assert file == {
        "platform": "trialexport",
        "account_id": ACCOUNT,
        "export_format": "trialexport_daily",
        "file_name": "october.csv",
        "file_sha256": hashlib.sha256(data).hexdigest(),
        "covers_since": datetime(2026, 10, 1),
        "covers_until": datetime(2026, 11, 1),
        "posts_listed": 16,
        "follower_days": 31,
        "observed_at": datetime(2026, 11, 1),
    }
    assert records["interactions"] == [] and records["thread_reads"] == []


def test_the_registry_takes_an_inbox_relative_to_its_folder_for_a_platform_with_exports(
    home: Path, tmp_path: Path
):
    path = write_registry(
        tmp_path / "elsewhere" / "accounts.yml",
        """organizations:
  - id: city-hall
    name: City Hall
    peer_group: public-services
    size_band: medium
    language: en
    accounts:
      - platform: trialexport
        handle: "@cityhall"
        inbox: exports/city-hall
      - platform: mastodon
        handle: "@cityhall"
        instance: mastodon.social
        inbox: exports/mastodon
""",
    )
    with pytest.raises(RegistryError) as refused:
        load_registry(path)
    assert str(refused.value) == (
        f"{path}:11: city-hall.accounts[1] (@cityhall): 'inbox' is for a platform whose "
        "analytics exports Rapport imports"
    )
    path.write_text(path.read_text().split("      - platform: mastodon")[0])
    [account] = load_registry(path).accounts
    assert account.inbox == tmp_path / "elsewhere" / "exports" / "city-hall"


def test_rapport_import_dry_run_shows_what_a_file_holds_and_writes_nothing(home: Path, tmp_path: Path):
    (inbox(home) / "september.csv").write_bytes(trial_file(days(date(2026, 9, 1), 30)))
    extract_account(ACCOUNT, RUN)
    file = tmp_path / "november.csv"
    file.write_bytes(trial_file(days(date(2026, 11, 1), 28)[:5] + days(date(2026, 11, 10), 19)))
    result = runner.invoke(
        app, ["import", str(file), "--account", ACCOUNT, "--dry-run", "--date", "2026-11-30"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"november.csv: Trial daily export, for {ACCOUNT}",
        "  whose: handle '@cityhall'",
        "  covers: 2026-11-01 to 2026-11-28 (28 days, ISO weeks 2026-W44 to 2026-W48)",
        "  posts: 13, 2026-11-01 to 2026-11-28 (39 likes, 13 comments)",
        "  followers: 24 days, 100 to 118",
        "  gaps: followers missing for 4 of its 28 days",
        "  gaps: no file of this format covers 2026-10-01 to 2026-10-31: those weeks are not scored",
        "  would load: 13 posts, 24 follower counts and the file's record, for run date 2026-11-30",
        "  not in this export (NULL in its weeks' scores, with a note): answered question share, "
        "response time, dialogue share, directed at others share, accessibility share",
        "  dry run: nothing written",
    ]
    assert len(landed(home)) == 1


def test_rapport_import_lands_a_file_once_for_its_run_date(home: Path, tmp_path: Path):
    file = tmp_path / "october.csv"
    file.write_bytes(trial_file(days(date(2026, 10, 1), 31)))
    result = runner.invoke(app, ["import", str(file), "--account", ACCOUNT, "--date", "2026-11-30"])
    assert result.exit_code == 0, result.output
    assert "landed for 2026-11-30 as " in result.output
    [extraction] = landed(home)
    assert extraction.run_date == date(2026, 11, 30)
    again = runner.invoke(app, ["import", str(file), "--account", ACCOUNT, "--date", "2026-12-01"])
    assert again.exit_code == 0 and "already imported for 2026-11-30" in again.output
    # The nightly run finds it in the inbox later: imported once.
    (inbox(home) / "october.csv").write_bytes(file.read_bytes())
    assert extract_account(ACCOUNT, RUN + timedelta(days=2))["already_imported"] == ["october.csv"]


def test_rapport_import_names_the_file_line_and_reason_of_a_bad_file_and_lands_nothing(
    home: Path, tmp_path: Path
):
    file = tmp_path / "october.csv"
    file.write_bytes(trial_file(days(date(2026, 10, 1), 3)).replace(b",3,1,", b",three,1,", 1))
    result = runner.invoke(app, ["import", str(file), "--account", ACCOUNT, "--date", "2026-11-30"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "error: october.csv, line 3: column 'likes': 'three' is not a count"
    )
    assert "Traceback" not in result.output and landed(home) == []


def test_rapport_import_refuses_an_account_of_a_platform_without_exports(home: Path, tmp_path: Path):
    file = tmp_path / "october.csv"
    file.write_bytes(b"date,post_id\n")
    result = runner.invoke(app, ["import", str(file), "--account", "demo:@petit_theatre", "--dry-run"])
    assert result.exit_code == 2
    assert "not in" in result.output or "imports no analytics export" in result.output


def test_the_summary_of_an_import_is_json(home: Path):
    (inbox(home) / "october.csv").write_bytes(trial_file(days(date(2026, 10, 1), 31)))
    json.dumps(extract_account(ACCOUNT, RUN))


_SHORT = {
    "answered_question_share": "answer rate",
    "response_time": "response time",
    "trust_presence": "presence",
    "dialogue_share": "dialogue",
    "own_news_share": "own news",
    "directed_at_others_share": "directed at others",
    "non_promotional_share": "non-promotional",
    "effort": "effort",
    "accessibility_share": "accessibility",
    "followers": "followers",
}


def test_the_docs_availability_table_says_what_every_export_format_declares_it_feeds():
    from rapport.sources import platforms
    from rapport.sources.contract import COMPONENTS

    assert set(_SHORT) == set(COMPONENTS)
    lines = [
        "| platform | export (format key) | "
        + " | ".join(_SHORT[component] for component in COMPONENTS)
        + " |",
        "|---|---|" + "---|" * len(COMPONENTS),
    ]
    for contract in platforms():
        for export in contract.exports:
            fed = " | ".join("yes" if export.fed(component) else "no" for component in COMPONENTS)
            lines.append(f"| {contract.title} | {export.title} (`{export.name}`) | {fed} |")
    text = (Path(__file__).parents[2] / "docs" / "exports.md").read_text(encoding="utf-8")
    table = text.split("<!-- availability:start -->\n")[1].split("\n<!-- availability:end -->")[0]
    assert table.splitlines() == lines


def test_every_export_format_declares_one_feed_per_component_in_order_and_a_unique_name():
    from rapport.sources import platforms
    from rapport.sources.contract import COMPONENTS
    from rapport.sources.exports.formats import _function

    names = [export.name for contract in platforms() for export in contract.exports]
    assert len(names) == len(set(names)) and len(names) >= 5
    for contract in platforms():
        for export in contract.exports:
            assert tuple(feed.component for feed in export.feeds) == COMPONENTS, export.name
            assert not export.fed("answered_question_share") and not export.fed("response_time"), export.name
            assert callable(_function(export.reader)) and callable(_function(export.detector)), export.name


def test_a_detector_that_fails_on_a_file_makes_it_an_unknown_format_not_a_failed_import(
    home: Path, monkeypatch: pytest.MonkeyPatch
):
    def broken(file: str, data: bytes) -> bool:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("rapport.sources.trialexport.exports.detect", broken)
    (inbox(home) / "october.csv").write_bytes(trial_file(days(date(2026, 10, 1), 31)))
    [file] = extract_account(ACCOUNT, RUN)["files"]
    assert file["problem"].startswith("october.csv: unknown format")
    assert len(landed(home)) == 1  # landed all the same, to be quarantined
