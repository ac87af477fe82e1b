"""Shared fixtures: an isolated Rapport home per test, with the project's config."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rapport_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Rapport home in a temporary folder: the demo registry, the dbt project, empty data."""
    shutil.copytree(PROJECT_ROOT / "config", tmp_path / "config")
    for variable in (
        "RAPPORT_ACCOUNTS",
        "RAPPORT_DATA_DIR",
        "RAPPORT_LANDING_DIR",
        "RAPPORT_STAGING_DIR",
        "RAPPORT_QUARANTINE_DIR",
        "RAPPORT_WAREHOUSE",
        "RAPPORT_GX_DOCS_DIR",
        "RAPPORT_INBOX_DIR",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    monkeypatch.setenv("RAPPORT_DBT_PROJECT_DIR", str(PROJECT_ROOT / "sql"))
    return tmp_path


def write_registry(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
