"""Imported files through validation and the load: a bad file is quarantined alone, with the file,
the line and the reason; the account's other files and the other accounts load."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.conftest import write_registry
from tests.trial_exports import trial_file, trial_platform

pytestmark = pytest.mark.slow

RUN = datetime(2026, 11, 30, tzinfo=UTC)


def days(first: date, count: int) -> list:
    return [
        (first + timedelta(days=n), f"p{first + timedelta(days=n)}" if n % 3 == 0 else None, 50 + n)
        for n in range(count)
    ]


@pytest.fixture
def home(rapport_home: Path, tmp_path: Path) -> Iterator[Path]:
    with trial_platform(tmp_path / "platforms"):
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
  - id: city-museum
    name: City Museum
    peer_group: culture
    size_band: small
    language: en
    accounts:
      - platform: trialexport
        handle: "@museum"
        inbox: ../museum-exports
""",
        )
        yield rapport_home


def test_a_bad_file_is_quarantined_with_its_line_and_reason_while_the_others_load(home: Path):
    from rapport import pipeline

    cityhall = home / "data" / "inbox" / "platform=trialexport" / "account=cityhall"
    cityhall.mkdir(parents=True)
    (cityhall / "2026-10.csv").write_bytes(trial_file(days(date(2026, 10, 1), 31)))
    (cityhall / "2026-10b.csv").write_bytes(trial_file(days(date(2026, 10, 20), 20)))
    (cityhall / "museum.csv").write_bytes(trial_file(days(date(2026, 9, 1), 30), account="@museum"))
    bad = trial_file(days(date(2026, 8, 1), 31)).replace(b"2026-08-17,", b"2026-08-32,")
    (cityhall / "2026-08.csv").write_bytes(bad)
    museum = home / "museum-exports"
    museum.mkdir()
    (museum / "museum-2026-11.csv").write_bytes(trial_file(days(date(2026, 11, 1), 29), account="@museum"))

    for account_id in pipeline.list_account_ids():
        pipeline.extract_account(account_id, RUN)
    validated = pipeline.validate_run(RUN)
    assert validated["staged"] == 2
    assert sorted(validated["quarantined"]) == ["trialexport:@cityhall"] * 3
    reasons = {}
    for result in (home / "data" / "quarantine").glob("run_date=2026-11-30/extraction=*/validation.json"):
        outcome = json.loads(result.read_text())
        reasons[outcome["landing_path"].split("/")[-1]] = [
            failure["detail"] for failure in outcome["failures"]
        ]
    details = sorted(detail for found in reasons.values() for detail in found)
    assert details[0] == "2026-08.csv, line 19: column 'date': '2026-08-32' is not a date"
    assert details[1].startswith(
        "2026-10b.csv: its days 2026-10-20 to 2026-11-08 overlap those of 2026-10.csv"
    )
    assert details[2] == (
        "museum.csv: a file of another account: it names handle '@museum', not trialexport:@cityhall's '@cityhall'"
    )
    loaded = pipeline.load_run(RUN)
    assert loaded["rows"]["export_files"] == 2
    with duckdb.connect(str(home / "data" / "warehouse.duckdb"), read_only=True) as connection:
        files = connection.execute(
            "select account_id, file_name, covers_since, covers_until, posts_listed, follower_days "
            "from raw.export_files order by account_id"
        ).fetchall()
        formats = connection.execute(
            "select export_format, platform, component, is_fed from raw.export_format_feeds "
            "join raw.export_formats using (export_format) where component = 'followers'"
        ).fetchall()
    assert files == [
        ("trialexport:@cityhall", "2026-10.csv", datetime(2026, 10, 1), datetime(2026, 11, 1), 11, 31),
        ("trialexport:@museum", "museum-2026-11.csv", datetime(2026, 11, 1), datetime(2026, 11, 30), 10, 29),
    ]
    assert ("trialexport_daily", "trialexport", "followers", True) in formats
