"""One Instagram account's extraction: the calls in order, the paging and the thread plan.

:func:`pages_of` is what :func:`rapport.sources.instagram.extract_with_stats` iterates; it lives
here so that importing the platform's ``__init__`` stays light. The token, the pinned API version,
cursors, usage headers and Meta's error codes are the shared Graph client's
(:mod:`rapport.sources.graph`).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

from rapport.sources import Page, Window
from rapport.sources.graph import (
    GraphClient,
    ObjectMissingError,
    fetch,
    open_client,
    paged,
    paged_if_permitted,
    read_answer,
)
from rapport.sources.http import Response
from rapport.sources.instagram.client import ExtractionStats
from rapport.sources.instagram.readers import (
    Media,
    read_comments,
    read_linked_account,
    read_media,
    read_tag_times,
)
from rapport.sources.instagram.settings import (
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
    NAME,
    REPLIES_ENDPOINT,
    REPLIES_PAGE_SIZE,
    TAGS_ENDPOINT,
    TAGS_FIELDS,
    TAGS_PAGE_SIZE,
    USER_ENDPOINT,
    USER_FIELDS,
    read_thread_budget,
)
from rapport.sources.payloads import to_naive_utc
from rapport.thread_ledger import ListedThread, ThreadLedger, plan_thread_reads
from rapport.thread_ledger import thread_budget as resolve_thread_budget

if TYPE_CHECKING:
    from rapport.accounts import Account

logger = logging.getLogger("rapport.sources.instagram")


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
    budget = resolve_thread_budget(thread_budget, read_thread_budget)
    with open_client(
        DEFAULT_BASE_URL, platform=NAME, account=account, stats=stats, options=options
    ) as client:
        response = yield from fetch(client, ME_ENDPOINT, "me", {"fields": ME_FIELDS})
        linked = read_answer(client, response, lambda root: read_linked_account(root, account.handle))
        yield from fetch(client, USER_ENDPOINT, linked.ig_user_id, {"fields": USER_FIELDS}, linked.ig_user_id)

        # The media, newest first, down to the first one older than the window.
        media: list[Media] = []

        def crossed_since(answer: Response) -> bool:
            listed = read_answer(client, answer, read_media)
            media.extend(listed)
            return not listed or min(item.published_at for item in listed) < since

        params = {"fields": MEDIA_FIELDS, "limit": MEDIA_PAGE_SIZE}
        path = f"{linked.ig_user_id}/media"
        listing = yield from paged(
            client, MEDIA_ENDPOINT, path, params, linked.ig_user_id, enough=crossed_since
        )
        stats.media_pages += len(listing)

        # The media the account is tagged in, newest first, down to the first one older than the window;
        # the edge gives cursors and no next: an empty page ends it.
        def tags_crossed_since(answer: Response) -> bool:
            times = read_answer(client, answer, read_tag_times)
            return not times or min(times) < since

        tags = {"fields": TAGS_FIELDS, "limit": TAGS_PAGE_SIZE}
        tagged = yield from paged_if_permitted(
            client,
            TAGS_ENDPOINT,
            f"{linked.ig_user_id}/tags",
            tags,
            linked.ig_user_id,
            enough=tags_crossed_since,
            without_next=True,
        )
        stats.tag_pages = len(tagged) if tagged is not None else 0
        threads = [
            ListedThread(item.media_id, item.published_at, item.comment_count)
            for item in media
            if item.comment_count
            and item.published_at < until
            and (since <= item.published_at or item.media_id in ledger.posts)
        ]
        stats.threads.listed += threads
        stats.threads.plan = plan_thread_reads(threads, ledger, budget)
        for media_id in stats.threads.threads_to_read():
            done = yield from _read_comments(client, account, media_id, stats)
            stats.threads.add_read(media_id, [media_id] if done else None)
        plan = stats.threads.plan
        logger.info(
            "%s: %d requests (%d media pages, %d tags pages, %d media's comments read, %d left for the "
            "nights to come, %d comments pages, %d replies pages, %d deleted meanwhile), usage peak %g %%, "
            "%d paced, %d retries",
            account.account_id,
            stats.requests,
            stats.media_pages,
            stats.tag_pages,
            len(stats.threads.read),
            plan.left if plan is not None else 0,
            stats.comment_pages,
            stats.reply_pages,
            stats.media_missing,
            stats.usage_percent,
            stats.paced,
            stats.retries,
        )


def _read_comments(
    client: GraphClient, account: Account, media_id: str, stats: ExtractionStats
) -> Generator[Page, None, bool]:
    """Every comment of one media, then the replies of each comment whose expansion showed a next page.
    Returns False when the media was deleted before its comments were read (its error page landed)."""
    params = {"fields": COMMENTS_FIELDS, "limit": COMMENTS_PAGE_SIZE}
    try:
        answers = yield from paged(client, COMMENTS_ENDPOINT, f"{media_id}/comments", params, media_id)
    except ObjectMissingError:
        stats.media_missing += 1
        logger.info("%s: media %s was deleted before its comments were read", account.account_id, media_id)
        return False
    stats.comment_pages += len(answers)
    for answer in answers:
        for comment in read_answer(client, answer, read_comments):
            if not comment.more_replies:
                continue
            replies = {"fields": COMMENT_FIELDS, "limit": REPLIES_PAGE_SIZE}
            path = f"{comment.comment_id}/replies"
            try:
                read = yield from paged(client, REPLIES_ENDPOINT, path, replies, comment.comment_id)
            except ObjectMissingError:
                # The comment was deleted meanwhile: its media is not read in full (normalize sees it).
                logger.info(
                    "%s: comment %s was deleted before its replies were read", account.account_id, path
                )
                continue
            stats.reply_pages += len(read)
    return True
