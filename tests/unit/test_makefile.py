"""The Makefile: which Python it picks, where `make airflow` listens, what `make demo` prints."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

MAKE = shutil.which("make") or "make"
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make(*arguments: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    # Without the caller's PYTHON and RAPPORT_AIRFLOW_HOST: the tests read the Makefile's own choices.
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHON", "RAPPORT_AIRFLOW_HOST", "MAKEFLAGS")
    }
    if path is not None:
        environment["PATH"] = path
    return subprocess.run(
        [MAKE, "--no-print-directory", "-C", str(PROJECT_ROOT), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
    )


def airflow_recipe(*variables: str) -> str:
    # -n prints the recipe without running it; -o leaves out the prerequisites (the venv, Airflow init).
    completed = make("-n", "-o", "airflow-init", "airflow", *variables)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def exported(recipe: str) -> dict[str, str]:
    return dict(re.findall(r"\b(AIRFLOW__[A-Z_]+)=([^\s;]+)", recipe))


def test_make_airflow_binds_every_listener_to_the_loopback_address():
    recipe = airflow_recipe()
    variables = exported(recipe)
    assert variables["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert variables["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST"] == "127.0.0.1"
    assert variables["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8080/execution/"
    # The log servers have no host option in Airflow 3.3 and listen on every address: not started.
    assert "airflow standalone" not in recipe
    assert '"scheduler --skip-serve-logs"' in recipe and '"triggerer --skip-serve-logs"' in recipe
    started = re.search(r"for component in (.*?); do", recipe)
    assert started is not None
    assert set(re.findall(r'"([^"]+)"', started.group(1))) == {
        "api-server",
        "scheduler --skip-serve-logs",
        "dag-processor",
        "triggerer --skip-serve-logs",
    }


def test_make_airflow_listens_on_every_address_only_when_told():
    variables = exported(airflow_recipe("RAPPORT_AIRFLOW_HOST=0.0.0.0"))
    assert variables["AIRFLOW__API__HOST"] == "0.0.0.0"
    assert variables["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8080/execution/"


def test_the_options_make_airflow_sets_exist_in_this_airflow():
    from airflow.configuration import conf

    for variable in exported(airflow_recipe()):
        section, option = variable.removeprefix("AIRFLOW__").lower().split("__")
        assert option in conf.configuration_description[section]["options"], variable


def test_the_makefile_picks_a_supported_python_or_says_none_is_there(tmp_path: Path):
    picked = make("-p", "-n", "help")
    assert re.search(r"^PYTHON := python3\.1[123]$|^PYTHON := python3$", picked.stdout, re.MULTILINE)

    overridden = make("-p", "-n", "help", "PYTHON=/opt/python3.12")
    assert re.search(r"^PYTHON = /opt/python3.12$", overridden.stdout, re.MULTILINE)

    # A PATH without any Python: `make install` stops and says what to do.
    empty = tmp_path / "bin"
    empty.mkdir()
    refused = make("install", f"VENV={tmp_path / 'venv'}", path=str(empty))
    assert refused.returncode != 0
    assert "no Python 3.11, 3.12 or 3.13 found" in refused.stderr
    assert "PYTHON=/path/to/python3.x" in refused.stderr


def test_make_demo_ends_with_the_run_summary_of_its_date_alerts_and_report_included():
    # -n prints the recipe without running it; -o leaves out the prerequisites (the venv, Airflow init).
    completed = make("-n", "-o", "airflow-init", "demo")
    assert completed.returncode == 0, completed.stderr
    recipe = completed.stdout
    ran = recipe.index("airflow dags test rapport_nightly 2026-11-23")
    # `rapport summary` prints what the run's summarize step kept: scores, alerts, the report's path
    # (tests/unit/test_cli.py and the pipeline's tests show it does).
    summary = recipe.index(".venv/bin/rapport summary --date 2026-11-23")
    assert ran < summary < recipe.index("Weekly report (open it in a browser)")
    assert "rapport scores" not in recipe  # the summary holds the scores: not printed twice
