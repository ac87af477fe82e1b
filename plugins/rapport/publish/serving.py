"""Publish the marts for readers: a serving DuckDB file and Parquet files, each replaced atomically.

The warehouse takes one writer and, while it writes, no reader from another
process; and DuckDB 2.0's default storage format cannot be opened by the
DuckDB 1.x that most BI drivers bundle. So readers get copies:

- ``<published_dir>/rapport.duckdb``: the marts' tables in storage format
  v1.4.0 (DuckDB 1.4 and later open it), written aside then renamed over the
  old one. A reader that has the old file open keeps reading it whole; the
  next open sees the new one. The nightly run never waits for a reader.
- ``<published_dir>/parquet/current/<table>/``: every mart as Parquet (the
  weekly facts partitioned by ``week_start_date``). ``current`` is a symbolic
  link to a complete version folder, swapped in one step.
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
        tables = [
            (str(schema), str(name))
            for schema, name in connection.execute(
                "select schema_name, table_name from duckdb_tables() "
                "where database_name = 'warehouse' and list_contains(?, schema_name) order by all",
                [list(PUBLISHED_SCHEMAS)],
            ).fetchall()
        ]
        serving = _write_serving_file(connection, published_dir, tables)
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


def _count(connection: duckdb.DuckDBPyConnection, schema: str, name: str) -> int:
    row = connection.execute(f"select count(*) from {_table('warehouse', schema, name)}").fetchone()
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


def _write_parquet(connection: duckdb.DuckDBPyConnection, root: Path, tables: list[tuple[str, str]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    version = root / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    try:
        version.mkdir()
        for schema, name in tables:
            columns = {
                row[0]
                for row in connection.execute(f"describe {_table('warehouse', schema, name)}").fetchall()
            }
            options = "format parquet"
            if PARTITION_COLUMN in columns:
                options += f", partition_by ({PARTITION_COLUMN})"
            destination = version / name if PARTITION_COLUMN in columns else version / f"{name}.parquet"
            connection.execute(
                f"copy {_table('warehouse', schema, name)} to ? ({options})", [str(destination)]
            )
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


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
