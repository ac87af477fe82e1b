"""DAG integrity and structure: fast, no task runs."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest

from rapport.pipeline import airflow_pools
from rapport.sources import platform_names
from tests.conftest import PROJECT_ROOT

DAG_FILE = PROJECT_ROOT / "dags" / "rapport_nightly.py"


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags["rapport_nightly"]


def test_the_dag_is_documented_tagged_and_safe_to_schedule(dag):
    assert dag.doc_md and "rapport_nightly" in dag.doc_md
    assert "rapport" in dag.tags
    assert dag.catchup is False
    assert dag.max_active_runs == 1


def test_the_dag_list_shows_a_description_and_its_docs_render_the_task_name_placeholders(dag):
    from markdown_it import MarkdownIt

    assert dag.description and "report" in dag.description and "\n" not in dag.description
    # Airflow's UI renders doc_md as Markdown with HTML allowed: a bare <platform> is read as a tag
    # and vanishes, leaving "list__accounts".
    html = MarkdownIt("commonmark").render(dag.doc_md)
    assert "<platform>" not in html
    for name in ("list_&lt;platform&gt;_accounts", "extract_&lt;platform&gt;", "rapport_&lt;platform&gt;"):
        assert f"<code>{name}</code>" in html, name


def test_every_task_retries_with_exponential_backoff_and_reports_failures(dag):
    for task in dag.tasks:
        if task.task_id == "summarize":
            assert task.retries == 0  # it reports failures; retrying would only repeat them
            continue
        assert task.retries >= 1, task.task_id
        assert task.retry_exponential_backoff, task.task_id
        assert task.max_retry_delay == timedelta(minutes=30)
        assert task.on_failure_callback, task.task_id


def test_the_steps_run_extract_validate_load_build_summarize(dag):
    downstream = {task.task_id: sorted(task.downstream_task_ids) for task in dag.tasks}
    extracts = [f"extract_{platform}" for platform in platform_names()]
    assert downstream == {
        **{f"list_{platform}_accounts": [f"extract_{platform}"] for platform in platform_names()},
        **{extract: ["validate"] for extract in extracts},
        "validate": ["load"],
        "load": ["build"],
        "build": ["publish"],
        "publish": ["email_report", "summarize"],
        "email_report": [],  # a leaf: a report not emailed fails the run
        "summarize": [],
    }


def test_extraction_fans_out_over_accounts_and_failures_do_not_stop_the_others(dag):
    from airflow.sdk import TriggerRule

    assert all(dag.get_task(f"extract_{platform}").is_mapped for platform in platform_names())
    assert dag.get_task("validate").trigger_rule == TriggerRule.ALL_DONE
    assert dag.get_task("summarize").trigger_rule == TriggerRule.ALL_DONE


def test_only_warehouse_tasks_take_the_single_writer_pool_and_each_platform_has_its_own(dag):
    pools = {task.task_id: task.pool for task in dag.tasks}
    assert {task_id for task_id, pool in pools.items() if pool == "rapport_warehouse"} == {
        "load",
        "build",
        "publish",
        "summarize",
    }
    for platform in platform_names():
        assert pools[f"extract_{platform}"] == f"rapport_{platform}"
    assert pools["email_report"] == "default_pool"  # reads the report file only, never the warehouse
    declared = airflow_pools()
    assert set(pools.values()) - {"default_pool"} <= set(declared)
    assert declared["rapport_warehouse"]["slots"] == 1


def test_the_schedule_and_timezone_come_from_the_environment():
    script = (
        "from airflow.dag_processing.dagbag import DagBag;"
        f"dag = DagBag(dag_folder={str(DAG_FILE)!r}).dags['rapport_nightly'];"
        "print(dag.timetable.expression, dag.timetable.timezone)"
    )
    environment = {"RAPPORT_SCHEDULE": "30 4 * * 1-5", "RAPPORT_TIMEZONE": "Europe/Paris"}
    output = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**__import__("os").environ, **environment},
    ).stdout
    assert output.strip().splitlines()[-1] == "30 4 * * 1-5 Europe/Paris"


def test_parsing_the_dag_file_imports_no_heavy_module():
    heavy = ["pandas", "duckdb", "great_expectations", "requests", "dbt", "pyarrow"]
    script = (
        "import sys, runpy; import airflow.sdk;"
        "before = set(sys.modules);"
        f"runpy.run_path({str(DAG_FILE)!r});"
        f"print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in {heavy!r}))"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert output.strip().splitlines()[-1] == "[]"


def test_every_task_has_an_execution_timeout_so_a_hung_call_cannot_hold_a_slot_forever(dag):
    from rapport.settings import get_settings

    expected = timedelta(minutes=get_settings().task_timeout_minutes)
    assert {task.task_id: task.execution_timeout for task in dag.tasks} == {
        task.task_id: expected for task in dag.tasks
    }


def test_the_task_timeout_comes_from_rapport_task_timeout_minutes():
    script = (
        "from airflow.dag_processing.dagbag import DagBag;"
        f"dag = DagBag(dag_folder={str(DAG_FILE)!r}).dags['rapport_nightly'];"
        "print(sorted({str(task.execution_timeout) for task in dag.tasks}))"
    )
    assert last_line_printed(script, RAPPORT_TASK_TIMEOUT_MINUTES="7") == "['0:07:00']"


def test_a_bad_schedule_setting_is_one_line_in_the_dag_import_errors():
    script = (
        "from airflow.dag_processing.dagbag import DagBag;"
        f"bag = DagBag(dag_folder={str(DAG_FILE)!r});"
        "print(sorted(bag.dags), repr(list(bag.import_errors.values())[0].strip().splitlines()[-1]))"
    )
    dags, last_line = last_line_printed(script, RAPPORT_SCHEDULE="every night", RAPPORT_RETRIES="-1").split(
        " ", 1
    )
    assert dags == "[]"
    assert "RAPPORT_SCHEDULE='every night': expected a cron expression" in last_line
    assert "RAPPORT_RETRIES='-1': expected a whole number of retries from 0 to 20" in last_line


def last_line_printed(script: str, **environment: str) -> str:
    """The last line a Python script prints, run in a new interpreter with ``environment`` added."""
    output = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **environment},
    ).stdout
    return output.strip().splitlines()[-1]
