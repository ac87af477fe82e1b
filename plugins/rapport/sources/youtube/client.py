"""The YouTube Data API v3 calls of one channel's extraction, on the shared HTTP client.

Five read-only list methods, 1 quota unit a call: ``channels``, ``playlistItems``,
``videos``, ``commentThreads`` and ``comments``. The API key travels only in the
``X-goog-api-key`` header (never in a URL, a landed page, a log line or an
error; it is also redacted from whatever the server sends back). Every call
first reserves its unit in the night's :class:`~rapport.sources.youtube.quota.QuotaLedger`;
retries, backoff, ``Retry-After`` on 429/503, the counters, the bounds and the
refusal of private addresses are the shared client's. This module adds
Google's ways of saying no, read from ``error.errors[].reason``:

- ``quotaExceeded`` (403): the run date is marked spent for every task; :class:`QuotaExceededError`;
- ``rateLimitExceeded`` / ``userRateLimitExceeded`` (403): waited out, with backoff, up to
  :data:`~rapport.sources.youtube.settings.RATE_LIMIT_ATTEMPTS` attempts;
- ``keyInvalid`` and the other key refusals (400/403): :class:`ApiKeyError`, naming the setting;
- the others (``commentsDisabled``, ``videoNotFound``...) raise the shared client's error with
  the reason in its message: the extraction decides what they mean.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from rapport.sources import DeferredError
from rapport.sources.http import ClientError, HttpClient, HttpError, HttpStats, ParamValue, Response
from rapport.sources.youtube.quota import QuotaLedger
from rapport.sources.youtube.readers import google_error, is_key_refused
from rapport.sources.youtube.settings import (
    API_KEY_HEADER,
    API_KEY_VARIABLE,
    CONNECTION_ID,
    DAILY_UNITS_VARIABLE,
    NAME,
    QUOTA_EXCEEDED,
    RATE_LIMIT_ATTEMPTS,
    RATE_LIMIT_REASONS,
    UNIT_COST,
)
from rapport.thread_ledger import ThreadReport


@dataclass
class ExtractionStats(HttpStats):
    """What one extraction cost and did, filled in as its pages are consumed.

    Inherited: ``requests`` (attempts sent), ``retries``, ``rate_limited`` (429s and 403
    ``rateLimitExceeded``), ``slept_seconds``. Added: ``units``, the quota units spent (every
    attempt costs its unit, a refused one too).
    """

    units: int = 0
    playlist_pages: int = 0
    videos_batches: int = 0
    thread_pages: int = 0
    comment_pages: int = 0
    videos_listed: int = 0
    videos_unavailable: int = 0
    """Listed in the uploads playlist but absent from ``videos.list``: deleted or private."""
    comments_disabled: int = 0
    """Videos whose threads answered 403 ``commentsDisabled``: a coverage fact, not an error."""
    videos_missing: int = 0
    """Videos whose threads answered 404 ``videoNotFound``: deleted between the listing and the call."""
    stopped: str | None = None
    """Why the extraction stopped before reading everything it planned (the quota), if it did."""
    threads: ThreadReport = field(default_factory=ThreadReport)

    def counters(self) -> dict[str, Any]:
        """The shared counters and the quota units, for the landing manifest and ``rapport fetch``."""
        return {**super().counters(), "units": self.units}


class MalformedResponseError(HttpError):
    """A 2xx whose body is not what the API documents (not JSON, a field missing)."""


class ApiKeyError(ClientError):
    """Google refused the API key (``keyInvalid``, ``keyExpired``...): the setting is at fault."""


class QuotaExceededError(ClientError, DeferredError):
    """Google answered 403 ``quotaExceeded``: the project's units of the day are spent. The channel
    is deferred to the next night (landed ``deferred``; the run does not fail for it)."""


class BudgetSpentError(DeferredError):
    """The night's unit budget (``RAPPORT_YOUTUBE_DAILY_UNITS``) has no room for the next call:
    it was not sent. The channel is deferred to the next night."""


class YouTubeClient:
    """The list calls of one channel's extraction.

    Arguments:
        base_url: ``https://www.googleapis.com/youtube/v3``, or ``RAPPORT_YOUTUBE_BASE_URL``.
        api_key: sent in the ``X-goog-api-key`` header only.
        account: Rapport's account key, named in every error and log line.
        quota: the night's units ledger; each call reserves its units there first.
        stats: the extraction's counters.
        http_options: passed to :class:`~rapport.sources.http.HttpClient` (``sleep``, ``clock``,
            ``max_attempts``, ``backoff_base``, ``bounds``...).
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str,
        account: str,
        quota: QuotaLedger,
        stats: ExtractionStats,
        **http_options: Any,
    ) -> None:
        self.account = account
        self.quota = quota
        self.stats = stats
        self._sleep: Callable[[float], None] = http_options.get("sleep", time.sleep)
        self._http = HttpClient(
            base_url,
            platform=NAME,
            account=account,
            secrets=[api_key],
            headers={API_KEY_HEADER: api_key},
            **http_options,
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
        return self._http.redact(text)

    def list(self, endpoint: str, params: Mapping[str, ParamValue]) -> Response:
        """``GET /<endpoint>`` (a list method) with ``params``, its units reserved first.

        Raises :class:`BudgetSpentError` (nothing sent) when the night's budget has no room,
        :class:`QuotaExceededError` and :class:`ApiKeyError` as the module docstring says, and
        the shared client's errors, their message naming Google's reason.
        """
        cost = UNIT_COST[endpoint]
        for attempt in range(1, RATE_LIMIT_ATTEMPTS + 1):
            self._reserve(endpoint, cost)
            sent = self.stats.requests
            try:
                response = self._http.get(f"/{endpoint}", params)
            except HttpError as error:
                self._charge_retries(sent, cost)
                reason, _ = google_error(error.body)
                if reason in RATE_LIMIT_REASONS and attempt < RATE_LIMIT_ATTEMPTS:
                    self._wait_out(attempt)
                    continue
                raise self._explained(error, endpoint) from None
            self._charge_retries(sent, cost)
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    def malformed(self, response: Response, cause: str) -> MalformedResponseError:
        """The error for a 2xx response whose body cannot be read, naming account, URL and cause."""
        return MalformedResponseError(
            f"{NAME} channel {self.account}: GET {response.url} answered {response.status} "
            f"with a body that cannot be read: {cause}",
            platform=NAME,
            account=self.account,
            url=response.url,
            response=response,
            attempts=1,
        )

    # -- internals ----------------------------------------------------------------------------------

    def _reserve(self, endpoint: str, cost: int) -> None:
        if self.quota.reserve(cost):
            self.stats.units += cost
            return
        spent, exhausted = self.quota.state()
        why = (
            "Google answered quotaExceeded earlier that night"
            if exhausted
            else f"{spent} of its {self.quota.budget} units are spent ({DAILY_UNITS_VARIABLE})"
        )
        raise BudgetSpentError(
            f"{NAME} channel {self.account}: the YouTube quota of run date {self.quota.run_date} "
            f"is spent: {why}; {endpoint}.list not called"
        )

    def _charge_retries(self, sent: int, cost: int) -> None:
        """Google counts every attempt: those the shared client retried (429, 5xx) cost units too."""
        extra = (self.stats.requests - sent - 1) * cost
        if extra > 0:
            self.quota.charge(extra)
            self.stats.units += extra

    def _wait_out(self, attempt: int) -> None:
        delay = max(1.0, self._http.backoff_delay(attempt))
        self.stats.rate_limited += 1
        self.stats.retries += 1
        self.stats.slept_seconds += delay
        self._sleep(delay)

    def _explained(self, error: HttpError, endpoint: str) -> HttpError:
        """The error again, its message naming Google's reason and message (never the key).

        Without a reason (none, or not a string), Google's message alone; without a message
        either, the shared client's error as it is."""
        reason, message = google_error(error.body)
        if message is None:
            return error
        status = f"HTTP {error.status}" if error.status is not None else "no answer"
        said = f"{reason}: {message}" if reason is not None else f"no reason given: {message}"
        context: dict[str, Any] = {
            "platform": NAME,
            "account": self.account,
            "url": error.url,
            "response": error.response,
            "attempts": error.attempts,
        }
        if is_key_refused(error.body):
            return ApiKeyError(
                f"{NAME} channel {self.account}: GET {error.url}: Google refused the API key "
                f"({status} {said}); check {API_KEY_VARIABLE} or the password of the Airflow "
                f"Connection {CONNECTION_ID}",
                **context,
            )
        if reason == QUOTA_EXCEEDED:
            self.quota.mark_spent()
            return QuotaExceededError(
                f"{NAME} channel {self.account}: GET {error.url}: Google answered {status} "
                f"quotaExceeded to {endpoint}.list: the project's units of the day are spent; YouTube "
                f"is stopped for run date {self.quota.run_date}, every task (Google's day ends at "
                "midnight, Pacific time)",
                **context,
            )
        explained = type(error)(
            self.redact(f"{NAME} channel {self.account}: GET {error.url} answered {status} ({said})"),
            **context,
        )
        return explained
