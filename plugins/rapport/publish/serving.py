"""Publish the marts for readers: a serving DuckDB file and Parquet files, each replaced atomically.

The warehouse takes one writer and, while it writes, no reader from another
process; and DuckDB 2.0's default storage format cannot be opened by the
DuckDB 1.x that most BI drivers bundle. So readers get copies:

- ``<published_dir>/rapport.duckdb``: the marts as tables (those dbt keeps as
  views too) in storage format v1.4.0 (DuckDB 1.4 and later open it), written
  aside then renamed over the old one. A reader that has the old file open
  keeps reading it whole; the next open sees the new one. The nightly run
  never waits for a reader.
- ``<published_dir>/parquet/current/<table>/``: every mart as Parquet (the
  weekly facts partitioned by ``week_start_date``). ``current`` is a symbolic
  link to a complete version folder, swapped in one step.

Both carry the dbt descriptions the warehouse holds as comments (dbt's
``persist_docs``): the serving file as table and column comments
(``duckdb_tables().comment``, ``duckdb_columns().comment``), the Parquet files
as the ``description`` of each field's metadata and of the schema's.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from rapport import zones

if TYPE_CHECKING:
    import duckdb

SERVING_FILE: Final = zones.SERVING_FILE
STORAGE_VERSION: Final = "v1.4.0"
PUBLISHED_SCHEMAS: Final = ("marts",)
# Facts with a week column are partitioned by it: readers of one week read one folder.
PARTITION_COLUMN: Final = "week_start_date"
KEPT_PARQUET_VERSIONS: Final = 2
# The key of a description in Parquet field and schema metadata (pyarrow: ``field.metadata[b"description"]``).
DESCRIPTION_KEY: Final = b"description"


@dataclass(frozen=True)
class Publication:
    """What one publication wrote."""

    serving_file: Path
    parquet_dir: Path
    tables: dict[str, int]


def publish(warehouse: Path, published_dir: Path) -> Publication:
    """Copy the marts to the serving file and to Parquet, replacing the previous ones atomically.

    Returns the paths and the row count per table. Raises the database error,
    leaving the previous publication in place, when anything fails.
    """
    import duckdb

    published_dir.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    try:
        connection.execute("attach ? as warehouse (read_only)", [str(warehouse)])
        # The marts dbt keeps as views (ADR 0013) are published as tables like the others.
        tables = [
            (str(schema), str(name))
            for schema, name in connection.execute(
                "select schema_name, table_name from duckdb_tables() "
                "where database_name = 'warehouse' and list_contains(?, schema_name) "
                "union all select schema_name, view_name from duckdb_views() "
                "where database_name = 'warehouse' and list_contains(?, schema_name) and not internal "
                "order by all",
                [list(PUBLISHED_SCHEMAS), list(PUBLISHED_SCHEMAS)],
            ).fetchall()
        ]
        serving = _write_serving_file(connection, published_dir, tables)
        # Parquet and counts read the serving copy just written: a view is computed once.
        connection.execute("attach ? as served (read_only)", [str(serving)])
        parquet = _write_parquet(connection, zones.published_parquet_dir(published_dir), tables)
        counts = {f"{schema}.{name}": _count(connection, schema, name) for schema, name in tables}
    finally:
        connection.close()
    return Publication(serving_file=serving, parquet_dir=parquet, tables=counts)


def _identifier(name: str) -> str:
    """A quoted SQL identifier: names are never spliced into SQL as they are."""
    return '"' + name.replace('"', '""') + '"'


def _table(database: str, schema: str, name: str) -> str:
    return f"{database}.{_identifier(schema)}.{_identifier(name)}"


def _literal(text: str) -> str:
    """A SQL string literal (``COMMENT ON`` takes no parameter)."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class _Descriptions:
    """A warehouse table's comment and its columns', as dbt's persist_docs wrote them."""

    table: str | None
    columns: dict[str, str]


def _descriptions(connection: duckdb.DuckDBPyConnection, schema: str, name: str) -> _Descriptions:
    table = connection.execute(
        "select comment from duckdb_tables() where database_name = 'warehouse' and schema_name = ? "
        "and table_name = ? union all select comment from duckdb_views() "
        "where database_name = 'warehouse' and schema_name = ? and view_name = ?",
        [schema, name, schema, name],
    ).fetchone()
    columns = connection.execute(
        "select column_name, comment from duckdb_columns() where database_name = 'warehouse' "
        "and schema_name = ? and table_name = ? and comment is not null",
        [schema, name],
    ).fetchall()
    return _Descriptions(
        table=str(table[0]).strip() if table and table[0] is not None else None,
        columns={str(column): str(comment).strip() for column, comment in columns},
    )


def _count(connection: duckdb.DuckDBPyConnection, schema: str, name: str) -> int:
    row = connection.execute(f"select count(*) from {_table('served', schema, name)}").fetchone()
    return int(row[0]) if row else 0


def _write_serving_file(
    connection: duckdb.DuckDBPyConnection, published_dir: Path, tables: list[tuple[str, str]]
) -> Path:
    target = zones.serving_file(published_dir)
    aside = published_dir / f".{SERVING_FILE}.{uuid.uuid4().hex}.tmp"
    try:
        connection.execute(f"attach ? as serving (storage_version '{STORAGE_VERSION}')", [str(aside)])
        for schema in sorted({schema for schema, _ in tables}):
            connection.execute(f"create schema serving.{_identifier(schema)}")
        for schema, name in tables:
            connection.execute(
                f"create table {_table('serving', schema, name)} as from {_table('warehouse', schema, name)}"
            )
            _copy_comments(connection, schema, name)
        connection.execute(
            "create table serving.main.publication as select ? as published_at, ? as storage_version",
            [datetime.now(UTC).replace(tzinfo=None), STORAGE_VERSION],
        )
        connection.execute("detach serving")
        _fsync(aside)
        aside.replace(target)
    except BaseException:
        aside.unlink(missing_ok=True)
        Path(f"{aside}.wal").unlink(missing_ok=True)
        raise
    return target


def _copy_comments(connection: duckdb.DuckDBPyConnection, schema: str, name: str) -> None:
    """Give the serving copy of a table the warehouse's comments (``create table as`` drops them)."""
    descriptions = _descriptions(connection, schema, name)
    target = _table("serving", schema, name)
    if descriptions.table is not None:
        connection.execute(f"comment on table {target} is {_literal(descriptions.table)}")
    for column, comment in descriptions.columns.items():
        connection.execute(f"comment on column {target}.{_identifier(column)} is {_literal(comment)}")


def _write_parquet(connection: duckdb.DuckDBPyConnection, root: Path, tables: list[tuple[str, str]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    version = root / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    try:
        version.mkdir()
        for schema, name in tables:
            _write_parquet_table(connection, schema, name, version)
        link = root / "current"
        staged_link = root / f".current.{uuid.uuid4().hex}"
        staged_link.symlink_to(version.name, target_is_directory=True)
        staged_link.replace(link)
    except BaseException:
        shutil.rmtree(version, ignore_errors=True)
        raise
    # Named by the wall clock, which can move back: the version `current` points to is never removed.
    older = [
        path
        for path in sorted(root.iterdir())
        if path.is_dir() and not path.is_symlink() and path.name != version.name
    ]
    for old in older[: max(0, len(older) - (KEPT_PARQUET_VERSIONS - 1))]:
        shutil.rmtree(old, ignore_errors=True)
    return link


def _write_parquet_table(
    connection: duckdb.DuckDBPyConnection, schema: str, name: str, version: Path
) -> None:
    """One mart as Parquet under ``version``, its descriptions in the field and schema metadata.

    Written by pyarrow from DuckDB's Arrow stream: DuckDB's Parquet writer
    has no field metadata. A fact with a week column is partitioned by it
    (hive folders ``week_start_date=<date>``); a partition column lives in
    the folder names only, so its description is in the schema metadata
    (``<column>.description``) instead.
    """
    import pyarrow
    import pyarrow.dataset
    import pyarrow.parquet

    descriptions = _descriptions(connection, schema, name)
    reader = connection.sql(f"from {_table('served', schema, name)}").to_arrow_reader()
    fields = [
        field.with_metadata({DESCRIPTION_KEY: descriptions.columns[field.name].encode()})
        if field.name in descriptions.columns
        else field
        for field in reader.schema
    ]
    metadata = {DESCRIPTION_KEY: descriptions.table.encode()} if descriptions.table else {}
    partitioned = PARTITION_COLUMN in reader.schema.names
    if partitioned and PARTITION_COLUMN in descriptions.columns:
        metadata[f"{PARTITION_COLUMN}.".encode() + DESCRIPTION_KEY] = descriptions.columns[
            PARTITION_COLUMN
        ].encode()
    described_schema = pyarrow.schema(fields, metadata=metadata)
    described = pyarrow.RecordBatchReader.from_batches(
        described_schema,
        (pyarrow.RecordBatch.from_arrays(batch.columns, schema=described_schema) for batch in reader),
    )
    if partitioned:
        pyarrow.dataset.write_dataset(
            described,
            version / name,
            format="parquet",
            partitioning=pyarrow.dataset.partitioning(
                pyarrow.schema([described_schema.field(PARTITION_COLUMN)]), flavor="hive"
            ),
            existing_data_behavior="error",
        )
    else:
        with pyarrow.parquet.ParquetWriter(version / f"{name}.parquet", described_schema) as writer:
            for batch in described:
                writer.write_batch(batch)


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
