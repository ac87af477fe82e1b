"""Load validated batches into the DuckDB warehouse, idempotently.

Everything lands in the ``raw`` schema, one table per record type plus the
registry (``organizations``, ``accounts``) and a ``load_batches`` log. Posts
and interactions are upserted on (platform, native id): a newer observation
updates the counts and keeps ``first_observed_at``; an older one changes
nothing, so batches can be loaded again, in any order, with the same result.
Account snapshots are kept whole, one row per observation.

One load is one transaction: it commits entirely or not at all. The caller
(one Airflow task in a pool of one slot) ensures a single writer at a time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rapport.accounts import Registry
from rapport.records import ACCOUNT_SNAPSHOTS, INTERACTIONS, POSTS, RecordType
from rapport.validation import BATCH_FILE

if TYPE_CHECKING:
    import duckdb

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
    loaded_at timestamp not null
);
"""

# Upserted tables also keep when a row was first observed.
_UPSERTED = (POSTS, INTERACTIONS)


@dataclass(frozen=True)
class LoadResult:
    """What one load wrote."""

    batches: int
    rows: dict[str, int]
    warehouse: Path


def connect(warehouse: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; raise ``duckdb.IOException`` naming the file when it is locked."""
    import duckdb

    warehouse.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(warehouse), read_only=read_only)
    except duckdb.IOException as error:
        raise duckdb.IOException(
            f"{warehouse}: cannot open the warehouse (another process holds it: only one writer "
            f"at a time; readers use the published copy): {error}"
        ) from error


def create_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the ``raw`` schema and its tables when they do not exist yet."""
    connection.execute(_REGISTRY_DDL)
    for record_type in (ACCOUNT_SNAPSHOTS, POSTS, INTERACTIONS):
        columns = [
            f"{column.name} {column.sql_type}{'' if column.nullable else ' not null'}"
            for column in record_type.columns
        ]
        if record_type in _UPSERTED:
            columns.append("first_observed_at timestamp not null")
        columns.append(f"primary key ({', '.join(record_type.key)})")
        connection.execute(f"create table if not exists raw.{record_type.name} ({', '.join(columns)})")


def load_batches(warehouse: Path, registry: Registry, batches: Sequence[Path]) -> LoadResult:
    """Load staged batch directories (from :func:`rapport.validation.staged_batches`) in one transaction.

    Returns the number of rows read per table. Raises the database error, with
    nothing written, when anything fails.
    """
    rows = {record_type.name: 0 for record_type in (ACCOUNT_SNAPSHOTS, POSTS, INTERACTIONS)}
    connection = connect(warehouse)
    try:
        connection.execute("begin transaction")
        create_tables(connection)
        _replace_registry(connection, registry)
        for record_type in (ACCOUNT_SNAPSHOTS, POSTS, INTERACTIONS):
            files = [str(batch / f"{record_type.name}.parquet") for batch in batches]
            if files:
                rows[record_type.name] = _upsert(connection, record_type, files)
        _log_batches(connection, batches)
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise
    finally:
        connection.close()
    return LoadResult(batches=len(batches), rows=rows, warehouse=warehouse)


def _replace_registry(connection: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    connection.execute("delete from raw.accounts")
    connection.execute("delete from raw.organizations")
    connection.executemany(
        "insert into raw.organizations values (?, ?, ?, ?, ?)",
        [
            (org.organization_id, org.name, org.peer_group, org.size_band, org.language)
            for org in registry.organizations
        ],
    )
    connection.executemany(
        "insert into raw.accounts values (?, ?, ?, ?, ?)",
        [
            (account.account_id, account.organization_id, account.platform, account.handle, account.instance)
            for account in registry.accounts
        ],
    )


def _upsert(connection: duckdb.DuckDBPyConnection, record_type: RecordType, files: list[str]) -> int:
    columns = record_type.column_names
    key = ", ".join(record_type.key)
    selected = ", ".join(columns)
    # The newest observation of each key wins; the first one is remembered.
    source = f"""
        select {selected}{", first_observed_at" if record_type in _UPSERTED else ""}
        from (
            select {selected},
                min(observed_at) over (partition by {key}) as first_observed_at,
                row_number() over (partition by {key} order by observed_at desc) as observation_rank
            from read_parquet(?, union_by_name = false)
        )
        where observation_rank = 1
    """
    table = f"raw.{record_type.name}"
    if record_type in _UPSERTED:
        newer = f"excluded.observed_at >= {table}.observed_at"
        updates = ", ".join(
            f"{column} = case when {newer} then excluded.{column} else {table}.{column} end"
            for column in columns
            if column not in record_type.key
        )
        statement = f"""
            insert into {table} by name {source}
            on conflict ({key}) do update set {updates},
                first_observed_at = least({table}.first_observed_at, excluded.first_observed_at)
        """
    else:
        statement = f"insert into {table} by name {source} on conflict do nothing"
    count = connection.execute("select count(*) from read_parquet(?)", [files]).fetchone()
    connection.execute(statement, [files])
    return int(count[0]) if count else 0


def _log_batches(connection: duckdb.DuckDBPyConnection, batches: Sequence[Path]) -> None:
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    for batch in batches:
        meta = json.loads((batch / BATCH_FILE).read_text(encoding="utf-8"))
        connection.execute(
            "insert or replace into raw.load_batches values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                meta["extraction_id"],
                meta["account_id"],
                meta["platform"],
                meta["run_date"],
                datetime.fromisoformat(meta["fetched_at"]).astimezone(UTC).replace(tzinfo=None),
                meta["rows"].get("posts", 0),
                meta["rows"].get("interactions", 0),
                meta["rows"].get("account_snapshots", 0),
                loaded_at,
            ],
        )
