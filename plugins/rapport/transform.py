"""Run the dbt project in ``sql/``: one ``dbt build`` (models and data tests) per run.

dbt runs as its own process with the project's threads: one invocation
costs its start-up once, and its state never leaks into the caller (an
Airflow worker or the CLI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

from rapport.errors import RapportError
from rapport.settings import Settings


class TransformError(RapportError, RuntimeError):
    """``dbt`` failed; the message carries the tail of its output."""


def dbt_command(settings: Settings, *arguments: str) -> list[str]:
    """The command line of a dbt call on the project, with the venv's dbt."""
    dbt = Path(sys.executable).with_name("dbt")
    executable = [str(dbt)] if dbt.exists() else [sys.executable, "-m", "dbt.cli.main"]
    return [
        *executable,
        *arguments,
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
    ]


def run_dbt(settings: Settings, *arguments: str, warehouse: Path | None = None) -> str:
    """Run a dbt command on the warehouse (or on ``warehouse``: a rebuild's, aside), holding its
    writer lock; return its output, raise ``TransformError`` on failure, and at once, naming the
    file, when another writer holds the warehouse."""
    from rapport.load import WarehouseBusyError, busy_message, writer_lock

    warehouse = warehouse or settings.warehouse
    # A warehouse of its own (a rebuild's) gets dbt's files of its own: a nightly dbt refused meanwhile
    # still writes its target folder.
    files = (
        settings.data_dir if warehouse == settings.warehouse else warehouse.with_name(f"{warehouse.name}.dbt")
    )
    environment = os.environ | {
        # The file's name, dbt working in its folder: the profile dbt hashes into its saved parse
        # is then the same for every warehouse called so, wherever its folder is.
        "RAPPORT_WAREHOUSE": warehouse.name,
        "DBT_LOG_PATH": str(files / "logs" / "dbt"),
        "DBT_TARGET_PATH": str(files / "dbt_target"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    # Parsed once: a command with a target of its own (the docs, built aside) reads the parse the
    # last build saved instead of parsing the project again (about 2.5 s of CPU). Before the first
    # build, a DBT_PARTIAL_PARSE_FILE_PATH of the caller's is read if it exists (dbt re-parses
    # whatever changed since); dbt refuses one that does not exist.
    saved_parse = files / "dbt_target" / "partial_parse.msgpack"
    callers_parse = environment.get("DBT_PARTIAL_PARSE_FILE_PATH")
    if saved_parse.is_file():
        environment["DBT_PARTIAL_PARSE_FILE_PATH"] = str(saved_parse)
    elif callers_parse and not Path(callers_parse).is_file():
        del environment["DBT_PARTIAL_PARSE_FILE_PATH"]
    try:
        with writer_lock(warehouse):
            completed = subprocess.run(
                dbt_command(settings, *arguments),
                cwd=warehouse.parent,
                env=environment,
                capture_output=True,
                text=True,
                check=False,
            )
    except WarehouseBusyError as error:
        raise TransformError(str(error)) from None
    output = completed.stdout + completed.stderr
    lock = next((line for line in output.splitlines() if "Could not set lock on file" in line), None)
    if completed.returncode != 0 and lock:
        raise TransformError(f"{busy_message(warehouse)}: {lock.strip()}")
    if completed.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-40:])
        raise TransformError(f"dbt {' '.join(arguments)} failed (exit {completed.returncode}):\n{tail}")
    return output


def build_models(settings: Settings, *extra: str, warehouse: Path | None = None) -> str:
    """``dbt build``: every model and data test; return dbt's output.

    Unit tests are left out: their inputs are fixed rows, so a nightly run
    would only repeat what ``make test`` checks at every change (dbt Labs
    recommends running them in development and CI, not in production). See
    :func:`run_unit_tests`.
    """
    return run_dbt(settings, "build", "--exclude-resource-type", "unit_test", *extra, warehouse=warehouse)


def run_unit_tests(settings: Settings) -> str:
    """``dbt test`` of the unit tests alone (the scoring formulas on fixed rows); return dbt's output."""
    return run_dbt(settings, "test", "--select", "test_type:unit")


# What a reader of the published dbt docs needs: the page (dbt's static one, manifest and catalog
# inlined: it opens from a file, no server) and the two artifacts tools read. Never dbt's internals
# (partial_parse.msgpack, graph.gpickle, compiled SQL, run results).
PUBLISHED_DOCS_FILES: Final = {
    "index.html": "static_index.html",
    "manifest.json": "manifest.json",
    "catalog.json": "catalog.json",
}


def generate_docs(settings: Settings, target_dir: Path) -> Path:
    """``dbt docs generate --static`` aside, then publish only ``PUBLISHED_DOCS_FILES`` in
    ``target_dir`` (each replaced in one rename; anything else there is removed); return the page."""
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir.parent, prefix=f".{target_dir.name}.") as built:
        run_dbt(settings, "docs", "generate", "--static", "--target-path", built)
        for published, generated in PUBLISHED_DOCS_FILES.items():
            (Path(built) / generated).replace(target_dir / published)
    for path in target_dir.iterdir():
        if path.name in PUBLISHED_DOCS_FILES:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return target_dir / "index.html"
