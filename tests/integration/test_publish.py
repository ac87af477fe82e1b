"""Publishing for readers: the serving copy and Parquet, read while a nightly run replaces them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.integration.conftest import DEMO_UNTIL, demo_home_at, rapport_environment, run_pipeline

pytestmark = pytest.mark.slow

NEXT_NIGHT = datetime(2026, 11, 30, tzinfo=UTC)
DUCKDB_1X = "duckdb-cli==1.5.6"


@pytest.fixture(scope="module")
def published_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A demo home after one nightly run, published."""
    from rapport import pipeline

    with rapport_environment(demo_home_at(tmp_path_factory.mktemp("published"))) as home:
        run_pipeline(DEMO_UNTIL)
        pipeline.publish_marts()
        yield home


@pytest.fixture(scope="module")
def duckdb_1x(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The DuckDB 1.x command-line client, from PyPI, in an environment of its own."""
    environment = tmp_path_factory.mktemp("duckdb-1x")
    subprocess.run([sys.executable, "-m", "venv", str(environment)], check=True)
    subprocess.run(
        [str(environment / "bin" / "pip"), "install", "--quiet", DUCKDB_1X], check=True, capture_output=True
    )
    return environment / "bin" / "duckdb"


def last_csv_row(duckdb_1x: Path, home: Path, sql: str) -> list[str]:
    """The last row the DuckDB 1.x CLI prints for ``sql`` on the published copy, as CSV cells."""
    read = subprocess.run(
        [str(duckdb_1x), "-readonly", "-csv", str(home / "data" / "published" / "rapport.duckdb"), "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return read.stdout.strip().splitlines()[-1].split(",")


def test_a_duckdb_1x_client_reads_the_published_copy_but_not_the_warehouse(
    published_home: Path, duckdb_1x: Path
):
    version, rows, accounts = last_csv_row(
        duckdb_1x,
        published_home,
        "select version(), count(*), count(distinct account_id) from marts.fct_relationship_scores",
    )
    assert version.startswith("v1.") and int(rows) == 195 and int(accounts) == 8
    refused = subprocess.run(
        [str(duckdb_1x), "-readonly", str(published_home / "data" / "warehouse.duckdb"), "-c", "select 1"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0  # why the copy exists: DuckDB 2.0's own format is not readable by 1.x


def test_the_parquet_files_read_with_pyarrow_and_polars(published_home: Path):
    import polars
    import pyarrow.dataset

    current = published_home / "data" / "published" / "parquet" / "current"
    scores = pyarrow.dataset.dataset(current / "fct_relationship_scores", partitioning="hive").to_table()
    assert scores.num_rows == 195
    assert {"trust_score", "overall_score", "week_start_date"} <= set(scores.column_names)
    frame = polars.read_parquet(
        current / "fct_relationship_scores" / "**" / "*.parquet", hive_partitioning=True
    )
    assert frame.height == 195 and frame["account_id"].n_unique() == 8
    organizations = polars.read_parquet(current / "dim_organizations.parquet")
    assert organizations.height == 8


def test_a_publication_made_with_the_clock_behind_the_last_ones_stays_current(published_home: Path, tmp_path):
    import time_machine

    from rapport.publish.serving import KEPT_PARQUET_VERSIONS, publish

    warehouse = published_home / "data" / "warehouse.duckdb"
    later, now = datetime(2028, 1, 9, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC)
    for clock in [later] * KEPT_PARQUET_VERSIONS + [now]:
        with time_machine.travel(clock, tick=True):
            publish(warehouse, tmp_path)
    current = (tmp_path / "parquet" / "current").resolve()
    assert current.name.startswith("20261205T")
    assert (current / "dim_organizations.parquet").exists()
    versions = [path for path in (tmp_path / "parquet").iterdir() if not path.is_symlink()]
    assert len(versions) == KEPT_PARQUET_VERSIONS


READER = textwrap.dedent(
    """
    import json, os, sys, time
    import duckdb
    serving, mode, stop, out = sys.argv[1:5]
    query = "select max(week_start_date)::varchar, count(*) from marts.fct_relationship_scores"
    held = duckdb.connect(serving, read_only=True) if mode == "hold" else None
    results = []
    while not os.path.exists(stop):
        try:
            connection = held or duckdb.connect(serving, read_only=True)
            results.append(list(connection.execute(query).fetchone()))
            if held is None:
                connection.close()
        except Exception as error:
            results.append(["error", repr(error)])
        time.sleep(0.05)
    json.dump(results, open(out, "w"))
    """
)


def test_readers_during_a_nightly_run_see_the_old_or_the_new_week_never_an_error_or_a_mix(
    published_home: Path, tmp_path: Path
):
    from rapport import pipeline

    serving = published_home / "data" / "published" / "rapport.duckdb"
    stop = tmp_path / "stop"
    readers = {
        mode: subprocess.Popen(
            [sys.executable, "-c", READER, str(serving), mode, str(stop), str(tmp_path / mode)]
        )
        for mode in ("hold", "reconnect")
    }
    try:
        time.sleep(2)
        run_pipeline(NEXT_NIGHT)  # the next night: one more complete week
        pipeline.publish_marts()
        time.sleep(2)
    finally:
        stop.touch()
        for reader in readers.values():
            reader.wait(60)
    old, new = ("2026-11-16", 195), ("2026-11-23", 203)
    held = [tuple(result) for result in json.loads((tmp_path / "hold").read_text())]
    reconnecting = [tuple(result) for result in json.loads((tmp_path / "reconnect").read_text())]
    assert len(held) > 20 and len(reconnecting) > 20
    assert set(held) == {old}  # an open connection keeps reading the copy it opened, whole
    assert set(reconnecting) == {old, new}  # never an error, never a mix
    assert reconnecting[0] == old and reconnecting[-1] == new
    assert reconnecting.index(new) == len(reconnecting) - reconnecting[::-1].index(old)  # old, then only new


def test_the_published_report_shows_the_marts_numbers_and_alerts(published_home: Path):
    """Issue 19: the report of the demo prints fct_organization_weekly_scores' scores and
    fct_relationship_alerts' alerts, as the real marts hold them."""
    from tests.unit.test_report_html import assert_the_report_shows_the_marts

    report = published_home / "data" / "published" / "report" / "latest.html"
    assert_the_report_shows_the_marts(
        report.read_text(encoding="utf-8"), published_home / "data" / "warehouse.duckdb"
    )


def test_every_mart_table_and_column_carries_its_description_in_the_warehouse_and_the_published_file(
    published_home: Path,
):
    import duckdb

    for database in (
        published_home / "data" / "warehouse.duckdb",
        published_home / "data" / "published" / "rapport.duckdb",
    ):
        connection = duckdb.connect(str(database), read_only=True)
        try:
            columns, described = connection.execute(
                "select count(*), count(comment) from duckdb_columns() where schema_name = 'marts'"
            ).fetchone()
            tables = connection.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' and comment is null "
                "union all select view_name from duckdb_views() where schema_name = 'marts' and comment is null"
            ).fetchall()
            (unit,) = connection.execute(
                "select comment from duckdb_columns() where schema_name = 'marts' "
                "and table_name = 'fct_relationship_scores' and column_name = 'overall_score'"
            ).fetchone()
        finally:
            connection.close()
        assert columns > 150 and described == columns and tables == []
        assert "(0-100 score)" in unit


def test_the_marts_dbt_keeps_as_views_are_published_as_tables_with_every_row_and_comment(
    published_home: Path,
):
    """ADR 0013: fct_score_changes and fct_open_questions are views in the warehouse, computed when
    read; readers of the serving file and the Parquet get tables, whole, with their descriptions."""
    import duckdb
    import pyarrow.dataset

    def read(database: Path, sql: str, parameters: list[str] | None = None) -> list[tuple]:
        connection = duckdb.connect(str(database), read_only=True)
        try:
            return connection.execute(sql, parameters or []).fetchall()
        finally:
            connection.close()

    warehouse = published_home / "data" / "warehouse.duckdb"
    serving = published_home / "data" / "published" / "rapport.duckdb"
    views = sorted(
        name
        for (name,) in read(warehouse, "select view_name from duckdb_views() where schema_name = 'marts'")
    )
    assert views == ["fct_open_questions", "fct_score_changes"]
    for view in views:
        [(rows,)] = read(warehouse, f"select count(*) from marts.{view}")
        assert rows > 0
        [(comment,)] = read(
            serving,
            "select comment from duckdb_tables() where schema_name = 'marts' and table_name = ?",
            [view],
        )
        assert comment
        assert read(serving, f"select count(*) from marts.{view}") == [(rows,)]
        assert read(serving, f"select * from marts.{view} order by all") == read(
            warehouse, f"select * from marts.{view} order by all"
        )
        parquet = published_home / "data" / "published" / "parquet" / "current" / view
        assert pyarrow.dataset.dataset(parquet, format="parquet", partitioning="hive").count_rows() == rows


def test_the_duckdb_1x_cli_shows_the_column_comments_of_the_published_file(
    published_home: Path, duckdb_1x: Path
):
    version, columns, described = last_csv_row(
        duckdb_1x,
        published_home,
        "select version(), count(*), count(comment) from duckdb_columns() where schema_name = 'marts'",
    )
    assert version.startswith("v1.5") and int(columns) > 150 and described == columns


def test_the_parquet_files_carry_the_descriptions_as_field_and_schema_metadata(published_home: Path):
    import pyarrow.dataset
    import pyarrow.parquet

    current = published_home / "data" / "published" / "parquet" / "current"
    scores = pyarrow.dataset.dataset(current / "fct_relationship_scores", partitioning="hive").schema
    assert b"(0-100 score)" in scores.field("overall_score").metadata[b"description"]
    assert scores.metadata[b"description"].startswith(b"One row per account per ISO week")
    assert b"Monday" in scores.metadata[b"week_start_date.description"]
    organizations = pyarrow.parquet.read_schema(current / "dim_organizations.parquet")
    assert all(field.metadata and field.metadata[b"description"] for field in organizations)
    assert organizations.metadata[b"description"].startswith(b"One row per registered organization")


def test_pandas_reads_the_partition_week_as_a_date_with_the_partitioning_docs_bi_gives(published_home: Path):
    import pandas
    import pyarrow
    import pyarrow.dataset

    folder = published_home / "data" / "published" / "parquet" / "current" / "fct_relationship_scores"
    assert isinstance(pandas.read_parquet(folder)["week_start_date"].dtype, pandas.CategoricalDtype)
    documented = (Path(__file__).parents[2] / "docs" / "bi.md").read_text(encoding="utf-8")
    assert 'pyarrow.schema([("week_start_date", pyarrow.date32())])' in documented
    partitioning = pyarrow.dataset.partitioning(
        pyarrow.schema([("week_start_date", pyarrow.date32())]), flavor="hive"
    )
    scores = pandas.read_parquet(folder, partitioning=partitioning)
    assert scores["week_start_date"].map(type).eq(date).all()
    assert len(scores) == pyarrow.dataset.dataset(folder, partitioning="hive").count_rows() > 0


def test_the_published_dbt_docs_hold_the_page_manifest_and_catalog_only(published_home: Path):
    docs = published_home / "data" / "published" / "dbt_docs"
    assert sorted(path.name for path in docs.iterdir()) == ["catalog.json", "index.html", "manifest.json"]
    page = (docs / "index.html").read_text(encoding="utf-8")
    assert (
        "fct_relationship_scores" in page
    )  # the static page: manifest and catalog inlined, opens from a file
    # 9.9 MB with the internals; the page, manifest and catalog grow with the models (8 marts now).
    assert sum(path.stat().st_size for path in docs.iterdir()) < 8_000_000


def test_the_docs_of_a_publication_reuse_the_parse_of_the_build_before_it(published_home: Path):
    """dbt parses the project once: `dbt docs generate`, built in a folder of its own, reads the parse
    the nightly build saved (DBT_PARTIAL_PARSE_FILE_PATH) instead of parsing again. The home's first
    build started from the suite's parse (tests/integration/conftest.py): no command parsed in full."""
    log = (published_home / "data" / "logs" / "dbt" / "dbt.log").read_text(encoding="utf-8")
    invocations = log.split("Running with dbt=")[1:]
    assert invocations and not any("Starting full parse" in invocation for invocation in invocations)
    # Every publication of the home (other tests of this module publish again).
    docs = [part for part in invocations if "'invocation_command': 'dbt docs generate" in part]
    assert docs
    for invocation in docs:
        assert "Partial parsing enabled" in invocation and "Starting full parse" not in invocation
