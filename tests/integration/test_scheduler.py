"""rapport_nightly under a real scheduler: `airflow standalone` (LocalExecutor, SQLite), a backfill of
two dates beside the scheduled run, every task in its own process as in production."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import query

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
TIMEOUT_SECONDS = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def airflow(environment: dict[str, str], *arguments: str) -> str:
    # SQLite takes one writer: a CLI write can meet the running scheduler's and be told
    # "database is locked". Airflow's own answer is Postgres (docker-compose); here, try again.
    for attempt in range(5):
        completed = subprocess.run(
            [str(BIN / "airflow"), *arguments], env=environment, capture_output=True, text=True, timeout=120
        )
        output = completed.stdout + completed.stderr
        if completed.returncode == 0 or "database is locked" not in output or attempt == 4:
            break
        time.sleep(2 * (attempt + 1))
    assert completed.returncode == 0, output[-3000:]
    return completed.stdout


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("standalone")
    shutil.copytree(PROJECT_ROOT / "config", root / "rapport" / "config")
    port = free_port()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "RAPPORT_"))
    } | {
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(root / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        "RAPPORT_HOME": str(root / "rapport"),
        "RAPPORT_DBT_PROJECT_DIR": str(PROJECT_ROOT / "sql"),
        "RAPPORT_RETRIES": "0",
    }
    airflow(environment, "db", "migrate")
    airflow(environment, "pools", "import", str(PROJECT_ROOT / "config" / "airflow_pools.json"))
    log = (root / "standalone.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "airflow"), "standalone"],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while "rapport_nightly" not in airflow(environment, "dags", "list", "-o", "plain"):
            assert process.poll() is None and time.monotonic() < deadline, (
                root / "standalone.log"
            ).read_text()[-3000:]
            time.sleep(3)
        yield environment
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_a_backfill_beside_the_scheduled_run_completes_and_scores_every_account(standalone: dict[str, str]):
    airflow(
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
    airflow(standalone, "dags", "unpause", "rapport_nightly")
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while True:
        output = airflow(standalone, "dags", "list-runs", "rapport_nightly", "-o", "json")
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
