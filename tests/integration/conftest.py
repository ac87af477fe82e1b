"""A demo warehouse built once per session by the pipeline's own steps (no Airflow)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rapport.pipeline import airflow_pools
from tests.conftest import PROJECT_ROOT

DEMO_UNTIL = datetime(2026, 11, 23, tzinfo=UTC)


def run_pipeline(until: datetime) -> dict:
    """Every step of rapport_nightly, in order, in this process."""
    from rapport import pipeline

    extracted = [pipeline.extract_account(account_id, until) for account_id in pipeline.list_account_ids()]
    validated = pipeline.validate_run(until)
    loaded = pipeline.load_run(until)
    pipeline.build_models()
    return {"extracted": extracted, "validated": validated, "loaded": loaded}


@contextmanager
def rapport_environment(home: Path, **extra: str) -> Iterator[Path]:
    """Point every Rapport path at ``home`` (no other ``RAPPORT_*`` variable kept) until the block ends.

    For fixtures wider than a test, where pytest's ``monkeypatch`` cannot reach.
    """
    saved = dict(os.environ)
    for variable in [name for name in os.environ if name.startswith("RAPPORT_")]:
        del os.environ[variable]
    os.environ.update(
        {
            "RAPPORT_HOME": str(home),
            "RAPPORT_DBT_PROJECT_DIR": str(PROJECT_ROOT / "sql"),
            # The local platform servers listen on 127.0.0.1.
            "RAPPORT_ALLOW_PRIVATE_INSTANCES": "true",
        }
        | extra
    )
    try:
        yield home
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session", autouse=True)
def dbt_parsed_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One parse of the dbt project that every test home's first dbt command starts from.

    ``rapport.transform.run_dbt`` reads a ``DBT_PARTIAL_PARSE_FILE_PATH`` of its caller until the
    home has a parse of its own; dbt re-parses whatever differs (a var, a file). A full parse costs
    about 2.5 s of CPU more than a partial one, in each of the suite's thirty homes.
    """
    from rapport.settings import get_settings
    from rapport.transform import run_dbt

    saved = os.environ.pop("DBT_PARTIAL_PARSE_FILE_PATH", None)
    with rapport_environment(tmp_path_factory.mktemp("dbt-parse")) as home:
        run_dbt(get_settings(), "parse")  # as a home's first command: the same profile
    parsed = home / "data" / "dbt_target" / "partial_parse.msgpack"
    os.environ["DBT_PARTIAL_PARSE_FILE_PATH"] = str(parsed)
    try:
        yield parsed
    finally:
        if saved is None:
            os.environ.pop("DBT_PARTIAL_PARSE_FILE_PATH", None)
        else:
            os.environ["DBT_PARTIAL_PARSE_FILE_PATH"] = saved


def demo_home_at(home: Path) -> Path:
    """``home`` with the demo registry in it."""
    shutil.copytree(PROJECT_ROOT / "config", home / "config")
    return home


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A Rapport home where the demo's 26 weeks have been extracted, validated, loaded and scored."""
    with rapport_environment(demo_home_at(tmp_path_factory.mktemp("demo-home"))) as home:
        run_pipeline(DEMO_UNTIL)
        yield home


def query(warehouse: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    import duckdb

    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        return connection.execute(sql, parameters or []).fetchall()
    finally:
        connection.close()


def airflow_environment(root: Path, **extra: str) -> dict[str, str]:
    """Environment for Airflow commands with homes under ``root`` (``root/rapport`` holds the registry):
    the metadata database migrated and the project's pools imported."""
    environment = (
        {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "RAPPORT_"))}
        | {
            "AIRFLOW_HOME": str(root / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "RAPPORT_HOME": str(root / "rapport"),
            "RAPPORT_DBT_PROJECT_DIR": str(PROJECT_ROOT / "sql"),
            "RAPPORT_RETRIES": "0",
            "RAPPORT_ALLOW_PRIVATE_INSTANCES": "true",
        }
        | extra
    )
    airflow(environment, "db", "migrate")
    pools = root / "rapport_pools.json"
    pools.write_text(json.dumps(airflow_pools()), encoding="utf-8")
    airflow(environment, "pools", "import", str(pools))
    return environment


def airflow(environment: dict[str, str], *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run an Airflow command of the project's venv; fail the test with its output unless ``check`` is off."""
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if check and completed.returncode != 0:
        pytest.fail(f"airflow {' '.join(arguments)} failed:\n{(completed.stdout + completed.stderr)[-4000:]}")
    return completed
