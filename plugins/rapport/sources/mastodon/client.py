"""The Mastodon REST API calls Rapport makes, on top of the shared :class:`~rapport.sources.http.HttpClient`.

Three read-only calls, all public (an access token is optional):

- ``GET /api/v1/accounts/lookup?acct=<username>``: the account;
- ``GET /api/v1/accounts/:id/statuses``: its statuses, newest first, paged by
  the ``Link`` header (``rel="next"`` carries ``max_id``);
- ``GET /api/v1/statuses/:id/context``: a thread around one status.

Retries, backoff, ``Retry-After``, ``X-RateLimit-*`` pacing, counters and the
errors (naming platform, account, URL and cause) are the shared client's.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote, urlsplit

from rapport.sources.credentials import get_instance_credential
from rapport.sources.http import HttpClient, HttpError, HttpStats, Response, StalledCursorError
from rapport.sources.mastodon.settings import (
    BASE_URL_PATTERN,
    BASE_URL_VARIABLE,
    CONNECTION_ID,
    CONTEXT_PATH,
    INSTANCE_VARIABLE,
    LOOKUP_PATH,
    NAME,
    PAGE_SIZE,
    STATUSES_PATH,
    TOKEN_VARIABLE,
    TOKENS_VARIABLE,
)

if TYPE_CHECKING:
    from rapport.accounts import Account


class MalformedResponseError(HttpError):
    """The server answered 2xx with a body that is not what the API documents (not JSON, a field missing)."""


def instance_token(instance: str) -> str | None:
    """The access token of one instance, or ``None``: ``RAPPORT_MASTODON_TOKENS`` (a JSON object of
    instance to token), else the Airflow Connection ``rapport_mastodon_<instance slug>``, else
    ``RAPPORT_MASTODON_TOKEN`` when ``RAPPORT_MASTODON_INSTANCE`` names this instance (see
    :func:`~rapport.sources.credentials.get_instance_credential`)."""
    return get_instance_credential(
        instance,
        mapping_variable=TOKENS_VARIABLE,
        variable=TOKEN_VARIABLE,
        instance_variable=INSTANCE_VARIABLE,
        connection_id=CONNECTION_ID,
    )


def _id_order(native_id: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings that sort by length, then text (as the server sorts them)."""
    return len(native_id), native_id


def _shorten(value: str | None) -> str:
    return "none" if value is None else repr(value[:40])


def path_id(native_id: str) -> str:
    """Quote an id for a URL path or an endpoint name: ids are strings, not guaranteed to be numbers."""
    return quote(native_id, safe="")


class MastodonClient:
    """The calls of one account's extraction on one Mastodon instance.

    Arguments:
        base_url: the instance, ``https://<instance>`` (see :meth:`for_account`).
        account: Rapport's account key, named in every error message and log line.
        token: an optional access token; it travels only in the ``Authorization`` header.
        page_size: statuses per page (``limit``), at most :data:`PAGE_SIZE`.
        http_options: passed to :class:`~rapport.sources.http.HttpClient`
            (``sleep``, ``clock``, ``max_attempts``, ``backoff_base``, timeouts...).
    """

    def __init__(
        self,
        base_url: str,
        *,
        account: str,
        token: str | None = None,
        page_size: int = PAGE_SIZE,
        **http_options: Any,
    ) -> None:
        if not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {PAGE_SIZE}, got {page_size}")
        self.page_size = page_size
        self._http = HttpClient(base_url, platform=NAME, account=account, bearer_token=token, **http_options)

    @classmethod
    def for_account(
        cls, account: Account, *, base_url: str | None = None, token: str | None = None, **http_options: Any
    ) -> MastodonClient:
        """Build the client of an account: its instance's URL, and that instance's token, if any.

        The token is the instance's own (see :func:`instance_token`); it is sent
        to that instance only. ``base_url`` and ``token`` override the instance
        and the environment (an empty variable means no token). Raises
        ``ValueError`` when the account has no instance, and
        :class:`~rapport.sources.credentials.CredentialError` when a token's
        instance is not said.
        """
        if not account.instance:
            raise ValueError(f"{account.account_id}: a Mastodon account needs an instance")
        if token is None:
            token = instance_token(account.instance)
        return cls(
            base_url
            or (os.environ.get(BASE_URL_VARIABLE) or BASE_URL_PATTERN).format(instance=account.instance),
            account=account.account_id,
            token=token,
            **http_options,
        )

    def __repr__(self) -> str:
        return f"MastodonClient({self.base_url!r}, account={self._http.account!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def stats(self) -> HttpStats:
        """What the calls cost so far: attempts sent, retries, 429s received, seconds slept."""
        return self._http.stats

    @stats.setter
    def stats(self, stats: HttpStats) -> None:
        """Count the next calls into ``stats`` (an extraction's own counters)."""
        self._http.stats = stats

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def lookup_account(self, username: str) -> Response:
        """``GET /api/v1/accounts/lookup?acct=<username>``: the local account of that name."""
        return self._http.get(LOOKUP_PATH, {"acct": username})

    def fetch_statuses(self, account_id: str) -> Response:
        """The first (newest) page of an account's statuses, replies and reblogs included."""
        return self._http.get(
            STATUSES_PATH.format(account_id=path_id(account_id)),
            {"limit": self.page_size, "exclude_replies": False, "exclude_reblogs": False},
        )

    def fetch_next(self, response: Response) -> Response | None:
        """The page the ``Link`` header's ``rel="next"`` points to, or ``None`` on the last page.

        Raises :class:`~rapport.sources.http.StalledCursorError`, without
        sending anything, when the link's ``max_id`` is missing or not strictly
        below the one of ``response``: pages that do not move back in time
        would never end.
        """
        link = response.links.get("next")
        if link is None:
            return None
        previous, following = response.params.get("max_id"), link.params.get("max_id")
        if not following or (previous is not None and _id_order(following) >= _id_order(previous)):
            raise StalledCursorError(
                f"{NAME} account {self._http.account}: GET {response.url} links to a next page whose "
                f"max_id ({_shorten(following)}) is not below this page's ({_shorten(previous)}): "
                "the pages would never end; stopped",
                platform=NAME,
                account=self._http.account,
                url=response.url,
                attempts=1,
            )
        # Path and query only: behind a proxy, a server may write its links with another
        # scheme or host than the one it is reached at, which the shared client would refuse.
        return self._http.get(urlsplit(link.url).path, link.params)

    def fetch_context(self, status_id: str) -> Response:
        """``GET /api/v1/statuses/:id/context``: the ancestors and descendants of a status."""
        return self._http.get(CONTEXT_PATH.format(status_id=path_id(status_id)))

    def malformed(self, response: Response, cause: str) -> MalformedResponseError:
        """The error for a 2xx response whose body cannot be read, naming account, URL and cause."""
        return MalformedResponseError(
            f"{NAME} account {self._http.account}: GET {response.url} answered {response.status} "
            f"with a body that cannot be read: {cause}",
            platform=NAME,
            account=self._http.account,
            url=response.url,
            response=response,
            attempts=1,
        )
