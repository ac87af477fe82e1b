"""The extraction loop of the Bluesky source: the calls one account costs, in order.

:func:`extract_pages` is what :func:`rapport.sources.bluesky.extract_with_stats`
iterates; it imports the HTTP client, the shared session (and requests),
which the package's ``__init__`` leaves until an extraction runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from rapport.sources import NormalizationError, Page, SourceError, Window
from rapport.sources.bluesky.client import BlueskyClient, Connection, HttpOptions, Session, read_connection
from rapport.sources.bluesky.readers import FeedEntry, read_covered_posts, read_feed_page
from rapport.sources.bluesky.session import SharedSession, session_state_file
from rapport.sources.bluesky.settings import (
    ACCOUNT_STATE_ERRORS,
    AUTHOR_FEED_ENDPOINT,
    BASE_URL_VARIABLE,
    DELETED_POST_ERROR,
    NAME,
    NOT_FOUND_ERRORS,
    PDS_URL_VARIABLE,
    POST_THREAD_ENDPOINT,
    PROFILE_ENDPOINT,
    RESOLVE_HANDLE_ENDPOINT,
)
from rapport.sources.http import (
    ClientError,
    HttpClient,
    HttpError,
    NotFoundError,
    Response,
    StalledCursorError,
)
from rapport.sources.payloads import JsonNode, parse_json, to_naive_utc
from rapport.thread_ledger import ListedThread, ThreadLedger, plan_thread_reads

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.sources.bluesky import ExtractionStats

logger = logging.getLogger("rapport.sources.bluesky")

_Read = TypeVar("_Read")


def extract_pages(
    account: Account,
    window: Window,
    stats: ExtractionStats,
    thread_budget: int | None,
    ledger: ThreadLedger,
    options: HttpOptions,
) -> Iterator[Page]:
    """The pages of :func:`~rapport.sources.bluesky.extract_with_stats`, counted into ``stats``."""
    if account.platform != NAME:
        raise SourceError(f"{account.account_id}: not a {NAME} account, the {NAME} source cannot fetch it")
    connection = read_connection(account.account_id, thread_budget)
    since, until = to_naive_utc(window.since), to_naive_utc(window.until)
    shared: SharedSession | None = None
    session: Session | None = None
    if connection.credentials is not None:
        shared = SharedSession(
            session_state_file(),
            connection.pds_url,
            connection.credentials,
            account_id=account.account_id,
            stats=stats,
            timeout=(options.get("connect_timeout", 5.0), options.get("read_timeout", 30.0)),
            bounds=options.get("bounds"),
        )
        try:
            session = shared.current()
        except ValueError as error:
            raise SourceError(
                f"{account.account_id}: cannot sign in on {PDS_URL_VARIABLE}: {error}"
            ) from None
    base_url = connection.pds_url if session is not None else connection.base_url
    try:
        http = HttpClient(
            base_url,
            platform=NAME,
            account=account.account_id,
            bearer_token=session.access_jwt if session is not None else None,
            secrets=_secrets(connection, session),
            not_found_errors=NOT_FOUND_ERRORS,
            **options,
        )
    except ValueError as error:
        variable = PDS_URL_VARIABLE if session is not None else BASE_URL_VARIABLE
        raise SourceError(f"{account.account_id}: cannot read from {variable}: {error}") from None
    with http:
        http.stats = stats
        client = BlueskyClient(http, renew=shared.renew if shared is not None else None)
        handle = account.handle.lstrip("@")
        resolved = yield from _fetch_unless_gone(
            RESOLVE_HANDLE_ENDPOINT, partial(client.resolve_handle, handle), account
        )
        if resolved is None:
            return
        did = _read_response(resolved, account, partial(JsonNode.get_str, key="did"))
        if (
            yield from _fetch_unless_gone(PROFILE_ENDPOINT, partial(client.get_profile, did), account)
        ) is None:
            return

        entries: list[FeedEntry] = []
        cursor: str | None = None
        seen_cursors: set[str] = set()
        while True:
            response = yield from _fetch(AUTHOR_FEED_ENDPOINT, partial(client.get_author_feed, did, cursor))
            page_entries, cursor = _read_response(response, account, partial(read_feed_page, did=did))
            entries.extend(page_entries)
            sorted_at = [entry.sort_at for entry in page_entries if entry.sort_at is not None]
            if not sorted_at or cursor is None or min(sorted_at) < since:
                break
            if cursor in seen_cursors:
                raise StalledCursorError(
                    http.redact(
                        f"{NAME} account {account.account_id}: GET {response.url} answered a cursor "
                        f"it had already given ({cursor[:40]!r}): the feed would never end; stopped"
                    ),
                    platform=NAME,
                    account=account.account_id,
                    url=response.url,
                    attempts=1,
                )
            seen_cursors.add(cursor)

        stats.threads.listed += _listed_threads(entries, since, until, ledger)
        stats.threads.plan = plan_thread_reads(stats.threads.listed, ledger, connection.thread_budget)
        for uri in stats.threads.threads_to_read():
            try:
                thread = yield from _fetch(POST_THREAD_ENDPOINT, partial(client.get_post_thread, uri))
            except ClientError as error:
                if error.response is None or error.response.error != DELETED_POST_ERROR:
                    raise
                logger.info("%s: post %s was deleted before its thread was fetched", account.account_id, uri)
                stats.threads.add_read(uri, None)
                continue
            covered = _read_response(thread, account, partial(read_covered_posts, own_did=did))
            stats.threads.add_read(uri, covered)


def _secrets(connection: Connection, session: Session | None) -> list[str | None]:
    """The values never to land or show: the app password and the session's tokens."""
    password = connection.credentials.password if connection.credentials is not None else None
    refresh = session.refresh_jwt if session is not None else None
    return [password, refresh]


def _fetch(endpoint: str, call: Callable[[], Response]) -> Generator[Page, None, Response]:
    """Make one call and yield its page; on failure, yield the failed response's page, then re-raise."""
    try:
        response = call()
    except HttpError as error:
        if error.response is not None:
            yield error.page(endpoint)
        raise
    yield response.page(endpoint)
    return response


def _fetch_unless_gone(
    endpoint: str, call: Callable[[], Response], account: Account
) -> Generator[Page, None, Response | None]:
    """:func:`_fetch`, but ``None`` for an account taken down or deactivated: its error page is
    landed (normalize reads the state from it) and there is nothing more to read."""
    try:
        return (yield from _fetch(endpoint, call))
    except NotFoundError as error:
        if error.response is None or error.response.error not in ACCOUNT_STATE_ERRORS:
            raise
        logger.info(
            "%s: %s answered %s: nothing more to read", account.account_id, endpoint, error.response.error
        )
        return None


def _read_response(response: Response, account: Account, read: Callable[[JsonNode], _Read]) -> _Read:
    """Apply ``read`` to a response's JSON; a body it cannot read becomes an ``HttpError``."""
    try:
        return read(parse_json(response.body, "body"))
    except NormalizationError as error:
        raise HttpError(
            f"{NAME} account {account.account_id}: GET {response.url} answered {response.status} "
            f"with a body Rapport cannot read: {error}",
            platform=NAME,
            account=account.account_id,
            url=response.url,
            response=response,
            attempts=1,
        ) from error


def _listed_threads(
    entries: list[FeedEntry], since: datetime, until: datetime, ledger: ThreadLedger
) -> list[ListedThread]:
    """The account's posts with replies that the feed listed in [since, until) (older ones too when
    the ledger knows them: their count is fresh), each with the root of the thread it is in.

    The planner reads a reply of the account inside the thread of another of
    these posts through that post's thread (it holds the reply and the replies
    it got, down to ``THREAD_DEPTH`` levels), so a busy conversation costs one
    call, not one per answer; a reply that thread does not reach (below a
    ``blockedPost``, or cut at the depth limit) is read on its own
    (:func:`~rapport.sources.bluesky.readers.covered_posts` says which posts a read reached).
    """
    listed: dict[str, ListedThread] = {}
    for entry in entries:
        uri = entry.own_post_uri
        if uri is None or entry.reply_count <= 0 or entry.published_at >= until:
            continue
        if entry.published_at < since and uri not in ledger.posts:
            continue
        listed[uri] = ListedThread(uri, entry.published_at, entry.reply_count, entry.thread_root_uri)
    return list(listed.values())


# -- normalize --------------------------------------------------------------------------------------
