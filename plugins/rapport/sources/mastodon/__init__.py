"""Mastodon, on any instance: an account, its statuses and the threads around them, public data only.

The package's public entry points, and the platform's declaration
(:data:`PLATFORM`): :func:`extract` calls Mastodon's REST API v1 and yields
every response as a :class:`~rapport.sources.Page`, untouched;
:func:`extract_with_stats` does the same and also hands back the request
counters (:class:`ExtractionStats`); :func:`normalize` turns landed pages back
into the record types of :mod:`rapport.records`, from the pages alone. What a
run costs is :data:`API_COST`; what the source can and cannot see is in README.md.

Light to import (the DAG file reads :data:`PLATFORM` when it is parsed): the
extraction loop (:mod:`~rapport.sources.mastodon.extraction`) and the HTTP client
(:mod:`~rapport.sources.mastodon.client`) are imported when an extraction
runs; the payload readers are in :mod:`~rapport.sources.mastodon.readers`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Final

from rapport.records import ACCOUNT_SNAPSHOTS, INTERACTIONS, POSTS, THREAD_READS
from rapport.sources import (
    NormalizationError,
    Page,
    Records,
    Row,
    SourceError,
    Window,
    thread_read,
    without_in_flight,
)
from rapport.sources.contract import Credential, Measure, NightlyCost, Platform
from rapport.sources.mastodon.readers import (
    STATUSES,
    context_id,
    covered_statuses,
    is_direct,
    page_labels,
    read_account,
    read_interaction,
    read_post,
)
from rapport.sources.mastodon.settings import (
    CONNECTION_ID,
    LOOKUP_ENDPOINT,
    NAME,
    TOKEN_VARIABLE,
    TOKENS_VARIABLE,
    read_context_budget,
)
from rapport.sources.payloads import JsonNode, parse_json, to_naive_utc
from rapport.sources.stats import HttpStats
from rapport.thread_ledger import ThreadLedger, ThreadReport

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.sources.mastodon.client import MastodonClient

__all__ = [
    "API_COST",
    "PLATFORM",
    "ExtractionStats",
    "extract",
    "extract_with_stats",
    "normalize",
]


API_COST: Final = (
    "per account per run: 1 lookup "
    "+ (floor(statuses published since window.since / 40) + 1) statuses pages "
    "+ min(threads due, context budget (default 40)) context calls, where the threads due are "
    "the own posts listed with a replies_count other than when the thread ledger last read them "
    "(never read included) plus the ledger's unread backlog; retries come on top (ExtractionStats.retries)"
)
"""Requests one extraction costs, before retries.

For an account posting 15 times a week, two thirds of its posts getting
replies: a first run (26 weeks of backfill) costs 1 + (floor(390 / 40) + 1) =
10 statuses pages + 40 threads (the budget; T = 260 posts had replies) = 51
calls, and leaves T - 40 = 220 threads in the ledger's backlog. Each nightly
run (from the watermark less the 14-day lookback, about 15 days) costs 1 + 1
statuses page + the c threads whose reply count changed, plus up to 40 - c of
the backlog, newest first: the history is read completely after
ceil((T - 40) / (40 - c)) more nights (with c = 10 changed threads a night, 8
nights for T = 260). Once the backlog is read, a night costs 2 + c calls; a
night with nothing new, 2 calls and no thread. Mastodon allows 300 calls per 5
minutes per IP address (or per token): past that, the client waits for the
reset instead of earning 429s.
"""


PLATFORM: Final = Platform(
    name=NAME,
    title="Mastodon",
    # A status id is the account's server's: its web page there shows a remote author's post too.
    post_url="https://{instance}/@{author}/{post_id}",
    handle=re.compile(r"@[a-z0-9_]{1,30}", re.ASCII | re.IGNORECASE),
    handle_hint=(
        "expected '@' then the user name (1-30 letters, digits or '_'), with the server under 'instance'"
    ),
    address_example="'@user@instance'",
    needs_instance=True,
    concurrency=4,
    pool_description="Concurrent extractions from Mastodon instances (rate limits are per instance and IP)",
    credentials=(
        Credential(
            "an access token per instance (optional: threads of 4,096 replies instead of 60, "
            "rate limits per token instead of per IP address)",
            variables=(TOKENS_VARIABLE, TOKEN_VARIABLE),
            connection_ids=(f"{CONNECTION_ID}_<instance slug>", CONNECTION_ID),
        ),
    ),
    cost=NightlyCost(
        unit="requests",
        formula=API_COST,
        first_run=51,
        nightly=12,
        nothing_new=2,
        example="15 posts a week, 2/3 with replies, 10 threads changed a night (once the backlog is read)",
    ),
    availability=(
        Measure("followers", "yes", "accounts/lookup followers_count; NULL for a suspended account"),
        Measure("following", "yes", "accounts/lookup following_count; NULL for a suspended account"),
        Measure("posts count", "yes", "accounts/lookup statuses_count; NULL for a suspended account"),
        Measure("account creation date", "yes", "accounts/lookup created_at, rounded to the day by Mastodon"),
        Measure(
            "account state",
            "yes",
            "accounts/lookup suspended (Mastodon 3.3+), moved; a limited (silenced) account stays active",
        ),
        Measure("own posts and replies", "yes", "accounts/:id/statuses, and its answers in threads"),
        Measure(
            "own reposts and quotes", "yes", "reblog; quote (Mastodon 4.4+: older servers show originals)"
        ),
        Measure("text, links and mentions", "yes", "content (HTML), spoiler_text, mentions"),
        Measure("language", "partly", "language; NULL when the author's app sets none"),
        Measure("alt text", "yes", "media_attachments[].description"),
        Measure("likes received", "yes", "favourites_count (a remote instance's may lag)"),
        Measure("reposts received", "yes", "reblogs_count (a remote instance's may lag)"),
        Measure("edits", "yes", "edited_at, the last edit only"),
        Measure(
            "deletions", "no", "a deleted post vanishes from listings and threads: is_deleted is always false"
        ),
        Measure(
            "the public's replies and questions",
            "yes",
            "statuses/:id/context, within the thread budget (60 replies a thread without a token)",
        ),
        Measure("the account's answers (response rate and time)", "yes", "its replies in those threads"),
        Measure(
            "the public's mentions",
            "partly",
            "only inside its threads: notifications need the account's own token",
        ),
        Measure(
            "the public's quotes",
            "partly",
            "only inside its threads: statuses/:id/quotes needs a user token and Mastodon 4.5",
        ),
        Measure("who liked or reposted", "no", "not fetched: favourited_by, reblogged_by cost a call a post"),
        Measure("views", "no", "Mastodon shows none"),
        Measure(
            "direct messages and non-public posts",
            "no",
            "public statuses only: direct ones are skipped, followers-only ones need an allowed token",
        ),
    ),
)


@dataclass
class ExtractionStats(HttpStats):
    """What one extraction cost: the shared client's counters, and what the extraction did with them.

    Inherited from :class:`~rapport.sources.stats.HttpStats`: ``requests`` (HTTP
    attempts sent, retries included: the API calls it cost), ``retries``,
    ``rate_limited`` (429s received) and ``slept_seconds``. Filled in as the
    pages are consumed; final once they are exhausted or have raised.
    """

    statuses_pages: int = 0
    contexts_fetched: int = 0
    contexts_skipped: int = 0
    """Threads due (changed or in the backlog) not read because the context budget was spent."""
    contexts_missing: int = 0
    """Threads that answered 404 or 410: the post was deleted between the listing and the call."""
    threads: ThreadReport = field(default_factory=ThreadReport)
    """What the extraction listed and read, for the thread ledger."""

    @property
    def http(self) -> HttpStats:
        """The request counters alone, as a plain :class:`~rapport.sources.stats.HttpStats` copy."""
        return HttpStats(self.requests, self.retries, self.rate_limited, self.slept_seconds)


# -- extract ----------------------------------------------------------------------------------------


def extract(
    account: Account,
    window: Window,
    *,
    context_budget: int | None = None,
    client: MastodonClient | None = None,
    ledger: ThreadLedger | None = None,
) -> Iterator[Page]:
    """Fetch one account's statuses and the threads around them from its Mastodon instance.

    Yields, in order: the ``accounts/lookup`` page (and nothing more when it
    says ``"suspended": true``: a suspended account has no statuses to read;
    a ``moved`` one is read as any other); the ``accounts/<id>/statuses``
    pages, newest first, following the ``Link`` header until the first page
    whose oldest status is older than ``window.since``; then one
    ``statuses/<id>/context`` page for each thread
    :func:`~rapport.thread_ledger.plan_thread_reads` chooses from the
    account's own posts listed with replies in [since, until) and the
    ``ledger`` (default: empty, every listed thread is new): first those whose
    ``replies_count`` differs from when their thread was last read, newest
    first, then the ledger's unread backlog, at most ``context_budget`` in all
    (default: ``RAPPORT_MASTODON_CONTEXT_BUDGET``, else 40). Naive datetimes
    are taken as UTC. The client defaults to
    :meth:`~rapport.sources.mastodon.client.MastodonClient.for_account` (the
    instance's URL, the token of ``RAPPORT_MASTODON_TOKEN``); a client passed
    in is not closed.

    Raises, after yielding the failed response as a page when there is one,
    a :class:`~rapport.sources.SourceError` naming the account, the URL (never
    the token) and the cause: :class:`~rapport.sources.http.NotFoundError` for
    an unknown account (or one suspended on a server older than Mastodon 3.3,
    which answers 410), :class:`~rapport.sources.http.RetriesExhaustedError`
    when the server keeps failing,
    :class:`~rapport.sources.mastodon.client.MalformedResponseError` when a
    body is not the documented JSON, and the other ``HttpError`` subclasses. A
    thread that answers 404 (the post was deleted meanwhile) is yielded and
    skipped. Raises ``ValueError`` at the call, before any request, for a
    negative budget or one the environment variable spells wrong.
    """
    pages, _ = extract_with_stats(
        account, window, context_budget=context_budget, client=client, ledger=ledger
    )
    return pages


def extract_with_stats(
    account: Account,
    window: Window,
    *,
    context_budget: int | None = None,
    client: MastodonClient | None = None,
    ledger: ThreadLedger | None = None,
) -> tuple[Iterator[Page], ExtractionStats]:
    """Do what :func:`extract` does, and also return the counters of the requests it makes.

    Returns ``(pages, stats)``: ``pages`` is the iterator :func:`extract`
    returns; ``stats`` fills in as the pages are consumed, and is final once
    they are exhausted or have raised::

        pages, stats = mastodon.extract_with_stats(account, window)
        land_extraction(..., pages)  # consumes the pages
        print(f"{stats.requests} API calls")  # lookup + statuses pages + contexts + retries

    ``stats.threads`` reports what was listed and read, for the thread ledger.
    Raises what :func:`extract` raises.
    """
    if account.platform != NAME:
        raise SourceError(f"{account.account_id}: not a {NAME} account, the {NAME} source cannot fetch it")
    from rapport.thread_ledger import thread_budget

    budget = thread_budget(context_budget, read_context_budget, "context budget")
    from rapport.sources.mastodon.extraction import extract_pages

    stats = ExtractionStats()
    return extract_pages(client, account, window, budget, ledger or ThreadLedger(), stats), stats


# -- normalize --------------------------------------------------------------------------------------


def normalize(
    pages: Sequence[Page], account: Account, observed_at: datetime, fetched_at: datetime | None = None
) -> Records:
    """Turn the landed pages of one extraction into records.

    Returns ``{"account_snapshots", "posts", "interactions", "thread_reads"}``, each a list
    of rows with exactly the columns of :mod:`rapport.records`, each value of
    its column's type or ``None``, ``observed_at`` (naive UTC) on every row:

    - the snapshot comes from the last lookup page: ``account_state`` is
      ``suspended`` for ``"suspended": true`` (its counts and display name
      NULL: the server shows 0 and an empty profile), ``moved`` when the
      account names the one it ``moved`` to (``moved_to_handle``), else ``active``;
    - posts are the account's own statuses, from the statuses pages and from
      the threads (its answers and older posts found only there);
    - interactions are the statuses of other accounts in the threads that
      reply to one of the account's posts (``reply``; the post replied to may
      be missing from the thread, deleted), else quote one (``quote``), else
      mention the account (``mention``); the rest of a thread is left out;
    - thread reads are the statuses whose replies a thread page holds in full:
      the status it was asked for (``reply_count`` as this extraction listed
      it; when it did not list it, a thread of the backlog, the replies the
      thread holds directly under it) and the account's own statuses among
      its descendants.

    A status seen twice is kept once, as last seen (threads are fetched after
    the listing, so they hold the newer counts). Statuses with visibility
    ``direct`` and statuses published after ``observed_at`` (the end of the
    window) that the extraction could have seen (until ``fetched_at`` plus a
    day: the run dates that follow read them) are left out; one dated later
    is kept, for validation to quarantine. Thread pages
    that answered 404 or 410 (deleted meanwhile) are skipped.

    Raises ``NormalizationError`` naming the page (``accounts/109/statuses
    page 2 (max_id=115)``) and the field (``$[3].replies_count``) when a body
    is not valid JSON, lacks a required field or holds a value of another
    type, when no lookup page is present (the account's own id is needed to
    tell its statuses from the public's), when the lookup describes another
    account, or when a page is another non-200 response or comes from an
    endpoint this source does not know. Unknown fields are ignored.
    """
    observed = to_naive_utc(observed_at)
    fetched = to_naive_utc(fetched_at) if fetched_at is not None else None
    lookups: list[JsonNode] = []
    listings: list[JsonNode] = []
    threads: list[tuple[str, JsonNode]] = []
    for page, label in zip(pages, page_labels(pages), strict=True):
        status_id = context_id(page.endpoint)
        if page.status != 200:
            if status_id is not None and page.status in (404, 410):
                continue
            raise NormalizationError(f"{label}: HTTP status {page.status}, expected 200")
        if page.endpoint == LOOKUP_ENDPOINT:
            lookups.append(parse_json(page.body, label))
        elif STATUSES.fullmatch(page.endpoint):
            listings.append(parse_json(page.body, label))
        elif status_id is not None:
            threads.append((status_id, parse_json(page.body, label)))
        else:
            raise NormalizationError(f"{label}: unknown {NAME} endpoint {page.endpoint!r}")
    if not lookups:
        raise NormalizationError(
            f"{account.account_id}: none of the {len(pages)} pages is an {LOOKUP_ENDPOINT} page, "
            "so the account's own id is unknown"
        )
    snapshot = read_account(lookups[-1], account, observed)
    own_id = str(snapshot["account_native_id"])

    posts: dict[str, Row] = {}
    for listing in listings:
        for node in listing.as_list():
            if not is_direct(node):
                row = read_post(node, account, own_id, observed)
                posts[row["post_id"]] = row
    listed_replies = {post_id: row["reply_count"] for post_id, row in posts.items()}
    others: list[JsonNode] = []
    reads: dict[str, Row] = {}
    for status_id, thread in threads:
        for node in thread.get_list("ancestors") + thread.get_list("descendants"):
            if is_direct(node):
                continue
            if node.get_object("account").get_str("id") == own_id:
                row = read_post(node, account, own_id, observed)
                posts[row["post_id"]] = row
            else:
                others.append(node)
        covered = covered_statuses(status_id, thread, own_id, listed_replies.get(status_id))
        for post_id, reply_count in covered.items():
            reads[post_id] = thread_read(account, post_id, reply_count, observed)
    own_post_ids = set(posts) | {status_id for status_id, _ in threads}
    interactions: dict[str, Row] = {}
    for node in others:
        interaction = read_interaction(node, account, own_id, own_post_ids, observed)
        if interaction is not None:
            interactions[interaction["interaction_id"]] = interaction
    kept_posts = without_in_flight(posts.values(), observed, fetched)
    # A thread read counts for a post the records keep, or one listed by an earlier run (the backlog).
    kept = {row["post_id"] for row in kept_posts} | (set(reads) - set(posts))
    return {
        ACCOUNT_SNAPSHOTS.name: [snapshot],
        POSTS.name: kept_posts,
        INTERACTIONS.name: without_in_flight(interactions.values(), observed, fetched),
        THREAD_READS.name: [read for post_id, read in reads.items() if post_id in kept],
    }
