"""HTTP for the platform connectors: retries, rate-limit pacing and errors that say what failed.

One :class:`HttpClient` serves one account extraction. It is built at run time
from arguments, holds no global state and is not thread-safe::

    client = HttpClient(
        "https://mastodon.social", platform="mastodon", account="@city@mastodon.social",
        bearer_token=token,
    )
    response = client.get("/api/v1/accounts/lookup", {"acct": "city"})
    yield response.page("accounts/lookup")        # raw body bytes, untouched
    account_id = response.json()["id"]
    next_link = response.links.get("next")        # Mastodon paging (RFC 8288 Link header)
    if next_link is not None:
        response = client.get(next_link.url)      # same origin only

What it does for every request:

- Retries 429, 500, 502, 503, 504, connection errors and timeouts, up to
  ``max_attempts`` in all, with exponential backoff and full jitter. On 429 and
  503 it waits at least ``Retry-After`` (seconds or an HTTP date); on a 429
  without it, until the rate-limit reset the response announces. A wait longer
  than ``max_wait`` raises :class:`WaitTooLongError` instead of sleeping for
  hours. Other 4xx are never retried.
- Paces itself: it reads Mastodon's ``X-RateLimit-*`` headers (reset as an
  ISO 8601 timestamp) and the ``RateLimit-*`` headers of Bluesky's XRPC services
  (reset as epoch seconds), and when ``remaining <= min_remaining`` it sleeps
  until the reset before the next request, so it never earns an avoidable 429.
- Stays within bounds (:class:`Bounds`, from :mod:`rapport.settings` unless
  given): at most ``max_pages`` responses per client (one client, one
  extraction), a wall-clock deadline per request (headers and body: a server
  dripping one byte a second is cut at the deadline whatever ``read_timeout``
  is) and per extraction, at most ``max_body_bytes`` per body (the body is
  streamed and reading stops past the cap: a huge body is never held). A bound
  hit raises a :class:`BoundError` naming it and its setting; it is not retried.
- Follows redirects only within the origin of ``base_url`` (scheme, host and
  port): a redirect elsewhere raises :class:`RedirectError` and nothing of the
  other host is read, so neither its body nor the token crosses origins.
- Connects only to public addresses: the host is resolved when a connection is
  opened (redirects included) and the connection goes to an address checked
  then; an IP literal, or a name resolving to a loopback, private, link-local
  or otherwise non-global address, raises :class:`PrivateAddressError` unless
  ``Bounds.allow_private`` (``RAPPORT_ALLOW_PRIVATE_INSTANCES``) is set. Behind
  an HTTP proxy (``HTTPS_PROXY``), the proxy connects and this check is its own.
- Reads header values defensively. ``Retry-After`` and the rate-limit reset a
  429 announces decide how long to wait: one that is not a number or a date,
  not finite, negative or absurd (beyond :data:`MAX_PLAUSIBLE_WAIT`) raises
  :class:`HeaderError` naming the header, the response kept so it can be
  landed. On other responses the rate-limit headers only pace the client, which
  is best effort: an unusable value there is ignored with a warning naming the header.
- Counts what it cost in :class:`HttpStats`.
- Raises :class:`HttpError` subclasses (all :class:`~rapport.sources.SourceError`)
  whose message names the platform, the account, the URL, the status and the
  cause, and which keep the failed response (``.body``) so it can be landed.

The bearer token travels only in the ``Authorization`` header: it is never
logged, never part of a URL, an error message or ``Page.params``. Query
parameters that look like credentials (``access_token`` and the like) are
refused, and stripped from any URL a server sends back before it is shown.
A server may echo a secret back (a 401 body quoting the token): every body,
header value and message the client hands on has the known secret values (the
bearer token and ``secrets``) replaced by ``***``, and a response whose body
was changed so says (``Response.redacted``, ``Page.redacted``).
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import json
import logging
import math
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from importlib import metadata
from types import TracebackType
from typing import Any, Final, Self, cast
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import create_connection
from urllib3.util.retry import Retry

from rapport.sources import Page, SourceError
from rapport.sources.stats import HttpStats as HttpStats  # re-exported: the counters' old home

logger = logging.getLogger("rapport.sources.http")

PROJECT_URL: Final = "https://github.com/rapport-project/rapport"

RETRYABLE_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_STATUSES: Final = frozenset({429, 503})
NOT_FOUND_STATUSES: Final = frozenset({404, 410})

SECRET_PARAMS: Final = frozenset(
    {"access_token", "refresh_token", "id_token", "token", "client_secret", "api_key", "apikey", "password"}
)
"""Query parameters (any case) that carry credentials: refused in requests, stripped from URLs."""

RESET_MARGIN: Final = 1.0
"""Seconds added to a rate-limit reset before the next request.

Bluesky floors its reset to the second (the window may end up to 1 s later)
and neither platform's clock is ours.
"""

EPOCH_THRESHOLD: Final = 1_000_000_000
"""A numeric reset at least this large is epoch seconds (Bluesky); a smaller one is delta seconds
(the IETF RateLimit-headers draft)."""

MAX_PLAUSIBLE_WAIT: Final = 366 * 24 * 3600.0
"""Seconds: a ``Retry-After`` or rate-limit reset further away than a year is no rate limit but a broken
(or hostile) server, and is treated as unreadable."""

MAX_PLAUSIBLE_COUNT: Final = 10**12
"""A rate-limit limit or remaining count above this is unreadable."""

MAX_REDIRECTS: Final = 5
"""Same-origin redirects followed per request."""

REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})

CHUNK_BYTES: Final = 64 * 1024
"""A body is read this much at a time: the cap is overshot by at most one chunk before reading stops."""

REDACTED: Final = "***"

MIN_SECRET_LENGTH: Final = 4
"""Shorter secrets are not searched for in bodies: they would match ordinary text."""

ParamValue = str | int | float | bool | None | Sequence[str | int | float | bool]
"""A query parameter value: ``None`` is left out, a sequence repeats the key, a bool is ``true``/``false``."""


def user_agent() -> str:
    """Return the User-Agent Rapport sends, e.g. ``Rapport/0.1.0 (+https://github.com/...)``."""
    try:
        version = metadata.version("rapport")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"Rapport/{version} (+{PROJECT_URL})"


# -- header parsing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    """The rate-limit state a response announced; ``reset_at`` in epoch seconds.

    A field whose header was present but unusable (not a number, not finite,
    negative, absurd) is ``None`` and the header is listed in ``unusable`` as
    ``(name, value)``.
    """

    limit: int | None
    remaining: int | None
    reset_at: float | None
    policy: str | None = None
    unusable: tuple[tuple[str, str], ...] = ()


def parse_rate_limit(headers: Mapping[str, str], now: float) -> RateLimit | None:
    """Read the rate-limit headers of a response received at ``now`` (epoch seconds).

    Understands Mastodon's ``X-RateLimit-Limit/Remaining/Reset`` (reset as an
    ISO 8601 timestamp) and the ``RateLimit-Limit/Remaining/Reset/Policy`` of
    Bluesky's XRPC services (reset as epoch seconds; delta seconds, as in the
    IETF draft, are accepted too). Returns ``None`` when neither family is present.
    Unusable values become ``None`` (and are listed in ``RateLimit.unusable``)
    rather than errors: the caller decides whether it needed them.
    """
    insensitive = CaseInsensitiveDict(headers)
    for prefix in ("X-RateLimit-", "RateLimit-"):
        remaining = insensitive.get(prefix + "Remaining")
        reset = insensitive.get(prefix + "Reset")
        if remaining is None and reset is None:
            continue
        limit = insensitive.get(prefix + "Limit")
        limit_count, remaining_count = _parse_count(limit), _parse_count(remaining)
        reset_at = parse_reset(reset, now) if reset is not None else None
        read = ((limit, limit_count), (remaining, remaining_count), (reset, reset_at))
        unusable = tuple(
            (prefix + name, str(given))
            for name, (given, parsed) in zip(("Limit", "Remaining", "Reset"), read, strict=True)
            if given is not None and parsed is None
        )
        return RateLimit(
            limit=limit_count,
            remaining=remaining_count,
            reset_at=reset_at,
            policy=insensitive.get(prefix + "Policy"),
            unusable=unusable,
        )
    return None


def parse_reset(value: str, now: float) -> float | None:
    """Turn a rate-limit reset header into epoch seconds; ``None`` if unusable.

    Accepts an ISO 8601 timestamp (Mastodon, e.g. ``2026-11-23T10:05:00.000000Z``),
    epoch seconds (Bluesky), delta seconds (small numbers) and an HTTP date.
    Unusable: anything else, a number that is not finite or is negative, and a
    reset more than :data:`MAX_PLAUSIBLE_WAIT` after ``now``.
    """
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number) or number < 0:
            return None
        reset_at = number if number >= EPOCH_THRESHOLD else now + number
        return reset_at if reset_at - now <= MAX_PLAUSIBLE_WAIT else None
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = _parse_http_date(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        reset_at = moment.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
    return reset_at if reset_at - now <= MAX_PLAUSIBLE_WAIT else None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Return how many seconds a ``Retry-After`` value asks to wait, from ``now``.

    The value is delay seconds or an HTTP date (RFC 9110 §10.2.3); a date in the
    past means 0. Returns ``None`` when the header is absent or unusable: not a
    number or a date, not finite, negative, or further than :data:`MAX_PLAUSIBLE_WAIT`.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        moment = _parse_http_date(text)
        if moment is None:
            return None
        try:
            seconds = max(0.0, moment.timestamp() - now)
        except (OverflowError, OSError, ValueError):
            return None
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_PLAUSIBLE_WAIT:
        return None
    return seconds


@dataclass(frozen=True)
class Link:
    """One target of an RFC 8288 ``Link`` header, with the query parameters of its URL."""

    url: str
    rel: str
    params: dict[str, str]


def parse_link_header(value: str | None, base_url: str | None = None) -> dict[str, Link]:
    """Parse an RFC 8288 ``Link`` header into ``{rel: Link}``.

    Mastodon pages with it: ``<...?max_id=110>; rel="next", <...?min_id=120>; rel="prev"``.
    A link with several relation types (``rel="next last"``) is listed under
    each; the first link of a relation wins. Relative targets are resolved
    against ``base_url``. Secret query parameters are stripped from the URLs.
    Returns ``{}`` for a missing or empty header.
    """
    links: dict[str, Link] = {}
    if not value:
        return links
    for target, attributes in _split_link_values(value):
        url = redact_url(urljoin(base_url, target) if base_url else target)
        for rel in attributes.get("rel", "").lower().split():
            if rel not in links:
                query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
                links[rel] = Link(url=url, rel=rel, params=query)
    return links


def redact_url(url: str) -> str:
    """Return ``url`` without credentials: no user info and no secret query parameters."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = [
        (key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if not _is_secret(key)
    ]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))


# -- responses and errors ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """A response as received: status, headers (case-insensitive), raw body bytes.

    ``url`` is the final URL without secrets; ``params`` are the query
    parameters of the request as strings (repeated keys joined by commas),
    never a credential; ``received_at`` is the client clock at receipt.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str
    params: dict[str, str] = field(default_factory=dict)
    received_at: float = 0.0
    redacted: bool = False
    """Known secret values were replaced by ``***`` in the body as received."""

    def json(self) -> Any:
        """Parse the body as JSON; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.body)

    @property
    def links(self) -> dict[str, Link]:
        """The ``Link`` header as ``{rel: Link}`` (see :func:`parse_link_header`)."""
        return parse_link_header(self.headers.get("Link"), base_url=self.url)

    @property
    def rate_limit(self) -> RateLimit | None:
        """The rate-limit state the response announced, if any (see :func:`parse_rate_limit`)."""
        return parse_rate_limit(self.headers, self.received_at)

    @property
    def error(self) -> str | None:
        """The ``error`` field of a JSON error body (Mastodon's text, XRPC's error name), if any."""
        return _json_error_fields(self.body)[0]

    @property
    def error_message(self) -> str | None:
        """The ``message`` (XRPC) or ``error_description`` (OAuth) field of a JSON error body, if any."""
        return _json_error_fields(self.body)[1]

    def page(self, endpoint: str) -> Page:
        """Return this response as a :class:`~rapport.sources.Page` of ``endpoint``, ready to land."""
        return Page(
            endpoint=endpoint,
            body=self.body,
            status=self.status,
            params=dict(self.params),
            redacted=self.redacted,
        )


class HttpError(SourceError):
    """A request failed; the message names platform, account, URL (without secrets), status and cause.

    ``response`` is the failed response when there was one (``None`` after a
    connection error); ``status``, ``headers`` and ``body`` read from it, and
    :meth:`page` turns it into a landable :class:`~rapport.sources.Page`.
    """

    def __init__(
        self,
        message: str,
        *,
        platform: str = "",
        account: str = "",
        url: str = "",
        response: Response | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message)
        self.platform = platform
        self.account = account
        self.url = url
        self.response = response
        self.attempts = attempts

    @property
    def status(self) -> int | None:
        """The HTTP status of the failed response; ``None`` when no response came."""
        return self.response.status if self.response is not None else None

    @property
    def headers(self) -> Mapping[str, str]:
        """The headers of the failed response (empty when no response came)."""
        return self.response.headers if self.response is not None else CaseInsensitiveDict()

    @property
    def body(self) -> bytes:
        """The body of the failed response, untouched (``b""`` when no response came)."""
        return self.response.body if self.response is not None else b""

    def page(self, endpoint: str) -> Page:
        """Return the failed response as a Page; raises ``ValueError`` when no response came."""
        if self.response is None:
            raise ValueError("no response to land: the request failed before the server answered")
        return self.response.page(endpoint)


class NotFoundError(HttpError):
    """404 or 410, or an error name the client was told means gone: unknown, deleted or suspended."""


class ClientError(HttpError):
    """Another 4xx (bad request, unauthorized, forbidden...): not retried."""


class UnexpectedStatusError(HttpError):
    """A status neither successful, retryable nor 4xx (e.g. 501, or a redirect not followed)."""


class RetriesExhaustedError(HttpError):
    """Every attempt failed with a retryable status or a connection error; ``cause`` holds the last error."""

    cause: BaseException | None = None


class WaitTooLongError(HttpError):
    """The server asked to wait (Retry-After, rate-limit reset) longer than the client's ``max_wait``."""


class HeaderError(HttpError):
    """A header the client needed (``Retry-After``, a 429's reset) is unusable; the message names it."""


class RedirectError(HttpError):
    """A redirect to another origin (scheme, host, port), or too many redirects: not followed."""


class PrivateAddressError(HttpError):
    """The host is an IP literal or resolves to a non-public address, and private instances are not allowed.

    Not retried: the answer would be the same."""


class BoundError(HttpError):
    """An extraction or a request reached one of its bounds; the message names it and its setting."""


class PageCapError(BoundError):
    """The extraction received as many responses as ``Bounds.max_pages`` allows."""


class StalledCursorError(BoundError):
    """A paging cursor did not move (a repeated or non-decreasing cursor): the pages would never end."""


class DeadlineError(BoundError):
    """The request's or the extraction's wall-clock deadline passed."""


class BodyTooLargeError(BoundError):
    """A body is larger than ``Bounds.max_body_bytes``: reading stopped there, nothing of it is kept."""


@dataclass(frozen=True)
class Bounds:
    """What one extraction may cost, at most; :meth:`from_settings` reads them from the settings."""

    max_pages: int = 2000
    """Responses per client (one client serves one extraction)."""
    request_deadline: float = 120.0
    """Seconds from sending a request to the end of its body, redirects included."""
    extraction_deadline: float = 3600.0
    """Seconds from the first request to the end of the last one, waits included."""
    max_body_bytes: int = 32 * 1024 * 1024
    allow_private: bool = False
    """Connect to IP literals and to hosts that resolve to non-public addresses (local test servers)."""

    @classmethod
    def from_settings(cls) -> Bounds:
        """The bounds the settings give (``RAPPORT_MAX_PAGES_PER_EXTRACTION`` and the others)."""
        from rapport.settings import get_settings

        settings = get_settings()
        return cls(
            max_pages=settings.max_pages_per_extraction,
            request_deadline=settings.request_deadline_seconds,
            extraction_deadline=settings.extraction_deadline_seconds,
            max_body_bytes=settings.max_body_bytes,
            allow_private=settings.allow_private_instances,
        )


BOUND_SETTINGS: Final = {
    "max_pages": "RAPPORT_MAX_PAGES_PER_EXTRACTION",
    "request_deadline": "RAPPORT_REQUEST_DEADLINE_SECONDS",
    "extraction_deadline": "RAPPORT_EXTRACTION_DEADLINE_SECONDS",
    "max_body_bytes": "RAPPORT_MAX_BODY_BYTES",
    "allow_private": "RAPPORT_ALLOW_PRIVATE_INSTANCES",
}
"""The environment variable of each bound, named in the errors."""


# -- connections: public addresses only, and a watchdog on the request in flight -------------------


class _AddressRefusedError(Exception):
    """Raised inside urllib3 when a host may not be connected to; becomes a :class:`PrivateAddressError`."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(host, address)
        self.host = host
        self.address = address


def is_public_address(address: str) -> bool:
    """Whether an IP address is globally routable (not loopback, private, link-local, shared, reserved...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


_WATCH_INTERVAL: Final = 0.05
"""Seconds between two looks of a request's watchdog at its deadline."""


class _Guard:
    """What a client's connections share: the address policy, and the watchdog of the request in flight.

    The watchdog shuts the socket down when the request's deadline passes, so a
    read blocked on a server that drips bytes (each one arriving before the read
    timeout) returns at the deadline instead of when the server is done.
    """

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.deadline: float | None = None
        """``time.monotonic()`` value the request in flight must end by."""
        self.fired = False
        self._cancelled: threading.Event | None = None

    def open(self, host: str, port: int, timeout: Any, source: Any, options: Any, conn: Any) -> socket.socket:
        """Resolve ``host``, refuse non-public addresses unless allowed, connect to a checked address."""
        try:
            infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise NameResolutionError(host, conn, error) from error
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not self.allow_private:
            for address in addresses:
                if _is_ip_literal(host) or not is_public_address(address):
                    raise _AddressRefusedError(host, address)
        last: OSError | None = None
        for address in addresses:
            try:
                return create_connection(
                    (address, port), timeout, source_address=source, socket_options=options
                )
            except TimeoutError as error:
                raise ConnectTimeoutError(conn, f"Connection to {host} timed out") from error
            except OSError as error:
                last = error
        raise NewConnectionError(conn, f"Failed to establish a new connection: {last}")

    def arm(self, sock: Any) -> None:
        """Start the watchdog of the request in flight on its socket."""
        if self.deadline is None or sock is None:
            return
        self.cancel()
        cancelled = threading.Event()
        watchdog = threading.Thread(target=self._watch, args=(sock, self.deadline, cancelled), daemon=True)
        self._cancelled = cancelled
        watchdog.start()

    def cancel(self) -> None:
        if self._cancelled is not None:
            self._cancelled.set()
            self._cancelled = None

    def _watch(self, sock: Any, deadline: float, cancelled: threading.Event) -> None:
        # Short sleeps on the monotonic clock rather than one timed wait: a sleep is woken by the
        # clock the deadline was read on, also where that clock is shifted (libfaketime in CI).
        while not cancelled.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                self._cut(sock)
                return
            time.sleep(min(left, _WATCH_INTERVAL))

    def _cut(self, sock: Any) -> None:
        self.fired = True
        # The plain socket's shutdown, also for a TLS socket: the TLS object stays whole for the
        # reader, which then sees the end of the stream.
        with contextlib.suppress(OSError, TypeError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _GuardedConnection:
    """Mixed into urllib3's connection classes: connect through ``_guard``, watch each response."""

    _guard: _Guard

    def _new_conn(self) -> socket.socket:
        conn = cast(HTTPConnection, self)
        return self._guard.open(
            conn._dns_host, conn.port, conn.timeout, conn.source_address, conn.socket_options, conn
        )

    def getresponse(self) -> Any:
        self._guard.arm(cast(HTTPConnection, self).sock)
        return super().getresponse()  # type: ignore[misc]


def _guarded_pool_classes(guard: _Guard) -> dict[str, type[HTTPConnectionPool]]:
    """Connection pool classes whose connections go through ``guard`` (one set per client)."""
    plain = type("GuardedHTTPConnection", (_GuardedConnection, HTTPConnection), {"_guard": guard})
    tls = type("GuardedHTTPSConnection", (_GuardedConnection, HTTPSConnection), {"_guard": guard})
    return {
        "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
        "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": tls}),
    }


class _GuardedAdapter(HTTPAdapter):
    """requests' adapter with no retries of its own (they are the client's) and guarded connections."""

    def __init__(self, guard: _Guard) -> None:
        self._guard = guard
        super().__init__(max_retries=Retry(total=0, read=False, redirect=False))

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _guarded_pool_classes(self._guard)


# -- secrets ----------------------------------------------------------------------------------------


class Redactor:
    """Replaces known secret values by ``***`` in bytes and text, as written, JSON-escaped or URL-encoded."""

    def __init__(self, secrets: Collection[str | None] = ()) -> None:
        self._forms: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Also redact ``secret`` (ignored when empty or shorter than :data:`MIN_SECRET_LENGTH`)."""
        if not secret or len(secret) < MIN_SECRET_LENGTH:
            return
        escaped = json.dumps(secret)[1:-1]
        forms = {secret, escaped, escaped.replace("/", "\\/"), quote(secret, safe=""), quote(secret)}
        # Longest first: a form that contains another is replaced whole.
        self._forms = sorted(set(self._forms) | forms, key=len, reverse=True)

    def text(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, REDACTED)
        return text

    def bytes(self, data: bytes) -> tuple[bytes, bool]:
        """Return ``data`` redacted, and whether anything was replaced."""
        redacted = data
        for form in self._forms:
            redacted = redacted.replace(form.encode(), REDACTED.encode())
        return redacted, redacted != data


# -- the client -------------------------------------------------------------------------------------


class HttpClient:
    """GETs from one platform for one account, with retries, pacing, bounds and clear errors.

    Arguments:
        base_url: scheme and host, optionally a path prefix (``https://public.api.bsky.app``).
        platform, account: named in every error message and log line.
        bearer_token: sent as ``Authorization: Bearer ...``; never logged or shown, and redacted
            from what the server sends back.
        secrets: other values to redact from bodies, headers and messages (an app password).
        bounds: the caps and deadlines of the extraction (default :meth:`Bounds.from_settings`).
        connect_timeout, read_timeout: seconds, per attempt (each also cut to the deadline left).
        max_attempts: attempts per :meth:`get`, the first included.
        backoff_base, backoff_cap: the n-th retry waits ``uniform(0, min(cap, base * 2**n))`` s
            (full jitter), or longer when the server asks.
        max_wait: the longest single wait the server may ask for; beyond it, :class:`WaitTooLongError`.
        min_remaining: pace (sleep until the reset) once the announced remaining requests fall to this.
        not_found_errors: names of the ``error`` field of a JSON error body that mean the account
            is gone whatever the status, e.g. Bluesky's ``AccountTakedown`` (a 400).
        headers: extra request headers (not logged).
        sleep, clock, rng: injectable for tests (default ``time.sleep``, ``time.time``, ``random.Random()``).
            Deadlines are kept on ``time.monotonic()``; an injected sleep counts towards the
            extraction's deadline with the seconds it was asked to wait.
        session: a ``requests.Session`` to use instead of a new one.
    """

    def __init__(
        self,
        base_url: str,
        *,
        platform: str,
        account: str,
        bearer_token: str | None = None,
        secrets: Collection[str | None] = (),
        bounds: Bounds | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        max_wait: float = 900.0,
        min_remaining: int = 1,
        not_found_errors: Collection[str] = (),
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        session: requests.Session | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {redact_url(base_url)!r}")
        if "@" in parts.netloc or parts.query or parts.fragment:
            raise ValueError("base_url must carry no credentials, query or fragment")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if backoff_base < 0 or backoff_cap < 0 or max_wait < 0:
            raise ValueError("backoff_base, backoff_cap and max_wait must not be negative")
        self.base_url = base_url.rstrip("/")
        self.platform = platform
        self.account = account
        self.bounds = bounds if bounds is not None else Bounds.from_settings()
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_wait = max_wait
        self.min_remaining = min_remaining
        self.not_found_errors = frozenset(not_found_errors)
        self.stats = HttpStats()
        self.pages = 0
        """Responses received so far (each final answer of :meth:`get` and :meth:`post_json`)."""
        self.rate_limit: RateLimit | None = None
        """The last rate-limit state a response announced."""
        self._bearer_token = bearer_token
        self._redactor = Redactor([bearer_token, *secrets])
        self._sleep = sleep
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._started: float | None = None
        self._waited = 0.0
        self._warned: set[str] = set()
        self._guard = _Guard(self.bounds.allow_private)
        self._session = session if session is not None else requests.Session()
        adapter = _GuardedAdapter(self._guard)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update({"User-Agent": user_agent(), "Accept": "application/json"})
        self._session.headers.update(headers or {})

    def __repr__(self) -> str:
        return f"HttpClient({self.base_url!r}, platform={self.platform!r}, account={self.account!r})"

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
        """Close the pooled connections."""
        self._guard.cancel()
        self._session.close()

    def add_secret(self, secret: str | None) -> None:
        """Redact ``secret`` too from now on (a session token received meanwhile)."""
        self._redactor.add(secret)

    def use_bearer_token(self, token: str) -> None:
        """Send ``token`` as the bearer token from now on (a renewed session), redacted like the first."""
        self._redactor.add(token)
        self._bearer_token = token

    def redact(self, text: str) -> str:
        """``text`` with the known secrets replaced by ``***``."""
        return self._redactor.text(text)

    def backoff_delay(self, retry: int) -> float:
        """Return the wait before retry number ``retry`` (0 for the first): full jitter, capped."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** min(retry, 64))
        return self._rng.uniform(0.0, ceiling)

    def get(self, path: str, params: Mapping[str, ParamValue] | None = None) -> Response:
        """GET ``path`` (relative to ``base_url``, or an absolute URL on the same origin).

        Returns the first 2xx :class:`Response`. Raises :class:`NotFoundError`
        (404, 410, or a ``not_found_errors`` name), :class:`ClientError` (other
        4xx), :class:`RetriesExhaustedError`, :class:`WaitTooLongError`,
        :class:`HeaderError`, :class:`UnexpectedStatusError`, a :class:`BoundError`
        (page cap, deadline, body size), :class:`RedirectError`,
        :class:`PrivateAddressError`, or :class:`HttpError` for a request that
        cannot be sent (another origin). Raises ``ValueError`` when ``params`` or
        the URL carry a credential: the token belongs in ``bearer_token``.
        """
        url, query = self._resolve(path, params)
        shown_url = self._shown(f"{url}?{urlencode(query)}" if query else url)
        for attempt in range(1, self.max_attempts + 1):
            self._pace(shown_url)
            self._check_page_cap(shown_url)
            self.stats.requests += 1
            try:
                response = self._send("GET", url, query, shown_url, attempt)
            except _RetryableError as retryable:
                error = retryable.error
                cause = _describe_exception(error)
                if attempt == self.max_attempts:
                    failure = RetriesExhaustedError(
                        self.redact(
                            f"{self._who()}: GET {shown_url} failed after {attempt} attempts; last: {cause}"
                        ),
                        **self._context(shown_url, None, attempt),
                    )
                    failure.cause = error
                    raise failure from error
                delay = self.backoff_delay(attempt - 1)
                logger.warning(
                    "GET %s failed (%s), attempt %d/%d; retrying in %.1f s",
                    shown_url,
                    self.redact(cause),
                    attempt,
                    self.max_attempts,
                    delay,
                )
                self._wait(delay, shown_url)
                self.stats.retries += 1
                continue

            announced = response.rate_limit
            if announced is not None:
                self.rate_limit = announced
                self._warn_unusable(announced, response)
            status = response.status
            if status == HTTPStatus.TOO_MANY_REQUESTS:
                self.stats.rate_limited += 1
            if 200 <= status < 300:
                self.pages += 1
                logger.debug("GET %s -> %d, attempt %d/%d", response.url, status, attempt, self.max_attempts)
                return response
            self._raise_if_final(response, attempt)
            delay = self._retry_delay(response, attempt)
            logger.warning(
                "GET %s -> %d, attempt %d/%d; retrying in %.1f s",
                response.url,
                status,
                attempt,
                self.max_attempts,
                delay,
            )
            self._wait(delay, shown_url)
            self.stats.retries += 1
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def post_json(self, path: str, payload: Mapping[str, Any] | None) -> Response:
        """POST ``payload`` as JSON (``None``: no body) to ``path``, once: no retry and no redirect
        (it would re-send the body or the token).

        Returns the response whatever its status (the caller reads it); the
        bounds, the address policy and the redaction apply as for :meth:`get`.
        Raises :class:`HttpError` when no response came; the exception is not
        chained, since the request it holds carries ``payload``.
        """
        url, _ = self._resolve(path, None)
        shown_url = self._shown(url)
        self._check_page_cap(shown_url)
        self.stats.requests += 1
        try:
            response = self._send("POST", url, [], shown_url, 1, payload=payload)
        except _RetryableError as retryable:
            raise HttpError(
                self.redact(
                    f"{self._who()}: POST {shown_url} could not be sent ({type(retryable.error).__name__})"
                ),
                **self._context(shown_url, None, 1),
            ) from None
        self.pages += 1
        return response

    def wait_out(self, response: Response, attempt: int) -> None:
        """Wait as long as ``response`` (a 429 or 503 of attempt ``attempt``) asks, before sending again.

        Raises :class:`WaitTooLongError` past ``max_wait``, :class:`HeaderError` on an unusable
        header, :class:`DeadlineError` past the extraction's deadline, as :meth:`get` does.
        """
        self._wait(self._retry_delay(response, attempt), response.url)
        self.stats.retries += 1

    # -- internals ----------------------------------------------------------------------------------

    def _who(self) -> str:
        return f"{self.platform} account {self.account}"

    def _shown(self, url: str) -> str:
        return self.redact(redact_url(url))

    def _context(self, url: str, response: Response | None, attempts: int) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account": self.account,
            "url": url,
            "response": response,
            "attempts": attempts,
        }

    def _check_page_cap(self, shown_url: str) -> None:
        if self.pages >= self.bounds.max_pages:
            raise PageCapError(
                f"{self._who()}: GET {shown_url} not sent: the extraction reached its page cap "
                f"({self.bounds.max_pages} pages, {BOUND_SETTINGS['max_pages']})",
                **self._context(shown_url, None, 0),
            )

    def _extraction_left(self) -> float:
        """Seconds left before the extraction's deadline (the clock starts at the first request)."""
        now = time.monotonic()
        if self._started is None:
            self._started = now
        return self.bounds.extraction_deadline - (now - self._started) - self._waited

    def _deadline_error(self, method: str, shown_url: str, bound: str, attempt: int) -> DeadlineError:
        seconds = getattr(self.bounds, bound)
        what = "request" if bound == "request_deadline" else "extraction"
        return DeadlineError(
            f"{self._who()}: {method} {shown_url} stopped: the {what} deadline passed "
            f"({seconds:g} s, {BOUND_SETTINGS[bound]})",
            **self._context(shown_url, None, attempt),
        )

    def _send(
        self,
        method: str,
        url: str,
        query: list[tuple[str, str]],
        shown_url: str,
        attempt: int,
        *,
        payload: Mapping[str, Any] | None = None,
    ) -> Response:
        """One attempt: the request, same-origin redirects, the body streamed within the bounds.

        Raises ``_RetryableError`` wrapping a connection error or a timeout; the
        bound, redirect and address errors as themselves.
        """
        extraction_left = self._extraction_left()
        if extraction_left <= 0:
            raise self._deadline_error(method, shown_url, "extraction_deadline", attempt)
        bound = (
            "request_deadline" if self.bounds.request_deadline <= extraction_left else "extraction_deadline"
        )
        deadline = time.monotonic() + min(self.bounds.request_deadline, extraction_left)
        headers = {"Authorization": f"Bearer {self._bearer_token}"} if self._bearer_token else {}
        self._guard.fired = False
        current, current_query = url, query
        try:
            for _ in range(MAX_REDIRECTS + 1):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._deadline_error(method, shown_url, bound, attempt)
                self._guard.deadline = deadline
                try:
                    raw = self._session.request(
                        method,
                        current,
                        params=current_query,
                        headers=headers,
                        json=payload,
                        timeout=(min(self.timeout[0], left), min(self.timeout[1], left)),
                        stream=True,
                        allow_redirects=False,
                    )
                    if raw.status_code in REDIRECT_STATUSES and "Location" in raw.headers:
                        raw.close()
                        current, current_query = self._redirect_target(method, raw, shown_url, attempt)
                        continue
                    body = self._read_body(raw, method, shown_url, attempt)
                except _AddressRefusedError as refused:
                    raise PrivateAddressError(
                        self.redact(
                            f"{self._who()}: {method} {shown_url} refused: {refused.host} is "
                            + ("an IP address" if _is_ip_literal(refused.host) else f"at {refused.address}")
                            + f", not a public address; set {BOUND_SETTINGS['allow_private']}=true "
                            "to allow private instances"
                        ),
                        **self._context(shown_url, None, attempt),
                    ) from None
                except (requests.RequestException, OSError) as error:
                    if self._guard.fired or time.monotonic() >= deadline:
                        raise self._deadline_error(method, shown_url, bound, attempt) from None
                    if isinstance(
                        error,
                        requests.ConnectionError
                        | requests.Timeout
                        | requests.exceptions.ChunkedEncodingError,
                    ):
                        raise _RetryableError(error) from None
                    raise HttpError(
                        self.redact(
                            f"{self._who()}: {method} {shown_url} could not be sent: "
                            + _describe_exception(error)
                        ),
                        **self._context(shown_url, None, attempt),
                    ) from None
                if self._guard.fired or time.monotonic() >= deadline:
                    raise self._deadline_error(method, shown_url, bound, attempt)
                body, redacted = self._redactor.bytes(body)
                return Response(
                    status=raw.status_code,
                    headers=CaseInsensitiveDict(
                        {name: self.redact(value) for name, value in raw.headers.items()}
                    ),
                    body=body,
                    url=self._shown(raw.url),
                    params=_page_params(query),
                    received_at=self._clock(),
                    redacted=redacted,
                )
            raise RedirectError(
                f"{self._who()}: {method} {shown_url} redirected more than {MAX_REDIRECTS} times; "
                "not followed",
                **self._context(shown_url, None, attempt),
            )
        finally:
            self._guard.cancel()
            self._guard.deadline = None

    def _redirect_target(
        self, method: str, raw: requests.Response, shown_url: str, attempt: int
    ) -> tuple[str, list[tuple[str, str]]]:
        """Where a redirect points, when on the origin of ``base_url``; else :class:`RedirectError`."""
        target = urlsplit(urljoin(raw.url, raw.headers["Location"]))
        shown_target = self._shown(urlunsplit(target))
        if method != "GET" or _origin(urlunsplit(target)) != _origin(self.base_url):
            raise RedirectError(
                f"{self._who()}: {method} {shown_url} answered {_describe_status(raw.status_code)} to "
                f"{shown_target}, "
                + (
                    "another origin than " + self.base_url
                    if method == "GET"
                    else "and a request with a body is never redirected"
                )
                + "; not followed",
                **self._context(shown_url, None, attempt),
            )
        logger.debug("%s %s redirected to %s", method, shown_url, shown_target)
        return urlunsplit((target.scheme, target.netloc, target.path, "", "")), parse_qsl(
            target.query, keep_blank_values=True
        )

    def _read_body(self, raw: requests.Response, method: str, shown_url: str, attempt: int) -> bytes:
        """The body, streamed: reading stops past ``max_body_bytes``; the watchdog cuts it at the deadline."""
        cap = self.bounds.max_body_bytes
        try:
            announced = int(raw.headers.get("Content-Length", "0") or 0)
        except ValueError:
            announced = 0
        chunks: list[bytes] = []
        received = 0
        try:
            if announced <= cap:
                for chunk in raw.iter_content(CHUNK_BYTES):
                    received += len(chunk)
                    if received > cap:
                        break
                    chunks.append(chunk)
        finally:
            raw.close()
        if announced > cap or received > cap:
            size = f"{announced} bytes announced" if announced > cap else f"more than {cap} bytes"
            raise BodyTooLargeError(
                f"{self._who()}: {method} {shown_url} answered {_describe_status(raw.status_code)} "
                f"with a body of {size}, over the cap of {cap} bytes ({BOUND_SETTINGS['max_body_bytes']}); "
                "reading stopped there",
                **self._context(shown_url, None, attempt),
            )
        return b"".join(chunks)

    def _resolve(
        self, path: str, params: Mapping[str, ParamValue] | None
    ) -> tuple[str, list[tuple[str, str]]]:
        """Split a path or same-origin URL into (URL without query, query pairs), refusing credentials."""
        if "://" in path:
            target, base = urlsplit(path), urlsplit(self.base_url)
            if (target.scheme, target.netloc.lower()) != (base.scheme, base.netloc.lower()):
                raise HttpError(
                    f"{self._who()}: refusing to GET {self._shown(path)}: it is not on {self.base_url}",
                    platform=self.platform,
                    account=self.account,
                    url=self._shown(path),
                )
            url = urlunsplit((target.scheme, target.netloc, target.path, "", ""))
            query = parse_qsl(target.query, keep_blank_values=True)
        else:
            url = f"{self.base_url}/{path.lstrip('/')}"
            query = []
        for key, value in (params or {}).items():
            query.extend((key, text) for text in _param_texts(value))
        secrets = sorted({key for key, _ in query if _is_secret(key)})
        if secrets:
            raise ValueError(
                f"query parameter(s) {', '.join(secrets)} look like credentials; "
                "pass the token as bearer_token so it travels only in the Authorization header"
            )
        return url, query

    def _warn_unusable(self, announced: RateLimit, response: Response) -> None:
        """Name, once per header, a rate-limit value this client cannot pace by: pacing is best effort."""
        for name, value in announced.unusable:
            if name not in self._warned:
                self._warned.add(name)
                logger.warning(
                    "%s: GET %s: ignoring the unusable %s header %r (not a finite, plausible value)",
                    self._who(),
                    response.url,
                    name,
                    _shorten(value, 40),
                )

    def _pace(self, shown_url: str) -> None:
        """Sleep until the announced reset when the remaining requests are down to ``min_remaining``."""
        announced = self.rate_limit
        if announced is None or announced.remaining is None or announced.reset_at is None:
            return
        if announced.remaining > self.min_remaining:
            return
        wait = announced.reset_at + RESET_MARGIN - self._clock()
        if wait > self.max_wait:
            raise WaitTooLongError(
                f"{self._who()}: GET {shown_url} not sent: the rate limit is spent "
                f"({announced.remaining} of {announced.limit} left) and resets in {wait:.0f} s, "
                f"longer than max_wait ({self.max_wait:.0f} s)",
                **self._context(shown_url, None, 0),
            )
        if wait > 0:
            logger.info(
                "GET %s: %s of %s requests left; waiting %.1f s for the rate-limit reset",
                shown_url,
                announced.remaining,
                announced.limit,
                wait,
            )
            self._wait(wait, shown_url)
        # The window has reset: the next response will tell the new state.
        self.rate_limit = None

    def _raise_if_final(self, response: Response, attempt: int) -> None:
        """Raise the error a non-2xx response ends in, unless it is to be retried."""
        status = response.status
        context = self._context(response.url, response, attempt)
        outcome = f"GET {response.url} answered {_describe_status(status)} ({_describe_cause(response)})"
        if status in NOT_FOUND_STATUSES or (
            400 <= status < 500 and response.error is not None and response.error in self.not_found_errors
        ):
            raise NotFoundError(
                f"{self._who()}: {outcome}: the account or resource is unknown, deleted or suspended",
                **context,
            )
        if status in RETRYABLE_STATUSES:
            if attempt == self.max_attempts:
                raise RetriesExhaustedError(
                    f"{self._who()}: GET {response.url} failed after {attempt} attempts; "
                    f"last: {_describe_status(status)} ({_describe_cause(response)})",
                    **context,
                )
            return
        if 400 <= status < 500:
            raise ClientError(f"{self._who()}: {outcome}; not retried", **context)
        raise UnexpectedStatusError(f"{self._who()}: {outcome}; not retried", **context)

    def _retry_delay(self, response: Response, attempt: int) -> float:
        """Backoff, or longer when the server says how long: Retry-After, else a 429's reset.

        Raises :class:`HeaderError` naming the header when the value that says
        how long to wait is unusable, and :class:`WaitTooLongError` when it is
        longer than ``max_wait``.
        """
        now = self._clock()
        asked: float | None = None
        retry_after = response.headers.get("Retry-After")
        if response.status in RETRY_AFTER_STATUSES and retry_after is not None:
            asked = parse_retry_after(retry_after, now)
            if asked is None:
                raise self._header_error(response, attempt, "Retry-After", retry_after)
        if asked is None and response.status == HTTPStatus.TOO_MANY_REQUESTS:
            # Mastodon's 429 carries no Retry-After, only X-RateLimit-Reset.
            announced = response.rate_limit
            if announced is not None and announced.reset_at is not None:
                asked = max(0.0, announced.reset_at + RESET_MARGIN - now)
            elif announced is not None:
                for name, value in announced.unusable:
                    if name.endswith("Reset"):
                        raise self._header_error(response, attempt, name, value)
        if asked is not None and asked > self.max_wait:
            raise WaitTooLongError(
                f"{self._who()}: GET {response.url} answered {_describe_status(response.status)} "
                f"and asks to wait {asked:.0f} s, longer than max_wait ({self.max_wait:.0f} s); giving up",
                **self._context(response.url, response, attempt),
            )
        return max(self.backoff_delay(attempt - 1), asked or 0.0)

    def _header_error(self, response: Response, attempt: int, name: str, value: str) -> HeaderError:
        return HeaderError(
            f"{self._who()}: GET {response.url} answered {_describe_status(response.status)} with a {name} "
            f"header Rapport cannot use ({_shorten(value, 40)!r}: not a number or date, not finite, negative "
            f"or more than {MAX_PLAUSIBLE_WAIT / 86400:.0f} days away); giving up",
            **self._context(response.url, response, attempt),
        )

    def _wait(self, seconds: float, shown_url: str) -> None:
        if seconds > self._extraction_left():
            raise self._deadline_error("GET", shown_url, "extraction_deadline", 0)
        self._waited += seconds
        self.stats.slept_seconds += seconds
        self._sleep(seconds)


class _RetryableError(Exception):
    """A connection error or timeout of one attempt, to be retried by :meth:`HttpClient.get`."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port (the default port made explicit) of a URL."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port if port is not None else default


# -- helpers ----------------------------------------------------------------------------------------


def _is_secret(key: str) -> bool:
    return key.lower().removesuffix("[]") in SECRET_PARAMS


def _param_texts(value: ParamValue) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, str | int | float):
        return [str(value)]
    return [text for item in value for text in _param_texts(item)]


def _page_params(query: Sequence[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in query:
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


_LINK_PARAM = re.compile(r"""\s*;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*))?""")


def _split_link_values(header: str) -> list[tuple[str, dict[str, str]]]:
    """Split a Link header into (target, {parameter: value}) pairs; quoted values may hold commas."""
    values: list[tuple[str, dict[str, str]]] = []
    position = 0
    while (start := header.find("<", position)) != -1:
        end = header.find(">", start)
        if end == -1:
            break
        attributes: dict[str, str] = {}
        position = end + 1
        while (match := _LINK_PARAM.match(header, position)) is not None:
            value = match.group(2) or ""
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            attributes.setdefault(match.group(1).lower(), value)
            position = match.end()
        values.append((header[start + 1 : end].strip(), attributes))
    return values


def _parse_count(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(number) or not 0 <= number <= MAX_PLAUSIBLE_COUNT:
        return None
    return int(number)


def _parse_http_date(text: str) -> datetime | None:
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _json_error_fields(body: bytes) -> tuple[str | None, str | None]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(payload, dict):
        return None, None
    error = payload.get("error")
    message = payload.get("message", payload.get("error_description"))
    return (
        _shorten(error) if isinstance(error, str) else None,
        _shorten(message) if isinstance(message, str) else None,
    )


def _describe_status(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _describe_cause(response: Response) -> str:
    parts = [part for part in (response.error, response.error_message) if part]
    if parts:
        return ": ".join(parts)
    return f"{len(response.body)}-byte body" if response.body else "empty body"


def _describe_exception(error: BaseException) -> str:
    return _shorten(f"{type(error).__name__}: {error}", 300)


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
