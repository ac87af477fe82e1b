"""Airflow's own cost as accounts grow: one nightly run of N accounts under a real scheduler.

Usage: ``python -m benchmarks.orchestration --accounts 1000 --batch-sizes 1,25``

For each batch size (``RAPPORT_ACCOUNTS_PER_TASK``), in a fresh Airflow and
Rapport home: ``airflow standalone`` (LocalExecutor, every task in its own
process, as in production), one triggered run of ``rapport_nightly`` over N
scale accounts of the demo platform with one week of history (small data: the
point is the orchestration). It reads the task instances from Airflow's
metadata database and compares the extraction phase with the same extraction
done in one plain process. Writes ``benchmarks/results/orchestration-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.run import PROJECT_ROOT, machine
from tests.airflow_standalone import airflow_cli, running_standalone, standalone_environment

LOGICAL_DATE = "2026-11-16T00:00:00+00:00"
RUN_ID = "orchestration_benchmark"


def _environment(root: Path, batch_size: int) -> dict[str, str]:
    return standalone_environment(
        root,
        RAPPORT_HISTORY_WEEKS="1",
        RAPPORT_ACCOUNTS_PER_TASK=str(batch_size),
        # No scheduled run beside the triggered one: the next fire time is still to come.
        RAPPORT_SCHEDULE="0 0 31 12 *",
    )


def measure_in_one_process(root: Path, accounts: int) -> float:
    """The same extraction with no Airflow: every account, one after the other, in one process."""
    environment = _environment(root, accounts)
    code = (
        "import time; from datetime import datetime; from rapport import pipeline; "
        f"until = datetime.fromisoformat({LOGICAL_DATE!r}); started = time.perf_counter(); "
        "pipeline.extract_accounts(pipeline.list_account_ids('demo'), until); "
        "print(time.perf_counter() - started)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    return float(completed.stdout.strip().splitlines()[-1])


def measure_under_airflow(root: Path, accounts: int, batch_size: int) -> dict[str, Any]:
    environment = _environment(root, batch_size)
    with running_standalone(environment, root / "standalone.log"):
        airflow_cli(environment, "dags", "unpause", "rapport_nightly")
        airflow_cli(
            environment,
            "dags",
            "trigger",
            "rapport_nightly",
            "--logical-date",
            LOGICAL_DATE,
            "--run-id",
            RUN_ID,
        )
        while (state := _run_state(root)) not in ("success", "failed"):
            time.sleep(5)
    return _task_figures(root) | {"state": state}


def _database(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(root / "airflow" / "airflow.db")


def _run_state(root: Path) -> str | None:
    with _database(root) as connection:
        row = connection.execute("select state from dag_run where run_id = ?", [RUN_ID]).fetchone()
    return row[0] if row else None


def _seconds(text: str | None) -> float:
    return datetime.fromisoformat(text).timestamp() if text else float("nan")


def _task_figures(root: Path) -> dict[str, Any]:
    with _database(root) as connection:
        run_start, run_end = connection.execute(
            "select start_date, end_date from dag_run where run_id = ?", [RUN_ID]
        ).fetchone()
        rows = connection.execute(
            "select task_id, map_index, start_date, end_date, duration, queued_dttm from task_instance "
            "where run_id = ? and state is not null",
            [RUN_ID],
        ).fetchall()
    extracts = [row for row in rows if row[0].startswith("extract_") and row[2]]
    steps = {row[0]: round(row[4] or 0.0, 2) for row in rows if not row[0].startswith(("extract_", "list_"))}
    return {
        "task_instances": len(rows),
        "extract_task_instances": len(extracts),
        "run_wall_s": round(_seconds(run_end) - _seconds(run_start), 1),
        "extract_phase_wall_s": round(
            max(_seconds(row[3]) for row in extracts) - min(_seconds(row[5] or row[2]) for row in extracts), 1
        ),
        "extract_task_seconds_sum": round(sum(row[4] or 0.0 for row in extracts), 1),
        "mean_queued_to_start_s": round(
            sum(_seconds(row[2]) - _seconds(row[5] or row[2]) for row in extracts) / len(extracts), 2
        ),
        "other_steps_duration_s": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--batch-sizes", default="1,25")
    parser.add_argument("--work-dir", type=Path, default=PROJECT_ROOT / "benchmarks" / ".work")
    arguments = parser.parse_args()
    from rapport.simulators.scale import write_registry

    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "accounts": arguments.accounts,
        "history_weeks": 1,
        "results": [],
    }
    baseline_root = arguments.work_dir / "orchestration-baseline"
    shutil.rmtree(baseline_root, ignore_errors=True)
    write_registry(baseline_root / "rapport" / "config" / "accounts.yml", arguments.accounts)
    report["extract_in_one_process_s"] = round(measure_in_one_process(baseline_root, arguments.accounts), 1)
    print(
        f"extraction of {arguments.accounts} accounts in one process: {report['extract_in_one_process_s']} s"
    )
    for batch_size in (int(size) for size in arguments.batch_sizes.split(",")):
        root = arguments.work_dir / f"orchestration-{batch_size}"
        shutil.rmtree(root, ignore_errors=True)
        write_registry(root / "rapport" / "config" / "accounts.yml", arguments.accounts)
        figures = {"accounts_per_task": batch_size} | measure_under_airflow(
            root, arguments.accounts, batch_size
        )
        figures["extract_overhead_s"] = round(
            figures["extract_phase_wall_s"] - report["extract_in_one_process_s"], 1
        )
        report["results"].append(figures)
        print(json.dumps(figures), flush=True)
    results = PROJECT_ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"orchestration-{report['started_at'].replace(':', '')[:17]}.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
