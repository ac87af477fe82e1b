"""The connectors' tests talk to local servers on 127.0.0.1: private instances are allowed here."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def allow_private_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    """``RAPPORT_ALLOW_PRIVATE_INSTANCES=true``: the HTTP client otherwise refuses 127.0.0.1."""
    monkeypatch.setenv("RAPPORT_ALLOW_PRIVATE_INSTANCES", "true")
