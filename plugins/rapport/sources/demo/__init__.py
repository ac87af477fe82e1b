"""The built-in demo platform: eight simulated organizations and their publics.

A source like any real one, declared by :data:`PLATFORM`: :func:`extract`
yields the raw JSON pages a Mastodon-like REST API returns (the simulated
world of :mod:`rapport.simulators.demo_world`, or the scale accounts of
:mod:`rapport.simulators.scale`, imported when an extraction runs), and
:func:`normalize` turns landed pages back into the record types of
:mod:`rapport.records`, from the pages alone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from rapport.records import ACCOUNT_SNAPSHOTS, INTERACTIONS, POSTS, THREAD_READS
from rapport.sources import NormalizationError, Page, Records, Row, SourceError, Window, thread_read
from rapport.sources.contract import Measure, NightlyCost, Platform
from rapport.sources.demo.readers import read_notification
from rapport.sources.demo.settings import (
    DEFAULT_SEED,
    LOOKUP_ENDPOINT,
    NAME,
    NOTIFICATIONS_ENDPOINT,
    SEED_VARIABLE,
    STATUSES_ENDPOINT,
)
from rapport.sources.mastodon.readers import read_account, read_post
from rapport.sources.payloads import describe_page, load_json, to_naive_utc

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.thread_ledger import ThreadLedger, ThreadReport

__all__ = ["PLATFORM", "ExtractionStats", "extract", "extract_with_stats", "normalize"]


PLATFORM: Final = Platform(
    name=NAME,
    title="Demo",
    handle=re.compile(r"@[a-z0-9_]{1,30}", re.ASCII),
    handle_hint="expected '@' then 1-30 lowercase letters, digits or '_'",
    address_example="'@name'",
    concurrency=8,
    pool_description="Concurrent extractions from the built-in demo platform",
    credentials=(),
    cost=NightlyCost(
        unit="requests",
        formula="none: the platform is simulated in the extracting process",
        first_run=0,
        nightly=0,
        nothing_new=0,
        example="any account",
    ),
    availability=(
        Measure("followers", "yes", "accounts/lookup followers_count"),
        Measure("following", "yes", "accounts/lookup following_count"),
        Measure("posts count", "yes", "accounts/lookup statuses_count"),
        Measure("account creation date", "yes", "accounts/lookup created_at (404 before the account exists)"),
        Measure("account state", "no", "every simulated account is active: none is suspended or moved"),
        Measure("own posts and replies", "yes", "accounts/statuses: originals, threads, answers"),
        Measure("own reposts and quotes", "yes", "reblog, quote"),
        Measure("text, links and mentions", "yes", "content (HTML), spoiler_text, mentions"),
        Measure("language", "yes", "language, set on every simulated status"),
        Measure("alt text", "yes", "media_attachments[].description"),
        Measure("likes received", "yes", "favourites_count"),
        Measure("reposts received", "yes", "reblogs_count"),
        Measure("edits", "yes", "edited_at, the last edit"),
        Measure("deletions", "no", "the simulated world deletes nothing: is_deleted is always false"),
        Measure("the public's replies and questions", "yes", "notifications: every one"),
        Measure("the account's answers (response rate and time)", "yes", "its replies"),
        Measure("the public's mentions", "yes", "notifications of type mention, wherever they are"),
        Measure("the public's quotes", "yes", "notifications: quotes of its posts"),
        Measure("who liked or reposted", "no", "not simulated"),
        Measure("views", "no", "the simulated platform shows none"),
        Measure("direct messages and non-public posts", "no", "the simulated world has none"),
    ),
    simulated=True,
)


def extract(account: Account, window: Window, *, seed: str | None = None) -> Iterator[Page]:
    """Fetch one account's data for a window from the demo platform.

    Yields, in order, the ``accounts/lookup`` page (the account as it is at
    ``window.until``), every ``accounts/statuses`` page and every
    ``notifications`` page (40 items a page, newest first) of the items
    published in [since, until); the notifications from
    ``window.replies_since`` when it is set (earlier runs read those before
    it). Naive datetimes are taken as UTC. The seed is
    ``seed``, else the ``RAPPORT_DEMO_SEED`` environment variable, else
    ``DEFAULT_SEED``; the same seed and window always give the same bytes.

    Raises ``SourceError`` naming the account, the URL and the cause when the
    account is not a demo account, is unknown to the demo platform or does not
    exist yet at ``window.until`` (the platform answers 404).
    """
    from rapport.simulators.demo_world import DemoClient
    from rapport.simulators.scale import ScaleClient, is_scale_handle

    if account.platform != NAME:
        raise SourceError(f"{account.account_id}: not a {NAME} account, the demo source cannot fetch it")
    since, until = (to_naive_utc(moment).replace(tzinfo=UTC) for moment in (window.since, window.until))
    seed = seed or os.environ.get(SEED_VARIABLE) or DEFAULT_SEED
    client: DemoClient | ScaleClient = (
        ScaleClient(account.handle, seed=seed, now=until)
        if is_scale_handle(account.handle)
        else DemoClient(account.handle, seed=seed, now=until)
    )
    listing = {"since": since.isoformat(), "until": until.isoformat(), "page": "1"}
    # The public's posts before replies_since were read by earlier runs.
    replies_since = since
    if window.replies_since is not None:
        replies_since = max(since, to_naive_utc(window.replies_since).replace(tzinfo=UTC))
    calls: list[tuple[str, dict[str, str] | None]] = [
        (LOOKUP_ENDPOINT, {"acct": account.handle}),
        (STATUSES_ENDPOINT, listing),
        (NOTIFICATIONS_ENDPOINT, {"types": "mention", **listing, "since": replies_since.isoformat()}),
    ]
    for endpoint, params in calls:
        while params is not None:  # a listing's pages, following each page's next parameters
            response = client.get(endpoint, params)
            if response.status != 200:
                cause = response.body.decode("utf-8", errors="replace")
                raise SourceError(
                    f"{account.account_id}: GET {client.url(endpoint, params)} answered {response.status}: "
                    f"{cause}"
                )
            yield Page(endpoint=endpoint, body=response.body, status=200, params=dict(params))
            params = response.next_params if endpoint != LOOKUP_ENDPOINT else None


@dataclass
class ExtractionStats:
    """What a demo extraction cost: nothing (the platform is simulated in the process), and no thread
    to read (its notifications hold every reply): the :class:`~rapport.sources.contract.ExtractionCost`."""

    threads: ThreadReport | None = None

    def counters(self) -> dict[str, Any] | None:
        return None


def extract_with_stats(
    account: Account, window: Window, *, ledger: ThreadLedger | None = None
) -> tuple[Iterator[Page], ExtractionStats]:
    """The pages of :func:`extract`, and what they cost (nothing); the ledger is not needed."""
    return extract(account, window), ExtractionStats()


def normalize(
    pages: Sequence[Page], account: Account, observed_at: datetime, fetched_at: datetime | None = None
) -> Records:
    """Turn the landed pages of one extraction into records.

    Returns ``{"account_snapshots", "posts", "interactions", "thread_reads"}``, each a list
    of rows with exactly the columns of :mod:`rapport.records`, each value of
    its column's type or ``None``, ``observed_at`` (naive UTC) on every row.
    The notifications hold every reply of the window, so the thread of every
    listed post with replies counts as read. Posts and interactions seen
    twice are kept once (the first seen); the snapshot comes from the last
    lookup page. Notifications of a type other than ``mention`` are skipped.
    ``fetched_at`` is accepted for the common signature: a simulated platform
    serves nothing after the window, so there is nothing to leave out.

    Raises ``NormalizationError`` naming the page (endpoint and page number)
    and the field when a body is not valid JSON, is not of the expected shape
    or lacks a required field, when no lookup page is present (the account's
    own id is needed to tell its threads apart), or when a page is not a 200
    response or comes from an endpoint this source does not know.
    """
    observed = to_naive_utc(observed_at)
    for page in pages:
        if page.status != 200:
            raise NormalizationError(f"{describe_page(page)}: HTTP status {page.status}, expected 200")
        if page.endpoint not in (LOOKUP_ENDPOINT, STATUSES_ENDPOINT, NOTIFICATIONS_ENDPOINT):
            raise NormalizationError(f"{describe_page(page)}: unknown {NAME} endpoint {page.endpoint!r}")
    snapshots = [
        read_account(load_json(page), account, observed) for page in pages if page.endpoint == LOOKUP_ENDPOINT
    ]
    if not snapshots:
        raise NormalizationError(
            f"{account.account_id}: none of the {len(pages)} pages is an {LOOKUP_ENDPOINT} page, "
            "so the account's own id is unknown"
        )
    own_id = str(snapshots[-1]["account_native_id"])
    posts: dict[str, Row] = {}
    interactions: dict[str, Row] = {}
    for page in pages:
        if page.endpoint == STATUSES_ENDPOINT:
            for node in load_json(page).as_list():
                row = read_post(node, account, own_id, observed)
                posts.setdefault(row["post_id"], row)
        elif page.endpoint == NOTIFICATIONS_ENDPOINT:
            for node in load_json(page).as_list():
                if node.get_str("type") != "mention":
                    continue
                row = read_notification(node.get_object("status"), account, own_id, observed)
                interactions.setdefault(row["interaction_id"], row)
    reads = [
        thread_read(account, row["post_id"], row["reply_count"], observed)
        for row in posts.values()
        if row["reply_count"] > 0 and row["post_type"] != "repost"
    ]
    return {
        ACCOUNT_SNAPSHOTS.name: snapshots[-1:],
        POSTS.name: list(posts.values()),
        INTERACTIONS.name: list(interactions.values()),
        THREAD_READS.name: reads,
    }
