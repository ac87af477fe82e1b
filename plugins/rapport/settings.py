"""Paths and constants, each overridable by an environment variable, parsed and checked in one place.

Every path derives from ``RAPPORT_HOME`` (default: the working directory, which
is the project root for ``make``, the DAGs and docker-compose) unless its own
variable is set; the data folders derive from ``RAPPORT_DATA_DIR``. A variable
set to an empty string counts as unset. A value of the wrong type or out of its
range raises :class:`SettingsError`, one line naming the variable, the value and
what is expected. Nothing here reads a file or touches the network.

The variables of one platform (its URL, credentials, budgets) live in that
platform's ``sources/<platform>/settings.py``; they raise the same error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

from pydantic import Field, TypeAdapter, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from rapport.errors import ConfigurationError

_MEMORY_SIZE: Final = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)")
"""A size DuckDB's ``memory_limit`` accepts (``sql/profiles.yml`` passes it on): ``3GB``, ``1.5GiB``."""

_EMAIL_ADDRESS: Final = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
"""A bare email address with a dotted domain (``team@example.org``): no display name, no list."""

_CONNECTION_ID: Final = re.compile(r"[A-Za-z0-9_.-]{1,250}")
"""An Airflow connection id (``smtp_default``)."""

# The defaults of the paths that derive from RAPPORT_HOME, then from RAPPORT_DATA_DIR.
_HOME_PATHS: Final = {
    "RAPPORT_ACCOUNTS": ("config", "accounts.yml"),
    "RAPPORT_DATA_DIR": ("data",),
    "RAPPORT_DBT_PROJECT_DIR": ("sql",),
}
_DATA_PATHS: Final = {
    "RAPPORT_LANDING_DIR": ("landing",),
    "RAPPORT_STAGING_DIR": ("validated",),
    "RAPPORT_QUARANTINE_DIR": ("quarantine",),
    "RAPPORT_WAREHOUSE": ("warehouse.duckdb",),
    "RAPPORT_GX_DOCS_DIR": ("gx_docs",),
    "RAPPORT_PUBLISHED_DIR": ("published",),
    "RAPPORT_INBOX_DIR": ("inbox",),
}


# Settings that became dbt vars of sql/dbt_project.yml (issue 19: the alerts are a dbt mart).
MOVED_TO_DBT_VARS: Final = {
    "RAPPORT_ALERT_DROP_POINTS": "alert_drop_points",
    "RAPPORT_ALERT_SILENT_DAYS": "alert_silent_days",
    "RAPPORT_ALERT_MIN_RESPONSE_RATE": "alert_min_response_rate",
}

T = TypeVar("T")


class SettingsError(ConfigurationError, ValueError):
    """A setting is malformed or out of range; the message names the variable, the value and the fix."""


def setting_error(variable: str, value: str, expected: str) -> SettingsError:
    """The one-line error for ``variable`` set to ``value``: ``VARIABLE='value': expected <expected>``."""
    shown = value if len(value) <= 60 else value[:57] + "..."
    return SettingsError(f"{variable}={shown!r}: expected {expected}")


def _path(variable: str) -> Any:
    """A path field read from ``variable``; its default is a placeholder, ``_derive_paths`` sets it."""
    return Field(default_factory=Path.cwd, validation_alias=variable, description="a path")


class Settings(BaseSettings):
    """Where Rapport reads its configuration and writes its data, and the limits of a run.

    Each field is read from the environment variable named by its alias; its
    description says what the variable must hold.
    """

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, frozen=True)

    home: Path = _path("RAPPORT_HOME")
    accounts_file: Path = _path("RAPPORT_ACCOUNTS")
    data_dir: Path = _path("RAPPORT_DATA_DIR")
    landing_dir: Path = _path("RAPPORT_LANDING_DIR")
    staging_dir: Path = _path("RAPPORT_STAGING_DIR")
    quarantine_dir: Path = _path("RAPPORT_QUARANTINE_DIR")
    warehouse: Path = _path("RAPPORT_WAREHOUSE")
    dbt_project_dir: Path = _path("RAPPORT_DBT_PROJECT_DIR")
    gx_docs_dir: Path = _path("RAPPORT_GX_DOCS_DIR")
    published_dir: Path = _path("RAPPORT_PUBLISHED_DIR")
    inbox_dir: Path = _path("RAPPORT_INBOX_DIR")
    """Where the accounts read from analytics exports get their files, one folder each, when the
    registry names no ``inbox`` of their own."""

    history_weeks: int = Field(
        default=26,
        ge=1,
        le=520,
        validation_alias="RAPPORT_HISTORY_WEEKS",
        description="a whole number of weeks from 1 to 520",
    )
    lookback_days: int = Field(
        default=14,
        ge=0,
        le=365,
        validation_alias="RAPPORT_LOOKBACK_DAYS",
        description="a whole number of days from 0 to 365",
    )
    validation_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=256,
        validation_alias="RAPPORT_VALIDATION_WORKERS",
        description="a whole number of processes from 1 to 256",
    )
    accounts_per_task: int = Field(
        default=25,
        ge=1,
        le=10_000,
        validation_alias="RAPPORT_ACCOUNTS_PER_TASK",
        description="a whole number of accounts from 1 to 10000",
    )
    duckdb_memory_limit: str = Field(
        default="3GB",
        validation_alias="RAPPORT_DUCKDB_MEMORY_LIMIT",
        description="a memory size above zero such as 3GB, 512MB or 1.5GiB (units KB to TB, KiB to TiB)",
    )
    max_pages_per_extraction: int = Field(
        default=2000,
        ge=1,
        le=1_000_000,
        validation_alias="RAPPORT_MAX_PAGES_PER_EXTRACTION",
        description="a whole number of pages from 1 to 1000000",
    )
    request_deadline_seconds: float = Field(
        default=120,
        gt=0,
        le=86_400,
        allow_inf_nan=False,
        validation_alias="RAPPORT_REQUEST_DEADLINE_SECONDS",
        description="a number of seconds above 0, at most 86400 (a day)",
    )
    extraction_deadline_seconds: float = Field(
        default=3600,
        gt=0,
        le=604_800,
        allow_inf_nan=False,
        validation_alias="RAPPORT_EXTRACTION_DEADLINE_SECONDS",
        description="a number of seconds above 0, at most 604800 (a week)",
    )
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        le=2**31,
        validation_alias="RAPPORT_MAX_BODY_BYTES",
        description="a whole number of bytes from 1024 to 2147483648 (2 GiB)",
    )
    task_timeout_minutes: int = Field(
        default=240,
        ge=1,
        le=10_080,
        validation_alias="RAPPORT_TASK_TIMEOUT_MINUTES",
        description="a whole number of minutes from 1 to 10080 (a week)",
    )
    allow_private_instances: bool = Field(
        default=False,
        validation_alias="RAPPORT_ALLOW_PRIVATE_INSTANCES",
        description="true or false",
    )
    schedule: str = Field(
        default="0 2 * * *",
        validation_alias="RAPPORT_SCHEDULE",
        description="a cron expression of five fields, such as '0 2 * * *'",
    )
    timezone: str = Field(
        default="UTC",
        validation_alias="RAPPORT_TIMEZONE",
        description="an IANA time zone name, such as UTC or Europe/Paris",
    )
    catchup: bool = Field(
        default=False,
        validation_alias="RAPPORT_CATCHUP",
        description="true or false",
    )
    retries: int = Field(
        default=3,
        ge=0,
        le=20,
        validation_alias="RAPPORT_RETRIES",
        description="a whole number of retries from 0 to 20",
    )

    report_email_to: str = Field(
        default="",
        validation_alias="RAPPORT_REPORT_EMAIL_TO",
        description="a comma-separated list of email addresses, such as team@example.org,lead@example.org",
    )
    """Who gets the weekly report by email after each run, normalized to ``a@x.org,b@y.org``; empty
    (the default) emails nobody. :attr:`report_recipients` splits it."""
    report_email_from: str = Field(
        default="",
        validation_alias="RAPPORT_REPORT_EMAIL_FROM",
        description="an email address, such as rapport@example.org",
    )
    """The sender of the report's email; empty takes the connection's ``from_email`` extra."""
    report_email_connection: str = Field(
        default="smtp_default",
        validation_alias="RAPPORT_REPORT_EMAIL_CONNECTION",
        description="an Airflow connection id (letters, digits, _ . -), such as smtp_default",
    )
    """The Airflow SMTP connection the report is sent through (outside Airflow: the variable
    ``AIRFLOW_CONN_<ID>``)."""

    @property
    def report_recipients(self) -> tuple[str, ...]:
        """The addresses of ``RAPPORT_REPORT_EMAIL_TO``, in its order; none when it is unset."""
        return tuple(address for address in self.report_email_to.split(",") if address)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment only: no ``.env`` file or secrets folder is read behind the operator's back."""
        return init_settings, env_settings

    @model_validator(mode="before")
    @classmethod
    def _derive_paths(cls, data: Any) -> Any:
        """Fill the paths the environment leaves unset from ``RAPPORT_HOME`` and ``RAPPORT_DATA_DIR``.

        A base that cannot be made absolute (``~nobody/data``) derives nothing: its own
        field's check then names the variable at fault.
        """
        if not isinstance(data, dict):
            return data
        values = dict(data)
        try:
            home = _absolute(values.get("RAPPORT_HOME") or Path.cwd())
            for variable, parts in _HOME_PATHS.items():
                values.setdefault(variable, home.joinpath(*parts))
            data_dir = _absolute(values["RAPPORT_DATA_DIR"])
            for variable, parts in _DATA_PATHS.items():
                values.setdefault(variable, data_dir.joinpath(*parts))
        except ValueError:
            pass
        return values

    @field_validator(
        "home",
        "accounts_file",
        "data_dir",
        "landing_dir",
        "staging_dir",
        "quarantine_dir",
        "warehouse",
        "dbt_project_dir",
        "gx_docs_dir",
        "published_dir",
        "inbox_dir",
        mode="after",
    )
    @classmethod
    def _absolute_path(cls, value: Path) -> Path:
        return _absolute(value)

    @field_validator("schedule", mode="after")
    @classmethod
    def _cron(cls, value: str) -> str:
        from croniter import croniter  # type: ignore[import-untyped]

        text = " ".join(value.split())
        if len(text.split(" ")) != 5 or not croniter.is_valid(text):
            raise ValueError("not a cron expression")
        return text

    @field_validator("timezone", mode="after")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a time zone") from None
        return value.strip()

    @field_validator("report_email_to", mode="after")
    @classmethod
    def _email_addresses(cls, value: str) -> str:
        addresses = [address.strip() for address in value.split(",") if address.strip()]
        if not all(_EMAIL_ADDRESS.fullmatch(address) for address in addresses):
            raise ValueError("not a list of email addresses")
        return ",".join(dict.fromkeys(addresses))

    @field_validator("report_email_from", mode="after")
    @classmethod
    def _email_address(cls, value: str) -> str:
        text = value.strip()
        if text and not _EMAIL_ADDRESS.fullmatch(text):
            raise ValueError("not an email address")
        return text

    @field_validator("report_email_connection", mode="after")
    @classmethod
    def _connection_id(cls, value: str) -> str:
        text = value.strip()
        if not _CONNECTION_ID.fullmatch(text):
            raise ValueError("not a connection id")
        return text

    @field_validator("duckdb_memory_limit", mode="after")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        text = value.strip()
        match = _MEMORY_SIZE.fullmatch(text)
        if match is None or float(match.group().rstrip("KMGTiB ")) <= 0:
            raise ValueError("not a memory size")
        return text


def _absolute(path: str | Path) -> Path:
    """``path`` with ``~`` expanded, absolute; a relative path is taken from the working directory."""
    try:
        return Path(path).expanduser().resolve()
    except (RuntimeError, OSError) as error:  # '~nobody/data': no such user
        raise ValueError(str(error)) from None


def get_settings() -> Settings:
    """Read the settings from the environment (call it at run time, not import time).

    Returns them parsed and checked; raises :class:`SettingsError` naming the
    first variable that is malformed or out of range (every one, on one line).
    Nothing is cached: a change of the environment shows at the next call. A variable that
    became a dbt var (:data:`MOVED_TO_DBT_VARS`) raises it too, naming the var.
    """
    for variable, var in MOVED_TO_DBT_VARS.items():
        if os.environ.get(variable):
            raise SettingsError(
                f"{variable} is no longer read: the alert threshold is the dbt var {var}, "
                f"set in sql/dbt_project.yml or with dbt build --vars '{{{var}: ...}}'"
            )
    try:
        return Settings()
    except ValidationError as error:
        raise _settings_error(Settings, error) from None


def _settings_error(model: type[BaseSettings], error: ValidationError) -> SettingsError:
    """One line naming each variable at fault, its value and what it must hold."""
    expected = {field.validation_alias: field.description for field in model.model_fields.values()}
    problems = []
    for problem in error.errors():
        variable = str(problem["loc"][0])  # every field has an alias, and no check spans two fields
        value = os.environ.get(variable, str(problem.get("input", "")))
        problems.append(str(setting_error(variable, value, expected.get(variable) or problem["msg"])))
    return SettingsError("; ".join(dict.fromkeys(problems)))


def read_setting(
    variable: str,
    kind: Any,
    default: T,
    expected: str,
    environ: Mapping[str, str] | None = None,
) -> T:
    """One variable of a platform's settings, parsed and checked as the settings above are.

    ``kind`` is a type, bounds included (``Annotated[int, Field(ge=0)]``);
    ``expected`` says in words what it accepts. Returns ``default`` when the
    variable is unset or empty; raises :class:`SettingsError` otherwise if the
    value does not fit.
    """
    text = (os.environ if environ is None else environ).get(variable, "").strip()
    if not text:
        return default
    try:
        value: T = TypeAdapter(kind).validate_python(text)
    except ValidationError:
        raise setting_error(variable, text, expected) from None
    return value
