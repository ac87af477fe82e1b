"""Meta's Graph API on the shared HTTP client: the token, the version, cursors, usage and Graph's errors.

Shared by the platforms Meta serves through ``graph.<host>/<version>/``: each
passes in what is its own (its base URL, its name, the account), this module
holds what they have in common. Shapes and codes are those of Meta's Graph API
reference ("Paginated Results", "Rate Limits", "Handling Errors").

- **Token**: one Page access token per organization, :func:`read_token`:
  ``RAPPORT_META_TOKEN_<ORGANIZATION ID>`` (upper case, ``-`` as ``_``), else the
  password of the Airflow Connection ``rapport_meta_<organization id>``. It
  travels only in ``Authorization: Bearer`` (OAuth 2.0 bearer usage, RFC 6750
  2.1, which the Graph API accepts like ``access_token=``): never in a URL.
  Every body is scrubbed before it is handed on: the known token replaced by
  ``***`` (the shared client's redaction), and also any ``"access_token"``
  field and any ``access_token=`` in a URL (``paging.next`` carries the token
  it was called with; ``/me/accounts`` answers other tokens).
- **Version**: ``RAPPORT_GRAPH_API_VERSION`` (``vNN.N``), default
  :data:`DEFAULT_VERSION`; ``RAPPORT_GRAPH_BASE_URL`` overrides the platform's
  base URL (a local server in tests, with ``RAPPORT_ALLOW_PRIVATE_INSTANCES``).
- **Cursors**: :meth:`GraphClient.pages` follows ``paging.cursors.after`` (the
  request rebuilt with ``after=``) while the answer has a ``paging.next``; the
  ``next`` URL itself is never followed. A cursor seen before raises
  :class:`~rapport.sources.http.StalledCursorError`.
- **Usage**: ``X-App-Usage``, ``X-Page-Usage`` and ``X-Business-Use-Case-Usage``
  (percentages of ``call_count``, ``total_cputime``, ``total_time``; the BUC
  header adds ``estimated_time_to_regain_access`` in minutes) are read on every
  answer. From :data:`PACE_FROM` percent the client sleeps before each call, longer
  as usage nears 100; when the next call would reach 100 (the usage plus the
  largest rise one call caused) it is not sent: the client waits the estimated
  time to regain access when it is no longer than ``max_wait``, else raises
  :class:`UsageCapError` (a :class:`~rapport.sources.DeferredError`: the account
  is deferred to the next night). A run so never meets Graph's throttling.
- **Errors** (``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``):
  throttling codes (:data:`THROTTLING_CODES`) waited out with backoff or the BUC
  estimate, then :class:`UsageCapError`; 190 :class:`TokenError` naming the
  organization, the variable and the Connection to renew, not retried; 10 and
  200-299 :class:`PermissionMissingError` naming the permission when Graph's
  message names it; 100 with subcode 33 :class:`ObjectMissingError` (a
  :class:`~rapport.sources.http.NotFoundError`: the caller decides, e.g. a
  comment deleted meanwhile); others the shared client's error, its message
  naming Graph's code, message and ``fbtrace_id``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Annotated, Any, Final, Self, TypeVar

from pydantic import StringConstraints

from rapport.settings import read_setting
from rapport.sources import DeferredError, NormalizationError, Page, SourceError
from rapport.sources.credentials import get_credential
from rapport.sources.http import (
    ClientError,
    HttpClient,
    HttpError,
    HttpStats,
    NotFoundError,
    ParamValue,
    Response,
    StalledCursorError,
)
from rapport.sources.payloads import JsonNode, parse_json

if TYPE_CHECKING:
    from rapport.accounts import Account

logger = logging.getLogger("rapport.sources.graph")

T = TypeVar("T")

VERSION_VARIABLE: Final = "RAPPORT_GRAPH_API_VERSION"
DEFAULT_VERSION: Final = "v26.0"
"""The latest version the Graph API changelog lists (introduced 29 July 2026)."""
BASE_URL_VARIABLE: Final = "RAPPORT_GRAPH_BASE_URL"
"""Overrides the platform's ``https://graph.<host>``: a proxy, or a local server in tests."""

TOKEN_VARIABLE_PREFIX: Final = "RAPPORT_META_TOKEN_"
CONNECTION_PREFIX: Final = "rapport_meta_"

APP_USAGE_HEADER: Final = "X-App-Usage"
PAGE_USAGE_HEADER: Final = "X-Page-Usage"
BUC_USAGE_HEADER: Final = "X-Business-Use-Case-Usage"
USAGE_FIELDS: Final = ("call_count", "total_cputime", "total_time")
REGAIN_FIELD: Final = "estimated_time_to_regain_access"

PACE_FROM: Final = 80.0
"""Usage (percent) from which the client sleeps before each call."""
PACE_SECONDS: Final = 30.0
"""The sleep before a call at 100 % usage; it grows linearly from 0 at :data:`PACE_FROM`."""
LIMIT: Final = 100.0
MIN_STEP: Final = 1.0
"""The least rise in usage (points) one call is assumed to cause, before any rise was seen."""

THROTTLING_CODES: Final = frozenset({4, 17, 32, 613, *range(80001, 80007)})
"""Graph's "too many calls" codes: app (4), user (17), Page (32), custom (613), business use cases."""
THROTTLE_ATTEMPTS: Final = 4
TOKEN_CODE: Final = 190
PERMISSION_CODES: Final = frozenset({10, *range(200, 300)})
MISSING_CODE: Final = 100
MISSING_SUBCODE: Final = 33
"""Code 100, subcode 33: "the object does not exist, cannot be loaded due to missing permissions,
or does not support this operation"."""

TOKEN_SUBCODES: Final = {
    458: "the app is not installed",
    459: "the user must log in to the platform to fix a checkpoint",
    460: "the password changed",
    463: "it expired",
    464: "the user is not confirmed",
    467: "it is invalid or was revoked",
    492: "the user holds no role on the Page any more",
}

_VERSION = Annotated[str, StringConstraints(pattern=r"^v[1-9][0-9]?\.[0-9]$")]
_SECRET_FIELD = re.compile(rb'("access_token"\s*:\s*")((?:[^"\\]|\\.)*)(")')
_SECRET_PARAM = re.compile(rb"(access_token=)([^&\"\\\s#]+)")
_PERMISSION = re.compile(r"'?\b([a-z]+(?:_[a-z]+)+)\b'?")
_REDACTED: Final = b"***"


# -- settings -----------------------------------------------------------------------------------------


def read_version() -> str:
    """``RAPPORT_GRAPH_API_VERSION``, or :data:`DEFAULT_VERSION`; ``SettingsError`` when not ``vNN.N``."""
    return read_setting(VERSION_VARIABLE, _VERSION, DEFAULT_VERSION, "a Graph API version such as v26.0")


def base_url(default: str) -> str:
    """The versioned base URL: ``RAPPORT_GRAPH_BASE_URL`` (else ``default``) then ``/<version>``."""
    return f"{(os.environ.get(BASE_URL_VARIABLE) or default).rstrip('/')}/{read_version()}"


def token_variable(organization_id: str) -> str:
    """``RAPPORT_META_TOKEN_<ORGANIZATION ID>``: upper case, ``-`` (any non-word character) as ``_``."""
    return TOKEN_VARIABLE_PREFIX + re.sub(r"\W", "_", organization_id, flags=re.ASCII).upper()


def token_connection(organization_id: str) -> str:
    """``rapport_meta_<organization id>``, ``-`` (and other non-word characters) as ``_``."""
    return CONNECTION_PREFIX + re.sub(r"\W", "_", organization_id, flags=re.ASCII).lower()


def read_token(organization_id: str, what: str) -> str:
    """The organization's access token: its variable, else its Connection's password (masked in logs).

    ``what`` names the account in the error (``<platform>:<handle>``). Raises ``SourceError`` naming the
    organization, the variable and the Connection (never a value) when neither is set."""
    variable, connection = token_variable(organization_id), token_connection(organization_id)
    token = (get_credential(variable, connection) or "").strip()
    if not token:
        raise SourceError(
            f"{what}: no access token for organization {organization_id}: set {variable} or the "
            f"password of the Airflow Connection {connection}"
        )
    return token


def renew_hint(organization_id: str) -> str:
    """Where the organization's token is set, for the messages that ask to renew it."""
    return (
        f"renew it in {token_variable(organization_id)} or the password of the Airflow Connection "
        f"{token_connection(organization_id)}"
    )


# -- bodies -------------------------------------------------------------------------------------------


def scrub(body: bytes) -> tuple[bytes, bool]:
    """``body`` with every ``"access_token"`` field and every ``access_token=`` URL parameter
    replaced by ``***``; and whether anything was replaced. The rest of the bytes are untouched."""
    scrubbed = _SECRET_FIELD.sub(lambda match: match.group(1) + _REDACTED + match.group(3), body)
    scrubbed = _SECRET_PARAM.sub(lambda match: match.group(1) + _REDACTED, scrubbed)
    return scrubbed, scrubbed != body


@dataclass(frozen=True)
class GraphErrorBody:
    """The ``error`` object of a Graph error answer; every field ``None`` when absent or unusable."""

    code: int | None = None
    subcode: int | None = None
    type: str | None = None
    message: str | None = None
    trace: str | None = None

    @property
    def said(self) -> str:
        """Graph's words, for a message: ``OAuthException 190/463: ... (fbtrace_id X)``."""
        code = "?" if self.code is None else str(self.code)
        if self.subcode is not None:
            code += f"/{self.subcode}"
        parts = [f"{self.type or 'error'} {code}: {self.message or 'no message'}"]
        if self.trace:
            parts.append(f"(fbtrace_id {self.trace})")
        return " ".join(parts)


def read_error(body: bytes) -> GraphErrorBody:
    """The ``error`` object of a Graph answer's body (all ``None`` when it has none)."""
    try:
        document = json.loads(body)
    except ValueError:
        return GraphErrorBody()
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return GraphErrorBody()

    def number(key: str) -> int | None:
        value = error.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def text(key: str) -> str | None:
        value = error.get(key)
        return value[:500] if isinstance(value, str) else None

    return GraphErrorBody(
        number("code"), number("error_subcode"), text("type"), text("message"), text("fbtrace_id")
    )


# -- usage --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """What an answer's usage headers said: the highest percentage, and the minutes to regain access."""

    percent: float
    header: str
    regain_minutes: float | None = None


def read_usage(headers: Mapping[str, str]) -> Usage | None:
    """The highest usage percentage of ``X-App-Usage``, ``X-Page-Usage`` and
    ``X-Business-Use-Case-Usage``, with the longest ``estimated_time_to_regain_access``;
    ``None`` when none of them is there or readable (an unreadable one is ignored: pacing is
    best effort, Graph's throttling codes are still honoured)."""
    found: list[tuple[float, str]] = []
    regain: list[float] = []
    for header in (APP_USAGE_HEADER, PAGE_USAGE_HEADER):
        document = _header_json(headers, header)
        if isinstance(document, dict):
            found += [(percent, header) for percent in _percents(document)]
    document = _header_json(headers, BUC_USAGE_HEADER)
    if isinstance(document, dict):
        for entries in document.values():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    found += [(percent, BUC_USAGE_HEADER) for percent in _percents(entry)]
                    minutes = _number(entry.get(REGAIN_FIELD))
                    if minutes is not None:
                        regain.append(minutes)
    if not found:
        return None
    percent, header = max(found)
    return Usage(percent, header, max(regain) if regain else None)


def _header_json(headers: Mapping[str, str], name: str) -> Any:
    value = headers.get(name)
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _percents(document: Mapping[str, Any]) -> list[float]:
    return [value for key in USAGE_FIELDS if (value := _number(document.get(key))) is not None]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and 0 <= number <= 10_000 else None


# -- errors -------------------------------------------------------------------------------------------


class TokenError(ClientError):
    """Graph refused the organization's token (code 190: expired, revoked, invalid): renew it."""


class PermissionMissingError(ClientError):
    """Graph answered a permission error (code 10 or 200-299): the token lacks a permission."""


class ObjectMissingError(NotFoundError):
    """Graph answered code 100, subcode 33: the object does not exist (deleted) or cannot be read."""


class UsageCapError(DeferredError):
    """The Graph usage of the night is (nearly) spent: the account is deferred to the next night."""


@dataclass
class GraphStats(HttpStats):
    """The shared counters, and what the usage did: ``paced`` (sleeps before a call as usage neared
    100 %), ``throttled`` (throttling answers received), ``usage_percent`` (the highest seen)."""

    paced: int = 0
    throttled: int = 0
    usage_percent: float = 0.0
    skipped: list[str] = field(default_factory=list)
    """The optional edges passed over because the token lacks their permission (:func:`paged_if_permitted`),
    each with the permission Graph named: ``tagged (pages_read_user_content)``."""

    def counters(self) -> dict[str, Any]:
        return {
            **super().counters(),
            "paced": self.paced,
            "throttled": self.throttled,
            "usage_percent": self.usage_percent,
        }


# -- the client ---------------------------------------------------------------------------------------


class GraphClient:
    """GETs from the Graph API for one account, on :class:`~rapport.sources.http.HttpClient`.

    Arguments:
        base_url: the versioned base URL (:func:`base_url`).
        token: the organization's access token (:func:`read_token`), sent as a bearer token only.
        platform, account: named in every error and log line (``account`` is Rapport's key).
        organization_id: named with the token's variable and Connection when Graph refuses it.
        stats: the extraction's counters (a :class:`GraphStats`).
        pace_from, pace_seconds: the pacing (see :data:`PACE_FROM`, :data:`PACE_SECONDS`).
        http_options: passed to the shared client (``sleep``, ``clock``, ``max_wait``...): ``max_wait``
            is also the longest wait to regain access before the account is deferred.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        platform: str,
        account: str,
        organization_id: str,
        stats: GraphStats,
        pace_from: float = PACE_FROM,
        pace_seconds: float = PACE_SECONDS,
        **http_options: Any,
    ) -> None:
        self.platform = platform
        self.account = account
        self.organization_id = organization_id
        self.stats = stats
        self.pace_from = pace_from
        self.pace_seconds = pace_seconds
        self.usage: Usage | None = None
        """What the last answer's usage headers said."""
        self._step = MIN_STEP
        self._sleep: Callable[[float], None] = http_options.get("sleep", time.sleep)
        self._http = HttpClient(
            base_url, platform=platform, account=account, bearer_token=token, **http_options
        )
        self._http.stats = stats

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def redact(self, text: str) -> str:
        """``text`` without the token."""
        return self._http.redact(text)

    def get(self, path: str, params: Mapping[str, ParamValue] | None = None) -> Response:
        """``GET /<version>/<path>`` with ``params``: paced by usage, throttling waited out.

        Returns the 2xx answer, its body scrubbed (:func:`scrub`). Raises :class:`UsageCapError`
        (nothing more sent) when the usage cap is near or a throttling answer lasts, :class:`TokenError`,
        :class:`PermissionMissingError`, :class:`ObjectMissingError`, and the shared client's errors
        naming Graph's code, message and ``fbtrace_id``; each holds the failed answer, scrubbed.
        """
        for attempt in range(1, THROTTLE_ATTEMPTS + 1):
            self._pace(path)
            try:
                response = self._scrubbed(self._http.get(path, params))
            except HttpError as error:
                failed = self._scrubbed(error.response) if error.response is not None else None
                self._note_usage(failed)
                said = read_error(failed.body) if failed is not None else GraphErrorBody()
                if said.code in THROTTLING_CODES:
                    self.stats.throttled += 1
                    self.stats.rate_limited += 1
                    self._wait_throttled(error, failed, said, attempt)
                    continue
                raise self._explained(error, failed, said) from None
            self._note_usage(response)
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def pages(
        self, path: str, params: Mapping[str, ParamValue] | None = None, *, without_next: bool = False
    ) -> Iterator[Response]:
        """The answers of a paged edge, first to last: ``after=`` the previous ``paging.cursors.after``
        while ``paging.next`` is there, or, for an edge whose pages carry cursors but no ``next``
        (``without_next``: Instagram's ``/{ig-user-id}/tags``), while a page holds data. Raises
        :class:`StalledCursorError` for a cursor seen before, and :meth:`get`'s errors. A body that is
        not a JSON object ends the paging (its reader says why)."""
        query: dict[str, ParamValue] = dict(params or {})
        seen: set[str] = set()
        while True:
            response = self.get(path, query)
            yield response
            cursor = next_cursor(response.body, without_next=without_next)
            if cursor is None:
                if has_next(response.body):
                    logger.warning(
                        "%s: GET %s has a paging.next but no paging.cursors.after: the pages after it are "
                        "not read",
                        self.account,
                        response.url,
                    )
                return
            if cursor in seen:
                raise StalledCursorError(
                    self.redact(
                        f"{self.platform} account {self.account}: GET {response.url} answered an after "
                        f"cursor it had already given ({cursor[:40]!r}): the pages would never end; stopped"
                    ),
                    platform=self.platform,
                    account=self.account,
                    url=response.url,
                    attempts=1,
                )
            seen.add(cursor)
            query["after"] = cursor

    # -- internals ----------------------------------------------------------------------------------

    def _scrubbed(self, response: Response) -> Response:
        body, changed = scrub(response.body)
        if not changed:
            return response
        return dataclasses.replace(response, body=body, redacted=True)

    def _note_usage(self, response: Response | None) -> None:
        usage = read_usage(response.headers) if response is not None else None
        if usage is None:
            return
        if self.usage is not None and usage.percent > self.usage.percent:
            self._step = max(self._step, usage.percent - self.usage.percent)
        self.usage = usage
        self.stats.usage_percent = max(self.stats.usage_percent, usage.percent)

    def _pace(self, path: str) -> None:
        usage = self.usage
        if usage is None:
            return
        if usage.percent + self._step >= LIMIT:
            self._regain(usage, f"GET {path} not sent")
            return
        if usage.percent >= self.pace_from:
            share = (usage.percent - self.pace_from) / max(LIMIT - self.pace_from, 1.0)
            delay = self.pace_seconds * share
            if delay > 0:
                self.stats.paced += 1
                self._wait(delay)

    def _regain(self, usage: Usage, what: str) -> None:
        """Wait the estimated time to regain access when short, else defer the account."""
        # Graph estimates the time to regain access once it throttles (0 before): near the cap with
        # no estimate, the window's decay is unknown (a Page's is 24 h), so the account waits a night.
        minutes = usage.regain_minutes if usage.regain_minutes else None
        seconds = minutes * 60 if minutes is not None else None
        if seconds is None or seconds > self._http.max_wait:
            when = (
                "no estimate of when access returns"
                if minutes is None
                else f"access returns in {minutes:g} min"
            )
            raise UsageCapError(
                f"{self.platform} account {self.account}: {what}: the Graph API usage is at "
                f"{usage.percent:g} % ({usage.header}) and {when}, longer than max_wait "
                f"({self._http.max_wait:g} s); deferred to the next night"
            )
        logger.info(
            "%s: usage at %g %% (%s); waiting %g s to regain access",
            self.account,
            usage.percent,
            usage.header,
            seconds,
        )
        self.stats.paced += 1
        self._wait(seconds)
        self.usage = None

    def _wait_throttled(
        self, error: HttpError, failed: Response | None, said: GraphErrorBody, attempt: int
    ) -> None:
        usage = self.usage
        if attempt == THROTTLE_ATTEMPTS:
            raise UsageCapError(
                self.redact(
                    f"{self.platform} account {self.account}: GET {error.url}: Graph still throttles after "
                    f"{attempt} attempts ({said.said}); deferred to the next night"
                )
            )
        if usage is not None and usage.regain_minutes is not None and usage.regain_minutes > 0:
            self._regain(usage, f"GET {error.url} throttled ({said.said})")
        else:
            self._wait(max(1.0, self._http.backoff_delay(attempt)))
        self.stats.retries += 1
        self.usage = None

    def _wait(self, seconds: float) -> None:
        self.stats.slept_seconds += seconds
        self._sleep(seconds)

    def _explained(self, error: HttpError, failed: Response | None, said: GraphErrorBody) -> HttpError:
        context: dict[str, Any] = {
            "platform": self.platform,
            "account": self.account,
            "url": error.url,
            "response": failed,
            "attempts": error.attempts,
        }
        where = f"{self.platform} account {self.account}: GET {error.url}"
        if said.code is None:
            return type(error)(self.redact(str(error)), **context)
        if said.code == TOKEN_CODE or (said.type == "OAuthException" and said.code == 102):
            why = TOKEN_SUBCODES.get(said.subcode or 0, "it expired, was revoked or is invalid")
            return TokenError(
                self.redact(
                    f"{where}: Graph refused the access token of organization {self.organization_id} "
                    f"({why}; {said.said}): {renew_hint(self.organization_id)}"
                ),
                **context,
            )
        if said.code in PERMISSION_CODES:
            named = missing_permission(said.message or "")
            what = f"the permission {named}" if named else "a permission Graph does not name"
            return PermissionMissingError(
                self.redact(
                    f"{where}: the token of organization {self.organization_id} lacks {what} ({said.said})"
                ),
                **context,
            )
        if said.code == MISSING_CODE and said.subcode == MISSING_SUBCODE:
            return ObjectMissingError(
                self.redact(f"{where}: the object does not exist or cannot be read ({said.said})"), **context
            )
        status = f"HTTP {error.status}" if error.status is not None else "no answer"
        return type(error)(self.redact(f"{where} answered {status} ({said.said})"), **context)


def missing_permission(message: str) -> str | None:
    """The permission a Graph message names (``'pages_read_engagement'``), if it names one."""
    for match in _PERMISSION.finditer(message):
        name = match.group(1)
        if name not in {"access_token", "error_subcode"}:
            return name
    return None


def has_next(body: bytes) -> bool:
    """Whether an answer announces a next page (``paging.next``)."""
    paging = _paging(body)
    return paging is not None and bool(paging.get("next"))


def _paging(body: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    paging = document.get("paging") if isinstance(document, dict) else None
    return paging if isinstance(paging, dict) else None


def next_cursor(body: bytes, *, without_next: bool = False) -> str | None:
    """The ``paging.cursors.after`` of an answer that has a ``paging.next``; ``None`` on the last page
    (or when the body is not an object with a usable cursor). ``without_next``: of an answer whose
    ``data`` is not empty, for an edge that never gives ``next`` (its last page is an empty one)."""
    paging = _paging(body)
    if paging is None:
        return None
    if without_next:
        document = json.loads(body)
        if not isinstance(document.get("data"), list) or not document["data"]:
            return None
    elif not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    return after if isinstance(after, str) and after else None


def open_client(
    default_base_url: str, *, platform: str, account: Account, stats: GraphStats, options: Mapping[str, Any]
) -> GraphClient:
    """The client of one account: its organization's token (:func:`read_token`), the versioned base URL
    (:func:`base_url`). Raises ``SourceError`` naming the account when the token is not set or the base
    URL is unusable."""
    token = read_token(account.organization_id, account.account_id)
    try:
        return GraphClient(
            base_url(default_base_url),
            token=token,
            platform=platform,
            account=account.account_id,
            organization_id=account.organization_id,
            stats=stats,
            **options,
        )
    except ValueError as error:
        raise SourceError(f"{account.account_id}: cannot read from the Graph API base URL: {error}") from None


# -- landing what a platform reads --------------------------------------------------------------------

NODE_PARAM: Final = "id"
"""The landed parameter naming the node a page was read from (Graph takes it in the path, not the query)."""


def landed(response: Response, endpoint: str, node_id: str | None) -> Page:
    """The answer as a landed page named ``endpoint``, with ``node_id`` among its parameters (as ``id``)."""
    page = response.page(endpoint)
    if node_id is None:
        return page
    return Page(page.endpoint, page.body, page.status, {**page.params, NODE_PARAM: node_id}, page.redacted)


def fetch(
    client: GraphClient, endpoint: str, path: str, params: dict[str, Any], node_id: str | None = None
) -> Generator[Page, None, Response]:
    """One call; its page is yielded (a failed answer's page too, before the error); returns the answer."""
    try:
        response = client.get(path, params)
    except HttpError as error:
        if error.response is not None:
            yield landed(error.response, endpoint, node_id)
        raise
    yield landed(response, endpoint, node_id)
    return response


def paged(
    client: GraphClient,
    endpoint: str,
    path: str,
    params: dict[str, Any],
    node_id: str | None = None,
    *,
    enough: Callable[[Response], bool] | None = None,
    without_next: bool = False,
) -> Generator[Page, None, list[Response]]:
    """The pages of an edge (:meth:`GraphClient.pages`, ``without_next`` passed on), each yielded as it
    comes (a failed answer's page before the error), to the last one or to the first answer ``enough``
    accepts; returns the answers."""
    answers: list[Response] = []
    try:
        for response in client.pages(path, params, without_next=without_next):
            yield landed(response, endpoint, node_id)
            answers.append(response)
            if enough is not None and enough(response):
                break
    except HttpError as error:
        if error.response is not None:
            yield landed(error.response, endpoint, node_id)
        raise
    return answers


def paged_if_permitted(
    client: GraphClient,
    endpoint: str,
    path: str,
    params: dict[str, Any],
    node_id: str | None = None,
    **paging: Any,
) -> Generator[Page, None, list[Response] | None]:
    """:func:`paged` (``paging``: its ``enough`` and ``without_next``) for an optional edge (the public's
    tags): a permission error (10, 200-299) passes the edge over instead of failing the account. Its
    error page is landed (yielded), the edge and the permission Graph named are added to
    ``client.stats.skipped`` and logged, and ``None`` is returned; every other error is raised as
    :func:`paged` raises it."""
    try:
        return (yield from paged(client, endpoint, path, params, node_id, **paging))
    except PermissionMissingError as error:
        said = read_error(error.response.body) if error.response is not None else GraphErrorBody()
        permission = missing_permission(said.message or "") or "a permission Graph does not name"
        client.stats.skipped.append(f"{endpoint} ({permission})")
        logger.warning("%s: %s not read, the token lacks %s", client.account, endpoint, permission)
        return None


def is_permission_error(page: Page) -> bool:
    """Whether a landed page is Graph's answer to a token lacking a permission (10, 200-299)."""
    return read_error(page.body).code in PERMISSION_CODES


def read_answer(client: GraphClient, response: Response, read: Callable[[JsonNode], T]) -> T:
    """What an extraction needs from an answer's body; an unreadable one raises ``SourceError`` naming
    the account, the URL and the field (never the token)."""
    try:
        return read(parse_json(response.body, "body"))
    except NormalizationError as error:
        raise SourceError(
            client.redact(
                f"{client.platform} account {client.account}: GET {response.url} answered {response.status} "
                f"with a body that cannot be read: {error}"
            )
        ) from error
