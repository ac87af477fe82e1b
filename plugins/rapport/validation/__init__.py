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

import gc
import html
import json
import logging
import shutil
import sys
import types
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from rapport import zones
from rapport.accounts import Registry
from rapport.landing import Extraction, LandingError, find_extractions, read_extraction
from rapport.records import RECORD_TYPES, RECORD_TYPES_BY_NAME, RecordType
from rapport.settings import Settings
from rapport.sources import NormalizationError, Records, get_source
from rapport.sources.payloads import arrow_schema, records_frames, records_table, to_naive_utc
from rapport.validation.data_docs import make_offline
from rapport.validation.suites import BATCH_COLUMN, build_suite, conforms

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

log = logging.getLogger(__name__)

PART_FILE = "batches.json"
RESULT_FILE = "validation.json"
_SAMPLE_LENGTH = 80
_DETAIL_LENGTH = 500


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
    status: str  # staged | quarantined | extraction_failed | extraction_deferred
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


@dataclass(frozen=True)
class Combined:
    """The batches whose tables have the record types' columns and types, their rows
    concatenated per table, each row tagged with its batch in ``BATCH_COLUMN``.

    ``tables`` holds the same rows with the staged column types when the frames
    were made from them (:func:`combine_tables`); otherwise they are converted
    when staged.
    """

    batch_ids: list[str]
    frames: dict[str, pd.DataFrame]
    tables: dict[str, pa.Table] | None = None

    def batch_frames(self) -> dict[str, dict[str, pd.DataFrame]]:
        """Each batch's own frames, keyed by batch id: its rows of each table, untagged."""
        import numpy as np

        by_batch: dict[str, dict[str, pd.DataFrame]] = {batch_id: {} for batch_id in self.batch_ids}
        for name, frame in self.frames.items():
            rows = frame.drop(columns=BATCH_COLUMN)
            positions = frame.groupby(BATCH_COLUMN, sort=False).indices
            none = np.array([], dtype=np.intp)
            for batch_id in self.batch_ids:
                by_batch[batch_id][name] = rows.take(positions.get(batch_id, none)).reset_index(drop=True)
        return by_batch

    def staged_tables(self, batch_ids: set[str]) -> dict[str, pa.Table]:
        """The rows of some of the batches with the staged column types; raises one of
        ``_CONVERSION_ERRORS`` when a value cannot take its column's type."""
        import pyarrow as pa
        import pyarrow.compute as pc

        every = batch_ids >= set(self.batch_ids)
        if self.tables is not None:
            wanted = pa.array(sorted(batch_ids), pa.string())
            return {
                name: table if every else table.filter(pc.is_in(table[BATCH_COLUMN], value_set=wanted))
                for name, table in self.tables.items()
            }
        return {
            name: _staged_table(
                frame if every else frame[frame[BATCH_COLUMN].isin(batch_ids)], RECORD_TYPES_BY_NAME[name]
            )
            for name, frame in self.frames.items()
        }


def combine(batches: dict[str, dict[str, pd.DataFrame]]) -> Combined:
    """Combine the batches (keyed by extraction id) that :func:`conforms` accepts; leave the others."""
    import numpy as np
    import pandas as pd

    batch_ids = [
        batch_id
        for batch_id, frames in batches.items()
        if all(
            frames.get(record_type.name) is not None and conforms(frames[record_type.name], record_type)
            for record_type in RECORD_TYPES
        )
    ]
    combined = {}
    for record_type in RECORD_TYPES if batch_ids else ():
        frames = [batches[batch_id][record_type.name] for batch_id in batch_ids]
        frame = pd.concat(frames, ignore_index=True)
        # Each row tagged with its batch: one column for all (an ``assign`` per frame cost more).
        frame[BATCH_COLUMN] = np.repeat(np.array(batch_ids, dtype=object), [len(part) for part in frames])
        combined[record_type.name] = frame
    return Combined(batch_ids, combined)


def combine_tables(batch_ids: list[str], tables: dict[str, pa.Table]) -> Combined:
    """Combine batches whose rows are already tagged and typed as staged, one table per record type."""
    if not batch_ids:
        return Combined([], {}, {})
    return Combined(batch_ids, {name: table.to_pandas() for name, table in tables.items()}, tables)


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
        self, batches: dict[str, dict[str, pd.DataFrame]], run_name: str, combined: Combined | None = None
    ) -> dict[str, list[Failure]]:
        """Validate many batches, keyed by extraction id; return each one's failures.

        Batches whose tables have the record types' columns and types are
        validated together (``combined``, made by :func:`combine` when not
        given; its batches need not be in ``batches``), one run per table with
        rows tagged by batch: GX's cost is per run, not per row. The others,
        and any table whose failure cannot be traced to its rows, are
        validated batch by batch.
        """
        combined = combine(batches) if combined is None else combined
        together = set(combined.batch_ids)
        failures: dict[str, list[Failure]] = {batch_id: [] for batch_id in [*combined.batch_ids, *batches]}
        for batch_id in batches.keys() - together:
            failures[batch_id] = self.validate(batches[batch_id], run_name=f"{run_name} {batch_id}")
        alone: dict[str, dict[str, pd.DataFrame]] | None = None
        for name, frame in combined.frames.items():
            result = self._run(
                f"{name}_combined",
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
                for batch_id, failure in _failures_by_batch(name, item, rows):
                    failures[batch_id].append(failure)
            if untraced:  # an expectation failed as a whole: find the batches it failed for, one by one
                alone = combined.batch_frames() if alone is None else alone
                for batch_id in combined.batch_ids:
                    single = self._run(name, alone[batch_id][name], run_name, "SUMMARY")
                    failures[batch_id] = _failures(name, single) + [
                        failure for failure in failures[batch_id] if failure.table != name
                    ]
        return failures

    def _run(self, suite_name: str, frame: pd.DataFrame, run_name: str, result_format: Any) -> Any:
        from great_expectations.core.run_identifier import RunIdentifier

        return self._definitions[suite_name].run(
            batch_parameters={"dataframe": _as_gx_reads_it(frame)},
            run_id=RunIdentifier(run_name=run_name),
            result_format=result_format,
        )

    def build_data_docs(self) -> Path:
        """Render the Data Docs site; return the path of its index page.

        Sampled values come from the platforms, and GX 1.24 writes them into
        the pages unescaped: they are HTML-escaped in the stored results first.
        The pages are then made to read offline (``data_docs.make_offline``).
        """
        store = self._context.validation_results_store
        for key in store.list_keys():
            result = store.get(key)
            if _escape_samples(result):
                store.set(key, result)
        self._context.build_data_docs()
        site = Path(self._context.root_directory) / "uncommitted" / "data_docs" / "local_site"
        make_offline(site)
        return site / "index.html"


def _as_gx_reads_it(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the dtypes GX 1.24 handles best: the same values, other types.

    - Text as Python objects: GX cannot name pandas' string dtype, and its
      checks run faster on objects.
    - Timestamps in nanoseconds: GX compares a ``datetime64[ns]`` column with
      its bounds at once, and any other resolution one value at a time in
      Python (14 s a night at 10,000 accounts). A column beyond nanoseconds'
      range (before 1677 or after 2262: a parsing error the suites catch)
      stays as it is.
    - A nullable count (``Int64``) as Python objects: GX 1.24 fails pandas'
      nullable integers whatever the type list, and checks objects one by one.
    """
    import pandas as pd

    columns = {}
    for name, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.StringDtype | pd.Int64Dtype):
            columns[name] = frame[name].astype(object)
        elif pd.api.types.is_datetime64_dtype(dtype) and dtype != "datetime64[ns]":
            try:
                columns[name] = frame[name].astype("datetime64[ns]")
            except (OverflowError, ValueError):  # OutOfBoundsDatetime: compared as it is
                continue
    return frame.assign(**columns) if columns else frame


_SAMPLE_KEYS: Final = (
    "partial_unexpected_list",
    "unexpected_list",
    "partial_unexpected_index_list",
    "unexpected_index_list",
    "partial_unexpected_counts",
    "observed_value",
    "details",
)


def _escape_samples(suite_result: Any) -> bool:
    """HTML-escape every text in the sampled values of a suite's results; tell whether any changed."""
    changed = False

    def escape(value: Any) -> Any:
        nonlocal changed
        if isinstance(value, str):
            escaped = html.escape(value)
            changed |= escaped != value
            return escaped
        if isinstance(value, list):
            return [escape(item) for item in value]
        if isinstance(value, dict):
            return {key: escape(item) for key, item in value.items()}
        return value

    for item in suite_result.results:
        details = item.result or {}
        for key in _SAMPLE_KEYS:
            if key in details:
                details[key] = escape(details[key])
    return changed


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


def validate_run(
    settings: Settings,
    registry: Registry,
    run_date: date,
    *,
    workers: int | None = None,
    staging_dir: Path | None = None,
) -> ValidationReport:
    """Normalize and validate every extraction landed for ``run_date``.

    Valid batches are staged under ``staging_dir`` (default:
    ``settings.staging_dir``; a rebuild stages aside, out of a load's way); the
    others are quarantined under ``settings.quarantine_dir`` with their
    validation result, as is an extraction whose manifest cannot be read.
    Extractions are taken a group at a time, so memory holds two groups at
    most, whatever the run's size. Normalizing (pure Python, the costly part)
    runs in ``workers`` processes (default: ``settings.validation_workers``)
    while this one validates the previous group with Great Expectations.
    Validations of one run date run one at a time: a second one waits for the
    first (they would write the same GX project, staged and quarantined folders).
    Writes and returns the run's validation report.
    """
    with zones.file_lock(zones.validation_lock_file(settings.gx_docs_dir, run_date), wait=True):
        return _validate_run(settings, registry, run_date, workers, staging_dir or settings.staging_dir)


def _validate_run(
    settings: Settings, registry: Registry, run_date: date, workers: int | None, staging_dir: Path
) -> ValidationReport:
    report = ValidationReport(run_date=run_date)
    # Derived data, rebuilt from the landing zone: a batch quarantined by an earlier validation of
    # this date and valid now (its source fixed) must not be left there as if it still failed.
    for root in (staging_dir, settings.quarantine_dir):
        shutil.rmtree(zones.run_date_dir(root, run_date), ignore_errors=True)
    extractions = []
    for path in find_extractions(settings.landing_dir, run_date):
        try:
            extractions.append(read_extraction(path))
        except LandingError as error:  # this extraction is quarantined; the others go on
            report.outcomes.append(_quarantine_unreadable(settings.quarantine_dir, registry, path, error))
    if not extractions:
        _write_report(settings, report)
        return report
    # One GX project per run date: runs of different dates (a backfill beside the
    # nightly run) never write the same suite files at once. GX takes seconds to
    # import: a thread starts it while the workers normalize the first group.
    starter = ThreadPoolExecutor(1, thread_name_prefix="gx-start")
    starting = starter.submit(BatchValidator, zones.gx_project_dir(settings.gx_docs_dir, run_date))
    starter.shutdown(wait=False)
    workers = settings.validation_workers if workers is None else workers
    gc.freeze()  # what lives all along (the extractions, the registry): the collections below skip it
    try:
        for index, group in enumerate(_normalized_groups(registry, extractions, workers), start=1):
            part = zones.staged_part_dir(staging_dir, run_date, index)
            report.outcomes += _validate_group(settings, starting.result(), group, part, run_date)
            # Great Expectations leaves reference cycles (caught exceptions whose tracebacks hold its
            # frames, and the group's DataFrames with them): collected now, memory holds two groups,
            # not as many as the collector lets pile up (5.4 GB at 10,000 accounts instead of 2.1).
            gc.collect()
    finally:
        gc.unfreeze()
    report.data_docs = str(starting.result().build_data_docs())
    _write_report(settings, report)
    return report


def _validate_group(
    settings: Settings, validator: BatchValidator, group: NormalizedGroup, part: Path, run_date: date
) -> list[BatchOutcome]:
    """Validate a group's batches, stage the valid ones in ``part`` and quarantine the others;
    return their outcomes."""
    combined, apart = group.combined, group.apart
    found = validator.validate_many(apart, run_date.isoformat(), combined)
    valid = []
    for extraction, outcome in group.batches:
        if outcome.status not in ("extraction_failed", "extraction_deferred"):
            outcome.failures += found.get(extraction.extraction_id, [])
            if not outcome.failures:
                valid.append((extraction, outcome, apart.get(extraction.extraction_id, {})))
    _stage_part(part, valid, combined)
    in_combined = set(combined.batch_ids)
    together: dict[str, dict[str, pd.DataFrame]] | None = None
    for extraction, outcome in group.batches:
        if outcome.failures:
            outcome.status = "quarantined"
            frames = apart.get(extraction.extraction_id, {})
            if extraction.extraction_id in in_combined:
                together = combined.batch_frames() if together is None else together
                frames = together[extraction.extraction_id]
            _quarantine(settings.quarantine_dir, extraction, frames, outcome)
    return [outcome for _, outcome in group.batches]


def _write_report(settings: Settings, report: ValidationReport) -> None:
    path = zones.report_file(settings.data_dir, report.run_date, RESULT_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.to_json(), encoding="utf-8")


_GROUP_BYTES = 256 * 1024**2
"""JSON read for one group of extractions at most (about 400,000 records): a group is normalized,
then validated together, and memory holds two groups. A year of one account is about 2 MB."""
_GROUP_EXTRACTIONS = 2_000
"""Extractions in a group at most: a nightly one is some 100 KB, and Great Expectations' cost is
per run, not per row, so many of them go together."""
_PARALLEL_FROM = 200
"""Fewer extractions than this are normalized in this process: a pool costs more than it saves."""

_CHUNKS_PER_WORKER = 4
"""A group goes to the workers in this many chunks per worker: few enough that each returns its
rows as one table per record type, enough that the workers stay busy to the group's end."""


@dataclass(frozen=True)
class NormalizedGroup:
    """A group of extractions, normalized: each with its outcome so far, the batches whose records
    take the tables' column types together (``combined``), and the other readable ones' frames."""

    batches: list[tuple[Extraction, BatchOutcome]]
    combined: Combined
    apart: dict[str, dict[str, pd.DataFrame]]


@dataclass(frozen=True)
class _Chunk:
    """Extractions normalized together: their outcomes, the rows of those whose records take the
    column types (one table per record type, each row tagged with its batch), the others' frames."""

    outcomes: list[BatchOutcome]
    typed: list[str]
    tables: dict[str, pa.Table]
    apart: dict[str, dict[str, pd.DataFrame]]


def _normalized_groups(
    registry: Registry, extractions: list[Extraction], workers: int
) -> Iterator[NormalizedGroup]:
    """The extractions with their normalized records, a group at a time, in order."""
    groups = _groups(extractions)
    if workers <= 1 or len(extractions) < _PARALLEL_FROM:
        for group in groups:
            yield _assemble(group, [_normalize_chunk(registry, group)])
        return
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    def submit(group: list[Extraction]) -> list[Future[_Chunk]]:
        size = -(-len(group) // (workers * _CHUNKS_PER_WORKER))
        return [pool.submit(_normalize_in_worker, group[i : i + size]) for i in range(0, len(group), size)]

    # spawn, not fork: this process runs pyarrow's and Great Expectations' threads, which fork would copy.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=spawn, initializer=_set_registry, initargs=(registry,)
    ) as pool:
        with _main_module_hidden():  # the first submit starts every worker
            pending = submit(groups[0])
        for index, group in enumerate(groups):
            done = [future.result() for future in pending]
            # Submit the next group before yielding: it is normalized while this one is validated.
            pending = submit(groups[index + 1]) if index + 1 < len(groups) else []
            yield _assemble(group, done)


def _assemble(group: list[Extraction], chunks: list[_Chunk]) -> NormalizedGroup:
    outcomes = [outcome for chunk in chunks for outcome in chunk.outcomes]
    return NormalizedGroup(
        batches=list(zip(group, outcomes, strict=True)),
        combined=combine_tables(
            [batch_id for chunk in chunks for batch_id in chunk.typed],
            _concat_tables([chunk.tables for chunk in chunks]),
        ),
        apart={batch_id: frames for chunk in chunks for batch_id, frames in chunk.apart.items()},
    )


def _concat_tables(parts: list[dict[str, pa.Table]]) -> dict[str, pa.Table]:
    """Each record type's tables of ``parts`` (each a table per record type, as staged) as one."""
    import pyarrow as pa

    return {
        record_type.name: pa.concat_tables([part[record_type.name] for part in parts])
        if parts
        else _staged_schema(record_type).empty_table()
        for record_type in RECORD_TYPES
    }


def _groups(extractions: list[Extraction]) -> list[list[Extraction]]:
    """Consecutive groups of at most ``_GROUP_EXTRACTIONS`` extractions and ``_GROUP_BYTES`` of
    landed JSON (a bigger extraction alone)."""
    groups: list[list[Extraction]] = []
    size = 0
    for extraction in extractions:
        extraction_size = sum(
            page_bytes for page in extraction.pages if isinstance(page_bytes := page.get("bytes"), int)
        )
        if not groups or len(groups[-1]) >= _GROUP_EXTRACTIONS or size + extraction_size > _GROUP_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(extraction)
        size += extraction_size
    return groups


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start spawned workers without the parent's ``__main__``.

    A spawned worker re-runs the script its parent was started with. Under
    Airflow that is the ``airflow`` command, which a task process's
    environment keeps from starting, so the worker would die. The workers
    need nothing of it: they import ``rapport``.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


_worker_registry: Registry | None = None


def _set_registry(registry: Registry) -> None:
    global _worker_registry
    _worker_registry = registry


def _normalize_in_worker(extractions: list[Extraction]) -> _Chunk:
    assert _worker_registry is not None, "the pool's initializer sets the registry"
    return _normalize_chunk(_worker_registry, extractions)


def _normalize_chunk(registry: Registry, extractions: list[Extraction]) -> _Chunk:
    """Normalize extractions and type their records: one table per record type for all those whose
    values take the column types (found at once when all do), frames for the others."""
    outcomes = []
    records: dict[str, Records] = {}
    for extraction in extractions:
        outcome, found = _normalize(registry, extraction)
        outcomes.append(outcome)
        if found is not None:
            records[extraction.extraction_id] = found
    tables = _tagged_tables(records)
    if tables is not None:
        return _Chunk(outcomes, list(records), tables, {})
    # Some batch's values do not take the column types: type each batch alone, the others as frames.
    typed, parts, apart = [], [], {}
    by_id = {outcome.extraction_id: outcome for outcome in outcomes}
    for batch_id, batch_records in records.items():
        batch_tables = _tagged_tables({batch_id: batch_records})
        if batch_tables is not None:
            typed.append(batch_id)
            parts.append(batch_tables)
            continue
        try:
            apart[batch_id] = records_frames(batch_records)
        except Exception as error:  # a bug of the source's: this batch is quarantined, the others go on
            log.exception("%s: the records of %s have no frame", by_id[batch_id].account_id, batch_id)
            detail = f"{type(error).__name__} while making frames of its records: {error}"[:_DETAIL_LENGTH]
            by_id[batch_id].failures.append(Failure("payload", "normalizable", None, detail))
    return _Chunk(outcomes, typed, _concat_tables(parts), apart)


def _tagged_tables(records: dict[str, Records]) -> dict[str, pa.Table] | None:
    """The rows of the batches (keyed by batch id) of each record type as one table of the staged
    schema, or ``None`` when a batch lacks a table or a column, or a value does not take its type."""
    import numpy as np
    import pyarrow as pa

    batch_ids = np.array(list(records), dtype=object)
    tables = {}
    for record_type in RECORD_TYPES:
        try:
            per_batch = [batch_records[record_type.name] for batch_records in records.values()]
            table = records_table(record_type, [row for rows in per_batch for row in rows])
        except KeyError:
            return None
        if table is None:
            return None
        batches = pa.array(np.repeat(batch_ids, [len(rows) for rows in per_batch]), pa.string())
        tables[record_type.name] = table.append_column(pa.field(BATCH_COLUMN, pa.string()), batches)
    return tables


def _normalize(registry: Registry, extraction: Extraction) -> tuple[BatchOutcome, Records | None]:
    """An extraction's records, or the reason it has none (failed extraction, unreadable payload)."""
    outcome = BatchOutcome(
        account_id=extraction.account_id,
        extraction_id=extraction.extraction_id,
        landing_path=str(extraction.path),
        status="staged",
    )
    if not extraction.is_complete:
        outcome.status = "extraction_deferred" if extraction.is_deferred else "extraction_failed"
        outcome.error = extraction.error
        return outcome, None
    try:
        account = registry.account(extraction.account_id)
        pages = extraction.read_pages()
        # Observed at the end of the window (the run's logical date), not when it ran: a run
        # gives the same rows whatever day it executes; the wall clock only bounds what it saw.
        records = get_source(extraction.platform).normalize(
            pages, account, to_naive_utc(extraction.window.until), to_naive_utc(extraction.fetched_at)
        )
    except (KeyError, LandingError, NormalizationError) as error:
        # A KeyError's message is its quoted key: unquoted; other messages are kept whole.
        detail = str(error).strip("'\"") if isinstance(error, KeyError) else str(error)
        outcome.failures.append(Failure("payload", "readable", None, detail))
        return outcome, None
    except Exception as error:  # a bug of the source's: this batch is quarantined, the others go on
        log.exception("%s: normalizing %s failed unexpectedly", extraction.account_id, extraction.path)
        detail = f"{type(error).__name__} while normalizing: {error}"[:_DETAIL_LENGTH]
        outcome.failures.append(Failure("payload", "normalizable", None, detail))
        return outcome, None
    # A source leaves out the record types it never gives (an API's reads give no export_files).
    records = {record_type.name: records.get(record_type.name, []) for record_type in RECORD_TYPES}
    outcome.rows = {name: len(rows) for name, rows in records.items()}
    return outcome, records


ValidBatches = list[tuple[Extraction, BatchOutcome, dict[str, "pd.DataFrame"]]]
"""Batches that passed validation, with their frames (none for those in a group's ``combined``)."""


def _stage_part(directory: Path, valid: ValidBatches, combined: Combined) -> None:
    """Stage the valid batches of a group together: one Parquet file per table, and ``batches.json``.

    One file per table and group, not per batch: a nightly run of 10,000 accounts
    stages a few parts instead of 30,000 small files, and the loader reads as few.
    The rows of the batches validated together are taken from ``combined`` at
    once; the others are converted batch by batch. A batch whose rows cannot
    take the tables' column types (it passed its suite with other dtypes) is
    quarantined with the reason, and the rest are staged. ``batches.json`` is
    written last: a part without it was never finished, and is not loaded.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables: dict[str, list[pa.Table]] = {record_type.name: [] for record_type in RECORD_TYPES}
    staged = []
    in_combined = set(combined.batch_ids)
    together = [item for item in valid if item[0].extraction_id in in_combined]
    apart = [item for item in valid if item[0].extraction_id not in in_combined]
    if together:
        try:
            converted = combined.staged_tables({extraction.extraction_id for extraction, _, _ in together})
        except _CONVERSION_ERRORS:  # find the batch at fault: each on its own
            apart = valid
        else:
            for name, table in converted.items():
                tables[name].append(table)
            staged += [_describe(extraction, outcome) for extraction, outcome, _ in together]
    for extraction, outcome, frames in apart:
        batch_tables = {}
        for record_type in RECORD_TYPES:
            try:
                batch_tables[record_type.name] = _staged_table(
                    frames[record_type.name].assign(**{BATCH_COLUMN: extraction.extraction_id}), record_type
                )
            except _CONVERSION_ERRORS as error:
                detail = f"cannot take the table's column types: {error}"[:_DETAIL_LENGTH]
                outcome.failures.append(Failure(record_type.name, "stageable", None, detail))
                break
        if outcome.failures:
            continue
        for name, table in batch_tables.items():
            tables[name].append(table)
        staged.append(_describe(extraction, outcome))
    shutil.rmtree(directory, ignore_errors=True)
    if not staged:
        return
    directory.mkdir(parents=True)
    for record_type in RECORD_TYPES:
        parts = tables[record_type.name]
        table = pa.concat_tables(parts) if parts else _staged_schema(record_type).empty_table()
        pq.write_table(table, directory / f"{record_type.name}.parquet")
    (directory / PART_FILE).write_text(json.dumps(staged, indent=1), encoding="utf-8")


_CONVERSION_ERRORS: Final = (ValueError, TypeError, OverflowError)  # with ArrowInvalid, ArrowTypeError


def _staged_schema(record_type: RecordType) -> pa.Schema:
    """A staged table's columns: the record type's, and the batch each row came from."""
    import pyarrow as pa

    return arrow_schema(record_type).append(pa.field(BATCH_COLUMN, pa.string()))


def _staged_table(frame: pd.DataFrame, record_type: RecordType) -> pa.Table:
    """A frame of a record type's rows, tagged with their batch, with the staged column types."""
    import pyarrow as pa

    return pa.Table.from_pandas(frame, schema=_staged_schema(record_type), preserve_index=False)


def _describe(extraction: Extraction, outcome: BatchOutcome) -> dict[str, Any]:
    """What the loader and a reader need of a batch: its outcome, where it came from, its window."""
    described = asdict(outcome) | {
        "platform": extraction.platform,
        "run_date": extraction.run_date.isoformat(),
        "fetched_at": extraction.fetched_at.isoformat(),
        "window": {
            "since": extraction.window.since.isoformat(),
            "until": extraction.window.until.isoformat(),
        },
    }
    if extraction.reads_since is not None:
        # It read threads of posts older than its window (the thread ledger's backlog): the
        # loader refreshes the weeks from the oldest of them.
        described["reads_since"] = extraction.reads_since.isoformat()
    return described


def _quarantine(
    root: Path, extraction: Extraction, frames: dict[str, pd.DataFrame], outcome: BatchOutcome
) -> None:
    """Keep a batch that failed with its records and its validation result, for a person to read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory = zones.quarantine_batch_dir(root, extraction.run_date, extraction.extraction_id)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for name, frame in frames.items():
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), directory / f"{name}.parquet")
    result = json.dumps(_describe(extraction, outcome), indent=2)
    (directory / RESULT_FILE).write_text(result, encoding="utf-8")


def _quarantine_unreadable(root: Path, registry: Registry, path: Path, error: LandingError) -> BatchOutcome:
    """Quarantine an extraction whose manifest cannot be read: its folder's name tells the account,
    run date and extraction; the reason names the manifest and what is wrong. Returns its outcome."""
    address = zones.landing_address(path)
    if address is None:  # find_extractions yields only paths of the landing zone's layout
        raise error
    account_id = next(
        (
            account.account_id
            for account in registry.accounts
            if (account.platform, account.slug) == (address.platform, address.slug)
        ),
        f"{address.platform}:{address.slug}",
    )
    outcome = BatchOutcome(
        account_id=account_id,
        extraction_id=address.extraction_id,
        landing_path=str(path),
        status="quarantined",
        failures=[Failure("manifest", "readable", None, str(error)[:_DETAIL_LENGTH])],
    )
    log.error("%s: quarantined: %s", account_id, error)
    directory = zones.quarantine_batch_dir(root, address.run_date, address.extraction_id)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    result = asdict(outcome) | {"platform": address.platform, "run_date": address.run_date.isoformat()}
    (directory / RESULT_FILE).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return outcome


@dataclass(frozen=True)
class StagedPart:
    """Valid batches staged together: one Parquet file per table, and each batch's description
    (``batches.json``: its outcome, row counts, fetch time and window)."""

    path: Path
    batches: tuple[dict[str, Any], ...]

    def file(self, table: str) -> Path:
        return self.path / f"{table}.parquet"

    def rows(self, table: str) -> int:
        return sum(int(batch["rows"].get(table, 0)) for batch in self.batches)


def staged_parts(staging_dir: Path, run_dates: Iterable[date] | None = None) -> list[StagedPart]:
    """The staged parts, for some run dates or all, in order of run date and part."""
    descriptions = zones.staged_part_files(staging_dir, run_dates, PART_FILE)
    return [
        StagedPart(path.parent, tuple(json.loads(path.read_text(encoding="utf-8")))) for path in descriptions
    ]
