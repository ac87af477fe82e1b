"""rapport_nightly under Airflow itself: `airflow dags test` with a project-local metadata database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import airflow, airflow_environment, query

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An Airflow home and a Rapport home (the demo registry) in temporary folders, ready to run."""
    root = tmp_path_factory.mktemp("airflow")
    shutil.copytree(PROJECT_ROOT / "config", root / "rapport" / "config")
    return airflow_environment(root)


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


def test_an_account_that_fails_extraction_fails_the_run_by_name_while_the_others_are_loaded(
    airflow_env: dict[str, str],
):
    # Green Valley's account only exists from 2026-08-24: on 2026-08-01 the platform answers 404.
    completed = airflow(airflow_env, "dags", "test", "rapport_nightly", "2026-08-01", check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0
    assert "demo:@green_valley" in output and "404" in output
    # One task extracts the batch of eight: it fails naming the account, after landing the seven others.
    assert "step extract_demo failed for demo:@riviere_transit .. demo:@green_valley (8 accounts)" in output
    assert "1 of 8 accounts failed extraction:\ndemo:@green_valley: SourceError" in output
    assert "demo:@green_valley: extraction failed" in output  # the summary names it
    warehouse = Path(airflow_env["RAPPORT_HOME"]) / "data" / "warehouse.duckdb"
    loaded = query(
        warehouse, "select account_id from raw.load_batches where run_date = date '2026-08-01' order by 1"
    )
    assert len(loaded) == 7 and ("demo:@green_valley",) not in loaded
    landing = Path(airflow_env["RAPPORT_HOME"]) / "data" / "landing"
    [failed] = list(landing.glob("platform=demo/account=green_valley/run_date=2026-08-01/extraction=*"))
    assert '"status": "failed"' in (failed / "manifest.json").read_text()
