"""Mastodon, on any instance: an account, its statuses and the threads around them, public data only.

:func:`extract` calls Mastodon's REST API v1 (see :mod:`rapport.sources.mastodon.client`)
and yields every response as a :class:`~rapport.sources.Page`, untouched;
:func:`normalize` turns landed pages back into the record types of
:mod:`rapport.records`, from the pages alone. :func:`extract_with_stats` does
what :func:`extract` does and also hands back the request counters. What a
run costs is :data:`API_COST`; what the source can and cannot see is in README.md.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Final, TypeVar
from urllib.parse import unquote

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
from rapport.sources.http import HttpError, HttpStats, NotFoundError, Response
from rapport.sources.mastodon.client import MalformedResponseError, MastodonClient, path_id
from rapport.sources.mastodon.settings import (
    CONNECTION_ID,
    CONTEXT_ENDPOINT,
    CONTEXT_ENDPOINT_PATTERN,
    LOOKUP_ENDPOINT,
    NAME,
    QUOTE_FALLBACK_CLASS,
    STATUSES_ENDPOINT,
    STATUSES_ENDPOINT_PATTERN,
    TOKEN_VARIABLE,
    TOKENS_VARIABLE,
    read_context_budget,
)
from rapport.sources.payloads import (
    JsonNode,
    contains_question,
    count_alt_texts,
    parse_json,
    read_html,
    to_naive_utc,
)
from rapport.thread_ledger import ListedThread, ThreadLedger, ThreadReport, plan_thread_reads

if TYPE_CHECKING:
    from rapport.accounts import Account

__all__ = [
    "API_COST",
    "PLATFORM",
    "ExtractionStats",
    "MalformedResponseError",
    "MastodonClient",
    "extract",
    "extract_with_stats",
    "normalize",
]


log = logging.getLogger(__name__)

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


T = TypeVar("T")
R = TypeVar("R", bound=Response | None)

_STATUSES = re.compile(STATUSES_ENDPOINT_PATTERN)
_CONTEXT = re.compile(CONTEXT_ENDPOINT_PATTERN)


@dataclass
class ExtractionStats(HttpStats):
    """What one extraction cost: the shared client's counters, and what the extraction did with them.

    Inherited from :class:`~rapport.sources.http.HttpStats`: ``requests`` (HTTP
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
        """The request counters alone, as a plain :class:`~rapport.sources.http.HttpStats` copy."""
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
    :meth:`MastodonClient.for_account` (the instance's URL, the token of
    ``RAPPORT_MASTODON_TOKEN``); a client passed in is not closed.

    Raises, after yielding the failed response as a page when there is one,
    a :class:`~rapport.sources.SourceError` naming the account, the URL (never
    the token) and the cause: :class:`~rapport.sources.http.NotFoundError` for
    an unknown account (or one suspended on a server older than Mastodon 3.3,
    which answers 410), :class:`~rapport.sources.http.RetriesExhaustedError`
    when the server keeps failing, :class:`MalformedResponseError` when a body
    is not the documented JSON, and the other ``HttpError`` subclasses. A
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
    budget = _resolve_budget(context_budget)
    stats = ExtractionStats()
    return _extract(client, account, window, budget, ledger or ThreadLedger(), stats), stats


def _resolve_budget(context_budget: int | None) -> int:
    if context_budget is None:
        return read_context_budget()
    if context_budget < 0:
        raise ValueError(f"the context budget must not be negative, got {context_budget}")
    return context_budget


def _extract(
    given: MastodonClient | None,
    account: Account,
    window: Window,
    budget: int,
    ledger: ThreadLedger,
    stats: ExtractionStats,
) -> Iterator[Page]:
    since, until = to_naive_utc(window.since), to_naive_utc(window.until)
    # Built on the first page asked for, so a credential error is the iteration's, landed with it.
    client = given if given is not None else MastodonClient.for_account(account)
    client.stats = stats  # the client counts into it from here on
    try:
        username = account.handle.lstrip("@")
        lookup = yield from _fetch(partial(client.lookup_account, username), LOOKUP_ENDPOINT)
        own_id, suspended = _read_or_fail(client, lookup, LOOKUP_ENDPOINT, _read_lookup)
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
            listed = _read_or_fail(client, response, statuses_endpoint, _read_listing)
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
                _covered_statuses, status_id, own_id=own_id, listed_count=listed_counts.get(status_id)
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


@dataclass(frozen=True)
class _Listed:
    """What extraction needs of one status of a listing."""

    status_id: str
    author_id: str
    created_at: datetime
    reply_count: int
    is_reblog: bool
    is_direct: bool


def _read_listing(root: JsonNode) -> list[_Listed]:
    return [
        _Listed(
            status_id=node.get_str("id"),
            author_id=node.get_object("account").get_str("id"),
            created_at=node.get_timestamp("created_at"),
            reply_count=node.get_int("replies_count"),
            is_reblog=node.get_optional_object("reblog") is not None,
            is_direct=node.get_optional_str("visibility") == "direct",
        )
        for node in root.as_list()
    ]


def _read_lookup(root: JsonNode) -> tuple[str, bool]:
    """The account's id, and whether its instance suspended it."""
    return root.get_str("id"), root.get_flag("suspended")


def _covered_statuses(
    status_id: str, context: JsonNode, own_id: str, listed_count: int | None
) -> dict[str, int]:
    """The statuses whose thread a ``statuses/<id>/context`` read covers, with their reply count.

    A context holds every reply below its status: that status's thread is read
    (at ``listed_count``, its count as this extraction listed it; when it did
    not list it, a thread of the backlog, the replies the context holds directly
    under it), and so is the thread of each of the account's own statuses among
    its descendants (not a direct one). Not those among its ancestors: their
    other replies are not shown. The one definition of a thread read: normalize
    writes a ``thread_reads`` row for each, the extraction reports them to the
    thread ledger.
    """
    context.get_list("ancestors")
    descendants = context.get_list("descendants")
    shown = sum(1 for node in descendants if node.get_optional_str("in_reply_to_id") == status_id)
    covered = {status_id: shown if listed_count is None else listed_count}
    for node in descendants:
        if not _is_direct(node) and node.get_object("account").get_str("id") == own_id:
            covered[node.get_str("id")] = node.get_int("replies_count")
    return covered


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
    for page, label in zip(pages, _page_labels(pages), strict=True):
        status_id = _context_id(page.endpoint)
        if page.status != 200:
            if status_id is not None and page.status in (404, 410):
                continue
            raise NormalizationError(f"{label}: HTTP status {page.status}, expected 200")
        if page.endpoint == LOOKUP_ENDPOINT:
            lookups.append(parse_json(page.body, label))
        elif _STATUSES.fullmatch(page.endpoint):
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
    snapshot = _read_account(lookups[-1], account, observed)
    own_id = str(snapshot["account_native_id"])

    posts: dict[str, Row] = {}
    for listing in listings:
        for node in listing.as_list():
            if not _is_direct(node):
                row = _read_post(node, account, own_id, observed)
                posts[row["post_id"]] = row
    listed_replies = {post_id: row["reply_count"] for post_id, row in posts.items()}
    others: list[JsonNode] = []
    reads: dict[str, Row] = {}
    for status_id, thread in threads:
        for node in thread.get_list("ancestors") + thread.get_list("descendants"):
            if _is_direct(node):
                continue
            if node.get_object("account").get_str("id") == own_id:
                row = _read_post(node, account, own_id, observed)
                posts[row["post_id"]] = row
            else:
                others.append(node)
        covered = _covered_statuses(status_id, thread, own_id, listed_replies.get(status_id))
        for post_id, reply_count in covered.items():
            reads[post_id] = thread_read(account, post_id, reply_count, observed)
    own_post_ids = set(posts) | {status_id for status_id, _ in threads}
    interactions: dict[str, Row] = {}
    for node in others:
        interaction = _read_interaction(node, account, own_id, own_post_ids, observed)
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


def _page_labels(pages: Sequence[Page]) -> list[str]:
    """Name each page for error messages: ``accounts/109/statuses page 2 (max_id=115)``."""
    counts: dict[str, int] = {}
    labels = []
    for page in pages:
        if _STATUSES.fullmatch(page.endpoint):
            counts[page.endpoint] = counts.get(page.endpoint, 0) + 1
            label = f"{page.endpoint} page {counts[page.endpoint]}"
            if "max_id" in page.params:
                label += f" (max_id={page.params['max_id']})"
            labels.append(label)
        else:
            labels.append(page.endpoint)
    return labels


def _context_id(endpoint: str) -> str | None:
    match = _CONTEXT.fullmatch(endpoint)
    return unquote(match["status_id"]) if match else None


def _is_direct(node: JsonNode) -> bool:
    return node.get_optional_str("visibility") == "direct"


def _read_account(node: JsonNode, account: Account, observed: datetime) -> Row:
    acct = node.get_str("acct")
    username = account.handle.lstrip("@")
    # Mastodon usernames are case-insensitive; a local account's acct is its bare username.
    if acct.split("@")[0].lower() != username.lower():
        node.fail(f"the page describes {acct[:40]!r}, not {account.handle!r}", "acct")
    moved = node.get_optional_object("moved")
    suspended = node.get_flag("suspended")
    # A suspended account shows 0 for every count and an empty profile: not a collapse, no counts.
    counts_shown = not suspended
    return {
        "platform": account.platform,
        "account_id": account.account_id,
        "account_native_id": node.get_str("id"),
        "handle": _full_handle(acct, account),
        "display_name": node.get_optional_str("display_name") if counts_shown else None,
        "followers_count": node.get_int("followers_count") if counts_shown else None,
        "following_count": node.get_int("following_count") if counts_shown else None,
        "posts_count": node.get_int("statuses_count") if counts_shown else None,
        "account_created_at": node.get_optional_timestamp("created_at"),
        "account_state": "suspended" if suspended else "moved" if moved is not None else "active",
        "moved_to_handle": _full_handle(moved.get_str("acct"), account) if moved is not None else None,
        "observed_at": observed,
    }


def _full_handle(acct: str, account: Account) -> str:
    """``@user@host``: an ``acct`` is a bare username for accounts of the instance asked."""
    return f"@{acct}" if "@" in acct else f"@{acct}@{account.instance}"


def _read_quoted(quote: JsonNode | None) -> tuple[str | None, str | None]:
    """The id of a quoted status and of its author, as far as the quote shows them.

    A Quote holds ``quoted_status`` (null unless the quote is accepted); a
    ShallowQuote (a quote inside a quote) only ``quoted_status_id``.
    """
    if quote is None:
        return None, None
    quoted = quote.get_optional_object("quoted_status")
    if quoted is not None:
        return quoted.get_str("id"), quoted.get_object("account").get_str("id")
    return quote.get_optional_str("quoted_status_id"), None


def _read_text(node: JsonNode, is_quote: bool) -> tuple[str, int, str]:
    """Plain text (the content warning first, when there is one), the number of links, and the
    text without the labels of its links (for :func:`contains_question`)."""
    content = node.get_str("content")
    if is_quote:
        content = _strip_quote_fallback(content)
    html = read_html(content)
    spoiler = (node.get_optional_str("spoiler_text") or "").strip()
    text = f"{spoiler}\n\n{html.text}" if spoiler and html.text else spoiler or html.text
    return text, len(html.links), f"{spoiler}\n\n{html.text_outside_links}"


def _read_post(node: JsonNode, account: Account, own_id: str, observed: datetime) -> Row:
    reblog = node.get_optional_object("reblog")
    quote = node.get_optional_object("quote")
    in_reply_to_id = node.get_optional_str("in_reply_to_id")
    in_reply_to_account = node.get_optional_str("in_reply_to_account_id")
    if reblog is not None:
        post_type = "repost"
        shared_id: str | None = reblog.get_str("id")
        shared_account: str | None = reblog.get_object("account").get_str("id")
    else:
        post_type = "quote" if quote is not None else "reply" if in_reply_to_id is not None else "original"
        shared_id, shared_account = _read_quoted(quote)
    is_reply = post_type == "reply"
    # A reblog's own content is empty: its text is the reblogged status's, not the account's.
    text, link_count, _ = (None, 0, "") if reblog is not None else _read_text(node, quote is not None)
    mentions = node.get_list("mentions")
    for mention in mentions:
        mention.get_str("id")
    media = node.get_list("media_attachments")
    return {
        "platform": account.platform,
        "post_id": node.get_str("id"),
        "account_id": account.account_id,
        "created_at": node.get_timestamp("created_at"),
        "post_type": post_type,
        "text": text,
        "language": node.get_optional_str("language"),
        "in_reply_to_post_id": in_reply_to_id if is_reply else None,
        "in_reply_to_account_native_id": in_reply_to_account if is_reply else None,
        "is_reply_to_self": is_reply and in_reply_to_account == own_id,
        "reposted_post_id": shared_id,
        "reposted_account_native_id": shared_account,
        "mention_count": len(mentions),
        "link_count": link_count,
        "media_count": len(media),
        "media_with_alt_text_count": count_alt_texts(media),
        "reply_count": node.get_int("replies_count"),
        "repost_count": node.get_int("reblogs_count"),
        "like_count": node.get_int("favourites_count"),
        "edited_at": node.get_optional_timestamp("edited_at"),
        "is_deleted": False,
        "observed_at": observed,
    }


def _read_interaction(
    node: JsonNode, account: Account, own_id: str, own_post_ids: set[str], observed: datetime
) -> Row | None:
    """A status of the public in a thread as an interaction; ``None`` when not addressed to the account."""
    author = node.get_object("account")
    acct = author.get_optional_str("acct")
    in_reply_to_id = node.get_optional_str("in_reply_to_id")
    in_reply_to_account = node.get_optional_str("in_reply_to_account_id")
    quote = node.get_optional_object("quote")
    quoted_id, quoted_account = _read_quoted(quote)
    mentioned = {mention.get_str("id") for mention in node.get_list("mentions")}
    # The parent's author says it is a reply to the account even when the parent itself is
    # missing from the thread (deleted posts are left out of a context).
    if in_reply_to_id is not None and (in_reply_to_account == own_id or in_reply_to_id in own_post_ids):
        interaction_type = "reply"
    elif quote is not None and (quoted_account == own_id or quoted_id in own_post_ids):
        interaction_type = "quote"
    elif own_id in mentioned:
        interaction_type = "mention"
    else:
        return None
    text, _, unlinked_text = _read_text(node, quote is not None)
    return {
        "platform": account.platform,
        "interaction_id": node.get_str("id"),
        "account_id": account.account_id,
        "author_native_id": author.get_str("id"),
        "author_handle": _full_handle(acct, account) if acct else None,
        "created_at": node.get_timestamp("created_at"),
        "interaction_type": interaction_type,
        "in_reply_to_post_id": in_reply_to_id if interaction_type == "reply" else None,
        "text": text,
        "language": node.get_optional_str("language"),
        "is_question": contains_question(unlinked_text),
        "observed_at": observed,
    }


class _QuoteFallbackFinder(HTMLParser):
    """Finds the source spans of the elements of class ``quote-inline``."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=False)
        self.html = html
        self.spans: list[tuple[int, int]] = []
        self._line_starts = [0] + [index + 1 for index, char in enumerate(html) if char == "\n"]
        self._open: tuple[str, int] | None = None  # tag and start offset of the element being skipped
        self._depth = 0

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._open is not None:
            if tag == self._open[0]:
                self._depth += 1
        elif QUOTE_FALLBACK_CLASS in (dict(attrs).get("class") or "").split():
            self._open, self._depth = (tag, self._offset()), 1

    def handle_endtag(self, tag: str) -> None:
        if self._open is None or tag != self._open[0]:
            return
        self._depth -= 1
        if self._depth == 0:
            end = self.html.find(">", self._offset())
            self.spans.append((self._open[1], len(self.html) if end == -1 else end + 1))
            self._open = None

    def close(self) -> None:
        super().close()
        if self._open is not None:
            self.spans.append((self._open[1], len(self.html)))
            self._open = None


def _strip_quote_fallback(html: str) -> str:
    """Remove the ``quote-inline`` elements (``RE: <link>``) a server adds to a quote post's content."""
    if QUOTE_FALLBACK_CLASS not in html:
        return html
    finder = _QuoteFallbackFinder(html)
    finder.feed(html)
    finder.close()
    kept, position = [], 0
    for start, end in finder.spans:
        kept.append(html[position:start])
        position = end
    kept.append(html[position:])
    return "".join(kept)


PLATFORM: Final = Platform(
    name=NAME,
    title="Mastodon",
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
        Measure("followers, following, posts counts", "yes", "accounts/lookup; NULL for a suspended account"),
        Measure("own posts, replies, reposts, quotes", "yes", "accounts/:id/statuses"),
        Measure(
            "the public's replies and questions", "yes", "statuses/:id/context, within the thread budget"
        ),
        Measure("the account's answers (response rate and time)", "yes", "its replies in those threads"),
        Measure("mentions outside its threads", "no", "notifications need the account's own token"),
        Measure("alt text", "yes", "media_attachments[].description"),
        Measure("likes, reposts received", "yes", "favourites_count, reblogs_count"),
    ),
)
