"""`airflow standalone` for the tests and the benchmarks: a real scheduler, LocalExecutor on SQLite,
every task in its own process as in production, with the project's DAGs, plugins and pools."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rapport.pipeline import airflow_pools
from tests.conftest import PROJECT_ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def airflow_cli(environment: dict[str, str], *arguments: str, timeout: int = 300) -> str:
    """Run an Airflow command; return its stdout, raise ``AssertionError`` with its output on failure."""
    # SQLite takes one writer: a CLI write can meet the running scheduler's and be told
    # "database is locked". Airflow's own answer is Postgres (docker-compose); here, try again.
    for attempt in range(5):
        completed = subprocess.run(
            [str(BIN / "airflow"), *arguments],
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = completed.stdout + completed.stderr
        if completed.returncode == 0 or "database is locked" not in output or attempt == 4:
            break
        time.sleep(2 * (attempt + 1))
    assert completed.returncode == 0, f"airflow {' '.join(arguments)}:\n{output[-3000:]}"
    return completed.stdout


def standalone_environment(root: Path, **extra: str) -> dict[str, str]:
    """The environment of an Airflow home under ``root/airflow`` and a Rapport home at ``root/rapport``."""
    port = free_port()
    return (
        {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "RAPPORT_"))}
        | {
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
        | extra
    )


@contextmanager
def running_standalone(environment: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    """Migrate, import the pools, start ``airflow standalone`` and wait until it lists rapport_nightly."""
    airflow_cli(environment, "db", "migrate")
    pools = Path(environment["AIRFLOW_HOME"]) / "rapport_pools.json"
    pools.write_text(json.dumps(airflow_pools()), encoding="utf-8")
    airflow_cli(environment, "pools", "import", str(pools))
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(BIN / "airflow"), "standalone"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while "rapport_nightly" not in airflow_cli(environment, "dags", "list", "-o", "plain"):
                assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
                time.sleep(3)
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
