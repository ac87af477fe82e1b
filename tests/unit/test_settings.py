"""Settings: read from the environment at each call, every value checked, one line per mistake."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rapport.errors import ConfigurationError, RapportError
from rapport.settings import Settings, SettingsError, get_settings, read_setting

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No RAPPORT_* variable but RAPPORT_HOME, set to a temporary folder."""
    for variable in list(os.environ):
        if variable.startswith("RAPPORT_"):
            monkeypatch.delenv(variable)
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    return tmp_path


def test_every_path_derives_from_the_home_then_from_the_data_folder(clean_environment: Path, monkeypatch):
    home = clean_environment
    settings = get_settings()
    assert settings.home == home
    assert settings.accounts_file == home / "config" / "accounts.yml"
    assert settings.dbt_project_dir == home / "sql"
    assert settings.warehouse == home / "data" / "warehouse.duckdb"
    assert settings.landing_dir == home / "data" / "landing"
    assert settings.staging_dir == home / "data" / "validated"

    monkeypatch.setenv("RAPPORT_DATA_DIR", str(home / "elsewhere"))
    monkeypatch.setenv("RAPPORT_WAREHOUSE", "~/w.duckdb")
    moved = get_settings()
    assert moved.quarantine_dir == home / "elsewhere" / "quarantine"
    assert moved.published_dir == home / "elsewhere" / "published"
    assert moved.warehouse == Path("~/w.duckdb").expanduser()
    assert moved.accounts_file == home / "config" / "accounts.yml"


def test_the_defaults_and_types_are_those_the_pipeline_expects(clean_environment: Path):
    settings = get_settings()
    assert (settings.history_weeks, settings.lookback_days, settings.accounts_per_task) == (26, 14, 25)
    assert settings.duckdb_memory_limit == "3GB"
    assert settings.max_pages_per_extraction == 2000 and settings.max_body_bytes == 32 * 1024 * 1024
    assert settings.request_deadline_seconds == 120.0 and settings.extraction_deadline_seconds == 3600.0
    assert settings.task_timeout_minutes == 240 and settings.allow_private_instances is False
    assert settings.validation_workers == (os.cpu_count() or 1)
    for field, annotation in Settings.__annotations__.items():
        kind = {"Path": Path, "int": int, "float": float, "str": str, "bool": bool}[str(annotation)]
        assert isinstance(getattr(settings, field), kind), field


def test_a_change_of_the_environment_shows_at_the_next_call(clean_environment: Path, monkeypatch):
    assert get_settings().history_weeks == 26
    monkeypatch.setenv("RAPPORT_HISTORY_WEEKS", "52")
    monkeypatch.setenv("RAPPORT_ALLOW_PRIVATE_INSTANCES", "true")
    assert get_settings().history_weeks == 52
    assert get_settings().allow_private_instances is True


def test_the_report_is_emailed_to_nobody_by_default_and_to_each_address_of_the_list(
    clean_environment: Path, monkeypatch
):
    settings = get_settings()
    assert settings.report_recipients == ()
    assert (settings.report_email_from, settings.report_email_connection) == ("", "smtp_default")
    monkeypatch.setenv("RAPPORT_REPORT_EMAIL_TO", " team@example.org, lead@example.org,,team@example.org ")
    assert get_settings().report_recipients == ("team@example.org", "lead@example.org")


def test_an_empty_variable_counts_as_unset(clean_environment: Path, monkeypatch):
    monkeypatch.setenv("RAPPORT_HISTORY_WEEKS", "")
    monkeypatch.setenv("RAPPORT_VALIDATION_WORKERS", "")
    monkeypatch.setenv("RAPPORT_WAREHOUSE", "")
    settings = get_settings()
    assert settings.history_weeks == 26
    assert settings.warehouse == clean_environment / "data" / "warehouse.duckdb"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("RAPPORT_HISTORY_WEEKS", "abc", "expected a whole number of weeks from 1 to 520"),
        ("RAPPORT_HISTORY_WEEKS", "-5", "expected a whole number of weeks from 1 to 520"),
        ("RAPPORT_HISTORY_WEEKS", "0", "from 1 to 520"),
        ("RAPPORT_HISTORY_WEEKS", "2.5", "from 1 to 520"),
        ("RAPPORT_HISTORY_WEEKS", "100000", "from 1 to 520"),
        ("RAPPORT_LOOKBACK_DAYS", "-1", "from 0 to 365"),
        ("RAPPORT_VALIDATION_WORKERS", "0", "processes from 1"),
        ("RAPPORT_ACCOUNTS_PER_TASK", "-3", "accounts from 1"),
        ("RAPPORT_DUCKDB_MEMORY_LIMIT", "lots", "a memory size"),
        ("RAPPORT_DUCKDB_MEMORY_LIMIT", "3gb", "a memory size"),
        ("RAPPORT_DUCKDB_MEMORY_LIMIT", "0GB", "a memory size above zero"),
        ("RAPPORT_MAX_PAGES_PER_EXTRACTION", "0", "pages from 1"),
        ("RAPPORT_REQUEST_DEADLINE_SECONDS", "0", "seconds above 0"),
        ("RAPPORT_REQUEST_DEADLINE_SECONDS", "inf", "seconds above 0"),
        ("RAPPORT_EXTRACTION_DEADLINE_SECONDS", "-1", "seconds above 0"),
        ("RAPPORT_MAX_BODY_BYTES", "10", "bytes from 1024"),
        ("RAPPORT_TASK_TIMEOUT_MINUTES", "0", "minutes from 1"),
        ("RAPPORT_SCHEDULE", "every night", "a cron expression"),
        ("RAPPORT_SCHEDULE", "0 2 * *", "a cron expression"),
        ("RAPPORT_TIMEZONE", "Europe/Pariss", "an IANA time zone"),
        ("RAPPORT_CATCHUP", "maybe", "true or false"),
        ("RAPPORT_RETRIES", "-1", "retries from 0 to 20"),
        ("RAPPORT_ALLOW_PRIVATE_INSTANCES", "maybe", "true or false"),
        ("RAPPORT_DATA_DIR", "~no_such_user_here/data", "a path"),
        ("RAPPORT_REPORT_EMAIL_TO", "team@example.org,bob", "a comma-separated list of email addresses"),
        ("RAPPORT_REPORT_EMAIL_TO", "Team <team@example.org>", "a comma-separated list of email addresses"),
        ("RAPPORT_REPORT_EMAIL_FROM", "rapport", "an email address"),
        ("RAPPORT_REPORT_EMAIL_CONNECTION", "smtp default", "an Airflow connection id"),
    ],
)
def test_a_bad_value_is_refused_in_one_line_naming_the_variable_the_value_and_what_is_expected(
    clean_environment: Path, monkeypatch, variable: str, value: str, expected: str
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        get_settings()
    message = str(raised.value)
    assert message.startswith(f"{variable}={value!r}: expected ")
    assert expected in message
    assert "\n" not in message


def test_every_bad_variable_is_named_on_the_one_line(clean_environment: Path, monkeypatch):
    monkeypatch.setenv("RAPPORT_HISTORY_WEEKS", "abc")
    monkeypatch.setenv("RAPPORT_LOOKBACK_DAYS", "-1")
    with pytest.raises(
        SettingsError, match=r"^RAPPORT_HISTORY_WEEKS='abc': .*; RAPPORT_LOOKBACK_DAYS='-1': "
    ):
        get_settings()


def test_a_settings_error_is_a_configuration_error_and_still_a_value_error():
    assert issubclass(SettingsError, ConfigurationError)
    assert issubclass(SettingsError, RapportError)
    assert issubclass(SettingsError, ValueError)


def test_a_long_value_is_shortened_in_the_message(clean_environment: Path, monkeypatch):
    monkeypatch.setenv("RAPPORT_HISTORY_WEEKS", "9" * 500)
    with pytest.raises(SettingsError) as raised:
        get_settings()
    assert len(str(raised.value)) < 200


def test_settings_are_immutable_and_a_copy_takes_changes(clean_environment: Path):
    settings = get_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.history_weeks = 3  # type: ignore[misc]
    changed = settings.model_copy(update={"history_weeks": 3})
    assert (changed.history_weeks, settings.history_weeks) == (3, 26)
    assert not dataclasses.is_dataclass(settings)  # model_copy is the way to change one


def test_no_dotenv_file_is_read(clean_environment: Path, monkeypatch):
    (clean_environment / ".env").write_text("RAPPORT_HISTORY_WEEKS=3\n", encoding="utf-8")
    monkeypatch.chdir(clean_environment)
    assert get_settings().history_weeks == 26


def test_a_platform_setting_is_parsed_with_the_same_one_line_error():
    environ = {"RAPPORT_X_BUDGET": "forty"}
    from typing import Annotated

    from pydantic import Field

    kind = Annotated[int, Field(ge=0)]
    assert read_setting("RAPPORT_X_BUDGET", kind, 40, "a whole number", {}) == 40
    assert read_setting("RAPPORT_X_BUDGET", kind, 40, "a whole number", {"RAPPORT_X_BUDGET": " 7 "}) == 7
    with pytest.raises(SettingsError, match=r"^RAPPORT_X_BUDGET='forty': expected a whole number$"):
        read_setting("RAPPORT_X_BUDGET", kind, 40, "a whole number", environ)


@pytest.mark.parametrize(
    ("reader", "variable"),
    [
        ("rapport.sources.mastodon.settings:read_context_budget", "RAPPORT_MASTODON_CONTEXT_BUDGET"),
        ("rapport.sources.bluesky.settings:read_thread_budget", "RAPPORT_BLUESKY_THREAD_BUDGET"),
    ],
)
def test_a_platform_budget_that_is_not_a_whole_number_is_a_settings_error_naming_it(
    monkeypatch, reader: str, variable: str
):
    import importlib

    module, name = reader.split(":")
    read = getattr(importlib.import_module(module), name)
    monkeypatch.setenv(variable, "7")
    assert read() == 7
    for value in ("forty", "-1"):
        monkeypatch.setenv(variable, value)
        with pytest.raises(SettingsError, match=rf"^{variable}={value!r}: expected a whole number"):
            read()


def test_a_demo_scale_variable_that_is_not_a_number_is_a_settings_error_naming_it():
    from rapport.simulators.scale import ScaleProfile

    with pytest.raises(SettingsError, match=r"^RAPPORT_DEMO_SCALE_POSTS_PER_WEEK='many': expected a number"):
        ScaleProfile.from_environment({"RAPPORT_DEMO_SCALE_POSTS_PER_WEEK": "many"})
    with pytest.raises(
        SettingsError, match=r"^RAPPORT_DEMO_SCALE_MEDIA_SHARE='2': expected a share from 0 to 1"
    ):
        ScaleProfile.from_environment({"RAPPORT_DEMO_SCALE_MEDIA_SHARE": "2"})


@pytest.mark.parametrize("value", ["abc", "-5"])
def test_rapport_scores_with_a_bad_setting_prints_one_line_and_exits_2(tmp_path: Path, value: str):
    rapport = Path(sys.executable).with_name("rapport")
    environment = {key: item for key, item in os.environ.items() if not key.startswith("RAPPORT_")} | {
        "RAPPORT_HOME": str(tmp_path),
        "RAPPORT_HISTORY_WEEKS": value,
    }
    completed = subprocess.run(
        [str(rapport), "scores"], env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 2, completed.stderr
    assert completed.stdout == ""
    assert completed.stderr == (
        f"error: RAPPORT_HISTORY_WEEKS={value!r}: expected a whole number of weeks from 1 to 520\n"
    )


def test_the_readme_documents_every_setting():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(RAPPORT_[A-Z_]+)`", readme))
    variables = {str(field.validation_alias) for field in Settings.model_fields.values()}
    assert variables - documented == set()


@pytest.mark.parametrize(
    ("variable", "var"),
    [
        ("RAPPORT_ALERT_DROP_POINTS", "alert_drop_points"),
        ("RAPPORT_ALERT_SILENT_DAYS", "alert_silent_days"),
        ("RAPPORT_ALERT_MIN_RESPONSE_RATE", "alert_min_response_rate"),
    ],
)
def test_an_alert_threshold_still_set_in_the_environment_says_it_moved_to_its_dbt_var(
    clean_environment: Path, monkeypatch, variable: str, var: str
):
    monkeypatch.setenv(variable, "20")
    with pytest.raises(SettingsError) as raised:
        get_settings()
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{variable} is no longer read: the alert threshold is the dbt var {var}")
    assert "sql/dbt_project.yml" in message and "dbt build --vars" in message
