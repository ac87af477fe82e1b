"""The connectors' tests talk to local servers on 127.0.0.1: private instances are allowed here."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def allow_private_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    """``RAPPORT_ALLOW_PRIVATE_INSTANCES=true``: the HTTP client otherwise refuses 127.0.0.1."""
    monkeypatch.setenv("RAPPORT_ALLOW_PRIVATE_INSTANCES", "true")


@pytest.fixture(autouse=True)
def private_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A data folder of the test's own: a Bluesky session kept by one test is not found by the next."""
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path_factory.mktemp("data")))
