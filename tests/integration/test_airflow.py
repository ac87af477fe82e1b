"""rapport_nightly under Airflow itself: `airflow dags test` with a project-local metadata database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import query

pytestmark = pytest.mark.slow

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An Airflow home and a Rapport home in temporary folders, the database migrated, the pool made."""
    root = tmp_path_factory.mktemp("airflow")
    shutil.copytree(PROJECT_ROOT / "config", root / "rapport" / "config")
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "RAPPORT_"))
    } | {
        "AIRFLOW_HOME": str(root / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "RAPPORT_HOME": str(root / "rapport"),
        "RAPPORT_DBT_PROJECT_DIR": str(PROJECT_ROOT / "sql"),
        "RAPPORT_RETRIES": "0",
    }
    airflow(environment, "db", "migrate")
    airflow(environment, "pools", "set", "rapport_warehouse", "1", "One writer of the warehouse")
    return environment


def airflow(environment: dict[str, str], *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        [AIRFLOW, *arguments], env=environment, capture_output=True, text=True, check=False, timeout=600
    )
    if check and completed.returncode != 0:
        pytest.fail(f"airflow {' '.join(arguments)} failed:\n{(completed.stdout + completed.stderr)[-4000:]}")
    return completed


def test_a_nightly_run_then_the_next_night_score_every_demo_account(airflow_env: dict[str, str]):
    warehouse = Path(airflow_env["RAPPORT_HOME"]) / "data" / "warehouse.duckdb"
    airflow(airflow_env, "dags", "test", "rapport_nightly", "2026-11-23")
    first = query(warehouse, "select account_id, count(*) from marts.fct_relationship_scores group by 1")
    assert len(first) == 8

    airflow(airflow_env, "dags", "test", "rapport_nightly", "2026-11-24")
    second = query(warehouse, "select account_id, count(*) from marts.fct_relationship_scores group by 1")
    assert sorted(second) == sorted(first)
    windows = query(
        warehouse,
        "select run_date, count(*) from raw.load_batches group by 1 order by 1",
    )
    assert [count for _, count in windows] == [8, 8]
    landing = Path(airflow_env["RAPPORT_HOME"]) / "data" / "landing"
    manifests = sorted(landing.rglob("run_date=2026-11-24/extraction=*/manifest.json"))
    assert len(manifests) == 8
    assert all('"since": "2026-11-09T00:00:00+00:00"' in path.read_text() for path in manifests)
