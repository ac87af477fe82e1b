"""Normalize landed extractions and validate them before anything is loaded.

For each extraction landed for a run date: read its pages, normalize them
into the common record types, and validate each table with its Great
Expectations suite. A batch that passes is staged as Parquet for the loader;
one that fails (unreadable payload, normalization error or a failed
expectation) is quarantined with its validation result and is not loaded.
Other accounts go on either way.

Great Expectations is imported once per process (it costs seconds) by
:class:`BatchValidator`, which validates any number of batches.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapport.accounts import Registry
from rapport.landing import Extraction, LandingError, find_extractions, read_extraction
from rapport.records import RECORD_TYPES
from rapport.settings import Settings
from rapport.sources import NormalizationError, get_source
from rapport.validation.suites import BATCH_COLUMN, build_suite, conforms

if TYPE_CHECKING:
    import pandas as pd

BATCH_FILE = "batch.json"
RESULT_FILE = "validation.json"
_SAMPLE_LENGTH = 80


@dataclass(frozen=True)
class Failure:
    """One expectation a batch did not meet, or the reason it could not be read."""

    table: str
    check: str
    column: str | None
    detail: str

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"{where}: {self.check} ({self.detail})"


@dataclass
class BatchOutcome:
    """What happened to one extraction."""

    account_id: str
    extraction_id: str
    landing_path: str
    status: str  # staged | quarantined | extraction_failed
    rows: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None


@dataclass
class ValidationReport:
    """The outcome of every extraction landed for a run date."""

    run_date: date
    outcomes: list[BatchOutcome] = field(default_factory=list)
    data_docs: str | None = None

    @property
    def staged(self) -> list[BatchOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "staged"]

    @property
    def quarantined(self) -> list[BatchOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "quarantined"]

    def to_json(self) -> str:
        return json.dumps(
            {"run_date": self.run_date.isoformat(), "data_docs": self.data_docs}
            | {"outcomes": [asdict(outcome) for outcome in self.outcomes]},
            indent=2,
        )


class BatchValidator:
    """Validates batches of records with the suites of :mod:`rapport.validation.suites`.

    Results are kept in a Great Expectations file project under ``project_dir``,
    from which :meth:`build_data_docs` renders the Data Docs site.
    """

    def __init__(self, project_dir: Path) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        project_dir.mkdir(parents=True, exist_ok=True)
        self._context = gx.get_context(mode="file", project_root_dir=str(project_dir))
        self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        data_source = self._context.data_sources.add_or_update_pandas("rapport")
        self._definitions = {}
        for record_type in RECORD_TYPES:
            for combined in (False, True):
                suite = self._context.suites.add_or_update(build_suite(record_type, combined=combined))
                asset = data_source.add_dataframe_asset(suite.name)
                self._definitions[suite.name] = self._context.validation_definitions.add_or_update(
                    gx.ValidationDefinition(
                        name=suite.name, data=asset.add_batch_definition_whole_dataframe("batch"), suite=suite
                    )
                )

    def validate(self, frames: dict[str, pd.DataFrame], run_name: str) -> list[Failure]:
        """Validate each table of one batch; return the failures (empty when the batch is valid)."""
        failures = []
        for record_type in RECORD_TYPES:
            frame = frames.get(record_type.name)
            if frame is None:
                failures.append(Failure(record_type.name, "table present", None, "missing from the batch"))
                continue
            result = self._run(record_type.name, frame, run_name, result_format="SUMMARY")
            failures.extend(_failures(record_type.name, result))
        return failures

    def validate_many(
        self, batches: dict[str, dict[str, pd.DataFrame]], run_name: str
    ) -> dict[str, list[Failure]]:
        """Validate many batches, keyed by extraction id; return each one's failures.

        Batches whose tables have the record types' columns and types are
        validated together, one run per table with rows tagged by batch (GX's
        cost is per run, not per row); the others, and any table whose failure
        cannot be traced to its rows, are validated batch by batch.
        """
        import pandas as pd

        failures: dict[str, list[Failure]] = {batch_id: [] for batch_id in batches}
        together = [
            batch_id
            for batch_id, frames in batches.items()
            if all(
                frames.get(record_type.name) is not None and conforms(frames[record_type.name], record_type)
                for record_type in RECORD_TYPES
            )
        ]
        for batch_id in batches.keys() - set(together):
            failures[batch_id] = self.validate(batches[batch_id], run_name=f"{run_name} {batch_id}")
        for record_type in RECORD_TYPES:
            if not together:
                break
            frame = pd.concat(
                [
                    batches[batch_id][record_type.name].assign(**{BATCH_COLUMN: batch_id})
                    for batch_id in together
                ],
                ignore_index=True,
            )
            result = self._run(
                f"{record_type.name}_combined",
                frame,
                run_name,
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [BATCH_COLUMN]},
            )
            untraced = False
            for item in result.results:
                if item.success:
                    continue
                rows = (item.result or {}).get("unexpected_index_list")
                if not rows:
                    untraced = True
                    continue
                for batch_id, failure in _failures_by_batch(record_type.name, item, rows):
                    failures[batch_id].append(failure)
            if untraced:  # an expectation failed as a whole: find the batches it failed for, one by one
                for batch_id in together:
                    single = self._run(
                        record_type.name, batches[batch_id][record_type.name], run_name, "SUMMARY"
                    )
                    failures[batch_id] = _failures(record_type.name, single) + [
                        failure for failure in failures[batch_id] if failure.table != record_type.name
                    ]
        return failures

    def _run(self, suite_name: str, frame: pd.DataFrame, run_name: str, result_format: Any) -> Any:
        from great_expectations.core.run_identifier import RunIdentifier

        text_columns = frame.select_dtypes(include=["string"]).columns
        return self._definitions[suite_name].run(
            batch_parameters={"dataframe": frame.astype(dict.fromkeys(text_columns, object))},
            run_id=RunIdentifier(run_name=run_name),
            result_format=result_format,
        )

    def build_data_docs(self) -> Path:
        """Render the Data Docs site; return the path of its index page."""
        self._context.build_data_docs()
        return Path(self._context.root_directory) / "uncommitted" / "data_docs" / "local_site" / "index.html"


def _failures_by_batch(table: str, item: Any, rows: list[dict[str, Any]]) -> list[tuple[str, Failure]]:
    config = item.expectation_config
    column = config.kwargs.get("column") or config.kwargs.get("column_A")
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(str(row[BATCH_COLUMN]), []).append(row)
    found = []
    for batch_id, batch_rows in grouped.items():
        values = [{key: value for key, value in row.items() if key != BATCH_COLUMN} for row in batch_rows[:3]]
        samples = ", ".join(
            repr(next(iter(value.values())) if len(value) == 1 else value)[:_SAMPLE_LENGTH]
            for value in values
        )
        detail = f"{len(batch_rows)} unexpected value(s), e.g. {samples}"
        found.append((batch_id, Failure(table, config.type, column, detail)))
    return found


def _failures(table: str, result: Any) -> list[Failure]:
    failures = []
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        column = config.kwargs.get("column") or config.kwargs.get("column_A")
        exception = item.exception_info or {}
        if exception.get("raised_exception"):
            detail = f"could not be evaluated: {exception.get('exception_message')}"
        else:
            details = item.result or {}
            count = details.get("unexpected_count")
            samples = ", ".join(
                repr(value)[:_SAMPLE_LENGTH] for value in details.get("partial_unexpected_list", [])[:3]
            )
            if count is not None:
                detail = f"{count} unexpected value(s)" + (f", e.g. {samples}" if samples else "")
            else:
                detail = f"observed {details.get('observed_value')!r}"
        failures.append(Failure(table, config.type, column, detail))
    return failures


def validate_run(settings: Settings, registry: Registry, run_date: date) -> ValidationReport:
    """Normalize and validate every extraction landed for ``run_date``.

    Valid batches are staged under ``settings.staging_dir``; the others are
    quarantined under ``settings.quarantine_dir`` with their validation result.
    Writes and returns the run's validation report.
    """
    report = ValidationReport(run_date=run_date)
    staging_partition = settings.staging_dir / f"run_date={run_date.isoformat()}"
    shutil.rmtree(staging_partition, ignore_errors=True)  # derived data: rebuilt from the landing zone
    extractions = [read_extraction(path) for path in find_extractions(settings.landing_dir, run_date)]
    # One GX project per run date: runs of different dates (a backfill beside the
    # nightly run) never write the same suite files at once.
    gx_project = settings.gx_docs_dir / f"run_date={run_date.isoformat()}"
    validator = BatchValidator(gx_project) if extractions else None
    normalized = [_normalize(registry, extraction) for extraction in extractions]
    readable = {
        extraction.extraction_id: frames
        for extraction, (outcome, frames) in zip(extractions, normalized, strict=True)
        if outcome.status == "staged" and not outcome.failures
    }
    found = validator.validate_many(readable, run_name=run_date.isoformat()) if validator and readable else {}
    for extraction, (outcome, frames) in zip(extractions, normalized, strict=True):
        if outcome.status != "extraction_failed":
            outcome.failures += found.get(extraction.extraction_id, [])
            outcome.status = "quarantined" if outcome.failures else "staged"
            root = settings.quarantine_dir if outcome.failures else settings.staging_dir
            _write_batch(root, extraction, frames, outcome)
        report.outcomes.append(outcome)
    if validator is not None:
        report.data_docs = str(validator.build_data_docs())
    report_path = settings.data_dir / "reports" / f"run_date={run_date.isoformat()}" / RESULT_FILE
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(report.to_json(), encoding="utf-8")
    return report


def _normalize(registry: Registry, extraction: Extraction) -> tuple[BatchOutcome, dict[str, pd.DataFrame]]:
    """An extraction's records, or the reason it has none (failed extraction, unreadable payload)."""
    outcome = BatchOutcome(
        account_id=extraction.account_id,
        extraction_id=extraction.extraction_id,
        landing_path=str(extraction.path),
        status="staged",
    )
    if not extraction.is_complete:
        outcome.status = "extraction_failed"
        outcome.error = extraction.error
        return outcome, {}
    frames: dict[str, pd.DataFrame] = {}
    try:
        account = registry.account(extraction.account_id)
        pages = extraction.read_pages()
        observed_at = extraction.fetched_at.astimezone(UTC).replace(tzinfo=None)
        frames = get_source(extraction.platform).normalize(pages, account, observed_at)
    except (KeyError, LandingError, NormalizationError) as error:
        outcome.failures.append(Failure("payload", "readable", None, str(error).strip("'\"")))
    outcome.rows = {name: len(frame) for name, frame in frames.items()}
    return outcome, frames


def _write_batch(
    root: Path, extraction: Extraction, frames: dict[str, pd.DataFrame], outcome: BatchOutcome
) -> None:
    directory = (
        root / f"run_date={extraction.run_date.isoformat()}" / f"extraction={extraction.extraction_id}"
    )
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for name, frame in frames.items():
        frame.to_parquet(directory / f"{name}.parquet", index=False)
    batch = asdict(outcome) | {
        "platform": extraction.platform,
        "run_date": extraction.run_date.isoformat(),
        "fetched_at": extraction.fetched_at.isoformat(),
    }
    (directory / (RESULT_FILE if outcome.failures else BATCH_FILE)).write_text(
        json.dumps(batch, indent=2), encoding="utf-8"
    )


def staged_batches(staging_dir: Path, run_dates: Iterable[date] | None = None) -> list[Path]:
    """The staged batch directories, for some run dates or all, oldest observation first."""
    patterns = (
        [f"run_date={day.isoformat()}" for day in run_dates] if run_dates is not None else ["run_date=*"]
    )
    directories = [path for pattern in patterns for path in staging_dir.glob(f"{pattern}/extraction=*")]
    return sorted(directories, key=lambda path: (_fetched_at(path), path.name))


def _fetched_at(directory: Path) -> datetime:
    return datetime.fromisoformat(
        json.loads((directory / BATCH_FILE).read_text(encoding="utf-8"))["fetched_at"]
    )
