"""The extraction loop of the Mastodon source: the calls one account costs, in order.

:func:`extract_pages` is what :func:`rapport.sources.mastodon.extract_with_stats`
iterates; it imports the HTTP client (and requests), which the package's
``__init__`` leaves until an extraction runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from rapport.sources import NormalizationError, Page, Window
from rapport.sources.http import HttpError, NotFoundError, Response
from rapport.sources.mastodon.client import MastodonClient, path_id
from rapport.sources.mastodon.readers import covered_statuses, read_listing, read_lookup
from rapport.sources.mastodon.settings import CONTEXT_ENDPOINT, LOOKUP_ENDPOINT, STATUSES_ENDPOINT
from rapport.sources.payloads import JsonNode, parse_json, to_naive_utc
from rapport.thread_ledger import ListedThread, ThreadLedger, plan_thread_reads

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.sources.mastodon import ExtractionStats

log = logging.getLogger("rapport.sources.mastodon")

T = TypeVar("T")
R = TypeVar("R", bound=Response | None)


def extract_pages(
    given: MastodonClient | None,
    account: Account,
    window: Window,
    budget: int,
    ledger: ThreadLedger,
    stats: ExtractionStats,
) -> Iterator[Page]:
    """The pages of :func:`rapport.sources.mastodon.extract` (see there), counting into ``stats``."""
    since, until = to_naive_utc(window.since), to_naive_utc(window.until)
    # Built on the first page asked for, so a credential error is the iteration's, landed with it.
    client = given if given is not None else MastodonClient.for_account(account)
    client.stats = stats  # the client counts into it from here on
    try:
        username = account.handle.lstrip("@")
        lookup = yield from _fetch(partial(client.lookup_account, username), LOOKUP_ENDPOINT)
        own_id, suspended = _read_or_fail(client, lookup, LOOKUP_ENDPOINT, read_lookup)
        if suspended:
            # Since Mastodon 3.3 a suspended account answers 200, with no counts and no statuses
            # to read: its snapshot says so (normalize), and nothing more is asked.
            log.info("%s: suspended on %s: no statuses read", account.account_id, account.instance)
            return

        statuses_endpoint = STATUSES_ENDPOINT.format(account_id=path_id(own_id))
        listed_threads = stats.threads.listed
        listed_counts: dict[str, int] = {}
        first = partial(client.fetch_statuses, own_id)
        response: Response | None = yield from _fetch(first, statuses_endpoint)
        while response is not None:
            stats.statuses_pages += 1
            listed = _read_or_fail(client, response, statuses_endpoint, read_listing)
            listed_counts |= {
                status.status_id: status.reply_count for status in listed if not status.is_direct
            }
            listed_threads += [
                ListedThread(status.status_id, status.created_at, status.reply_count)
                for status in listed
                if status.author_id == own_id
                and status.reply_count > 0
                and not status.is_reblog
                and not status.is_direct
                and status.created_at < until
                # Older than the window: listed on the page that crosses since; known ones get their count.
                and (since <= status.created_at or status.status_id in ledger.posts)
            ]
            if not listed or min(status.created_at for status in listed) < since:
                break
            response = yield from _fetch(partial(client.fetch_next, response), statuses_endpoint)

        plan = stats.threads.plan = plan_thread_reads(listed_threads, ledger, budget)
        stats.contexts_skipped = plan.left
        for status_id in stats.threads.threads_to_read():
            endpoint = CONTEXT_ENDPOINT.format(status_id=path_id(status_id))
            try:
                context = client.fetch_context(status_id)
            except NotFoundError as error:
                # Deleted between the listing and this call: nothing to read, nothing wrong.
                if error.response is not None:
                    yield error.page(endpoint)
                stats.contexts_missing += 1
                stats.threads.add_read(status_id, None)
                continue
            except HttpError as error:
                if error.response is not None:
                    yield error.page(endpoint)
                raise
            yield context.page(endpoint)
            stats.contexts_fetched += 1
            read = partial(
                covered_statuses, status_id, own_id=own_id, listed_count=listed_counts.get(status_id)
            )
            stats.threads.add_read(status_id, _read_or_fail(client, context, endpoint, read))
        log.info(
            "%s: %d requests (%d statuses pages, %d threads, %d over budget, %d deleted), %d retries",
            account.account_id,
            stats.requests,
            stats.statuses_pages,
            stats.contexts_fetched,
            stats.contexts_skipped,
            stats.contexts_missing,
            stats.retries,
        )
    finally:
        if given is None:
            client.close()


def _fetch(call: Callable[[], R], endpoint: str) -> Generator[Page, None, R]:
    """Make one call and yield its page; on failure yield the failed response's page, then raise."""
    try:
        response = call()
    except HttpError as error:
        if error.response is not None:
            yield error.page(endpoint)
        raise
    if response is not None:
        yield response.page(endpoint)
    return response


def _read_or_fail(
    client: MastodonClient, response: Response, endpoint: str, read: Callable[[JsonNode], T]
) -> T:
    """Read what extraction needs from a body; an unreadable body raises ``MalformedResponseError``."""
    try:
        return read(parse_json(response.body, endpoint))
    except NormalizationError as error:
        raise client.malformed(response, str(error)) from error
