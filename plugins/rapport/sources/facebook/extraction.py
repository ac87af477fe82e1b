"""One Page's extraction: the Page, its posts of the window, and the comments of the posts the ledger plans.

:func:`pages_of` is what :func:`rapport.sources.facebook.extract_with_stats` iterates; it lives here so
that importing the platform's ``__init__`` stays light.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from rapport.sources import NormalizationError, Page, SourceError, Window
from rapport.sources.facebook.client import ExtractionStats
from rapport.sources.facebook.readers import read_page_id, read_posts
from rapport.sources.facebook.settings import (
    COMMENT_FIELDS,
    COMMENT_FILTER,
    COMMENT_ORDER,
    COMMENTS_ENDPOINT,
    COMMENTS_PAGE_SIZE,
    DEFAULT_BASE_URL,
    NAME,
    PAGE_ENDPOINT,
    PAGE_FIELDS,
    POST_FIELDS,
    POSTS_ENDPOINT,
    POSTS_PAGE_SIZE,
    read_thread_budget,
)
from rapport.sources.graph import GraphClient, ObjectMissingError, base_url, read_token
from rapport.sources.http import HttpError, Response
from rapport.sources.payloads import JsonNode, parse_json, to_naive_utc
from rapport.thread_ledger import ListedThread, ThreadLedger, plan_thread_reads

if TYPE_CHECKING:
    from rapport.accounts import Account

logger = logging.getLogger("rapport.sources.facebook")

T = TypeVar("T")


def pages_of(
    account: Account,
    window: Window,
    ledger: ThreadLedger,
    stats: ExtractionStats,
    thread_budget: int | None,
    options: dict[str, Any],
) -> Iterator[Page]:
    """The pages of one Page's extraction (see :func:`rapport.sources.facebook.extract_with_stats`)."""
    since, until = to_naive_utc(window.since), to_naive_utc(window.until)
    budget = read_thread_budget() if thread_budget is None else thread_budget
    if budget < 0:
        raise ValueError(f"the thread budget must not be negative, got {budget}")
    token = read_token(account.organization_id, account.account_id)
    try:
        client = GraphClient(
            base_url(DEFAULT_BASE_URL),
            token=token,
            platform=NAME,
            account=account.account_id,
            organization_id=account.organization_id,
            stats=stats,
            **options,
        )
    except ValueError as error:
        raise SourceError(f"{account.account_id}: cannot read from the Graph API base URL: {error}") from None
    with client:
        response = yield from _fetch(client, PAGE_ENDPOINT, account.handle, {"fields": PAGE_FIELDS})
        page_id = _read(client, response, read_page_id)

        threads: list[ListedThread] = []
        params: dict[str, Any] = {
            "fields": POST_FIELDS,
            "since": int(window.since.timestamp()),
            "until": int(window.until.timestamp()),
            "limit": POSTS_PAGE_SIZE,
        }
        for response in (
            yield from _paged(client, POSTS_ENDPOINT, page_id, f"{page_id}/published_posts", params)
        ):
            stats.posts_pages += 1
            for post in _read(client, response, read_posts):
                if not since <= post.created_at < until:
                    continue
                stats.posts_listed += 1
                if post.comment_count:
                    threads.append(ListedThread(post.post_id, post.created_at, post.comment_count))

        stats.threads.listed += threads
        stats.threads.plan = plan_thread_reads(threads, ledger, budget)
        for post_id in stats.threads.threads_to_read():
            comments = {
                "filter": COMMENT_FILTER,
                "order": COMMENT_ORDER,
                "summary": "true",
                "fields": COMMENT_FIELDS,
                "limit": COMMENTS_PAGE_SIZE,
            }
            try:
                read = yield from _paged(client, COMMENTS_ENDPOINT, post_id, f"{post_id}/comments", comments)
            except ObjectMissingError:
                # Deleted between the listing and the read: its error page is landed, nothing is left.
                stats.posts_missing += 1
                logger.info(
                    "%s: post %s was deleted before its comments were read", account.account_id, post_id
                )
                stats.threads.add_read(post_id, None)
                continue
            stats.comment_pages += len(read)
            stats.threads.add_read(post_id, [post_id])
        plan = stats.threads.plan
        logger.info(
            "%s: %d requests (%d posts pages, %d posts listed, %d posts' comments read, %d left for the "
            "nights to come, %d deleted meanwhile), usage peak %g %%, %d paced, %d retries",
            account.account_id,
            stats.requests,
            stats.posts_pages,
            stats.posts_listed,
            len(stats.threads.read),
            plan.left if plan is not None else 0,
            stats.posts_missing,
            stats.usage_percent,
            stats.paced,
            stats.retries,
        )


def _landed(response: Response, endpoint: str, node_id: str) -> Page:
    """The answer as a landed page, with the node it was read from (Graph takes it in the path)."""
    page = response.page(endpoint)
    return Page(page.endpoint, page.body, page.status, {**page.params, "id": node_id}, page.redacted)


def _fetch(
    client: GraphClient, endpoint: str, node_id: str, params: dict[str, Any]
) -> Generator[Page, None, Response]:
    """One call; its page is yielded, a failed answer's page too before the error."""
    try:
        response = client.get(node_id, params)
    except HttpError as error:
        if error.response is not None:
            yield _landed(error.response, endpoint, node_id)
        raise
    yield _landed(response, endpoint, node_id)
    return response


def _paged(
    client: GraphClient, endpoint: str, node_id: str, path: str, params: dict[str, Any]
) -> Generator[Page, None, list[Response]]:
    """Every page of an edge (cursor paging), each yielded; a failed answer's page before the error."""
    answers: list[Response] = []
    try:
        for response in client.pages(path, params):
            yield _landed(response, endpoint, node_id)
            answers.append(response)
    except HttpError as error:
        if error.response is not None:
            yield _landed(error.response, endpoint, node_id)
        raise
    return answers


def _read(client: GraphClient, response: Response, read: Callable[[JsonNode], T]) -> T:
    """Read what extraction needs from a body; an unreadable one raises ``SourceError`` naming it."""
    try:
        return read(parse_json(response.body, "body"))
    except NormalizationError as error:
        raise SourceError(
            client.redact(
                f"{NAME} account {client.account}: GET {response.url} answered {response.status} with a "
                f"body that cannot be read: {error}"
            )
        ) from error
