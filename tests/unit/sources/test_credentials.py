from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rapport.sources.credentials import get_credential
from tests.conftest import PROJECT_ROOT


def test_a_credential_comes_from_its_environment_variable_first(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RAPPORT_MASTODON_TOKEN", "from-env")
    monkeypatch.setenv(
        "AIRFLOW_CONN_RAPPORT_MASTODON", json.dumps({"conn_type": "http", "password": "from-conn"})
    )
    assert get_credential("RAPPORT_MASTODON_TOKEN", "rapport_mastodon") == "from-env"


def test_without_any_credential_the_source_goes_on_anonymously(monkeypatch: pytest.MonkeyPatch, caplog):
    monkeypatch.delenv("RAPPORT_MASTODON_TOKEN", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_RAPPORT_MASTODON", raising=False)
    assert get_credential("RAPPORT_MASTODON_TOKEN", "rapport_mastodon") is None


def test_an_airflow_connection_given_as_an_environment_variable_is_used(
    monkeypatch: pytest.MonkeyPatch, caplog
):
    monkeypatch.delenv("RAPPORT_BLUESKY_APP_PASSWORD", raising=False)
    connection = {"conn_type": "http", "login": "org.bsky.social", "password": "app-pass-1234"}
    monkeypatch.setenv("AIRFLOW_CONN_RAPPORT_BLUESKY", json.dumps(connection))
    with caplog.at_level("DEBUG"):
        password = get_credential("RAPPORT_BLUESKY_APP_PASSWORD", "rapport_bluesky")
        login = get_credential("RAPPORT_BLUESKY_HANDLE", "rapport_bluesky", field="login")
    assert (login, password) == ("org.bsky.social", "app-pass-1234")
    assert "app-pass-1234" not in caplog.text


MASKING = """
import os, sys
if sys.argv[1] == "task":
    import airflow.sdk.execution_time.task_runner  # as in a process running an Airflow task
from rapport.sources.credentials import get_credential
from tests.conftest import PROJECT_ROOT
os.environ.update(RAPPORT_MASTODON_TOKEN="token-from-env-5678", RAPPORT_BLUESKY_HANDLE="org.bsky.social")
get_credential("RAPPORT_MASTODON_TOKEN", "rapport_mastodon")
get_credential("RAPPORT_BLUESKY_HANDLE", "rapport_bluesky", field="login")
print("airflow.sdk.log" in sys.modules)
from airflow.sdk._shared.secrets_masker import redact
print(redact("GET /api/v1/timelines with Bearer token-from-env-5678 for org.bsky.social"))
"""


@pytest.mark.parametrize("process", ["task", "cli"])
def test_inside_an_airflow_task_a_secret_is_masked_in_its_logs_and_a_login_is_not(process: str):
    """In a process of its own: Airflow's masker, once loaded, configures logging for the whole process."""
    completed = subprocess.run(
        [sys.executable, "-c", MASKING, process], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    airflow_logging_loaded, line = completed.stdout.splitlines()[-2:]
    if process == "task":
        assert line == "GET /api/v1/timelines with Bearer *** for org.bsky.social"
    else:  # the CLI: Airflow's logging is left alone, and nothing is masked (nothing logs secrets)
        assert airflow_logging_loaded == "False"
        assert line.endswith("Bearer token-from-env-5678 for org.bsky.social")


def test_a_mastodon_token_goes_only_to_the_instance_it_is_mapped_to(monkeypatch):
    import json

    from rapport.sources.mastodon.client import instance_token

    monkeypatch.delenv("RAPPORT_MASTODON_TOKEN", raising=False)
    monkeypatch.setenv("RAPPORT_MASTODON_TOKENS", json.dumps({"Mastodon.Social": "token-of-social"}))

    assert instance_token("mastodon.social") == "token-of-social"
    assert instance_token("evil.example") is None


def test_a_single_mastodon_token_without_its_instance_is_refused_naming_the_variables(monkeypatch):
    from rapport.sources.credentials import CredentialError
    from rapport.sources.mastodon.client import instance_token

    monkeypatch.delenv("RAPPORT_MASTODON_TOKENS", raising=False)
    monkeypatch.delenv("RAPPORT_MASTODON_INSTANCE", raising=False)
    monkeypatch.setenv("RAPPORT_MASTODON_TOKEN", "single-token-1234")
    with pytest.raises(CredentialError, match="RAPPORT_MASTODON_INSTANCE") as raised:
        instance_token("mastodon.social")
    assert "single-token-1234" not in str(raised.value)

    monkeypatch.setenv("RAPPORT_MASTODON_INSTANCE", "mastodon.social")
    assert instance_token("mastodon.social") == "single-token-1234"
    assert instance_token("other.example") is None


def test_a_malformed_token_mapping_is_refused_without_showing_it(monkeypatch):
    from rapport.sources.credentials import CredentialError
    from rapport.sources.mastodon.client import instance_token

    monkeypatch.setenv("RAPPORT_MASTODON_TOKENS", "mastodon.social=secret-5678")
    with pytest.raises(CredentialError, match="RAPPORT_MASTODON_TOKENS") as raised:
        instance_token("mastodon.social")
    assert "secret-5678" not in str(raised.value)


def test_a_per_instance_airflow_connection_holds_that_instances_token(monkeypatch):
    import json

    from rapport.sources.mastodon.client import instance_token

    for variable in ("RAPPORT_MASTODON_TOKENS", "RAPPORT_MASTODON_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_RAPPORT_MASTODON_MASTODON_SOCIAL",
        json.dumps({"conn_type": "http", "password": "conn-token"}),
    )
    assert instance_token("mastodon.social") == "conn-token"
    assert instance_token("other.example") is None
