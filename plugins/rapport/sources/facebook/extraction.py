"""One Page's extraction: the Page, its posts of the window, the posts it is tagged in, and the comments of
the posts the ledger plans.

:func:`pages_of` is what :func:`rapport.sources.facebook.extract_with_stats` iterates; it lives here so
that importing the platform's ``__init__`` stays light.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rapport.sources import Page, Window
from rapport.sources.facebook.client import ExtractionStats
from rapport.sources.facebook.readers import read_page_id, read_posts, read_tagged_times
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
    TAGGED_ENDPOINT,
    TAGGED_FIELDS,
    TAGGED_PAGE_SIZE,
    read_thread_budget,
)
from rapport.sources.graph import (
    ObjectMissingError,
    fetch,
    open_client,
    paged,
    paged_if_permitted,
    read_answer,
)
from rapport.sources.http import Response
from rapport.sources.payloads import to_naive_utc
from rapport.thread_ledger import ListedThread, ThreadLedger, plan_thread_reads
from rapport.thread_ledger import thread_budget as resolve_thread_budget

if TYPE_CHECKING:
    from rapport.accounts import Account

logger = logging.getLogger("rapport.sources.facebook")


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
    budget = resolve_thread_budget(thread_budget, read_thread_budget)
    with open_client(
        DEFAULT_BASE_URL, platform=NAME, account=account, stats=stats, options=options
    ) as client:
        response = yield from fetch(
            client, PAGE_ENDPOINT, account.handle, {"fields": PAGE_FIELDS}, account.handle
        )
        page_id = read_answer(client, response, read_page_id)

        threads: list[ListedThread] = []
        params: dict[str, Any] = {
            "fields": POST_FIELDS,
            "since": int(window.since.timestamp()),
            "until": int(window.until.timestamp()),
            "limit": POSTS_PAGE_SIZE,
        }
        for response in (
            yield from paged(client, POSTS_ENDPOINT, f"{page_id}/published_posts", params, page_id)
        ):
            stats.posts_pages += 1
            for post in read_answer(client, response, read_posts):
                if not since <= post.created_at < until:
                    continue
                stats.posts_listed += 1
                if post.comment_count:
                    threads.append(ListedThread(post.post_id, post.created_at, post.comment_count))

        # The posts the Page is tagged in, newest first, down to the first one older than the window.
        def crossed_since(answer: Response) -> bool:
            times = read_answer(client, answer, read_tagged_times)
            return not times or min(times) < since

        tagged = {"fields": TAGGED_FIELDS, "limit": TAGGED_PAGE_SIZE}
        mentions = yield from paged_if_permitted(
            client, TAGGED_ENDPOINT, f"{page_id}/tagged", tagged, page_id, enough=crossed_since
        )
        stats.tagged_pages = len(mentions) if mentions is not None else 0

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
                read = yield from paged(client, COMMENTS_ENDPOINT, f"{post_id}/comments", comments, post_id)
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
            "%s: %d requests (%d posts pages, %d tagged pages, %d posts listed, %d posts' comments read, %d "
            "left for the nights to come, %d deleted meanwhile), usage peak %g %%, %d paced, %d retries",
            account.account_id,
            stats.requests,
            stats.posts_pages,
            stats.tagged_pages,
            stats.posts_listed,
            len(stats.threads.read),
            plan.left if plan is not None else 0,
            stats.posts_missing,
            stats.usage_percent,
            stats.paced,
            stats.retries,
        )
