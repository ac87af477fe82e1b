"""Optional platform credentials: from an environment variable, else an Airflow Connection.

Rapport reads public data and needs no credentials. A Mastodon access token
or a Bluesky app password only raises rate limits or reaches more content.
A credential is looked up when an extraction starts, handed to the HTTP
client, and never written anywhere: not in logs, pages, XComs or the warehouse.
A secret found (a token or a password) is also registered with Airflow's
secrets masker, so that a line some library logs with it reads `***` in the
task logs.
"""

from __future__ import annotations

import logging
import os
import sys

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


def _from_connection(connection_id: str, field: str) -> str | None:
    try:
        from airflow.sdk import BaseHook

        connection = BaseHook.get_connection(connection_id)
    except Exception as error:  # no connection, or not inside an Airflow task
        log.debug("no Airflow connection %s (%s): going on without it", connection_id, type(error).__name__)
        return None
    found = getattr(connection, field, None)
    return str(found) if found else None


def _mask_in_airflow_logs(secret: str, name: str) -> None:
    """Inside an Airflow task, have its log handlers, and its supervisor's, print ``***`` for
    ``secret``. Elsewhere (the CLI, tests) nothing: Airflow's masker would first load Airflow's
    settings, which configures logging anew."""
    if _AIRFLOW_TASK_RUNNER not in sys.modules:
        return
    from airflow.sdk.log import mask_secret

    mask_secret(secret, name)
