"""Load validated batches into the DuckDB warehouse, idempotently.

Everything lands in the ``raw`` schema, one table per record type plus the
registry (``organizations``, ``accounts``) and a ``load_batches`` log. Posts,
interactions and thread reads are upserted on their keys (:mod:`rapport.records`: platform,
account and native id): a newer observation updates the counts and keeps
``first_observed_at``; an older one changes nothing, so batches can be loaded
again, in any order, with the same result.
Account snapshots are kept whole, one row per observation.

One load is one transaction: it commits entirely or not at all. Every writer
(a load, dbt, a rebuild) holds the warehouse's writer lock (:func:`writer_lock`)
while it writes; a second one is refused, naming the file, and writes nothing.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapport import zones
from rapport.accounts import Registry
from rapport.errors import RapportError
from rapport.records import (
    ACCOUNT_SNAPSHOTS,
    EXPORT_FILES,
    INTERACTIONS,
    POSTS,
    RECORD_TYPES,
    THREAD_READS,
    RecordType,
)
from rapport.validation import StagedPart

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

_REGISTRY_DDL = """
create schema if not exists raw;
create table if not exists raw.organizations (
    organization_id varchar primary key,
    name varchar not null,
    peer_group varchar not null,
    size_band varchar not null,
    language varchar not null
);
create table if not exists raw.accounts (
    account_id varchar primary key,
    organization_id varchar not null,
    platform varchar not null,
    handle varchar not null,
    instance varchar
);
create table if not exists raw.load_batches (
    extraction_id varchar primary key,
    account_id varchar not null,
    platform varchar not null,
    run_date date not null,
    fetched_at timestamp not null,
    posts_rows bigint not null,
    interactions_rows bigint not null,
    account_snapshots_rows bigint not null,
    thread_reads_rows bigint,
    loaded_at timestamp not null,
    window_since timestamp,
    window_until timestamp
);
-- Warehouses loaded before the window was recorded (NULL there: dbt refreshes such accounts whole).
alter table raw.load_batches add column if not exists window_since timestamp;
alter table raw.load_batches add column if not exists window_until timestamp;
-- And before threads were read into their own table (NULL there).
alter table raw.load_batches add column if not exists thread_reads_rows bigint;
"""

_ROWS_PER_MERGE = 5_000_000
"""Rows merged together at most (a nightly load is one slice; a year of 10,000 accounts, seven)."""

_READ_FILES = "read_parquet(?, union_by_name = false)"
"""The staged Parquet files of a list given as the statement's parameter."""

# Upserted tables also keep when a row was first observed.
_UPSERTED = (POSTS, INTERACTIONS, THREAD_READS, EXPORT_FILES)


@dataclass(frozen=True)
class LoadResult:
    """What one load wrote."""

    batches: int
    rows: dict[str, int]
    warehouse: Path


class WarehouseBusyError(RapportError, RuntimeError):
    """Another process writes the warehouse; the message names the file and the holder."""


def busy_message(warehouse: Path) -> str:
    """The start of the message of a writer refused because another one holds the warehouse."""
    return (
        f"{warehouse}: cannot open the warehouse (another process holds it: only one writer "
        f"at a time; readers use the published copy)"
    )


@contextmanager
def writer_lock(warehouse: Path) -> Iterator[None]:
    """Hold the warehouse's writer lock until the block ends; raise ``WarehouseBusyError``, at
    once, when another writer (a load, dbt, a rebuild) holds it."""

    def busy(held: zones.LockHeldError) -> Exception:
        return WarehouseBusyError(f"{busy_message(warehouse)}: its writer lock is held by {held.holder}")

    with zones.file_lock(zones.writer_lock_file(warehouse), wait=False, busy=busy):
        yield


def connect(warehouse: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; raise ``duckdb.IOException`` naming the file when it is locked."""
    import duckdb

    warehouse.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(warehouse), read_only=read_only)
    except duckdb.IOException as error:
        raise duckdb.IOException(f"{busy_message(warehouse)}: {error}") from error


def replace_warehouse(new: Path, warehouse: Path) -> None:
    """Put the complete warehouse ``new`` in the place of ``warehouse``, in one rename.

    The caller holds both files' writer locks. ``new`` is checkpointed (no
    write-ahead log left beside it) and synced first. A log left beside the old
    file (by a process outside Rapport, which takes no writer lock) is
    removed with it: replayed into the new file, it would corrupt it.
    """
    connect(new).close()  # closing checkpoints: every change in the file, the .wal removed
    with new.open("rb") as handle:
        os.fsync(handle.fileno())
    new.replace(warehouse)
    Path(f"{warehouse}.wal").unlink(missing_ok=True)
    descriptor = os.open(warehouse.parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)  # the rename itself
    finally:
        os.close(descriptor)


def create_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the ``raw`` schema and its tables when they do not exist yet."""
    connection.execute(_REGISTRY_DDL)
    for record_type in RECORD_TYPES:
        columns = [
            f"{column.name} {column.sql_type}{'' if column.nullable else ' not null'}"
            for column in record_type.columns
        ]
        if record_type in _UPSERTED:
            columns.append("first_observed_at timestamp not null")
        connection.execute(f"create table if not exists raw.{record_type.name} ({', '.join(columns)})")
        _drop_primary_key(connection, record_type.name)
    _upgrade_account_snapshots(connection)
    _replace_platforms(connection)


_PLATFORMS_DDL = """
create or replace table raw.platforms (
    platform varchar primary key,
    platform_name varchar not null,
    is_simulated boolean not null,
    needs_instance boolean not null,
    cost_unit varchar not null,
    cost_first_run bigint not null,
    cost_nightly bigint not null,
    cost_nothing_new bigint not null,
    cost_example varchar not null,
    unavailable_columns varchar[] not null,
    post_url_template varchar
);
create or replace table raw.platform_measures (
    platform varchar not null,
    measure_number integer not null,
    measure varchar not null,
    seen varchar not null,
    how varchar not null,
    primary key (platform, measure_number)
);
create or replace table raw.export_formats (
    export_format varchar primary key,
    platform varchar not null,
    format_name varchar not null,
    files varchar not null,
    where_downloaded varchar not null
);
create or replace table raw.export_format_feeds (
    export_format varchar not null,
    component_number integer not null,
    component varchar not null,
    is_fed boolean not null,
    how varchar not null,
    primary key (export_format, component_number)
);
"""


def _replace_platforms(connection: duckdb.DuckDBPyConnection) -> None:
    """``raw.platforms`` and ``raw.platform_measures`` (and ``raw.export_formats`` and
    ``raw.export_format_feeds``, what each export format feeds): one row per platform folder of
    ``rapport.sources`` and per row of its metric-availability table, from its contract, made anew
    at every load. dbt checks every account's platform against them (no list of platforms in the
    dbt project to keep in step), and publishes what each platform can and cannot see."""
    from rapport.sources import platforms

    contracts = platforms()
    connection.execute(_PLATFORMS_DDL)
    connection.executemany(
        "insert into raw.platforms values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                contract.name,
                contract.title,
                contract.simulated,
                contract.needs_instance,
                contract.cost.unit,
                contract.cost.first_run,
                contract.cost.nightly,
                contract.cost.nothing_new,
                contract.cost.example,
                sorted(contract.unavailable),
                contract.post_url,
            )
            for contract in contracts
        ],
    )
    connection.executemany(
        "insert into raw.platform_measures values (?, ?, ?, ?, ?)",
        [
            (contract.name, number, measure.name, measure.seen, measure.how)
            for contract in contracts
            for number, measure in enumerate(contract.availability, 1)
        ],
    )
    formats = [(contract, export) for contract in contracts for export in contract.exports]
    if formats:
        connection.executemany(
            "insert into raw.export_formats values (?, ?, ?, ?, ?)",
            [
                (export.name, contract.name, export.title, export.files, export.where)
                for contract, export in formats
            ],
        )
        connection.executemany(
            "insert into raw.export_format_feeds values (?, ?, ?, ?, ?)",
            [
                (export.name, number, feed.component, feed.fed, feed.how)
                for _, export in formats
                for number, feed in enumerate(export.feeds, 1)
            ],
        )


def _upgrade_account_snapshots(connection: duckdb.DuckDBPyConnection) -> None:
    """Bring the snapshots of a warehouse made before account states (issue 15) to the current columns.

    Its snapshots were all read as live accounts: they get ``account_state``
    'active'. The counts become nullable: a suspended account shows none.
    """
    table = f"raw.{ACCOUNT_SNAPSHOTS.name}"
    found = dict(
        connection.execute(
            "select column_name, is_nullable from duckdb_columns() "
            "where schema_name = 'raw' and table_name = ?",
            [ACCOUNT_SNAPSHOTS.name],
        ).fetchall()
    )
    if "account_state" not in found:
        connection.execute(f"alter table {table} add column account_state varchar default 'active'")
        connection.execute(f"alter table {table} alter column account_state set not null")
        connection.execute(f"alter table {table} alter column account_state drop default")
    connection.execute(f"alter table {table} add column if not exists moved_to_handle varchar")
    for column in ACCOUNT_SNAPSHOTS.columns:
        if column.nullable and found.get(column.name) is False:
            connection.execute(f"alter table {table} alter column {column.name} drop not null")


def _drop_primary_key(connection: duckdb.DuckDBPyConnection, table: str) -> None:
    """Rebuild a table of a warehouse created with a primary key (Rapport 0.1) without it.

    The keys stay unique (the upsert below keeps one row per key, and dbt tests
    it); the index only cost memory and time, and a lot of both at scale.
    """
    [(found,)] = connection.execute(
        "select count(*) from duckdb_constraints() "
        "where schema_name = 'raw' and table_name = ? and constraint_type = 'PRIMARY KEY'",
        [table],
    ).fetchall()
    if found:
        connection.execute(f"create table raw.{table}__rebuilt as select * from raw.{table}")
        connection.execute(f"drop table raw.{table}")
        connection.execute(f"alter table raw.{table}__rebuilt rename to {table}")


def load_batches(
    warehouse: Path, registry: Registry, parts: Sequence[StagedPart], memory_limit: str | None = None
) -> LoadResult:
    """Load the batches of staged parts (from :func:`rapport.validation.staged_parts`) in one transaction.

    Returns the number of batches and of rows read per table. Raises
    ``WarehouseBusyError`` when another writer holds the warehouse, and the
    database error, with nothing written, when anything fails: the first
    error (a full disk at the commit), not a rollback's after it.
    """
    rows = {record_type.name: 0 for record_type in RECORD_TYPES}
    batches = [batch for part in parts for batch in part.batches]
    limit = _memory_size(memory_limit) if memory_limit else None
    with writer_lock(warehouse):
        connection = connect(warehouse)
        try:
            # Rows have keys, not an order: DuckDB need not keep the order it read them in.
            connection.execute("set preserve_insertion_order = false")
            if limit:  # beyond it, DuckDB spills to disk
                connection.execute(f"set memory_limit = '{limit}'")
            connection.execute("begin transaction")
            create_tables(connection)
            _replace_registry(connection, registry)
            for record_type in RECORD_TYPES:
                files = [(str(part.file(record_type.name)), part.rows(record_type.name)) for part in parts]
                rows[record_type.name] = _merge(connection, record_type, files)
            _log_batches(connection, batches)
            connection.execute("commit")
        except BaseException as error:
            _close_after(connection, error, warehouse)
            raise
        connection.close()
    return LoadResult(batches=len(batches), rows=rows, warehouse=warehouse)


def _close_after(connection: duckdb.DuckDBPyConnection, error: BaseException, warehouse: Path) -> None:
    """Roll back and close after ``error``; a failure of either is logged, and never takes the
    place of ``error`` (a failed commit has already ended the transaction: DuckDB then refuses
    the rollback, and that refusal would hide the cause, such as a full disk)."""
    import duckdb

    for step, statement in (("roll back", "rollback"), ("close", None)):
        try:
            if statement:
                connection.execute(statement)
            else:
                connection.close()
        except duckdb.Error as failure:
            log.warning("%s: could not %s after %s: %s", warehouse, step, type(error).__name__, failure)


def _replace_registry(connection: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """The registry's organizations and accounts, one statement per table (not one per row:
    10,000 accounts took 6 s), in the tables' column order."""
    import pyarrow as pa

    organizations = [
        (org.organization_id, org.name, org.peer_group, org.size_band, org.language)
        for org in registry.organizations
    ]
    accounts = [
        (account.account_id, account.organization_id, account.platform, account.handle, account.instance)
        for account in registry.accounts
    ]
    connection.execute("delete from raw.accounts")
    connection.execute("delete from raw.organizations")
    for table, rows in (("organizations", organizations), ("accounts", accounts)):
        if rows:
            values = pa.table(
                {
                    f"column{index}": pa.array(column, pa.string())
                    for index, column in enumerate(zip(*rows, strict=True))
                }
            )
            connection.register("registry_rows", values)
            connection.execute(f"insert into raw.{table} select * from registry_rows")
            connection.unregister("registry_rows")


def _merge(
    connection: duckdb.DuckDBPyConnection, record_type: RecordType, files: list[tuple[str, int]]
) -> int:
    """Merge the rows of ``files`` (path, rows) into their raw table; return how many rows were read.

    Into an empty table (a first load, a rebuild) with no key repeated, all
    files go in with one insert, which needs no join and streams. Otherwise a
    slice of files at a time is merged: memory holds one slice, whatever the
    load's size, and the merge gives the same rows in any order and slicing.
    """
    if not files:
        return 0
    rows = sum(count for _, count in files)
    table = f"raw.{record_type.name}"
    [(is_empty,)] = connection.execute(f"select count(*) = 0 from (select 1 from {table} limit 1)").fetchall()
    paths = [path for path, _ in files]
    if is_empty and not _repeats_a_key(connection, record_type, _READ_FILES, [paths]):
        _upsert(connection, record_type, paths, into_empty=True)
        return rows
    for merged in _slices(files):
        _upsert(connection, record_type, merged)
    return rows


def _slices(files: list[tuple[str, int]]) -> list[list[str]]:
    """The paths of ``files`` (path, rows) in consecutive slices of at most ``_ROWS_PER_MERGE``
    rows (a bigger file alone)."""
    slices: list[list[str]] = []
    rows = 0
    for path, count in files:
        if not slices or (slices[-1] and rows + count > _ROWS_PER_MERGE):
            slices.append([])
            rows = 0
        slices[-1].append(path)
        rows += count
    return slices


def _repeats_a_key(
    connection: duckdb.DuckDBPyConnection, record_type: RecordType, source: str, parameters: list[Any]
) -> bool:
    """Whether two rows of ``source`` share a key (the same post seen by two batches)."""
    key = ", ".join(record_type.key)
    [(repeats,)] = connection.execute(
        f"select count(*) > count(distinct ({key})) from {source}", parameters
    ).fetchall()
    return bool(repeats)


def _upsert(
    connection: duckdb.DuckDBPyConnection, record_type: RecordType, files: list[str], into_empty: bool = False
) -> None:
    """Merge the rows of ``files`` into their raw table.

    The newest observation of each key wins, and the earliest first
    observation is kept, whichever side it comes from. Keyed joins, not a
    primary-key index: the index would cost memory for every row ever loaded.
    The files are read once into a temporary table; a join with the keys and
    observation times of the stored rows tells which incoming rows replace a
    stored one (a delete, then an insert). DuckDB rewrites an updated row
    column by column: at 10,000 accounts a MERGE updating the rows of a nightly
    load took 13.9 s and 2.6 GB, this 8.5 s and 1.7 GB. Loading a whole year
    again into a warehouse that holds it is slower this way (70 s against
    55 s): a rare run, traded for the nightly one. ``into_empty`` (an empty
    table, no key repeated among the files: the caller checked) streams them
    straight in instead.
    """
    columns = ", ".join(record_type.column_names)
    key = ", ".join(record_type.key)
    table = f"raw.{record_type.name}"
    upserted = record_type in _UPSERTED
    if into_empty:
        selected = f"{columns}, observed_at as first_observed_at" if upserted else columns
        connection.execute(f"insert into {table} by name select {selected} from {_READ_FILES}", [files])
        return
    connection.execute(
        f"create or replace temporary table incoming as "
        f"select {columns}, observed_at as first_observed_at from {_READ_FILES}",
        [files],
    )
    if _repeats_a_key(connection, record_type, "incoming", []):
        # The newest observation of each key among the files, with the first one.
        connection.execute(
            f"""
            create or replace temporary table incoming as
            select {columns}, first_observed_at
            from (
                select {columns},
                    min(observed_at) over (partition by {key}) as first_observed_at,
                    row_number() over (partition by {key} order by observed_at desc) as observation_rank
                from incoming
            )
            where observation_rank = 1
            """
        )
    if upserted:
        _replace_observed(connection, record_type)
    else:  # kept whole: a row already there stays as it is
        connection.execute(
            f"insert into {table} by name select {columns} from incoming anti join {table} using ({key})"
        )
    connection.execute("drop table incoming")


def _replace_observed(connection: duckdb.DuckDBPyConnection, record_type: RecordType) -> None:
    """Replace the stored rows of the keys in ``incoming`` with the newest observation of each.

    A newer (or the same) observation replaces the stored row; an older one
    loaded late changes nothing but the first observation, the earliest of both.
    Only the keys and observation times of the stored rows are read.
    """
    table = f"raw.{record_type.name}"
    key = ", ".join(record_type.key)
    stored_matching = " and ".join(f"stored.{column} = incoming.{column}" for column in record_type.key)
    matching = " and ".join(f"{table}.{column} = observed.{column}" for column in record_type.key)
    connection.execute(
        f"""
        create or replace temporary table observed as
        select
            incoming.* replace (
                least(stored.first_observed_at, incoming.first_observed_at) as first_observed_at
            ),
            stored.is_stored is null
            or coalesce(incoming.observed_at >= stored.observed_at, false) as is_newer
        from incoming
        left join (
            select {key}, observed_at, first_observed_at, true as is_stored from {table}
        ) as stored on {stored_matching}
        """
    )
    # A key not stored matches no row to delete; one whose stored row is newer has no row to insert.
    connection.execute(f"delete from {table} using observed where {matching} and is_newer")
    connection.execute(
        f"insert into {table} by name select * exclude (is_newer) from observed where is_newer"
    )
    connection.execute(
        f"update {table} set first_observed_at = observed.first_observed_at from observed "
        f"where {matching} and not is_newer "
        f"and observed.first_observed_at is distinct from {table}.first_observed_at"
    )
    connection.execute("drop table observed")


def _log_batches(connection: duckdb.DuckDBPyConnection, metas: Sequence[dict[str, Any]]) -> None:
    """Record each batch loaded (its entry in a part's ``batches.json``), with its extraction window:
    dbt's incremental models refresh, per account, the weeks from the earliest window loaded since
    they last ran. A batch that read threads of posts older than its window (the thread ledger's
    backlog) logs the oldest of those posts as its ``window_since``: the weeks its rows touch are
    recomputed."""
    import pyarrow as pa

    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    records = []
    for meta in metas:
        window = meta.get("window") or {}
        records.append(
            {
                "extraction_id": meta["extraction_id"],
                "account_id": meta["account_id"],
                "platform": meta["platform"],
                "run_date": date.fromisoformat(meta["run_date"]),
                "fetched_at": _naive_utc(meta["fetched_at"]),
                "posts_rows": meta["rows"].get("posts", 0),
                "interactions_rows": meta["rows"].get("interactions", 0),
                "account_snapshots_rows": meta["rows"].get("account_snapshots", 0),
                "thread_reads_rows": meta["rows"].get("thread_reads", 0),
                "loaded_at": loaded_at,
                "window_since": _window_since(meta),
                "window_until": _naive_utc(window["until"]) if "until" in window else None,
            }
        )
    if records:
        # One statement for all of them (not one per batch: 10,000 batches took seconds).
        logged = pa.Table.from_pylist(records)
        connection.register("logged_batches", logged)
        connection.execute("insert or replace into raw.load_batches by name select * from logged_batches")
        connection.unregister("logged_batches")


def _window_since(meta: dict[str, Any]) -> datetime | None:
    """The earliest moment a batch's rows may touch: its window's start, or the oldest post whose
    thread it read, if older."""
    window = meta.get("window") or {}
    moments = [_naive_utc(moment) for moment in (window.get("since"), meta.get("reads_since")) if moment]
    return min(moments, default=None)


def _memory_size(text: str) -> str:
    """A DuckDB memory size such as ``3GB``; raise ``ValueError`` naming the setting otherwise."""
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", text.strip()):
        raise ValueError(f"RAPPORT_DUCKDB_MEMORY_LIMIT: {text!r} is not a memory size such as 3GB")
    return text.strip()


def _naive_utc(moment: str) -> datetime:
    return datetime.fromisoformat(moment).astimezone(UTC).replace(tzinfo=None)
