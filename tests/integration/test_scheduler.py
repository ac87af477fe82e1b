"""rapport_nightly under a real scheduler: `airflow standalone` (LocalExecutor, SQLite), a backfill of
two dates beside the scheduled run, every task in its own process as in production."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.airflow_standalone import airflow_cli, running_standalone, standalone_environment
from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import query

pytestmark = pytest.mark.slow

TIMEOUT_SECONDS = 300


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("standalone")
    shutil.copytree(PROJECT_ROOT / "config", root / "rapport" / "config")
    environment = standalone_environment(root)
    with running_standalone(environment, root / "standalone.log"):
        yield environment


def test_a_backfill_beside_the_scheduled_run_completes_and_scores_every_account(standalone: dict[str, str]):
    airflow_cli(
        standalone,
        "backfill",
        "create",
        "--dag-id",
        "rapport_nightly",
        "--from-date",
        "2026-11-21",
        "--to-date",
        "2026-11-23",
        "--max-active-runs",
        "1",
    )
    airflow_cli(standalone, "dags", "unpause", "rapport_nightly")
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while True:
        output = airflow_cli(standalone, "dags", "list-runs", "rapport_nightly", "-o", "json")
        runs = next((json.loads(line) for line in output.splitlines() if line.startswith("[")), [])
        states = {run["run_id"]: run["state"] for run in runs}
        if len(states) >= 3 and all(state in ("success", "failed") for state in states.values()):
            break
        assert time.monotonic() < deadline, states
        time.sleep(5)
    assert set(states.values()) == {"success"}, states
    assert sum(run_id.startswith("backfill__") for run_id in states) == 2

    warehouse = Path(standalone["RAPPORT_HOME"]) / "data" / "warehouse.duckdb"
    loaded = dict(query(warehouse, "select run_date, count(*) from raw.load_batches group by 1"))
    assert {str(day) for day in loaded} >= {"2026-11-21", "2026-11-22"}
    assert all(count == 8 for count in loaded.values())
    assert query(warehouse, "select count(distinct account_id) from marts.fct_relationship_scores") == [(8,)]
