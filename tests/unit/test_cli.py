"""The ``rapport`` command: Rapport's errors as one message and an exit code, CSV safe for spreadsheets, the
platforms and their Airflow pools."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from rapport import errors
from rapport.cli import FORMULA_PREFIXES, app

runner = CliRunner()


# --------------------------------------------------------------------------- errors


def test_a_registry_mistake_is_one_message_and_exit_code_2(tmp_path: Path):
    registry = tmp_path / "accounts.yml"
    registry.write_text("organizations: []\n", encoding="utf-8")
    result = runner.invoke(app, ["accounts", "check", "--file", str(registry)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {registry}")
    assert isinstance(result.exception, SystemExit)  # not the RegistryError: it was handled


def test_a_bad_setting_is_one_line_and_exit_code_2(rapport_home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RAPPORT_LOOKBACK_DAYS", "-5")
    result = runner.invoke(app, ["accounts", "check"])
    assert result.exit_code == 2
    assert (
        result.output == "error: RAPPORT_LOOKBACK_DAYS='-5': expected a whole number of days from 0 to 365\n"
    )


def test_an_unknown_account_is_a_usage_error_naming_it(rapport_home: Path):
    result = runner.invoke(app, ["extract", "demo:@nobody_here"])
    assert result.exit_code == 2
    assert "demo:@nobody_here" in result.output and "Traceback" not in result.output


def test_a_failed_extraction_is_one_message_and_exit_code_1(rapport_home: Path):
    # The demo platform is offline and real: an account it does not know answers 404.
    result = runner.invoke(
        app, ["fetch", "demo", "@nobody_here", "--since", "2026-11-01", "--until", "2026-11-08"]
    )
    assert result.exit_code == 1
    message = result.output.strip()  # the progress display leaves an empty line
    assert message.startswith("error: demo:@nobody_here: GET ") and "\n" not in message
    assert "404" in message


def test_every_error_class_of_rapport_derives_from_rapport_error_and_keeps_its_other_base():
    from rapport.accounts import RegistryError
    from rapport.landing import LandingError
    from rapport.pipeline import ExtractionFailedError, RunFailedError
    from rapport.publish.report import ReportError
    from rapport.settings import SettingsError
    from rapport.sources import NormalizationError, SourceError
    from rapport.sources.http import HttpError
    from rapport.transform import TransformError

    expected = {
        RegistryError: ValueError,
        SettingsError: ValueError,
        NormalizationError: ValueError,
        LandingError: RuntimeError,
        SourceError: RuntimeError,
        HttpError: RuntimeError,
        RunFailedError: RuntimeError,
        ExtractionFailedError: RuntimeError,
        ReportError: RuntimeError,
        TransformError: RuntimeError,
    }
    for error, other_base in expected.items():
        assert issubclass(error, errors.RapportError), error
        assert issubclass(error, other_base), error
    assert {error for error in expected if issubclass(error, errors.ConfigurationError)} == {
        RegistryError,
        SettingsError,
    }


def test_any_other_exception_is_a_bug_and_keeps_its_traceback(
    rapport_home: Path, monkeypatch: pytest.MonkeyPatch
):
    import rapport.accounts

    def broken(path: Path) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(rapport.accounts, "load_registry", broken)
    result = runner.invoke(app, ["accounts", "check"])
    assert isinstance(result.exception, ZeroDivisionError)
    assert result.exit_code == 1


# --------------------------------------------------------------------------- CSV


HOSTILE_NAMES = [
    '=HYPERLINK("https://evil.example","click")',
    "+1+2",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "Le Petit Théâtre",
    "O'Brien = the best",
    "-3.5",
]


@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A published copy with a text column of formula-leading names and a numeric column."""
    published_dir = tmp_path / "published"
    published_dir.mkdir()
    connection = duckdb.connect(str(published_dir / "rapport.duckdb"))
    try:
        connection.execute("create schema marts")
        connection.execute(
            "create table marts.dim_accounts (account_id integer, display_name varchar, score double)"
        )
        for number, name in enumerate(HOSTILE_NAMES):
            connection.execute(
                "insert into marts.dim_accounts values (?, ?, ?)", [number, name, -3.5 if number else None]
            )
    finally:
        connection.close()
    monkeypatch.setenv("RAPPORT_PUBLISHED_DIR", str(published_dir))
    return published_dir


def query_csv(*options: str) -> list[dict[str, str]]:
    sql = "select account_id, display_name, score from marts.dim_accounts order by account_id"
    result = runner.invoke(app, ["query", sql, "--format", "csv", *options])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout, newline="")))


def test_csv_cells_that_start_like_a_formula_are_written_as_text(published: Path):
    rows = query_csv()
    names = [row["display_name"] for row in rows]
    assert names == [f"'{name}" if name.startswith(FORMULA_PREFIXES) else name for name in HOSTILE_NAMES]
    assert names[:6] == [f"'{name}" for name in HOSTILE_NAMES[:6]]
    assert names[6:8] == ["Le Petit Théâtre", "O'Brien = the best"]
    assert names[8] == "'-3.5"  # a text cell, even one that reads as a number


def test_csv_numbers_and_empty_cells_are_left_as_they_are(published: Path):
    rows = query_csv()
    assert [row["score"] for row in rows] == [""] + ["-3.5"] * (len(HOSTILE_NAMES) - 1)
    assert [row["account_id"] for row in rows] == [str(number) for number in range(len(HOSTILE_NAMES))]


def test_raw_csv_writes_text_cells_exactly_as_stored(published: Path):
    rows = query_csv("--raw-csv")
    assert [row["display_name"] for row in rows] == HOSTILE_NAMES


def test_the_query_help_says_what_csv_output_neutralizes():
    result = runner.invoke(app, ["query", "--help"], terminal_width=200)
    assert "--raw-csv" in result.output
    assert "single quote" in result.output and "formula" in result.output


# --------------------------------------------------------------------------- platforms and pools


def test_rapport_platforms_names_each_platform_with_its_accounts_pool_cost_and_what_it_sees():
    from rapport.sources import platforms

    result = runner.invoke(app, ["platforms"])
    assert result.exit_code == 0, result.output
    for contract in platforms():
        assert f"{contract.name}: {contract.title}" in result.output
        assert f"  accounts: {contract.address_example}" in result.output
        assert f"  pool: {contract.pool}, {contract.concurrency} at a time" in result.output
        cost = contract.cost
        assert f"first run {cost.first_run}, nightly {cost.nightly}, nothing new {cost.nothing_new}" in (
            result.output
        )
        for measure in contract.availability:
            assert f"  sees {measure.name}: {measure.seen}, {measure.how}" in result.output
    assert "demo: Demo (simulated)" in result.output


def test_rapport_platforms_json_is_every_contract_with_its_handle_pattern_and_pool():
    from rapport.sources import platforms

    result = runner.invoke(app, ["platforms", "--json"])
    assert result.exit_code == 0, result.output
    described = json.loads(result.output)
    assert [entry["name"] for entry in described] == [contract.name for contract in platforms()]
    for entry, contract in zip(described, platforms(), strict=True):
        assert entry["handle"] == contract.handle.pattern
        assert entry["pool"] == contract.pool
        assert entry["concurrency"] == contract.concurrency
        assert entry["cost"]["first_run"] == contract.cost.first_run
        assert [measure["name"] for measure in entry["availability"]] == [
            m.name for m in contract.availability
        ]
        assert entry["unavailable"] == dict(contract.unavailable)


def test_rapport_pools_prints_the_pools_airflow_imports():
    from rapport.pipeline import airflow_pools

    result = runner.invoke(app, ["pools"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == airflow_pools()


def test_rapport_pools_output_writes_the_pools_to_the_file(tmp_path: Path):
    from rapport.pipeline import airflow_pools

    path = tmp_path / "pools.json"
    result = runner.invoke(app, ["pools", "--output", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert json.loads(path.read_text(encoding="utf-8")) == airflow_pools()


@pytest.mark.parametrize("where", ["missing/pools.json", "."])
def test_rapport_pools_to_an_unwritable_path_is_one_line_naming_it(tmp_path: Path, where: str):
    path = tmp_path / where
    result = runner.invoke(app, ["pools", "--output", str(path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {path}: cannot write the pools (")
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


# --------------------------------------------------------------------------- query: JSON, statements


@pytest.fixture
def dated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A published copy with a date, a timestamp, a decimal and a missing value."""
    published_dir = tmp_path / "published"
    published_dir.mkdir()
    connection = duckdb.connect(str(published_dir / "rapport.duckdb"))
    try:
        connection.execute("create schema marts")
        connection.execute(
            "create table marts.weeks as select date '2026-11-16' as week_start_date, "
            "timestamp '2026-11-18 08:30:05' as observed_at, 12.50::decimal(5, 2) as score, "
            "'nan'::double as share, null::date as ended_date"
        )
    finally:
        connection.close()
    monkeypatch.setenv("RAPPORT_PUBLISHED_DIR", str(published_dir))
    return published_dir


def test_json_writes_dates_as_dates_and_timestamps_as_iso_strings_as_csv_does(dated: Path):
    sql = "select * from marts.weeks"
    result = runner.invoke(app, ["query", sql, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "week_start_date": "2026-11-16",
            "observed_at": "2026-11-18T08:30:05",
            "score": 12.5,
            "share": None,
            "ended_date": None,
        }
    ]
    as_csv = runner.invoke(app, ["query", sql, "--format", "csv"])
    [row] = list(csv.DictReader(io.StringIO(as_csv.stdout, newline="")))
    assert row["week_start_date"] == "2026-11-16"


def test_each_statement_s_result_is_printed_under_it(dated: Path):
    result = runner.invoke(app, ["query", "select 1 as one; select week_start_date from marts.weeks;"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "-- select 1 as one\n one\n   1\n\n-- select week_start_date from marts.weeks\nweek_start_date\n"
        "     2026-11-16\n"
    )
    single = runner.invoke(app, ["query", "select 1 as one"])
    assert single.output == " one\n   1\n"  # one statement: its result alone, as before


@pytest.mark.parametrize("output", ["csv", "json"])
def test_csv_and_json_refuse_several_results_as_a_usage_error(dated: Path, output: str):
    result = runner.invoke(app, ["query", "select 1; select 2", "--format", output])
    assert result.exit_code == 2
    assert f"2 statements return rows, and --format {output} writes one result" in plain(result.output)
    assert result.stdout == ""


@pytest.mark.parametrize("sql", ["", "   ", ";", "-- nothing here\n"])
def test_an_empty_query_is_a_usage_error_naming_the_problem(dated: Path, sql: str):
    result = runner.invoke(app, ["query", "--", sql])
    assert result.exit_code == 2
    assert "the query is empty (nothing but spaces, comments or ';')" in plain(result.output)


def plain(output: str) -> str:
    """Click's usage error without the box it is drawn in: its words, single-spaced."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


def test_the_query_help_argues_how_several_statements_are_printed():
    result = runner.invoke(app, ["query", "--help"], terminal_width=200)
    assert "Several statements" in result.output and "neither CSV nor JSON" in result.output


# --------------------------------------------------------------------------- summary


def test_rapport_summary_prints_the_run_summary_kept_for_a_date_or_the_latest(
    rapport_home: Path, monkeypatch: pytest.MonkeyPatch
):
    from datetime import date

    from rapport.summary import write_run_summary

    data_dir = rapport_home / "data"
    earlier = "Relationship scores ...\n\nRelationship-health alerts:\n- demo:@a: an earlier alert"
    latest = (
        "Relationship scores ...\n\nRelationship-health alerts:\n- demo:@b: trust dropped 20 points\n\n"
        f"Weekly report: {data_dir}/published/report/latest.html"
    )
    write_run_summary(data_dir, date(2026, 11, 22), earlier)
    write_run_summary(data_dir, date(2026, 11, 23), latest)

    assert runner.invoke(app, ["summary"]).output == latest + "\n"
    assert runner.invoke(app, ["summary", "--date", "2026-11-22"]).output == earlier + "\n"
    missing = runner.invoke(app, ["summary", "--date", "2026-11-01"])
    assert missing.exit_code == 1
    assert missing.output == (
        f"error: {data_dir / 'reports'}: no run summary of run date 2026-11-01; run `make demo` or the "
        "rapport_nightly DAG first\n"
    )
