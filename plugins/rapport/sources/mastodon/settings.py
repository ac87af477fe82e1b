"""Constants of the Mastodon source: where the API lives, what it is asked, what a run may spend.

Shapes and limits are those of Mastodon's REST API v1 (docs.joinmastodon.org:
methods/accounts, methods/statuses, api/guidelines#pagination, api/rate-limits).
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

from rapport.settings import read_setting

NAME: Final = "mastodon"

BASE_URL_PATTERN: Final = "https://{instance}"
BASE_URL_VARIABLE: Final = "RAPPORT_MASTODON_BASE_URL"
"""Overrides the base URL pattern (``{instance}`` is replaced): a proxy, or a local server in tests."""
"""Every instance serves the same API at its own host: ``https://mastodon.social``."""

LOOKUP_PATH: Final = "/api/v1/accounts/lookup"
STATUSES_PATH: Final = "/api/v1/accounts/{account_id}/statuses"
CONTEXT_PATH: Final = "/api/v1/statuses/{status_id}/context"

LOOKUP_ENDPOINT: Final = "accounts/lookup"
STATUSES_ENDPOINT: Final = "accounts/{account_id}/statuses"
CONTEXT_ENDPOINT: Final = "statuses/{status_id}/context"
"""Endpoint names of landed pages; the path id is part of the name so normalize can tell pages apart."""

STATUSES_ENDPOINT_PATTERN: Final = r"accounts/(?P<account_id>[^/]+)/statuses"
CONTEXT_ENDPOINT_PATTERN: Final = r"statuses/(?P<status_id>[^/]+)/context"

PAGE_SIZE: Final = 40
"""Statuses per page: the most ``GET /api/v1/accounts/:id/statuses`` gives (its default is 20)."""

DEFAULT_CONTEXT_BUDGET: Final = 40
"""Thread (``/context``) calls per account per run, at most.

Mastodon allows 300 calls per 5 minutes per IP address or per token: forty
threads for each of a few accounts stays well inside one window.
"""

TOKENS_VARIABLE: Final = "RAPPORT_MASTODON_TOKENS"
"""Optional access tokens, one per instance, as a JSON object: ``{"mastodon.social": "<token>"}``.

Public data needs none. With a user token, ``/context`` returns up to 4,096
ancestors and descendants instead of 40 and 60, and the rate limit is counted
per account instead of per IP address. A token is sent to its instance only.
"""
CONNECTION_ID: Final = "rapport_mastodon"
"""Airflow Connections ``rapport_mastodon_<instance slug>`` (password = token) hold per-instance tokens;
``rapport_mastodon`` itself, a single token for the instance named by its host."""
TOKEN_VARIABLE: Final = "RAPPORT_MASTODON_TOKEN"
INSTANCE_VARIABLE: Final = "RAPPORT_MASTODON_INSTANCE"
"""A single token (the older setting) and the one instance it belongs to: both, or the token is refused."""

CONTEXT_BUDGET_VARIABLE: Final = "RAPPORT_MASTODON_CONTEXT_BUDGET"
"""Environment variable that overrides :data:`DEFAULT_CONTEXT_BUDGET` (a non-negative integer)."""
MAX_CONTEXT_BUDGET: Final = 10_000


def read_context_budget() -> int:
    """``RAPPORT_MASTODON_CONTEXT_BUDGET``, or :data:`DEFAULT_CONTEXT_BUDGET` when unset.

    Raises ``SettingsError`` (a ``ValueError``) naming the variable and its value when it is
    not a whole number from 0 to :data:`MAX_CONTEXT_BUDGET`.
    """
    return read_setting(
        CONTEXT_BUDGET_VARIABLE,
        Annotated[int, Field(ge=0, le=MAX_CONTEXT_BUDGET)],
        DEFAULT_CONTEXT_BUDGET,
        f"a whole number of thread calls from 0 to {MAX_CONTEXT_BUDGET}",
    )


QUOTE_FALLBACK_CLASS: Final = "quote-inline"
"""Class of the ``RE: <link>`` paragraph a server prepends to a quote post for older clients.

Mastodon's quote-post guide asks clients to hide it when the status has a
``quote``: it repeats the quoted post's link, which is not a link the author wrote.
"""
