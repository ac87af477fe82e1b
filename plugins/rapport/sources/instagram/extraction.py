"""One Instagram account's extraction: the calls in order, the paging and the thread plan.

:func:`pages_of` is what :func:`rapport.sources.instagram.extract_with_stats` iterates; it lives
here so that importing the platform's ``__init__`` stays light. The HTTP calls go through the
shared Graph client (:mod:`rapport.sources.graph`: the token, the pinned API version, cursors,
usage headers, Meta's error codes), used only through :class:`GraphApi` and opened in
:func:`open_client`, so that this module is all that changes if its interface does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from rapport.sources import NormalizationError, Page, SourceError, Window
from rapport.sources.credentials import get_credential
from rapport.sources.http import HttpError, Response
from rapport.sources.instagram.readers import (
    LinkedAccount,
    graph_error,
    read_comments,
    read_linked_account,
    read_media,
)
from rapport.sources.instagram.settings import (
    BASE_URL_VARIABLE,
    COMMENT_FIELDS,
    COMMENTS_ENDPOINT,
    COMMENTS_FIELDS,
    COMMENTS_PAGE_SIZE,
    DEFAULT_BASE_URL,
    ME_ENDPOINT,
    ME_FIELDS,
    MEDIA_ENDPOINT,
    MEDIA_FIELDS,
    MEDIA_PAGE_SIZE,
    MISSING_OBJECT,
    NAME,
    NODE_PARAM,
    REPLIES_ENDPOINT,
    REPLIES_PAGE_SIZE,
    USER_ENDPOINT,
    USER_FIELDS,
    connection_id,
    read_thread_budget,
    token_variable,
)
from rapport.sources.payloads import JsonNode, parse_json, to_naive_utc
from rapport.sources.stats import HttpStats
from rapport.thread_ledger import ListedThread, ThreadLedger, ThreadReport, plan_thread_reads

if TYPE_CHECKING:
    from rapport.accounts import Account

logger = logging.getLogger("rapport.sources.instagram")

T = TypeVar("T")


@dataclass
class ExtractionStats(HttpStats):
    """What one extraction cost and did, filled in as its pages are consumed (requests, retries,
    rate_limited, slept_seconds: the shared client's), and the pages of each kind."""

    media_pages: int = 0
    comment_pages: int = 0
    reply_pages: int = 0
    media_missing: int = 0
    """Media (or comments) deleted between their listing and their read: 100/33, skipped."""
    threads: ThreadReport = field(default_factory=ThreadReport)


class GraphApi(Protocol):
    """What this extraction uses of the shared Graph client."""

    def get(self, path: str, params: dict[str, Any]) -> Response: ...

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[Response]: ...


def read_token(account: Account) -> str:
    """The organization's Page token: ``RAPPORT_META_TOKEN_<ORGANIZATION>``, else the password of the
    Airflow Connection ``rapport_meta_<organization>``. Raises ``SourceError`` naming both (never a
    value) when neither is set."""
    variable, connection = token_variable(account.organization_id), connection_id(account.organization_id)
    token = (get_credential(variable, connection) or "").strip()
    if not token:
        raise SourceError(
            f"{account.account_id}: Instagram needs the Page access token of the organization "
            f"{account.organization_id!r}: set {variable} or the password of the Airflow Connection "
            f"{connection} (docs/meta-setup.md)"
        )
    return token


def open_client(account: Account, stats: ExtractionStats, options: dict[str, Any]) -> Any:
    """The shared Graph client for one account (a context manager, as the other clients)."""
    try:
        from rapport.sources.graph import GraphClient
    except ImportError:
        raise SourceError(
            f"{account.account_id}: the Instagram extraction is not built yet (no rapport.sources.graph)"
        ) from None
    base_url = os.environ.get(BASE_URL_VARIABLE) or DEFAULT_BASE_URL
    try:
        return GraphClient(
            base_url, read_token(account), account.account_id, account.organization_id, stats, **options
        )
    except ValueError as error:
        raise SourceError(f"{account.account_id}: cannot read from {BASE_URL_VARIABLE}: {error}") from None


def pages_of(
    account: Account,
    window: Window,
    ledger: ThreadLedger,
    stats: ExtractionStats,
    thread_budget: int | None,
    options: dict[str, Any],
) -> Iterator[Page]:
    """The pages of one account's extraction (see :func:`rapport.sources.instagram.extract_with_stats`)."""
    since, until = to_naive_utc(window.since), to_naive_utc(window.until)
    budget = read_thread_budget() if thread_budget is None else thread_budget
    if budget < 0:
        raise ValueError(f"the thread budget must not be negative, got {budget}")
    with open_client(account, stats, options) as client:
        response = yield from _get(client, ME_ENDPOINT, "me", {"fields": ME_FIELDS})
        linked: LinkedAccount = _read(
            account, response, lambda root: read_linked_account(root, account.handle)
        )
        yield from _get(client, USER_ENDPOINT, linked.ig_user_id, {"fields": USER_FIELDS})
        yield from _read_account(client, account, linked, since, until, ledger, stats, budget)
        logger.info(
            "%s: %d requests (%d media pages, %d media's comments read, %d comments pages, "
            "%d replies pages, %d deleted meanwhile), %d retries",
            account.account_id,
            stats.requests,
            stats.media_pages,
            len(stats.threads.read),
            stats.comment_pages,
            stats.reply_pages,
            stats.media_missing,
            stats.retries,
        )


def _read_account(
    client: GraphApi,
    account: Account,
    linked: LinkedAccount,
    since: datetime,
    until: datetime,
    ledger: ThreadLedger,
    stats: ExtractionStats,
    budget: int,
) -> Generator[Page, None, None]:
    # The media, newest first, down to the first one older than the window.
    threads: list[ListedThread] = []
    listing = _edge(client, MEDIA_ENDPOINT, f"{linked.ig_user_id}/media", None, MEDIA_FIELDS, MEDIA_PAGE_SIZE)
    for page, response in listing:
        yield page
        if response is None:
            continue  # its error follows
        stats.media_pages += 1
        media = _read(account, response, read_media)
        threads += [
            ListedThread(item.media_id, item.published_at, item.comment_count)
            for item in media
            if item.comment_count
            and item.published_at < until
            and (since <= item.published_at or item.media_id in ledger.posts)
        ]
        if not media or min(item.published_at for item in media) < since:
            break
    stats.threads.listed += threads
    stats.threads.plan = plan_thread_reads(threads, ledger, budget)
    for media_id in stats.threads.threads_to_read():
        done = yield from _read_comments(client, account, media_id, stats)
        stats.threads.add_read(media_id, [media_id] if done else None)


def _read_comments(
    client: GraphApi, account: Account, media_id: str, stats: ExtractionStats
) -> Generator[Page, None, bool]:
    """Every comment of one media, with the replies field expansion did not show. Returns False
    when the media was deleted before its comments were read."""
    try:
        for page, response in _edge(
            client, COMMENTS_ENDPOINT, f"{media_id}/comments", media_id, COMMENTS_FIELDS, COMMENTS_PAGE_SIZE
        ):
            yield page
            if response is None:
                continue  # its error follows
            stats.comment_pages += 1
            for comment in _read(account, response, read_comments):
                if comment.more_replies:
                    yield from _read_replies(client, comment.comment_id, stats)
    except HttpError as error:
        if error.response is None or graph_error(error.body) != MISSING_OBJECT:
            raise
        stats.media_missing += 1
        logger.info("%s: media %s was deleted before its comments were read", account.account_id, media_id)
        return False
    return True


def _read_replies(client: GraphApi, comment_id: str, stats: ExtractionStats) -> Generator[Page, None, None]:
    for page, response in _edge(
        client, REPLIES_ENDPOINT, f"{comment_id}/replies", comment_id, COMMENT_FIELDS, REPLIES_PAGE_SIZE
    ):
        yield page
        if response is not None:
            stats.reply_pages += 1


def _edge(
    client: GraphApi, endpoint: str, path: str, node: str | None, fields: str, limit: int
) -> Iterator[tuple[Page, Response | None]]:
    """The pages of an edge, following its cursors (the client's ``pages``), each with its response;
    a failed response's page comes with ``None`` just before its error is raised."""
    responses = client.pages(path, {"fields": fields, "limit": limit})
    while True:
        try:
            response = next(responses)
        except StopIteration:
            return
        except HttpError as error:
            if error.response is not None:
                yield _landed(error.response, endpoint, node), None
            raise
        yield _landed(response, endpoint, node), response


def _get(
    client: GraphApi, endpoint: str, path: str, params: dict[str, Any]
) -> Generator[Page, None, Response]:
    """Make one call and yield its page; a failed response's page is yielded before the error."""
    try:
        response = client.get(path, params)
    except HttpError as error:
        if error.response is not None:
            yield error.page(endpoint)
        raise
    yield response.page(endpoint)
    return response


def _landed(response: Response, endpoint: str, node: str | None) -> Page:
    """A page of a node's edge, with the node (in the path, not the query) among its parameters."""
    page = response.page(endpoint)
    if node is None:
        return page
    return Page(page.endpoint, page.body, page.status, {**page.params, NODE_PARAM: node}, page.redacted)


def _read(account: Account, response: Response, read: Callable[[JsonNode], T]) -> T:
    """Read what extraction needs from a body; an unreadable one raises ``SourceError`` naming the URL."""
    try:
        return read(parse_json(response.body, "body"))
    except NormalizationError as error:
        raise SourceError(f"{NAME} account {account.account_id}: GET {response.url}: {error}") from error
