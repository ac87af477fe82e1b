"""Bad input, end to end: damaged payloads of every source are landed, validated and loaded.

For each source, thirty damaged extractions (drawn by the strategies of
:mod:`tests.mutations`, the same on every run), the damage that once broke
normalization and one undamaged extraction go through the real path:
:func:`rapport.landing.land_extraction`, one
:func:`rapport.validation.validate_run` (Great Expectations, run once for all
of them) and :func:`rapport.load.load_batches`. Every batch must end up either
staged and loaded, or quarantined with a validation result naming what is at
fault; nothing may raise; the landed payloads must stay byte for byte.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rapport.accounts import Registry, load_registry
from rapport.landing import MANIFEST, land_extraction
from rapport.load import LoadResult, load_batches
from rapport.records import RECORD_TYPES
from rapport.settings import Settings, get_settings
from rapport.validation import RESULT_FILE, StagedPart, ValidationReport, staged_parts, validate_run
from rapport.validation.suites import BATCH_COLUMN
from tests.integration.conftest import query, rapport_environment
from tests.mutations import SAMPLES, Mutated, Sample, draw_distinct, known_damage

pytestmark = pytest.mark.slow

EXAMPLES_PER_SOURCE = 30
RUN_DATE = date(2026, 11, 23)
FETCHED_AT = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
REGISTRY = """\
organizations:
  - id: riviere-transit
    name: Rivière Transit
    peer_group: public-services
    size_band: large
    language: fr
    accounts:
      - platform: demo
        handle: "@riviere_transit"
      - platform: mastodon
        handle: "@riviere_transit"
        instance: mastodon.example
  - id: lakeside-library
    name: Lakeside Library
    peer_group: culture
    size_band: small
    language: en
    accounts:
      - platform: bluesky
        handle: lakesidelibrary.bsky.social
"""
TABLES = {record_type.name for record_type in RECORD_TYPES}
# Checks of a table as a whole, or of several columns at once: they name no single column.
TABLE_CHECKS = {"expect_table_columns_to_match_ordered_list", "expect_compound_columns_to_be_unique"}


@dataclass(frozen=True)
class Landed:
    """One extraction landed by the test: what was damaged, where it lies, what its files held."""

    sample: Sample
    mutated: Mutated
    extraction_id: str
    path: Path
    files: dict[str, str]
    """sha256 of each file of the extraction directory, as landed."""

    def __str__(self) -> str:
        return f"{self.sample.platform} extraction {self.extraction_id} ({'; '.join(self.mutated.changes) or 'undamaged'})"


@dataclass(frozen=True)
class Run:
    settings: Settings
    landed: list[Landed]
    report: ValidationReport
    parts: list[StagedPart]
    loaded: LoadResult

    def outcome(self, landed: Landed) -> Any:
        (outcome,) = [item for item in self.report.outcomes if item.extraction_id == landed.extraction_id]
        return outcome

    def quarantined_dir(self, landed: Landed) -> Path:
        return (
            self.settings.quarantine_dir
            / f"run_date={RUN_DATE.isoformat()}"
            / f"extraction={landed.extraction_id}"
        )

    def staged(self, landed: Landed) -> tuple[StagedPart, dict[str, Any]] | None:
        """The part a batch was staged in, and its description there."""
        found = [
            (part, batch)
            for part in self.parts
            for batch in part.batches
            if batch["extraction_id"] == landed.extraction_id
        ]
        assert len(found) <= 1, f"{landed}: staged {len(found)} times"
        return found[0] if found else None


def digests(directory: Path) -> dict[str, str]:
    return {file.name: hashlib.sha256(file.read_bytes()).hexdigest() for file in sorted(directory.iterdir())}


def land(settings: Settings, registry: Registry, sample: Sample, mutated: Mutated, number: int) -> Landed:
    account = registry.account(sample.account.account_id)
    # One observation time per extraction, as one per run: no two batches share a snapshot key.
    fetched_at = FETCHED_AT + timedelta(seconds=number)
    extraction = land_extraction(
        settings.landing_dir, account, RUN_DATE, sample.window, fetched_at, mutated.pages
    )
    return Landed(sample, mutated, extraction.extraction_id, extraction.path, digests(extraction.path))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    home = tmp_path_factory.mktemp("bad-input")
    (home / "config").mkdir()
    (home / "config" / "accounts.yml").write_text(REGISTRY, encoding="utf-8")
    with rapport_environment(home):
        settings = get_settings()
        registry = load_registry(settings.accounts_file)
        landed: list[Landed] = []
        for make_sample in SAMPLES.values():
            sample = make_sample()
            undamaged = Mutated(sample.pages, frozenset(), ())
            damaged = [*known_damage(sample), *draw_distinct(sample, EXAMPLES_PER_SOURCE)]
            for mutated in [undamaged, *damaged]:
                landed.append(land(settings, registry, sample, mutated, len(landed)))
        report = validate_run(settings, registry, RUN_DATE)
        parts = staged_parts(settings.staging_dir, [RUN_DATE])
        loaded = load_batches(settings.warehouse, registry, parts)
        yield Run(settings, landed, report, parts, loaded)


def test_every_source_is_damaged_in_many_distinct_ways(run: Run) -> None:
    for platform in SAMPLES:
        changes = {landed.mutated.changes for landed in run.landed if landed.sample.platform == platform}
        assert len(changes - {()}) >= EXAMPLES_PER_SOURCE, f"{platform}: {len(changes)} distinct damages"


def test_every_extraction_is_either_staged_or_quarantined(run: Run) -> None:
    assert sorted(outcome.extraction_id for outcome in run.report.outcomes) == sorted(
        landed.extraction_id for landed in run.landed
    )
    for landed in run.landed:
        outcome = run.outcome(landed)
        staged = run.staged(landed) is not None
        quarantined = run.quarantined_dir(landed).exists()
        assert outcome.status in ("staged", "quarantined"), f"{landed}: {outcome.status} ({outcome.error})"
        assert (staged, quarantined) == (outcome.status == "staged", outcome.status == "quarantined"), str(
            landed
        )


def test_a_quarantined_extraction_keeps_a_validation_result_naming_what_is_at_fault(run: Run) -> None:
    for landed in run.landed:
        if run.outcome(landed).status != "quarantined":
            continue
        result = json.loads((run.quarantined_dir(landed) / RESULT_FILE).read_text())
        assert result["extraction_id"] == landed.extraction_id
        assert result["landing_path"] == str(landed.path)
        assert result["failures"], str(landed)
        for failure in result["failures"]:
            if failure["table"] == "payload":
                named = [
                    endpoint for endpoint in landed.mutated.damaged_endpoints if endpoint in failure["detail"]
                ]
                assert named, f"{landed}: the failure names no damaged page: {failure['detail'][:300]}"
                assert any(
                    reason in failure["detail"]
                    for reason in ("field $", "body is not valid JSON", "HTTP status")
                ), f"{landed}: {failure['detail'][:300]}"
            else:
                assert failure["table"] in TABLES, f"{landed}: {failure}"
                assert failure["column"] or failure["check"] in TABLE_CHECKS, f"{landed}: {failure}"
            assert len(failure["detail"]) < 2000, f"{landed}: the failure carries the payload"


def test_a_staged_extraction_is_loaded_into_the_warehouse(run: Run) -> None:
    warehouse = run.settings.warehouse
    logged = {
        row[0]: row[1:]
        for row in query(
            warehouse,
            "select extraction_id, posts_rows, interactions_rows, account_snapshots_rows from raw.load_batches",
        )
    }
    posts = set(query(warehouse, "select platform, account_id, post_id from raw.posts"))
    interactions = set(query(warehouse, "select platform, account_id, interaction_id from raw.interactions"))
    snapshots = {row for row in query(warehouse, "select account_id, observed_at from raw.account_snapshots")}
    staged = [landed for landed in run.landed if run.outcome(landed).status == "staged"]
    assert run.loaded.batches == len(staged)
    for landed in staged:
        found = run.staged(landed)
        assert found is not None, f"{landed}: not in any staged part"
        part, batch = found
        rows = batch["rows"]
        assert logged[landed.extraction_id] == (
            rows["posts"],
            rows["interactions"],
            rows["account_snapshots"],
        )
        frames = {
            name: pd.read_parquet(part.file(name), filters=[(BATCH_COLUMN, "==", landed.extraction_id)])
            for name in TABLES
        }
        assert {name: len(frame) for name, frame in frames.items()} == rows, f"{landed}: rows staged"
        staged_posts = set(
            frames["posts"][["platform", "account_id", "post_id"]].itertuples(index=False, name=None)
        )
        assert staged_posts <= posts, f"{landed}: posts missing from the warehouse"
        keys = frames["interactions"][["platform", "account_id", "interaction_id"]].itertuples(index=False)
        assert set(map(tuple, keys)) <= interactions, f"{landed}: interactions missing from the warehouse"
        observed = frames["account_snapshots"][["account_id", "observed_at"]].itertuples(index=False)
        staged_snapshots = {(account_id, moment.to_pydatetime()) for account_id, moment in observed}
        assert staged_snapshots <= snapshots, f"{landed}: the snapshot is missing from the warehouse"


def test_the_landed_payloads_are_left_byte_for_byte(run: Run) -> None:
    for landed in run.landed:
        assert digests(landed.path) == landed.files, f"{landed}: landed files changed"
        manifest = json.loads((landed.path / MANIFEST).read_text())
        bodies = [gzip.decompress((landed.path / entry["file"]).read_bytes()) for entry in manifest["pages"]]
        assert bodies == [page.body for page in landed.mutated.pages], (
            f"{landed}: a body differs from the one landed"
        )
        assert [hashlib.sha256(body).hexdigest() for body in bodies] == [
            entry["sha256"] for entry in manifest["pages"]
        ]


def test_undamaged_extractions_are_staged_and_damage_is_caught_at_both_gates(run: Run) -> None:
    """Normalization refuses what it cannot read; the expectations catch what reads but is wrong."""
    for landed in run.landed:
        if not landed.mutated.changes:
            assert run.outcome(landed).status == "staged", f"{landed}: {run.outcome(landed).failures}"
    damaged = [run.outcome(landed) for landed in run.landed if landed.mutated.changes]
    tables = {failure.table for outcome in damaged for failure in outcome.failures}
    assert "payload" in tables
    assert tables & TABLES, "no damage was caught by an expectation"
    assert any(outcome.status == "staged" for outcome in damaged), "no damage was harmless"
