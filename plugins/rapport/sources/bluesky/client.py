"""The XRPC calls of one Bluesky extraction, on the shared :class:`~rapport.sources.http.HttpClient`.

:func:`read_connection` reads where and how to connect from the environment
when an extraction starts; :func:`create_session` signs in with an optional
app password and :func:`refresh_session` renews an expired session (both
called by :class:`~rapport.sources.bluesky.session.SharedSession`, which
shares one session per run); :class:`BlueskyClient` makes the four read calls. Retries,
backoff, ``Retry-After``, ``RateLimit-*`` pacing and the request counters are
the shared client's; this module adds Bluesky's ways of saying "no such
account" (a 400 with an XRPC error name or message) and keeps the app password
and the session tokens out of every URL, page, log line and error.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final, TypedDict

from rapport.sources import SourceError
from rapport.sources.bluesky.settings import (
    APP_PASSWORD_VARIABLE,
    AUTHOR_FEED_ENDPOINT,
    BASE_URL_VARIABLE,
    CONNECTION_ID,
    CREATE_SESSION_ENDPOINT,
    DEFAULT_BASE_URL,
    DEFAULT_PDS_URL,
    FEED_FILTER,
    LOGIN_HANDLE_VARIABLE,
    NAME,
    PAGE_SIZE,
    PDS_URL_VARIABLE,
    POST_THREAD_ENDPOINT,
    PROFILE_ENDPOINT,
    REFRESH_SESSION_ENDPOINT,
    RESOLVE_HANDLE_ENDPOINT,
    SESSION_TOKEN_ERRORS,
    THREAD_DEPTH,
    THREAD_PARENT_HEIGHT,
    UNKNOWN_ACCOUNT_MESSAGES,
    XRPC_PREFIX,
    read_thread_budget,
)
from rapport.sources.credentials import get_credential, mask_secret
from rapport.sources.http import (
    Bounds,
    ClientError,
    HttpClient,
    HttpError,
    HttpStats,
    NotFoundError,
    Response,
    UnexpectedStatusError,
)

logger = logging.getLogger("rapport.sources.bluesky")

SIGN_IN_ATTEMPTS: Final = 3
"""Sign-ins sent at most when the PDS answers 429, each after the wait it asks for."""


class HttpOptions(TypedDict, total=False):
    """Tuning of the shared HTTP client an extraction may pass on (tests inject ``sleep`` and ``clock``)."""

    connect_timeout: float
    read_timeout: float
    max_attempts: int
    backoff_base: float
    backoff_cap: float
    max_wait: float
    min_remaining: int
    bounds: Bounds
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    rng: random.Random


@dataclass(frozen=True)
class Credentials:
    """An app password and the handle it belongs to; the password never shows in a repr."""

    identifier: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Connection:
    """Where one extraction reads from, read from the environment when it starts."""

    base_url: str
    """The AppView for unauthenticated reads."""
    pds_url: str
    """Where the app password signs in, and where reads go once signed in."""
    credentials: Credentials | None
    thread_budget: int


def read_connection(account_id: str, thread_budget: int | None = None) -> Connection:
    """Read the connection settings from the environment.

    ``RAPPORT_BLUESKY_BASE_URL`` (default ``https://public.api.bsky.app``),
    ``RAPPORT_BLUESKY_PDS_URL`` (default ``https://bsky.social``),
    ``RAPPORT_BLUESKY_HANDLE`` with ``RAPPORT_BLUESKY_APP_PASSWORD`` (both or
    neither; when unset, the login and password of the Airflow Connection
    ``rapport_bluesky``, see :func:`rapport.sources.credentials.get_credential`),
    and ``RAPPORT_BLUESKY_THREAD_BUDGET`` (default 40) unless ``thread_budget``
    is given. Raises ``SourceError`` naming the account and the variable (never
    its value) when a setting is unusable.
    """
    handle = (get_credential(LOGIN_HANDLE_VARIABLE, CONNECTION_ID, field="login") or "").strip()
    password = (get_credential(APP_PASSWORD_VARIABLE, CONNECTION_ID) or "").strip()
    if bool(handle) != bool(password):
        raise SourceError(
            f"{account_id}: set both {LOGIN_HANDLE_VARIABLE} and {APP_PASSWORD_VARIABLE} (or the login and "
            f"password of the Airflow Connection {CONNECTION_ID}), or neither: the public AppView needs none"
        )
    budget = thread_budget
    if budget is None:
        budget = read_thread_budget()
    if budget < 0:
        raise SourceError(f"{account_id}: the thread budget must not be negative, got {budget}")
    return Connection(
        base_url=os.environ.get(BASE_URL_VARIABLE, "").strip() or DEFAULT_BASE_URL,
        pds_url=os.environ.get(PDS_URL_VARIABLE, "").strip() or DEFAULT_PDS_URL,
        credentials=Credentials(handle.lstrip("@"), password) if handle else None,
        thread_budget=budget,
    )


def xrpc_path(method: str) -> str:
    """The path of an XRPC method, e.g. ``/xrpc/app.bsky.actor.getProfile``."""
    return f"{XRPC_PREFIX}{method}"


@dataclass(frozen=True)
class Session:
    """The tokens a sign-in or a refresh returned, and the DID they act for (tokens never in a repr)."""

    access_jwt: str = field(repr=False)
    refresh_jwt: str | None = field(repr=False, default=None)
    """Sent only to ``com.atproto.server.refreshSession`` when the access token has expired."""
    did: str | None = None


def create_session(
    pds_url: str,
    credentials: Credentials,
    *,
    account_id: str,
    stats: HttpStats,
    timeout: tuple[float, float] = (5.0, 30.0),
    bounds: Bounds | None = None,
) -> Session:
    """Sign in on the PDS with an app password (``com.atproto.server.createSession``).

    Returns the session's tokens and DID; the rest of the response is dropped
    at once and never landed. No redirect (it would re-send the password), and
    no retry but of a 429: the PDS allows 30 sign-ins per 5 minutes per
    account, so a rate-limited sign-in (its password not checked) is waited
    out as the PDS says, up to ``SIGN_IN_ATTEMPTS`` in all, and then named as
    rate-limited, not as wrong credentials; a refused password does not
    improve with retries. The request is held to the ``bounds`` (deadline,
    body size, public addresses) like every other. Counts the request in
    ``stats``. Raises :class:`~rapport.sources.http.ClientError` (4xx),
    :class:`~rapport.sources.http.UnexpectedStatusError` (other statuses) or
    another :class:`~rapport.sources.http.HttpError` (no answer, no token in
    it, a bound), naming the account and the URL but never the identifier,
    the password or a token (a body echoing them reads ``***``). Raises
    ``ValueError`` when ``pds_url`` is not an http(s) URL.
    """
    session = _post_session(
        pds_url,
        CREATE_SESSION_ENDPOINT,
        {"identifier": credentials.identifier, "password": credentials.password},
        bearer_token=None,
        secrets=(credentials.password,),
        account_id=account_id,
        stats=stats,
        timeout=timeout,
        bounds=bounds,
        refused=f"check {LOGIN_HANDLE_VARIABLE} and {APP_PASSWORD_VARIABLE}",
    )
    logger.info("%s: signed in on %s", account_id, pds_url)
    return session


def refresh_session(
    pds_url: str,
    stale: Session,
    *,
    account_id: str,
    stats: HttpStats,
    secrets: Collection[str | None] = (),
    timeout: tuple[float, float] = (5.0, 30.0),
    bounds: Bounds | None = None,
) -> Session:
    """Renew an expired session with its refresh token (``com.atproto.server.refreshSession``).

    The refresh token travels as the bearer token and the request has no
    body; the PDS answers a new access token and a new refresh token (the old
    one is revoked). A 429 is waited out as for :func:`create_session`.
    Raises :class:`~rapport.sources.http.ClientError` when the PDS refuses the
    refresh token (400 ``ExpiredToken`` or ``InvalidToken``, 401): the caller
    signs in anew; otherwise as :func:`create_session`, never naming a token.
    """
    if not stale.refresh_jwt:
        raise ValueError("the session has no refresh token")
    session = _post_session(
        pds_url,
        REFRESH_SESSION_ENDPOINT,
        None,
        bearer_token=stale.refresh_jwt,
        secrets=(stale.access_jwt, *secrets),
        account_id=account_id,
        stats=stats,
        timeout=timeout,
        bounds=bounds,
        refused="the refresh token is no longer valid",
    )
    logger.info("%s: refreshed the session on %s", account_id, pds_url)
    return session


def _post_session(
    pds_url: str,
    method: str,
    payload: Mapping[str, str] | None,
    *,
    bearer_token: str | None,
    secrets: Collection[str | None],
    account_id: str,
    stats: HttpStats,
    timeout: tuple[float, float],
    bounds: Bounds | None,
    refused: str,
) -> Session:
    """POST a session method, wait out 429s, read the tokens it answers (see :func:`create_session`)."""
    with HttpClient(
        pds_url,
        platform=NAME,
        account=account_id,
        bearer_token=bearer_token,
        secrets=secrets,
        bounds=bounds,
        connect_timeout=timeout[0],
        read_timeout=timeout[1],
        max_attempts=1,
    ) as http:
        http.stats = stats
        for attempt in range(1, SIGN_IN_ATTEMPTS + 1):
            response = http.post_json(xrpc_path(method), payload)
            if response.status != HTTPStatus.TOO_MANY_REQUESTS or attempt == SIGN_IN_ATTEMPTS:
                break
            # Rate-limited, so the credentials were not even checked: sending them again once the
            # window the PDS names has passed is safe.
            http.wait_out(response, attempt)
    who = f"{NAME} account {account_id}: POST {response.url}"
    if response.status == HTTPStatus.TOO_MANY_REQUESTS:
        raise ClientError(
            f"{who} answered HTTP 429 (rate-limited) {SIGN_IN_ATTEMPTS} times: the PDS allows 30 "
            "sign-ins per 5 minutes per account; the credentials were not checked, try again later",
            platform=NAME,
            account=account_id,
            url=response.url,
            response=response,
            attempts=SIGN_IN_ATTEMPTS,
        )
    if 200 <= response.status < 300:
        try:
            payload_read = response.json()
            token, refresh, did = (payload_read.get(key) for key in ("accessJwt", "refreshJwt", "did"))
        except (ValueError, AttributeError):
            token, refresh, did = None, None, None
        if not isinstance(token, str) or not token:
            raise HttpError(
                f"{who} answered {response.status} without an accessJwt",
                platform=NAME,
                account=account_id,
                url=response.url,
                attempts=1,
            )
        session = Session(
            token, refresh if isinstance(refresh, str) else None, did if isinstance(did, str) else None
        )
        for name, secret in (("accessJwt", session.access_jwt), ("refreshJwt", session.refresh_jwt)):
            mask_secret(secret, f"{NAME} {name}")
        return session
    cause = ": ".join(part for part in (response.error, response.error_message) if part) or "no error name"
    error_type = ClientError if 400 <= response.status < 500 else UnexpectedStatusError
    raise error_type(
        f"{who} answered HTTP {response.status} ({cause}); {refused}",
        platform=NAME,
        account=account_id,
        url=response.url,
        response=response,
        attempts=1,
    )


def is_expired_session(error: ClientError) -> bool:
    """Whether a read was refused for its session's token (400 ``ExpiredToken``/``InvalidToken``, or 401)."""
    if error.status == HTTPStatus.UNAUTHORIZED:
        return True
    return error.status == HTTPStatus.BAD_REQUEST and (
        error.response is not None and error.response.error in SESSION_TOKEN_ERRORS
    )


class BlueskyClient:
    """The read calls of one account extraction. Each returns the raw :class:`Response`.

    Every call raises the shared client's errors (all ``SourceError``); an
    unknown handle or DID, which Bluesky answers with a generic 400
    ``InvalidRequest``, becomes a :class:`~rapport.sources.http.NotFoundError`
    like a taken-down or deactivated account. Signed in, a read refused for
    its token (:func:`is_expired_session`) calls ``renew`` for a fresh session
    and is sent again with it, once per extraction: the refused answer is not
    returned, so it is never landed.
    """

    def __init__(self, http: HttpClient, renew: Callable[[], Session] | None = None) -> None:
        self.http = http
        self._renew = renew

    def resolve_handle(self, handle: str) -> Response:
        """``com.atproto.identity.resolveHandle``: the DID a handle points to."""
        return self._get(RESOLVE_HANDLE_ENDPOINT, {"handle": handle})

    def get_profile(self, did: str) -> Response:
        """``app.bsky.actor.getProfile``: the account's counts, names and creation date."""
        return self._get(PROFILE_ENDPOINT, {"actor": did})

    def get_author_feed(self, did: str, cursor: str | None = None) -> Response:
        """``app.bsky.feed.getAuthorFeed``: a page of the posts, replies and reposts, newest first."""
        params = {"actor": did, "filter": FEED_FILTER, "limit": str(PAGE_SIZE)}
        if cursor is not None:
            params["cursor"] = cursor
        return self._get(AUTHOR_FEED_ENDPOINT, params)

    def get_post_thread(self, uri: str) -> Response:
        """``app.bsky.feed.getPostThread``: the replies under one post, ``THREAD_DEPTH`` levels deep."""
        return self._get(
            POST_THREAD_ENDPOINT,
            {"uri": uri, "depth": str(THREAD_DEPTH), "parentHeight": str(THREAD_PARENT_HEIGHT)},
        )

    def _get(self, method: str, params: Mapping[str, str]) -> Response:
        try:
            return self._read(method, params)
        except ClientError as error:
            if self._renew is None or not is_expired_session(error):
                raise
        renew, self._renew = self._renew, None
        session = renew()
        self.http.add_secret(session.refresh_jwt)
        self.http.use_bearer_token(session.access_jwt)
        return self._read(method, params)

    def _read(self, method: str, params: Mapping[str, str]) -> Response:
        try:
            return self.http.get(xrpc_path(method), params)
        except ClientError as error:
            message = error.response.error_message if error.response is not None else None
            if message and any(known in message for known in UNKNOWN_ACCOUNT_MESSAGES):
                raise NotFoundError(
                    f"{error}: the account is unknown",
                    platform=error.platform,
                    account=error.account,
                    url=error.url,
                    response=error.response,
                    attempts=error.attempts,
                ) from error
            raise
