"""One channel's extraction: the calls in order, the paging, the thread plan and the quota's stops.

:func:`pages_of` is what :func:`rapport.sources.youtube.extract_with_stats` iterates; it lives here so
that importing the platform's ``__init__`` stays light.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Generator, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from rapport import zones
from rapport.settings import get_settings
from rapport.sources import NormalizationError, Page, SourceError, Window
from rapport.sources.credentials import get_credential
from rapport.sources.http import HttpError, NotFoundError, Response, StalledCursorError
from rapport.sources.payloads import JsonNode, parse_json, to_naive_utc
from rapport.sources.youtube.client import (
    BudgetSpentError,
    ExtractionStats,
    QuotaExceededError,
    YouTubeClient,
)
from rapport.sources.youtube.quota import QuotaLedger
from rapport.sources.youtube.readers import (
    Channel,
    google_error,
    next_page_token,
    read_channel,
    read_threads,
    read_uploads,
    read_videos,
)
from rapport.sources.youtube.settings import (
    API_KEY_VARIABLE,
    BASE_URL_VARIABLE,
    CHANNEL_PARTS,
    CHANNELS_ENDPOINT,
    COMMENT_PARTS,
    COMMENT_THREADS_ENDPOINT,
    COMMENTS_DISABLED,
    COMMENTS_ENDPOINT,
    COMMENTS_PAGE_SIZE,
    CONNECTION_ID,
    DEFAULT_BASE_URL,
    NAME,
    PLAYLIST_ITEMS_ENDPOINT,
    PLAYLIST_NOT_FOUND,
    PLAYLIST_PAGE_SIZE,
    PLAYLIST_PARTS,
    QUOTA_DAYS_KEPT,
    QUOTA_STATE_NAME,
    TEXT_FORMAT,
    THREAD_PARTS,
    THREADS_PAGE_SIZE,
    VIDEO_PARTS,
    VIDEOS_BATCH,
    VIDEOS_ENDPOINT,
    read_daily_units,
    read_thread_budget,
)
from rapport.thread_ledger import ListedThread, ThreadLedger, plan_thread_reads
from rapport.thread_ledger import thread_budget as resolve_thread_budget

if TYPE_CHECKING:
    from rapport.accounts import Account

logger = logging.getLogger("rapport.sources.youtube")

T = TypeVar("T")


class _QuotaStopError(Exception):
    """The quota stops the extraction here: what was read is kept, the rest waits for the next night."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def read_api_key(account_id: str) -> str:
    """The API key: ``RAPPORT_YOUTUBE_API_KEY``, else the password of the Airflow Connection
    ``rapport_youtube``. Raises ``SourceError`` naming both (never a value) when neither is set."""
    key = (get_credential(API_KEY_VARIABLE, CONNECTION_ID) or "").strip()
    if not key:
        raise SourceError(
            f"{account_id}: YouTube needs an API key: set {API_KEY_VARIABLE} or the password of the "
            f"Airflow Connection {CONNECTION_ID}"
        )
    return key


def quota_ledger(window: Window) -> QuotaLedger:
    """The night's units ledger, keyed by the run date (the date of ``window.until``, UTC)."""
    path = zones.platform_state_file(get_settings().data_dir, NAME, QUOTA_STATE_NAME)
    run_date = to_naive_utc(window.until).date()
    return QuotaLedger(path, run_date, read_daily_units(), days_kept=QUOTA_DAYS_KEPT)


def pages_of(
    account: Account,
    window: Window,
    ledger: ThreadLedger,
    stats: ExtractionStats,
    thread_budget: int | None,
    options: dict[str, Any],
) -> Iterator[Page]:
    """The pages of one channel's extraction (see :func:`rapport.sources.youtube.extract_with_stats`)."""
    since, until = to_naive_utc(window.since), to_naive_utc(window.until)
    budget = resolve_thread_budget(thread_budget, read_thread_budget)
    api_key = read_api_key(account.account_id)
    base_url = os.environ.get(BASE_URL_VARIABLE) or DEFAULT_BASE_URL
    try:
        client = YouTubeClient(
            base_url,
            api_key=api_key,
            account=account.account_id,
            quota=quota_ledger(window),
            stats=stats,
            **options,
        )
    except ValueError as error:
        raise SourceError(f"{account.account_id}: cannot read from {BASE_URL_VARIABLE}: {error}") from None
    with client:
        # The channel and the first page of its uploads: without them there is nothing to land.
        by = {"forHandle": account.handle} if account.handle.startswith("@") else {"id": account.handle}
        response = yield from _fetch(
            client, CHANNELS_ENDPOINT, {"part": CHANNEL_PARTS, **by, "maxResults": 1}
        )
        channel = _read(client, response, read_channel)
        if channel is None:
            raise NotFoundError(
                f"{NAME} channel {account.account_id}: GET {response.url} found no channel: "
                "the handle or channel id is unknown",
                platform=NAME,
                account=account.account_id,
                url=response.url,
                response=response,
                attempts=1,
            )
        try:
            yield from _read_channel(client, channel, since, until, ledger, stats, budget)
        except _QuotaStopError as stop:
            stats.stopped = stop.why
            logger.warning("%s: stopped before the end: %s", account.account_id, stop.why)
        logger.info(
            "%s: %d requests, %d units (%d uploads pages, %d videos batches, %d videos' threads read, "
            "%d left for the nights to come, %d with comments off, %d deleted or private), %d retries",
            account.account_id,
            stats.requests,
            stats.units,
            stats.playlist_pages,
            stats.videos_batches,
            len(stats.threads.read),
            _left(stats),
            stats.comments_disabled,
            stats.videos_unavailable + stats.videos_missing,
            stats.retries,
        )


def _left(stats: ExtractionStats) -> int:
    plan = stats.threads.plan
    if plan is None:
        return 0
    return plan.changed + plan.backlog - len(stats.threads.read)


def _read_channel(
    client: YouTubeClient,
    channel: Channel,
    since: datetime,
    until: datetime,
    ledger: ThreadLedger,
    stats: ExtractionStats,
    budget: int,
) -> Generator[Page, None, None]:
    # The uploads, newest first, down to the first one older than the window.
    listed: list[tuple[str, datetime]] = []
    token: str | None = None
    seen: set[str] = set()
    while True:
        params: dict[str, Any] = {
            "part": PLAYLIST_PARTS,
            "playlistId": channel.uploads,
            "maxResults": PLAYLIST_PAGE_SIZE,
        }
        if token:
            params["pageToken"] = token
        try:
            response = yield from _fetch(
                client, PLAYLIST_ITEMS_ENDPOINT, params, essential=stats.playlist_pages == 0
            )
        except NotFoundError as error:
            # A channel that never uploaded has no uploads playlist yet: Google answers 404
            # playlistNotFound for it. No video, not a failure; its error page is landed.
            if token is not None or google_error(error.body)[0] != PLAYLIST_NOT_FOUND:
                raise
            logger.info("%s: the channel has no uploads playlist (no video yet)", client.account)
            break
        stats.playlist_pages += 1
        page = _read(client, response, read_uploads)
        listed += [(upload.video_id, upload.published_at) for upload in page]
        token = _read(client, response, next_page_token)
        if not page or token is None or min(upload.published_at for upload in page) < since:
            break
        if token in seen:
            raise _stalled(client, response, token)
        seen.add(token)

    # The window's videos (and older ones the ledger knows, listed on the page that crosses since).
    wanted = list(
        dict.fromkeys(
            video_id
            for video_id, published in listed
            if published < until and (since <= published or video_id in ledger.posts)
        )
    )
    stats.videos_listed = len(wanted)
    threads: list[ListedThread] = []
    for start in range(0, len(wanted), VIDEOS_BATCH):
        batch = wanted[start : start + VIDEOS_BATCH]
        response = yield from _fetch(
            client, VIDEOS_ENDPOINT, {"part": VIDEO_PARTS, "id": ",".join(batch), "maxResults": VIDEOS_BATCH}
        )
        stats.videos_batches += 1
        videos = _read(client, response, read_videos)
        stats.videos_unavailable += len(set(batch) - {video.video_id for video in videos})
        threads += [
            ListedThread(video.video_id, video.published_at, video.comment_count)
            for video in videos
            if video.comment_count and video.published_at < until
        ]

    stats.threads.listed += threads
    stats.threads.plan = plan_thread_reads(threads, ledger, budget)
    for video_id in stats.threads.threads_to_read():
        done = yield from _read_video_threads(client, video_id, stats)
        stats.threads.add_read(video_id, [video_id] if done else None)


def _read_video_threads(
    client: YouTubeClient, video_id: str, stats: ExtractionStats
) -> Generator[Page, None, bool]:
    """Every comment thread of one video, with the replies ``commentThreads`` did not show.
    Returns False when the video had nothing to read: comments off, or deleted meanwhile."""
    token: str | None = None
    seen: set[str] = set()
    while True:
        params: dict[str, Any] = {
            "part": THREAD_PARTS,
            "videoId": video_id,
            "maxResults": THREADS_PAGE_SIZE,
            "textFormat": TEXT_FORMAT,
        }
        if token:
            params["pageToken"] = token
        try:
            response = yield from _fetch(client, COMMENT_THREADS_ENDPOINT, params)
        except HttpError as error:
            reason, _ = google_error(error.body)
            if reason == COMMENTS_DISABLED:
                stats.comments_disabled += 1
                logger.info("%s: comments are off on video %s", client.account, video_id)
                return False
            if isinstance(error, NotFoundError):
                stats.videos_missing += 1
                logger.info("%s: video %s was deleted before its threads were read", client.account, video_id)
                return False
            raise
        stats.thread_pages += 1
        for thread in _read(client, response, read_threads):
            if thread.total_replies > thread.replies_shown:
                yield from _read_replies(client, thread.comment_id, stats)
        token = _read(client, response, next_page_token)
        if token is None:
            return True
        if token in seen:
            raise _stalled(client, response, token)
        seen.add(token)


def _read_replies(
    client: YouTubeClient, parent_id: str, stats: ExtractionStats
) -> Generator[Page, None, None]:
    token: str | None = None
    seen: set[str] = set()
    while True:
        params: dict[str, Any] = {
            "part": COMMENT_PARTS,
            "parentId": parent_id,
            "maxResults": COMMENTS_PAGE_SIZE,
            "textFormat": TEXT_FORMAT,
        }
        if token:
            params["pageToken"] = token
        response = yield from _fetch(client, COMMENTS_ENDPOINT, params)
        stats.comment_pages += 1
        token = _read(client, response, next_page_token)
        if token is None:
            return
        if token in seen:
            raise _stalled(client, response, token)
        seen.add(token)


def _stalled(client: YouTubeClient, response: Response, token: str) -> StalledCursorError:
    return StalledCursorError(
        client.redact(
            f"{NAME} channel {client.account}: GET {response.url} answered a nextPageToken it had "
            f"already given ({token[:40]!r}): the pages would never end; stopped"
        ),
        platform=NAME,
        account=client.account,
        url=response.url,
        attempts=1,
    )


def _fetch(
    client: YouTubeClient, endpoint: str, params: dict[str, Any], *, essential: bool = False
) -> Generator[Page, None, Response]:
    """Make one call and yield its page; a failed response's page is yielded before the error.

    The quota (the night's budget, or Google's quotaExceeded) stops a call that is not
    ``essential`` with :class:`_QuotaStopError`: the extraction ends there, cleanly. The channel and the
    first uploads page are essential: without them the account fails, naming the quota and date.
    """
    essential = essential or endpoint == CHANNELS_ENDPOINT
    try:
        response = client.list(endpoint, params)
    except BudgetSpentError as error:
        if essential:
            raise
        raise _QuotaStopError(str(error)) from None
    except HttpError as error:
        if error.response is not None:
            yield error.page(endpoint)
        if isinstance(error, QuotaExceededError) and not essential:
            raise _QuotaStopError(str(error)) from None
        raise
    yield response.page(endpoint)
    return response


def _read(client: YouTubeClient, response: Response, read: Callable[[JsonNode], T]) -> T:
    """Read what extraction needs from a body; an unreadable one raises ``MalformedResponseError``."""
    try:
        return read(parse_json(response.body, "body"))
    except NormalizationError as error:
        raise client.malformed(response, str(error)) from error
