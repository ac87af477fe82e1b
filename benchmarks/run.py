"""Measure how Rapport's cost grows with its work: ``make bench`` (not part of ``make test``).

For each size (accounts x 52 weeks of the demo platform's scale accounts),
in a fresh Rapport home: generate the landing zone, then time each step in
its own process (wall time, CPU time, peak memory), with the floors it is
compared to, and the incremental nightly run that adds one day. Prints a
table and writes ``benchmarks/results/<timestamp>.json`` with the machine's
description. ``--sizes 100,1000`` for a quicker run; ``--keep`` keeps the
homes (under ``--work-dir``) for inspection.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FULL_STEPS = ("generate", "validate", "load", "load_floor", "json_floor", "build", "score_floor")
FLOOR_STEPS = ("load_floor", "json_floor", "score_floor")
"""The floors: what DuckDB alone costs for the same work. ``--skip-floors`` leaves them out
(json_floor holds every payload in memory: 17 GB at 10,000 accounts)."""
NIGHTLY_STEPS = ("generate_nightly", "validate_nightly", "load_nightly", "build_nightly")


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    import duckdb

    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gb": round(memory_kb / 1024**2, 1),
        "system": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip(),
    }


def _tree_rss_kb(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, ValueError, IndexError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


def run_step(step: str, size: int, environment: dict[str, str]) -> dict[str, Any]:
    """Run one step in its own process; return its wall time, CPU time, peak memory and output."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.steps", step, str(size)],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], _tree_rss_kb(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"step {step} ({size} accounts) failed:\n{(stdout + stderr)[-3000:]}")
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    return {
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(peak[0] / 1024, 1),
        "output": json.loads(lines[-1]) if lines else None,
    }


def _cpu_of_children() -> float:
    """CPU time of every reaped child: a step's own and its children's (dbt, normalizing workers)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_size(size: int, work_dir: Path, keep: bool, skip_floors: bool = False) -> dict[str, Any]:
    home = work_dir / f"accounts-{size}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("RAPPORT_")} | {
        "RAPPORT_HOME": str(home),
        "RAPPORT_DBT_PROJECT_DIR": str(PROJECT_ROOT / "sql"),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    steps: dict[str, Any] = {}
    for step in (*FULL_STEPS, *NIGHTLY_STEPS):
        if skip_floors and step in FLOOR_STEPS:
            continue
        before = _cpu_of_children()
        result = run_step(step, size, environment)
        result["cpu_s"] = round(_cpu_of_children() - before, 2)
        steps[step] = result
        print(
            f"  {size:>6} accounts  {step:<17} {result['wall_s']:>8.1f} s wall {result['cpu_s']:>8.1f} s cpu "
            f"{result['peak_rss_mb']:>8.0f} MB  {result['output']}",
            flush=True,
        )
    size_on_disk = {
        name: sum(file.stat().st_size for file in (home / "data" / name).rglob("*") if file.is_file())
        for name in ("landing", "validated")
    } | {"warehouse": (home / "data" / "warehouse.duckdb").stat().st_size}
    if not keep:
        shutil.rmtree(home)
    return {"accounts": size, "weeks": 52, "steps": steps, "bytes": size_on_disk, "ratios": ratios(steps)}


def ratios(steps: dict[str, Any]) -> dict[str, float]:
    """The ratios the steps measured allow (those to a floor only when the floors ran)."""
    wall = {name: step["wall_s"] for name, step in steps.items()}
    cpu = {name: step["cpu_s"] for name, step in steps.items()}
    run = ("validate", "load", "build")
    result = {
        "nightly build / full build": round(wall["build_nightly"] / wall["build"], 3),
        "nightly run / full run": round(
            sum(wall[f"{step}_nightly"] for step in run) / sum(wall[step] for step in run), 3
        ),
        "nightly run / full run, cpu": round(
            sum(cpu[f"{step}_nightly"] for step in run) / sum(cpu[step] for step in run), 3
        ),
    }
    for step, floor in (("load", "load_floor"), ("build", "score_floor"), ("validate", "json_floor")):
        if floor in wall:
            result[f"{step} / {floor}"] = round(wall[step] / wall[floor], 2)
    return result


def print_table(results: list[dict[str, Any]]) -> None:
    print("\naccounts  step               wall s    cpu s  peak MB   s per 1k accounts")
    for result in results:
        for name, step in result["steps"].items():
            per_thousand = step["wall_s"] / result["accounts"] * 1000
            print(
                f"{result['accounts']:>8}  {name:<17} {step['wall_s']:>7.1f} {step['cpu_s']:>8.1f} "
                f"{step['peak_rss_mb']:>8.0f} {per_thousand:>10.2f}"
            )
        for name, value in result["ratios"].items():
            print(f"{result['accounts']:>8}  {name:<28} {value}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,1000,10000", help="comma-separated account counts")
    parser.add_argument("--work-dir", type=Path, default=PROJECT_ROOT / "benchmarks" / ".work")
    parser.add_argument("--keep", action="store_true", help="keep each size's Rapport home")
    parser.add_argument("--results-dir", type=Path, default=PROJECT_ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--skip-floors", action="store_true", help="leave out the floors (json_floor needs 17 GB at 10,000)"
    )
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "results": [],
    }
    arguments.results_dir.mkdir(parents=True, exist_ok=True)
    path = arguments.results_dir / f"{report['started_at'].replace(':', '')[:17]}.json"
    for size in sizes:
        print(f"{size} accounts x 52 weeks", flush=True)
        report["results"].append(bench_size(size, arguments.work_dir, arguments.keep, arguments.skip_floors))
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")  # kept as each size ends
    print_table(report["results"])
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
