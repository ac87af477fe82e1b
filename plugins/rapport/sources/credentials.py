"""Optional platform credentials: from an environment variable, else an Airflow Connection.

Rapport reads public data and needs no credentials. A Mastodon access token
or a Bluesky app password only raises rate limits or reaches more content.
A credential is looked up when an extraction starts, handed to the HTTP
client, and never written anywhere: not in logs, pages, XComs or the warehouse.
A secret found (a token or a password) is also registered with Airflow's
secrets masker, so that a line some library logs with it reads `***` in the
task logs.

A token of a platform with many servers (a Mastodon instance) belongs to one
server and is sent to no other: :func:`get_instance_credential` finds the
token of one instance, and refuses a token whose instance is not said.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from typing import Any

from rapport.sources import SourceError

log = logging.getLogger(__name__)

# Loaded in every process that runs an Airflow task (and by `airflow dags test`).
_AIRFLOW_TASK_RUNNER = "airflow.sdk.execution_time.task_runner"


def get_credential(variable: str, connection_id: str, field: str = "password") -> str | None:
    """Return a credential, or ``None`` when none is configured.

    Looks at the environment variable ``variable`` first, then, inside an
    Airflow task, at the ``field`` (``login`` or ``password``) of the Airflow
    Connection ``connection_id`` (also settable as ``AIRFLOW_CONN_<ID>``).
    Never raises for a missing credential and never logs its value. A
    ``password`` is masked in Airflow's logs; a ``login`` (a handle) is not secret.
    """
    value = os.environ.get(variable) or _from_connection(connection_id, field)
    if value and field == "password":
        _mask_in_airflow_logs(value, variable)
    return value


class CredentialError(SourceError):
    """The credentials are configured in a way that could send a secret where it does not belong."""


def instance_slug(instance: str) -> str:
    """An instance as a connection id suffix: ``mastodon.social`` -> ``mastodon_social``."""
    return re.sub(r"[^a-z0-9]+", "_", _host(instance)).strip("_")


def get_instance_credential(
    instance: str,
    *,
    mapping_variable: str,
    variable: str,
    instance_variable: str,
    connection_id: str,
) -> str | None:
    """Return the token of one ``instance``, or ``None`` when it has none.

    Looked up in this order:

    1. ``mapping_variable``, a JSON object of instance to token
       (``{"mastodon.social": "..."}``; instances compare case-insensitively);
    2. the password of the Airflow Connection ``<connection_id>_<instance slug>``
       (``rapport_mastodon_mastodon_social``, also ``AIRFLOW_CONN_RAPPORT_MASTODON_MASTODON_SOCIAL``);
    3. a single token, ``variable`` (or the password of the Connection
       ``connection_id``), for the one instance named by ``instance_variable``
       (or that Connection's host) only.

    Raises :class:`CredentialError`, naming the variables but never a value,
    when the mapping is not a JSON object of strings, or when a single token
    is set without its instance: sending it to every instance would hand it to
    servers it does not belong to.
    """
    host = _host(instance)
    mapping = _read_mapping(mapping_variable)
    if host in mapping:
        return _found(mapping[host], mapping_variable)
    per_instance = _connection(f"{connection_id}_{instance_slug(instance)}")
    if per_instance is not None and per_instance.password:
        return _found(str(per_instance.password), f"{connection_id}_{instance_slug(instance)}")
    single = os.environ.get(variable)
    owner = os.environ.get(instance_variable)
    source = variable
    if not single:
        legacy = _connection(connection_id)
        if legacy is None or not legacy.password:
            return None
        single, owner, source = (
            str(legacy.password),
            str(legacy.host or ""),
            f"Airflow Connection {connection_id}",
        )
    if not (owner or "").strip():
        raise CredentialError(
            f"{source} is set but names no instance ({instance_variable}, or the Connection's host, is "
            f"empty): a token belongs to one instance and is not sent to the others; set "
            f'{instance_variable}=<instance> or use {mapping_variable}=\'{{"<instance>": "<token>"}}\''
        )
    return _found(single, source) if _host(str(owner)) == host else None


def _host(instance: str) -> str:
    return instance.strip().lower().rstrip(".")


def _read_mapping(variable: str) -> dict[str, str]:
    text = os.environ.get(variable, "").strip()
    if not text:
        return {}
    try:
        mapping = json.loads(text)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in mapping.items()
    ):
        raise CredentialError(
            f"{variable} must be a JSON object of instance to token, "
            '(e.g. {"mastodon.social": "<token>"}); its value is not shown'
        ) from None
    return {_host(key): value for key, value in mapping.items()}


def _found(secret: str, name: str) -> str:
    _mask_in_airflow_logs(secret, name)
    return secret


def _connection(connection_id: str) -> Any:
    try:
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(connection_id)
    except Exception as error:  # no connection, or not inside an Airflow task
        log.debug("no Airflow connection %s (%s): going on without it", connection_id, type(error).__name__)
        return None


def _from_connection(connection_id: str, field: str) -> str | None:
    connection = _connection(connection_id)
    found = getattr(connection, field, None) if connection is not None else None
    return str(found) if found else None


def mask_secret(secret: str | None, name: str) -> None:
    """Have Airflow's task logs print ``***`` for ``secret`` (a session token received during a task).

    Does nothing outside an Airflow task, or for an empty ``secret``; ``name`` says what it is,
    never its value.
    """
    if secret:
        _mask_in_airflow_logs(secret, name)


def _mask_in_airflow_logs(secret: str, name: str) -> None:
    """Inside an Airflow task, have its log handlers, and its supervisor's, print ``***`` for
    ``secret``. Elsewhere (the CLI, tests) nothing: Airflow's masker would first load Airflow's
    settings, which configures logging anew."""
    if _AIRFLOW_TASK_RUNNER not in sys.modules:
        return
    from airflow.sdk.log import mask_secret

    mask_secret(secret, name)
