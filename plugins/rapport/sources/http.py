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
- Counts what it cost in :class:`HttpStats`.
- Raises :class:`HttpError` subclasses (all :class:`~rapport.sources.SourceError`)
  whose message names the platform, the account, the URL, the status and the
  cause, and which keep the failed response (``.body``) so it can be landed.

The bearer token travels only in the ``Authorization`` header: it is never
logged, never part of a URL, an error message or ``Page.params``. Query
parameters that look like credentials (``access_token`` and the like) are
refused, and stripped from any URL a server sends back before it is shown.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from importlib import metadata
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.util.retry import Retry

from rapport.sources import Page, SourceError

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
    """The rate-limit state a response announced; ``reset_at`` in epoch seconds."""

    limit: int | None
    remaining: int | None
    reset_at: float | None
    policy: str | None = None


def parse_rate_limit(headers: Mapping[str, str], now: float) -> RateLimit | None:
    """Read the rate-limit headers of a response received at ``now`` (epoch seconds).

    Understands Mastodon's ``X-RateLimit-Limit/Remaining/Reset`` (reset as an
    ISO 8601 timestamp) and the ``RateLimit-Limit/Remaining/Reset/Policy`` of
    Bluesky's XRPC services (reset as epoch seconds; delta seconds, as in the
    IETF draft, are accepted too). Returns ``None`` when neither family is present.
    Unreadable values become ``None`` rather than errors: pacing is best effort.
    """
    insensitive = CaseInsensitiveDict(headers)
    for prefix in ("X-RateLimit-", "RateLimit-"):
        remaining = insensitive.get(prefix + "Remaining")
        reset = insensitive.get(prefix + "Reset")
        if remaining is None and reset is None:
            continue
        return RateLimit(
            limit=_parse_int(insensitive.get(prefix + "Limit")),
            remaining=_parse_int(remaining),
            reset_at=parse_reset(reset, now) if reset is not None else None,
            policy=insensitive.get(prefix + "Policy"),
        )
    return None


def parse_reset(value: str, now: float) -> float | None:
    """Turn a rate-limit reset header into epoch seconds; ``None`` if unreadable.

    Accepts an ISO 8601 timestamp (Mastodon, e.g. ``2026-11-23T10:05:00.000000Z``),
    epoch seconds (Bluesky), delta seconds (small numbers) and an HTTP date.
    """
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if number < 0:
            return None
        return number if number >= EPOCH_THRESHOLD else now + number
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = _parse_http_date(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Return how many seconds a ``Retry-After`` value asks to wait, from ``now``.

    The value is delay seconds or an HTTP date (RFC 9110 §10.2.3); a date in the
    past means 0. Returns ``None`` when the header is absent or unreadable.
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
        return max(0.0, moment.timestamp() - now)
    return seconds if seconds >= 0 else None


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
        return Page(endpoint=endpoint, body=self.body, status=self.status, params=dict(self.params))


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


@dataclass
class HttpStats:
    """What an extraction cost: attempts sent, retries, 429s received and seconds slept."""

    requests: int = 0
    """Attempts sent, including those that failed to connect or timed out."""
    retries: int = 0
    rate_limited: int = 0
    """429 responses received."""
    slept_seconds: float = 0.0
    """Backoff, Retry-After and pacing sleeps together."""


# -- the client -------------------------------------------------------------------------------------


class HttpClient:
    """GETs from one platform for one account, with retries, pacing and clear errors.

    Arguments:
        base_url: scheme and host, optionally a path prefix (``https://public.api.bsky.app``).
        platform, account: named in every error message and log line.
        bearer_token: sent as ``Authorization: Bearer ...``; never logged or shown.
        connect_timeout, read_timeout: seconds, per attempt.
        max_attempts: attempts per :meth:`get`, the first included.
        backoff_base, backoff_cap: the n-th retry waits ``uniform(0, min(cap, base * 2**n))`` s
            (full jitter), or longer when the server asks.
        max_wait: the longest single wait the server may ask for; beyond it, :class:`WaitTooLongError`.
        min_remaining: pace (sleep until the reset) once the announced remaining requests fall to this.
        not_found_errors: names of the ``error`` field of a JSON error body that mean the account
            is gone whatever the status, e.g. Bluesky's ``AccountTakedown`` (a 400).
        headers: extra request headers (not logged).
        sleep, clock, rng: injectable for tests (default ``time.sleep``, ``time.time``, ``random.Random()``).
        session: a ``requests.Session`` to use instead of a new one.
    """

    def __init__(
        self,
        base_url: str,
        *,
        platform: str,
        account: str,
        bearer_token: str | None = None,
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
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_wait = max_wait
        self.min_remaining = min_remaining
        self.not_found_errors = frozenset(not_found_errors)
        self.stats = HttpStats()
        self.rate_limit: RateLimit | None = None
        """The last rate-limit state a response announced."""
        self._bearer_token = bearer_token
        self._sleep = sleep
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._session = session if session is not None else requests.Session()
        # Retries are ours (Retry-After, counters, injectable sleep): urllib3 must not add its own.
        adapter = HTTPAdapter(max_retries=Retry(total=0, read=False, redirect=False))
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
        self._session.close()

    def backoff_delay(self, retry: int) -> float:
        """Return the wait before retry number ``retry`` (0 for the first): full jitter, capped."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** min(retry, 64))
        return self._rng.uniform(0.0, ceiling)

    def get(self, path: str, params: Mapping[str, ParamValue] | None = None) -> Response:
        """GET ``path`` (relative to ``base_url``, or an absolute URL on the same origin).

        Returns the first 2xx :class:`Response`. Raises :class:`NotFoundError`
        (404, 410, or a ``not_found_errors`` name), :class:`ClientError` (other
        4xx), :class:`RetriesExhaustedError`, :class:`WaitTooLongError`,
        :class:`UnexpectedStatusError`, or :class:`HttpError` for a request that
        cannot be sent (another origin, too many redirects). Raises
        ``ValueError`` when ``params`` or the URL carry a credential: the
        token belongs in ``bearer_token``.
        """
        url, query = self._resolve(path, params)
        shown_url = redact_url(f"{url}?{urlencode(query)}" if query else url)
        page_params = _page_params(query)
        request_headers = {"Authorization": f"Bearer {self._bearer_token}"} if self._bearer_token else {}
        for attempt in range(1, self.max_attempts + 1):
            self._pace(shown_url)
            self.stats.requests += 1
            try:
                raw = self._session.get(url, params=query, headers=request_headers, timeout=self.timeout)
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as error:
                cause = _describe_exception(error)
                if attempt == self.max_attempts:
                    failure = RetriesExhaustedError(
                        f"{self._who()}: GET {shown_url} failed after {attempt} attempts; last: {cause}",
                        **self._context(shown_url, None, attempt),
                    )
                    failure.cause = error
                    raise failure from error
                delay = self.backoff_delay(attempt - 1)
                logger.warning(
                    "GET %s failed (%s), attempt %d/%d; retrying in %.1f s",
                    shown_url,
                    cause,
                    attempt,
                    self.max_attempts,
                    delay,
                )
                self._wait(delay)
                self.stats.retries += 1
                continue
            except requests.RequestException as error:
                raise HttpError(
                    f"{self._who()}: GET {shown_url} could not be sent: {_describe_exception(error)}",
                    **self._context(shown_url, None, attempt),
                ) from error

            response = Response(
                status=raw.status_code,
                headers=CaseInsensitiveDict(raw.headers),
                body=raw.content,
                url=redact_url(raw.url),
                params=page_params,
                received_at=self._clock(),
            )
            announced = response.rate_limit
            if announced is not None:
                self.rate_limit = announced
            status = response.status
            if status == HTTPStatus.TOO_MANY_REQUESTS:
                self.stats.rate_limited += 1
            if 200 <= status < 300:
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
            self._wait(delay)
            self.stats.retries += 1
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    # -- internals ----------------------------------------------------------------------------------

    def _who(self) -> str:
        return f"{self.platform} account {self.account}"

    def _context(self, url: str, response: Response | None, attempts: int) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account": self.account,
            "url": url,
            "response": response,
            "attempts": attempts,
        }

    def _resolve(
        self, path: str, params: Mapping[str, ParamValue] | None
    ) -> tuple[str, list[tuple[str, str]]]:
        """Split a path or same-origin URL into (URL without query, query pairs), refusing credentials."""
        if "://" in path:
            target, base = urlsplit(path), urlsplit(self.base_url)
            if (target.scheme, target.netloc.lower()) != (base.scheme, base.netloc.lower()):
                raise HttpError(
                    f"{self._who()}: refusing to GET {redact_url(path)}: it is not on {self.base_url}",
                    platform=self.platform,
                    account=self.account,
                    url=redact_url(path),
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
            self._wait(wait)
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
        """Backoff, or longer when the server says how long: Retry-After, else a 429's reset."""
        now = self._clock()
        asked: float | None = None
        if response.status in RETRY_AFTER_STATUSES:
            asked = parse_retry_after(response.headers.get("Retry-After"), now)
        if asked is None and response.status == HTTPStatus.TOO_MANY_REQUESTS:
            # Mastodon's 429 carries no Retry-After, only X-RateLimit-Reset.
            announced = response.rate_limit
            if announced is not None and announced.reset_at is not None:
                asked = max(0.0, announced.reset_at + RESET_MARGIN - now)
        if asked is not None and asked > self.max_wait:
            raise WaitTooLongError(
                f"{self._who()}: GET {response.url} answered {_describe_status(response.status)} "
                f"and asks to wait {asked:.0f} s, longer than max_wait ({self.max_wait:.0f} s); giving up",
                **self._context(response.url, response, attempt),
            )
        return max(self.backoff_delay(attempt - 1), asked or 0.0)

    def _wait(self, seconds: float) -> None:
        self.stats.slept_seconds += seconds
        self._sleep(seconds)


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


def _parse_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def _parse_http_date(text: str) -> datetime | None:
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
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
