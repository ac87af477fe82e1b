"""Bluesky, read from its public AppView: an account's profile, its posts and the replies they get.

:func:`extract` yields the raw XRPC responses of one account for a window
(``resolveHandle``, ``getProfile``, ``getAuthorFeed`` pages, then
``getPostThread`` for the newest posts with replies, within a budget);
:func:`extract_with_stats` does the same and also hands back the live request
counters. :func:`normalize` turns the landed pages into the record types of
:mod:`rapport.records`, from the pages alone. See README.md for the calls an
account costs and what Bluesky can and cannot tell.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Final, TypeVar, Unpack

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
from rapport.sources.bluesky.client import BlueskyClient, Connection, HttpOptions, Session, read_connection
from rapport.sources.bluesky.session import SharedSession, session_state_file
from rapport.sources.bluesky.settings import (
    ACCOUNT_STATE_ERRORS,
    APP_PASSWORD_VARIABLE,
    AUTHOR_FEED_ENDPOINT,
    BASE_URL_VARIABLE,
    BLOCKED_POST,
    CONNECTION_ID,
    DELETED_POST_ERROR,
    EMBED_EXTERNAL,
    EMBED_IMAGES,
    EMBED_RECORD,
    EMBED_RECORD_WITH_MEDIA,
    EMBED_VIDEO,
    FACET_LINK,
    FACET_MENTION,
    LOGIN_HANDLE_VARIABLE,
    NAME,
    NOT_FOUND_ERRORS,
    NOT_FOUND_POST,
    PDS_URL_VARIABLE,
    POST_COLLECTION,
    POST_THREAD_ENDPOINT,
    PROFILE_ENDPOINT,
    REASON_PIN,
    REASON_REPOST,
    RESOLVE_HANDLE_ENDPOINT,
    TAKEDOWN_LABEL,
    THREAD_VIEW_POST,
)
from rapport.sources.contract import Credential, Measure, NightlyCost, Platform
from rapport.sources.http import (
    ClientError,
    HttpClient,
    HttpError,
    HttpStats,
    NotFoundError,
    Response,
    StalledCursorError,
)
from rapport.sources.payloads import (
    JsonNode,
    contains_question,
    parse_json,
    to_naive_utc,
    without_byte_ranges,
)
from rapport.thread_ledger import ListedThread, ThreadLedger, ThreadReport, plan_thread_reads

if TYPE_CHECKING:
    from rapport.accounts import Account

__all__ = [
    "API_COST",
    "PLATFORM",
    "ExtractionStats",
    "extract",
    "extract_with_stats",
    "normalize",
]


logger = logging.getLogger("rapport.sources.bluesky")

_Read = TypeVar("_Read")

_ENDPOINTS = (RESOLVE_HANDLE_ENDPOINT, PROFILE_ENDPOINT, AUTHOR_FEED_ENDPOINT, POST_THREAD_ENDPOINT)

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


@dataclass
class ExtractionStats(HttpStats):
    """What one extraction cost (the :class:`~rapport.sources.http.HttpStats` counters, the
    sign-in included) and what it listed and read, for the thread ledger."""

    threads: ThreadReport = field(default_factory=ThreadReport)

    @property
    def http(self) -> HttpStats:
        """The request counters alone, as a plain :class:`~rapport.sources.http.HttpStats` copy."""
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
    stats = ExtractionStats()
    return _extract(account, window, stats, thread_budget, ledger or ThreadLedger(), options), stats


@dataclass(frozen=True)
class _FeedEntry:
    """What paging and thread selection need from one feed item."""

    sort_at: datetime | None
    """Where the AppView sorts the item (None for a pinned item, which stands outside the order)."""
    own_post_uri: str | None
    """The post's URI when the account wrote it (not a repost)."""
    published_at: datetime
    reply_count: int
    thread_root_uri: str | None
    """The first post of the thread a reply belongs to (None for a post that is not a reply)."""


def _extract(
    account: Account,
    window: Window,
    stats: ExtractionStats,
    thread_budget: int | None,
    ledger: ThreadLedger,
    options: HttpOptions,
) -> Iterator[Page]:
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

        entries: list[_FeedEntry] = []
        cursor: str | None = None
        seen_cursors: set[str] = set()
        while True:
            response = yield from _fetch(AUTHOR_FEED_ENDPOINT, partial(client.get_author_feed, did, cursor))
            page_entries, cursor = _read_response(response, account, partial(_read_feed_page, did=did))
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
            covered = _read_response(thread, account, partial(_read_covered_posts, own_did=did))
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


def _read_feed_page(root: JsonNode, did: str) -> tuple[list[_FeedEntry], str | None]:
    entries = []
    for item in root.get_list("feed"):
        post = item.get_object("post")
        published_at = _published_at(post)
        reason = item.get_optional_object("reason")
        reason_type = _type_of(reason) if reason is not None else None
        is_own = reason_type != REASON_REPOST and post.get_object("author").get_str("did") == did
        if reason is not None and reason_type == REASON_REPOST:
            sort_at: datetime | None = reason.get_timestamp("indexedAt")
        elif reason_type == REASON_PIN:
            sort_at = None
        else:
            sort_at = published_at
        reply = post.get_object("record").get_optional_object("reply")
        entries.append(
            _FeedEntry(
                sort_at=sort_at,
                own_post_uri=post.get_str("uri") if is_own else None,
                published_at=published_at,
                reply_count=_count(post, "replyCount"),
                thread_root_uri=reply.get_object("root").get_str("uri") if reply is not None else None,
            )
        )
    return entries, root.get_optional_str("cursor")


def _listed_threads(
    entries: list[_FeedEntry], since: datetime, until: datetime, ledger: ThreadLedger
) -> list[ListedThread]:
    """The account's posts with replies that the feed listed in [since, until) (older ones too when
    the ledger knows them: their count is fresh), each with the root of the thread it is in.

    The planner reads a reply of the account inside the thread of another of
    these posts through that post's thread (it holds the reply and the replies
    it got, down to ``THREAD_DEPTH`` levels), so a busy conversation costs one
    call, not one per answer; a reply that thread does not reach (below a
    ``blockedPost``, or cut at the depth limit) is read on its own
    (:func:`_covered_posts` says which posts a read reached).
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
    labelled = _label_pages(pages)
    resolved: list[JsonNode] = []
    profiles: list[JsonNode] = []
    feeds: list[JsonNode] = []
    threads: list[JsonNode] = []
    gone: str | None = None  # the state of an account the last identity or profile page said is gone
    for page, label in labelled:
        if page.endpoint not in _ENDPOINTS:
            raise NormalizationError(f"{label}: unknown {NAME} endpoint {page.endpoint!r}")
        if page.endpoint in (RESOLVE_HANDLE_ENDPOINT, PROFILE_ENDPOINT):
            gone = ACCOUNT_STATE_ERRORS.get(_error_name(page) or "") if page.status != 200 else None
            if gone is not None:
                continue
        if page.status != 200:
            if page.endpoint == POST_THREAD_ENDPOINT and _error_name(page) == DELETED_POST_ERROR:
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
            ACCOUNT_SNAPSHOTS.name: [_gone_snapshot(account, native_id, gone, observed)],
            POSTS.name: [],
            INTERACTIONS.name: [],
        }
    if not profiles:
        raise NormalizationError(
            f"{account.account_id}: none of the {len(pages)} pages is a {PROFILE_ENDPOINT} page, "
            "so the account's own DID is unknown"
        )
    snapshot = _read_profile(profiles[-1], account, observed)
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
            row = _read_feed_item(item, account, own_did, observed)
            if row is not None:
                posts.setdefault(row["post_id"], row)
    for root in threads:
        thread = root.get_object("thread")
        _read_thread(thread, account, own_did, observed, posts, interactions)
        for post_id, reply_count in _covered_posts(thread, own_did).items():
            reads[post_id] = thread_read(account, post_id, reply_count, observed)
    kept_posts = without_in_flight(posts.values(), observed, fetched)
    kept = {row["post_id"] for row in kept_posts}
    return {
        ACCOUNT_SNAPSHOTS.name: [snapshot],
        POSTS.name: kept_posts,
        INTERACTIONS.name: without_in_flight(interactions.values(), observed, fetched),
        THREAD_READS.name: [read for post_id, read in reads.items() if post_id in kept],
    }


def _label_pages(pages: Sequence[Page]) -> list[tuple[Page, str]]:
    """Name each page for error messages: ``<endpoint> page <n>`` (n per endpoint), plus a thread's URI."""
    seen: dict[str, int] = {}
    labelled = []
    for page in pages:
        seen[page.endpoint] = seen.get(page.endpoint, 0) + 1
        label = f"{page.endpoint} page {seen[page.endpoint]}"
        if "uri" in page.params:
            label = f"{label} ({page.params['uri']})"
        labelled.append((page, label))
    return labelled


def _error_name(page: Page) -> str | None:
    try:
        payload = json.loads(page.body)
    except (ValueError, RecursionError):
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, str) else None


def _read_profile(node: JsonNode, account: Account, observed: datetime) -> Row:
    did = node.get_str("did")
    return {
        "platform": NAME,
        "account_id": account.account_id,
        "account_native_id": did,
        "handle": node.get_str("handle"),
        "display_name": node.get_optional_str("displayName") or None,
        "followers_count": node.get_int("followersCount"),
        "following_count": node.get_int("followsCount"),
        "posts_count": node.get_int("postsCount"),
        "account_created_at": node.get_optional_timestamp("createdAt"),
        "account_state": "taken_down" if _is_labelled_taken_down(node, did) else "active",
        "moved_to_handle": None,
        "observed_at": observed,
    }


def _is_labelled_taken_down(profile: JsonNode, did: str) -> bool:
    """Whether the profile carries a ``!takedown`` label on the account itself, not negated."""
    return any(
        label.get_str("val") == TAKEDOWN_LABEL and label.get_str("uri") == did and not label.get_flag("neg")
        for label in profile.get_optional_list("labels")
    )


def _gone_snapshot(account: Account, native_id: str, state: str, observed: datetime) -> Row:
    """The snapshot of an account taken down or deactivated: its state, no counts (none are shown)."""
    return {
        "platform": NAME,
        "account_id": account.account_id,
        "account_native_id": native_id,
        "handle": account.handle.lstrip("@"),
        "display_name": None,
        "followers_count": None,
        "following_count": None,
        "posts_count": None,
        "account_created_at": None,
        "account_state": state,
        "moved_to_handle": None,
        "observed_at": observed,
    }


def _read_feed_item(item: JsonNode, account: Account, own_did: str, observed: datetime) -> Row | None:
    """A feed item as a post of the account, or ``None`` when someone else wrote it."""
    post = item.get_object("post")
    reason = item.get_optional_object("reason")
    if reason is not None and _type_of(reason) == REASON_REPOST:
        if reason.get_object("by").get_str("did") != own_did:
            return None
        return _repost_row(post, reason, account, own_did, observed)
    if post.get_object("author").get_str("did") != own_did:
        return None
    reply = item.get_optional_object("reply")
    parent = reply.get_object("parent") if reply is not None else None
    return _post_row(post, account, own_did, observed, _author_did(parent))


def _walk_thread(root: JsonNode) -> Iterator[tuple[JsonNode, JsonNode | None]]:
    """The ``threadViewPost`` nodes of a thread from its root down, each with its parent's post
    (iteratively: depth is the server's to choose). A ``notFoundPost``, a ``blockedPost`` or a
    member a later lexicon adds shows nothing below it: it ends its branch."""
    stack: list[tuple[JsonNode, JsonNode | None]] = [(root, None)]
    while stack:
        node, parent = stack.pop()
        if _type_of(node) != THREAD_VIEW_POST:
            continue
        yield node, parent
        post = node.get_object("post")
        stack.extend((child, post) for child in reversed(_optional_list(node, "replies")))


def _covered_posts(root: JsonNode, own_did: str) -> dict[str, int]:
    """The account's posts whose thread a ``getPostThread`` read covers, with the ``replyCount``
    it shows: its own posts whose node lists its ``replies`` (the server cut none at its depth
    limit). A post below a ``blockedPost`` or a ``notFoundPost`` is not shown, so not covered.

    The one definition of a thread read: normalize writes a ``thread_reads`` row for each of
    these, and the extraction reports them to the thread ledger.
    """
    covered = {}
    for node, _ in _walk_thread(root):
        post = node.get_object("post")
        is_own = post.get_object("author").get_str("did") == own_did
        if is_own and isinstance(node.value, dict) and node.value.get("replies") is not None:
            covered[post.get_str("uri")] = _count(post, "replyCount")
    return covered


def _read_covered_posts(body: JsonNode, own_did: str) -> list[str]:
    """The posts a ``getPostThread`` response covers (:func:`_covered_posts`), for the ledger."""
    return list(_covered_posts(body.get_object("thread"), own_did))


def _read_thread(
    root: JsonNode,
    account: Account,
    own_did: str,
    observed: datetime,
    posts: dict[str, Row],
    interactions: dict[str, Row],
) -> None:
    """The account's posts and the public's interactions with it in a thread."""
    for node, parent in _walk_thread(root):
        post = node.get_object("post")
        if post.get_object("author").get_str("did") == own_did:
            row = _post_row(post, account, own_did, observed, _author_did(parent))
            posts.setdefault(row["post_id"], row)
        else:
            interaction = _interaction_row(post, parent, account, own_did, observed)
            if interaction is not None:
                interactions.setdefault(interaction["interaction_id"], interaction)


def _repost_row(post: JsonNode, reason: JsonNode, account: Account, own_did: str, observed: datetime) -> Row:
    subject_uri = post.get_str("uri")
    subject_ref = post.get_optional_str("cid") or subject_uri
    return {
        **_empty_post(account, observed),
        "post_id": reason.get_optional_str("uri") or f"{own_did}/repost/{subject_ref}",
        "created_at": reason.get_timestamp("indexedAt"),
        "post_type": "repost",
        "reposted_post_id": subject_uri,
        "reposted_account_native_id": post.get_object("author").get_str("did"),
    }


def _post_row(
    post: JsonNode, account: Account, own_did: str, observed: datetime, parent_author: str | None
) -> Row:
    record = post.get_object("record")
    embed = record.get_optional_object("embed")
    quoted_uri = _quoted_post_uri(embed)
    reply = record.get_optional_object("reply")
    in_reply_to: str | None = None
    in_reply_to_account: str | None = None
    if quoted_uri is not None:
        post_type = "quote"
    elif reply is not None:
        post_type = "reply"
        in_reply_to = reply.get_object("parent").get_str("uri")
        in_reply_to_account = parent_author or _did_of(in_reply_to)
    else:
        post_type = "original"
    media_count, described_count = _count_media(embed)
    return {
        **_empty_post(account, observed),
        "post_id": post.get_str("uri"),
        "created_at": _published_at(post),
        "post_type": post_type,
        "text": record.get_str("text"),
        "language": _language(record),
        "in_reply_to_post_id": in_reply_to,
        "in_reply_to_account_native_id": in_reply_to_account,
        "is_reply_to_self": in_reply_to_account == own_did,
        "reposted_post_id": quoted_uri,
        "reposted_account_native_id": _did_of(quoted_uri) if quoted_uri else None,
        "mention_count": len(_mentioned_dids(record)),
        "link_count": len(_links(record, embed)),
        "media_count": media_count,
        "media_with_alt_text_count": described_count,
        "reply_count": _count(post, "replyCount"),
        # quoteCount is left out: Mastodon's reblogs_count does not count quotes either.
        "repost_count": _count(post, "repostCount"),
        "like_count": _count(post, "likeCount"),
    }


def _empty_post(account: Account, observed: datetime) -> Row:
    return {
        "platform": NAME,
        "account_id": account.account_id,
        "text": None,
        "language": None,
        "in_reply_to_post_id": None,
        "in_reply_to_account_native_id": None,
        "is_reply_to_self": False,
        "reposted_post_id": None,
        "reposted_account_native_id": None,
        "mention_count": 0,
        "link_count": 0,
        "media_count": 0,
        "media_with_alt_text_count": 0,
        "reply_count": 0,
        "repost_count": 0,
        "like_count": 0,
        # Bluesky posts cannot be edited; a deleted post is absent, not flagged.
        "edited_at": None,
        "is_deleted": False,
        "observed_at": observed,
    }


def _interaction_row(
    post: JsonNode, parent: JsonNode | None, account: Account, own_did: str, observed: datetime
) -> Row | None:
    """A post of someone else in a thread, as an interaction with the account, if it is one."""
    record = post.get_object("record")
    quoted_uri = _quoted_post_uri(record.get_optional_object("embed"))
    in_reply_to: str | None = None
    if parent is not None and _author_did(parent) == own_did:
        interaction_type = "reply"
        in_reply_to = parent.get_str("uri")
    elif quoted_uri is not None and _did_of(quoted_uri) == own_did:
        interaction_type = "quote"
    elif own_did in _mentioned_dids(record):
        interaction_type = "mention"
    else:
        return None  # the public talking among itself under the account's post
    author = post.get_object("author")
    text = record.get_str("text")
    return {
        "platform": NAME,
        "interaction_id": post.get_str("uri"),
        "account_id": account.account_id,
        "author_native_id": author.get_str("did"),
        "author_handle": author.get_optional_str("handle"),
        "created_at": _published_at(post),
        "interaction_type": interaction_type,
        "in_reply_to_post_id": in_reply_to,
        "text": text,
        "language": _language(record),
        "is_question": contains_question(without_byte_ranges(text, _link_byte_ranges(record))),
        "observed_at": observed,
    }


# -- field readers ----------------------------------------------------------------------------------


def _type_of(node: JsonNode) -> str | None:
    """The ``$type`` of a union member, inferred from its required fields when absent."""
    declared = node.get_optional_str("$type")
    if declared is not None:
        return declared
    value = node.value if isinstance(node.value, dict) else {}
    if "post" in value:
        return THREAD_VIEW_POST
    if value.get("notFound") is True:
        return NOT_FOUND_POST
    if value.get("blocked") is True:
        return BLOCKED_POST
    return None


def _optional_list(node: JsonNode, key: str) -> list[JsonNode]:
    value = node.value.get(key) if isinstance(node.value, dict) else None
    return [] if value is None else node.get_list(key)


def _published_at(post: JsonNode) -> datetime:
    """When a post was published: Bluesky's own sort time, the earlier of the record's
    ``createdAt`` (the client's clock) and the AppView's ``indexedAt``, so a client clock
    running ahead cannot date a post in the future."""
    created = post.get_object("record").get_timestamp("createdAt")
    return min(created, post.get_timestamp("indexedAt"))


def _count(post: JsonNode, key: str) -> int:
    value = post.value.get(key) if isinstance(post.value, dict) else None
    return 0 if value is None else post.get_int(key)


def _author_did(view: JsonNode | None) -> str | None:
    """The author of a postView or blockedPost (a notFoundPost has none)."""
    if view is None:
        return None
    author = view.get_optional_object("author")
    return author.get_optional_str("did") if author is not None else None


def _did_of(uri: str) -> str | None:
    """The DID an ``at://`` URI lives under, when its authority is a DID (not a handle)."""
    authority = uri.removeprefix("at://").split("/", 1)[0]
    return authority if authority.startswith("did:") else None


def _language(record: JsonNode) -> str | None:
    """The primary subtag of the first of ``langs`` (BCP 47 ``pt-BR`` gives ``pt``)."""
    langs = _optional_list(record, "langs")
    if not langs:
        return None
    return langs[0].as_str().split("-", 1)[0].lower() or None


def _features(record: JsonNode, feature_type: str) -> list[JsonNode]:
    return [
        feature
        for facet in _optional_list(record, "facets")
        for feature in _optional_list(facet, "features")
        if _type_of(feature) == feature_type
    ]


def _mentioned_dids(record: JsonNode) -> set[str]:
    return {feature.get_str("did") for feature in _features(record, FACET_MENTION)}


def _link_byte_ranges(record: JsonNode) -> list[tuple[int, int]]:
    """The UTF-8 byte ranges of ``record.text`` that link facets cover (a link shown shortened or not)."""
    ranges = []
    for facet in _optional_list(record, "facets"):
        if not any(_type_of(feature) == FACET_LINK for feature in _optional_list(facet, "features")):
            continue
        index = facet.get_optional_object("index")
        bounds = index.value if index is not None and isinstance(index.value, dict) else {}
        start, end = bounds.get("byteStart"), bounds.get("byteEnd")
        if type(start) is int and type(end) is int:
            ranges.append((start, end))
    return ranges


def _links(record: JsonNode, embed: JsonNode | None) -> set[str]:
    """Distinct link targets: link facets, plus an external card (usually of a link in the text)."""
    links = {feature.get_str("uri") for feature in _features(record, FACET_LINK)}
    for part in _embed_parts(embed):
        if _type_of(part) == EMBED_EXTERNAL:
            links.add(part.get_object("external").get_str("uri"))
    return links


def _embed_parts(embed: JsonNode | None) -> list[JsonNode]:
    """An embed, and the media of a recordWithMedia embed."""
    if embed is None:
        return []
    if _type_of(embed) == EMBED_RECORD_WITH_MEDIA:
        media = embed.get_optional_object("media")
        return [embed] if media is None else [embed, media]
    return [embed]


def _count_media(embed: JsonNode | None) -> tuple[int, int]:
    """(attachments, attachments with alt text) of images and video embeds, also inside recordWithMedia."""
    media = 0
    described = 0
    for part in _embed_parts(embed):
        part_type = _type_of(part)
        if part_type == EMBED_IMAGES:
            items = part.get_list("images")
        elif part_type == EMBED_VIDEO:
            items = [part]
        else:
            continue
        media += len(items)
        described += sum(1 for item in items if (item.get_optional_str("alt") or "").strip())
    return media, described


def _quoted_post_uri(embed: JsonNode | None) -> str | None:
    """The URI of the post a record or recordWithMedia embed quotes (feeds, lists... are not quotes)."""
    if embed is None:
        return None
    embed_type = _type_of(embed)
    if embed_type == EMBED_RECORD:
        reference = embed.get_object("record")
    elif embed_type == EMBED_RECORD_WITH_MEDIA:
        reference = embed.get_object("record").get_object("record")
    else:
        return None
    uri = reference.get_str("uri")
    parts = uri.removeprefix("at://").split("/")
    return uri if len(parts) >= 2 and parts[1] == POST_COLLECTION else None


PLATFORM: Final = Platform(
    name=NAME,
    title="Bluesky",
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
        first_run=47,
        nightly=13,
        nothing_new=3,
        example="15 posts a week, 2/3 with replies, 10 threads changed a night (once the backlog is read)",
    ),
    availability=(
        Measure(
            "followers, following, posts counts", "yes", "getProfile; NULL when taken down or deactivated"
        ),
        Measure("own posts, replies, reposts, quotes", "yes", "getAuthorFeed"),
        Measure(
            "the public's replies and questions", "yes", "getPostThread, 6 levels, within the thread budget"
        ),
        Measure("the account's answers (response rate and time)", "yes", "its replies in those threads"),
        Measure("mentions outside its threads", "no", "listNotifications needs the account's own session"),
        Measure("alt text", "yes", "app.bsky.embed.images alt, video alt"),
        Measure("likes, reposts received", "yes", "likeCount, repostCount"),
    ),
)
