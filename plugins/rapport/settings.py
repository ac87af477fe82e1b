"""Paths and constants, each overridable by an environment variable.

Every path derives from ``RAPPORT_HOME`` (default: the working directory, which
is the project root for ``make``, the DAGs and docker-compose) unless its own
variable is set. Nothing here reads a file or touches the network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Where Rapport reads its configuration and writes its data."""

    home: Path
    accounts_file: Path
    data_dir: Path
    landing_dir: Path
    staging_dir: Path
    quarantine_dir: Path
    warehouse: Path
    dbt_project_dir: Path
    gx_docs_dir: Path
    published_dir: Path
    history_weeks: int
    lookback_days: int
    alert_drop_points: float
    alert_silent_days: int
    alert_min_response_rate: float
    validation_workers: int
    accounts_per_task: int
    duckdb_memory_limit: str
    max_pages_per_extraction: int
    request_deadline_seconds: float
    extraction_deadline_seconds: float
    max_body_bytes: int
    task_timeout_minutes: int
    allow_private_instances: bool


def get_settings() -> Settings:
    """Read the settings from the environment (call it at run time, not import time)."""
    home = Path(os.environ.get("RAPPORT_HOME") or Path.cwd()).resolve()
    data_dir = _path("RAPPORT_DATA_DIR", home / "data")
    return Settings(
        home=home,
        accounts_file=_path("RAPPORT_ACCOUNTS", home / "config" / "accounts.yml"),
        data_dir=data_dir,
        landing_dir=_path("RAPPORT_LANDING_DIR", data_dir / "landing"),
        staging_dir=_path("RAPPORT_STAGING_DIR", data_dir / "validated"),
        quarantine_dir=_path("RAPPORT_QUARANTINE_DIR", data_dir / "quarantine"),
        warehouse=_path("RAPPORT_WAREHOUSE", data_dir / "warehouse.duckdb"),
        dbt_project_dir=_path("RAPPORT_DBT_PROJECT_DIR", home / "sql"),
        gx_docs_dir=_path("RAPPORT_GX_DOCS_DIR", data_dir / "gx_docs"),
        published_dir=_path("RAPPORT_PUBLISHED_DIR", data_dir / "published"),
        history_weeks=int(os.environ.get("RAPPORT_HISTORY_WEEKS", "26")),
        lookback_days=int(os.environ.get("RAPPORT_LOOKBACK_DAYS", "14")),
        alert_drop_points=float(os.environ.get("RAPPORT_ALERT_DROP_POINTS", "15")),
        alert_silent_days=int(os.environ.get("RAPPORT_ALERT_SILENT_DAYS", "14")),
        alert_min_response_rate=float(os.environ.get("RAPPORT_ALERT_MIN_RESPONSE_RATE", "0.5")),
        validation_workers=int(os.environ.get("RAPPORT_VALIDATION_WORKERS") or os.cpu_count() or 1),
        accounts_per_task=int(os.environ.get("RAPPORT_ACCOUNTS_PER_TASK", "25")),
        duckdb_memory_limit=os.environ.get("RAPPORT_DUCKDB_MEMORY_LIMIT", "3GB"),
        max_pages_per_extraction=int(os.environ.get("RAPPORT_MAX_PAGES_PER_EXTRACTION", "2000")),
        request_deadline_seconds=float(os.environ.get("RAPPORT_REQUEST_DEADLINE_SECONDS", "120")),
        extraction_deadline_seconds=float(os.environ.get("RAPPORT_EXTRACTION_DEADLINE_SECONDS", "3600")),
        max_body_bytes=int(os.environ.get("RAPPORT_MAX_BODY_BYTES", str(32 * 1024 * 1024))),
        task_timeout_minutes=int(os.environ.get("RAPPORT_TASK_TIMEOUT_MINUTES", "240")),
        allow_private_instances=os.environ.get("RAPPORT_ALLOW_PRIVATE_INSTANCES", "false").lower() == "true",
    )


def _path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser().resolve() if value else default
