"""Bluesky, read from its public AppView: an account's profile, its posts and the replies they get.

The package's public entry points, and the platform's declaration
(:data:`PLATFORM`): :func:`extract` yields the raw XRPC responses of one
account for a window (``resolveHandle``, ``getProfile``, ``getAuthorFeed``
pages, then ``getPostThread`` for the newest posts with replies, within a
budget); :func:`extract_with_stats` does the same and also hands back the live
request counters (:class:`ExtractionStats`). :func:`normalize` turns the
landed pages into the record types of :mod:`rapport.records`, from the pages
alone. See README.md for the calls an account costs and what Bluesky can and
cannot tell.

Light to import (the DAG file reads :data:`PLATFORM` when it is parsed): the
extraction loop (:mod:`~rapport.sources.bluesky.extraction`), the HTTP client
and the shared session are imported when an extraction runs; the payload
readers are in :mod:`~rapport.sources.bluesky.readers`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Final, Unpack

from rapport.records import ACCOUNT_SNAPSHOTS, INTERACTIONS, POSTS, THREAD_READS
from rapport.sources import NormalizationError, Page, Records, Row, Window, thread_read, without_in_flight
from rapport.sources.bluesky.readers import (
    covered_posts,
    error_name,
    gone_snapshot,
    label_pages,
    read_feed_item,
    read_profile,
    read_thread,
)
from rapport.sources.bluesky.settings import (
    ACCOUNT_STATE_ERRORS,
    APP_PASSWORD_VARIABLE,
    AUTHOR_FEED_ENDPOINT,
    CONNECTION_ID,
    DELETED_POST_ERROR,
    LOGIN_HANDLE_VARIABLE,
    NAME,
    POST_THREAD_ENDPOINT,
    PROFILE_ENDPOINT,
    RESOLVE_HANDLE_ENDPOINT,
)
from rapport.sources.contract import Credential, Measure, NightlyCost, Platform
from rapport.sources.payloads import JsonNode, parse_json, to_naive_utc
from rapport.sources.stats import HttpStats
from rapport.thread_ledger import ThreadLedger, ThreadReport

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.sources.bluesky.client import HttpOptions

__all__ = [
    "API_COST",
    "PLATFORM",
    "ExtractionStats",
    "extract",
    "extract_with_stats",
    "normalize",
]


API_COST: Final = (
    "per account per run: 1 resolveHandle + 1 getProfile "
    "+ getAuthorFeed pages (100 items each, down to the first item older than window.since) "
    "+ min(threads due, thread budget (default 40)) getPostThread calls, where the threads due are "
    "the own posts listed with a replyCount other than when the thread ledger last read them "
    "(never read included; a reply of the account inside another of these threads is read with it, "
    "or on its own when that thread does not reach it) "
    "plus the ledger's unread backlog; a sign-in (with an app password) and retries come on top"
)
"""Requests one extraction costs, before retries.

A first run (26 weeks) reads the newest 40 of the T threads with replies and
leaves T - 40 in the ledger's backlog; each nightly run reads the c threads
whose reply count changed, then up to 40 - c of the backlog, newest first: the
history is read completely after ceil((T - 40) / (40 - c)) more nights. Once it
is, a night costs 2 + feed pages + c calls; a night with nothing new, no
getPostThread call.
"""


PLATFORM: Final = Platform(
    name=NAME,
    title="Bluesky",
    # A post id is its at:// URI; the web app names a post by its author and the URI's record key.
    post_url="https://bsky.app/profile/{author}/post/{post_key}",
    handle=re.compile(
        r"(?=.{3,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.ASCII | re.IGNORECASE
    ),
    handle_hint="expected a domain handle such as 'example.bsky.social'",
    address_example="'name.bsky.social'",
    lowercase_handles=True,
    concurrency=4,
    pool_description="Concurrent extractions from the Bluesky AppView (rate limits are per IP)",
    credentials=(
        Credential(
            "an app password and its handle (optional: one sign-in a run, reads through the PDS)",
            variables=(LOGIN_HANDLE_VARIABLE, APP_PASSWORD_VARIABLE),
            connection_ids=(CONNECTION_ID,),
        ),
    ),
    cost=NightlyCost(
        unit="requests",
        formula=API_COST,
        first_run=46,
        nightly=13,
        nothing_new=3,
        example="15 posts a week, 2/3 with replies, 10 threads changed a night (once the backlog is read)",
    ),
    availability=(
        Measure("followers", "yes", "getProfile followersCount; NULL when taken down or deactivated"),
        Measure("following", "yes", "getProfile followsCount; NULL when taken down or deactivated"),
        Measure("posts count", "yes", "getProfile postsCount; NULL when taken down or deactivated"),
        Measure(
            "account creation date", "partly", "getProfile createdAt; absent on some old profiles (NULL)"
        ),
        Measure(
            "account state",
            "yes",
            "getProfile's AccountTakedown, AccountDeactivated, a !takedown label; Bluesky has no 'moved'",
        ),
        Measure(
            "own posts and replies", "yes", "getAuthorFeed (posts_with_replies), and its answers in threads"
        ),
        Measure("own reposts and quotes", "yes", "reasonRepost; record.embed of a post"),
        Measure("text, links and mentions", "yes", "record.text, #mention and #link facets, external embeds"),
        Measure("language", "partly", "first of record.langs; NULL when the author's app sets none"),
        Measure("alt text", "yes", "app.bsky.embed.images alt, video alt"),
        Measure("likes received", "yes", "likeCount"),
        Measure("reposts received", "yes", "repostCount (quoteCount is not added)"),
        Measure("edits", "no", "Bluesky posts cannot be edited"),
        Measure("deletions", "no", "a deleted post is absent: is_deleted is always false"),
        Measure(
            "the public's replies and questions", "yes", "getPostThread, 6 levels, within the thread budget"
        ),
        Measure("the account's answers (response rate and time)", "yes", "its replies in those threads"),
        Measure(
            "the public's mentions",
            "partly",
            "only inside its threads: listNotifications needs the account's own session",
        ),
        Measure("the public's quotes", "partly", "only inside its threads: getQuotes is not called"),
        Measure("who liked or reposted", "no", "not fetched (getLikes, getRepostedBy)"),
        Measure("views", "no", "Bluesky shows no views, impressions or clicks"),
        Measure(
            "direct messages and non-public posts",
            "no",
            "Bluesky posts are all public; messages are not exposed",
        ),
    ),
)


@dataclass
class ExtractionStats(HttpStats):
    """What one extraction cost (the :class:`~rapport.sources.stats.HttpStats` counters, the
    sign-in included) and what it listed and read, for the thread ledger."""

    threads: ThreadReport = field(default_factory=ThreadReport)

    @property
    def http(self) -> HttpStats:
        """The request counters alone, as a plain :class:`~rapport.sources.stats.HttpStats` copy."""
        return HttpStats(self.requests, self.retries, self.rate_limited, self.slept_seconds)


# -- extract ----------------------------------------------------------------------------------------


def extract(
    account: Account,
    window: Window,
    *,
    thread_budget: int | None = None,
    ledger: ThreadLedger | None = None,
    **options: Unpack[HttpOptions],
) -> Iterator[Page]:
    """Fetch one account's data for a window from Bluesky; see :func:`extract_with_stats`."""
    pages, _ = extract_with_stats(account, window, thread_budget=thread_budget, ledger=ledger, **options)
    return pages


def extract_with_stats(
    account: Account,
    window: Window,
    *,
    thread_budget: int | None = None,
    ledger: ThreadLedger | None = None,
    **options: Unpack[HttpOptions],
) -> tuple[Iterator[Page], ExtractionStats]:
    """Fetch one account's data for a window, and count what it costs.

    Returns the pages (a lazy iterator: nothing is requested before the first
    page is asked for) and an :class:`ExtractionStats` that the iteration fills
    in (``requests`` counts every attempt, the sign-in included; ``retries``,
    ``rate_limited``, ``slept_seconds``; ``threads``, what was listed and read
    for the thread ledger): read it once the pages are consumed, or after an error.

    The pages, in order: ``com.atproto.identity.resolveHandle`` (handle to
    DID), ``app.bsky.actor.getProfile``, the ``app.bsky.feed.getAuthorFeed``
    pages (100 items each, newest first; the last is the first page whose
    oldest item is older than ``window.since``, or the end of the feed), then
    one ``app.bsky.feed.getPostThread`` per thread
    :func:`~rapport.thread_ledger.plan_thread_reads` chooses from the
    account's posts listed with replies in [since, until) and the ``ledger``
    (default: empty, every listed thread is new): first those whose
    ``replyCount`` differs from when their thread was last read, newest first,
    then the ledger's unread backlog, at most ``thread_budget`` in all (else
    ``RAPPORT_BLUESKY_THREAD_BUDGET``, else 40); a reply of the account that
    its first post's thread did not reach is read on its own right after it,
    while the budget lasts. A thread whose
    post was deleted meanwhile (400 ``NotFound``) is landed and skipped. An
    account taken down or deactivated (``AccountTakedown``,
    ``AccountDeactivated`` from ``resolveHandle`` or ``getProfile``) ends the
    pages with that error page, without raising: normalize reads its state.
    Naive datetimes are taken as UTC. ``options`` tune the HTTP client
    (timeouts, attempts, backoff, an injected ``sleep`` and ``clock``).

    Reads go to ``RAPPORT_BLUESKY_BASE_URL`` (default the public AppView). With
    ``RAPPORT_BLUESKY_HANDLE`` and ``RAPPORT_BLUESKY_APP_PASSWORD`` set, the
    extraction reads through ``RAPPORT_BLUESKY_PDS_URL`` (default
    ``https://bsky.social``) with the run's session
    (:class:`~rapport.sources.bluesky.session.SharedSession`): the first
    extraction of a run signs in, the others, in any task process, reuse its
    session, refreshed when the PDS says it expired. The tokens never reach a
    page, a log line or an error.

    The iteration raises ``SourceError`` subclasses of
    :mod:`rapport.sources.http`, naming the account, the URL and the cause:
    ``NotFoundError`` for an unknown handle or a DID without a profile;
    ``RetriesExhaustedError`` when the server keeps failing;
    ``HttpError`` for a 200 whose body cannot be read. A failed response's
    body is yielded as a page before the error is raised.
    """
    from rapport.sources.bluesky.extraction import extract_pages

    stats = ExtractionStats()
    return extract_pages(account, window, stats, thread_budget, ledger or ThreadLedger(), options), stats


# -- normalize --------------------------------------------------------------------------------------

_ENDPOINTS = (RESOLVE_HANDLE_ENDPOINT, PROFILE_ENDPOINT, AUTHOR_FEED_ENDPOINT, POST_THREAD_ENDPOINT)


def normalize(
    pages: Sequence[Page], account: Account, observed_at: datetime, fetched_at: datetime | None = None
) -> Records:
    """Turn the landed pages of one extraction into records.

    Returns ``{"account_snapshots", "posts", "interactions", "thread_reads"}``, each a list
    of rows with exactly the columns of :mod:`rapport.records`, each value of
    its column's type or ``None``, ``observed_at`` (naive UTC) on every row:

    - the snapshot comes from the last ``getProfile`` page (``account_native_id``
      is the DID), ``taken_down`` when it carries a ``!takedown`` label on the
      account; when the last ``resolveHandle`` or ``getProfile`` page is an
      ``AccountTakedown`` or ``AccountDeactivated`` error, the snapshot is the
      state alone (``taken_down``, ``deactivated``; counts NULL, no posts);
    - posts are the feed items the account wrote or reposted, and its own
      posts found in the fetched threads (each post once, the first seen);
    - interactions are the posts of others in the threads that reply directly
      to one of the account's posts, else quote one, else mention the account;
    - thread reads are the account's own posts in the fetched threads whose
      replies the thread holds (``replies`` present), with their ``replyCount``.

    Thread nodes that are ``notFoundPost`` or ``blockedPost`` are skipped, as
    are threads landed with a 400 ``NotFound`` (deleted posts), unknown
    ``$type`` members of a union, labels and unknown fields. A post or
    interaction published after ``observed_at`` (the end of the window) that
    the extraction could have seen (until ``fetched_at`` plus a day) is left
    for the run dates that follow, whose windows cover it; one dated later is
    kept, for validation to quarantine.

    Raises ``NormalizationError`` naming the page (``app.bsky.feed.getAuthorFeed
    page 2``) and the field (``$.feed[3].post.uri``) when a body is not valid
    JSON or lacks a required field, when no ``getProfile`` page is present,
    when the profile is of another DID than the one the handle resolved to, or
    when a page is another error response or comes from an unknown endpoint.
    """
    observed = to_naive_utc(observed_at)
    fetched = to_naive_utc(fetched_at) if fetched_at is not None else None
    labelled = label_pages(pages)
    resolved: list[JsonNode] = []
    profiles: list[JsonNode] = []
    feeds: list[JsonNode] = []
    threads: list[JsonNode] = []
    gone: str | None = None  # the state of an account the last identity or profile page said is gone
    for page, label in labelled:
        if page.endpoint not in _ENDPOINTS:
            raise NormalizationError(f"{label}: unknown {NAME} endpoint {page.endpoint!r}")
        if page.endpoint in (RESOLVE_HANDLE_ENDPOINT, PROFILE_ENDPOINT):
            gone = ACCOUNT_STATE_ERRORS.get(error_name(page) or "") if page.status != 200 else None
            if gone is not None:
                continue
        if page.status != 200:
            if page.endpoint == POST_THREAD_ENDPOINT and error_name(page) == DELETED_POST_ERROR:
                continue
            raise NormalizationError(f"{label}: HTTP status {page.status}, expected 200")
        root = parse_json(page.body, label)
        if page.endpoint == RESOLVE_HANDLE_ENDPOINT:
            resolved.append(root)
        elif page.endpoint == PROFILE_ENDPOINT:
            profiles.append(root)
        elif page.endpoint == AUTHOR_FEED_ENDPOINT:
            feeds.append(root)
        elif page.endpoint == POST_THREAD_ENDPOINT:
            threads.append(root)
    if gone is not None:
        # A PDS may refuse to resolve the handle of an account it took down: no DID to name it.
        native_id = resolved[-1].get_str("did") if resolved else account.handle.lstrip("@")
        return {
            ACCOUNT_SNAPSHOTS.name: [gone_snapshot(account, native_id, gone, observed)],
            POSTS.name: [],
            INTERACTIONS.name: [],
        }
    if not profiles:
        raise NormalizationError(
            f"{account.account_id}: none of the {len(pages)} pages is a {PROFILE_ENDPOINT} page, "
            "so the account's own DID is unknown"
        )
    snapshot = read_profile(profiles[-1], account, observed)
    own_did = str(snapshot["account_native_id"])
    if resolved and (handle_did := resolved[-1].get_str("did")) != own_did:
        # The feed and threads were asked for the DID the handle resolved to.
        profiles[-1].fail(
            f"the profile is of {own_did[:60]!r}, not of {handle_did[:60]!r}, "
            f"the DID {resolved[-1].page} resolved {account.handle!r} to",
            "did",
        )

    posts: dict[str, Row] = {}
    interactions: dict[str, Row] = {}
    reads: dict[str, Row] = {}
    for root in feeds:
        for item in root.get_list("feed"):
            row = read_feed_item(item, account, own_did, observed)
            if row is not None:
                posts.setdefault(row["post_id"], row)
    for root in threads:
        thread = root.get_object("thread")
        read_thread(thread, account, own_did, observed, posts, interactions)
        for post_id, reply_count in covered_posts(thread, own_did).items():
            reads[post_id] = thread_read(account, post_id, reply_count, observed)
    kept_posts = without_in_flight(posts.values(), observed, fetched)
    kept = {row["post_id"] for row in kept_posts}
    return {
        ACCOUNT_SNAPSHOTS.name: [snapshot],
        POSTS.name: kept_posts,
        INTERACTIONS.name: without_in_flight(interactions.values(), observed, fetched),
        THREAD_READS.name: [read for post_id, read in reads.items() if post_id in kept],
    }
