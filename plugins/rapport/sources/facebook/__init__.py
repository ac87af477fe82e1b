"""Facebook Pages, through Meta's Graph API and the organization's Page access token.

:func:`extract` yields the raw responses of one Page for a window (the ``page`` node, its
``published_posts`` pages of the window, the ``tagged`` pages, then the ``comments`` pages,
``filter=stream``, of the posts the thread ledger plans); :func:`extract_with_stats` does the same and
also hands back the counters, Graph's usage included; :func:`normalize` turns the landed pages into the
record types of :mod:`rapport.records`, from the pages alone. README.md says what a Page costs a night
and what Graph can and cannot tell.

Importing this package loads no HTTP client: the shared Graph client
(:mod:`rapport.sources.graph`), the payload readers (``readers.py``) and the extraction
(``extraction.py``) are imported when an entry point runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from rapport.sources.contract import Credential, ExportFormat, Feed, Measure, NightlyCost, Platform
from rapport.sources.facebook.settings import NAME, PAGE_EXPORT, POSTS_EXPORT, TAGGED_PERMISSION

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.sources import Page, Records, Window
    from rapport.sources.contract import ExtractionCost
    from rapport.thread_ledger import ThreadLedger

__all__ = ["API_COST", "PLATFORM", "extract", "extract_with_stats", "normalize"]

API_COST: Final = (
    "requests per Page per run: 1 Page node + ceil(posts of the window / 100) published_posts pages "
    "(at least 1) + ceil(posts tagging the Page, down to the first one older than window.since / 100) "
    "tagged pages (at least 1) + for each post read (those whose comment total changed since their "
    "last read, then the ledger's backlog, at most the thread budget, default 40): "
    "ceil(comments / 100) comments pages; throttling retries cost a request too"
)
"""Requests one extraction costs, before retries: see README.md."""


def extract(
    account: Account,
    window: Window,
    *,
    thread_budget: int | None = None,
    ledger: ThreadLedger | None = None,
    **options: Any,
) -> Iterator[Page]:
    """Fetch one Page's data for a window from the Graph API; see :func:`extract_with_stats`.

    A Page with an inbox in the registry is read from the export files dropped there instead.
    """
    if getattr(account, "inbox", None) is not None:
        from rapport.sources.exports.inbox import extract as extract_files

        files: Iterator[Page] = extract_files(account, window)
        return files
    pages, _ = extract_with_stats(account, window, thread_budget=thread_budget, ledger=ledger, **options)
    return pages


def extract_with_stats(
    account: Account,
    window: Window,
    *,
    thread_budget: int | None = None,
    ledger: ThreadLedger | None = None,
    **options: Any,
) -> tuple[Iterator[Page], ExtractionCost]:
    """Fetch one Page's data for a window, and count what it costs.

    A Page with an inbox in the registry (``inbox:``) is read from the Meta Business Suite exports
    dropped there instead (:mod:`rapport.sources.exports.inbox`: one page per new file), not from Graph.

    Returns the pages (lazy: nothing is asked before the first page is) and an ``ExtractionStats``
    the iteration fills in: ``requests``, ``retries``, ``rate_limited``, ``slept_seconds``,
    ``paced``, ``throttled``, ``usage_percent`` and ``threads`` (what was listed and read).

    The pages, in order: ``page`` (the Page by its numeric id or username); the ``published_posts``
    pages of ``window.since`` to ``window.until``, 100 a page, newest first; the ``tagged`` pages (the
    posts the Page is tagged in, newest first, down to the first one older than ``window.since``; a
    token without their permission lands Graph's error page and the edge is passed over, named in
    ``stats.skipped``); then, for each post :func:`~rapport.thread_ledger.plan_thread_reads` chooses
    (comment total changed since its last read first, then the backlog, at most ``thread_budget``, else
    ``RAPPORT_FACEBOOK_THREAD_BUDGET``, else 40), its ``comments`` pages (``filter=stream``: replies
    included, oldest first). Each landed page names the node it was read from in its parameters
    (``id``).

    The token is the organization's (``RAPPORT_META_TOKEN_<ORGANIZATION>``, else the Airflow
    Connection ``rapport_meta_<organization>``): ``SourceError`` naming both when neither is set,
    ``TokenError`` naming them when Graph refuses it (190). Usage nearing Graph's cap, or throttling
    that lasts, raise ``UsageCapError`` (deferred to the next night). A post deleted between the
    listing and its comments (100/33) is landed and passed over. Other failures raise the shared
    client's errors, naming the Page, the URL and Graph's message, after the failed answer is yielded.
    ``options`` tune the HTTP client.
    """
    from rapport.sources import SourceError
    from rapport.sources.facebook.client import ExtractionStats
    from rapport.sources.facebook.extraction import pages_of
    from rapport.thread_ledger import ThreadLedger

    if getattr(account, "inbox", None) is not None:
        from rapport.sources.exports.inbox import extract_with_stats as extract_files_with_stats

        handed: tuple[Iterator[Page], ExtractionCost] = extract_files_with_stats(
            account, window, ledger=ledger
        )
        return handed
    if account.platform != NAME:
        raise SourceError(f"{account.account_id}: not a {NAME} account, the {NAME} source cannot fetch it")
    stats = ExtractionStats()
    return pages_of(account, window, ledger or ThreadLedger(), stats, thread_budget, options), stats


def normalize(
    pages: Sequence[Page], account: Account, observed_at: datetime, fetched_at: datetime | None = None
) -> Records:
    """Turn the landed pages of one extraction into records.

    Pages that are all landed export files (endpoint ``file``) are read by their formats' readers
    (:func:`rapport.sources.exports.records.normalize_files`). Those of Graph:

    - the snapshot comes from the ``page`` page: ``followers_count`` (else ``fan_count``), name,
      username; following, posts count and creation date are NULL (Graph shows none of them);
    - each post of the ``published_posts`` pages is an ``original`` post: its message, links,
      media (an album counts its photos), shares as reposts, reactions as likes, comments as replies;
    - a comment of the Page itself (``from.id`` is the Page's) is its own ``reply`` post: to the
      comment it answers (``parent``), or to the post for a top-level one;
    - a comment of the public is an ``interactions`` reply: a top-level one replies to the post and
      is a question when it holds a ``?`` outside its links; a reply replies to the Page's own
      comment it is under, else to the post, and is no question;
    - a post of the ``tagged`` pages is an ``interactions`` mention of the Page (a question when it
      holds a ``?`` outside its links); its author is ``unknown:<post id>`` when Graph hides it;
    - a ``thread_reads`` row for each post whose comments were read to the last page.

    What was published after ``observed_at`` that the extraction could have seen is left for the run
    dates that follow. Error pages of a post deleted meanwhile and of Graph's throttling are passed
    over, and so is the ``tagged`` error page of a token without its permission. Raises
    ``NormalizationError`` naming the page (``comments (id=1_2) page 2``) and the field when a body
    cannot be read, when no ``page`` page is there, and for another error page.
    """
    from rapport.sources.exports import FILE_ENDPOINT

    if pages and all(page.endpoint == FILE_ENDPOINT for page in pages):
        from rapport.sources.exports.records import normalize_files

        records: Records = normalize_files(pages, account, observed_at)
        return records
    from rapport.sources.facebook.readers import records_of
    from rapport.sources.payloads import to_naive_utc

    fetched = to_naive_utc(fetched_at) if fetched_at is not None else None
    return records_of(pages, account, to_naive_utc(observed_at), fetched)


PLATFORM: Final = Platform(
    name=NAME,
    title="Facebook",
    # A Graph API id (a post's page_post, a comment's post_comment) opens the object on the site.
    post_url="https://www.facebook.com/{post_id}",
    # A Page id is numeric; a Page's username is at least 5 letters, digits or '.' (Facebook's rules
    # for usernames). The registry stores either as given.
    handle=re.compile(r"[0-9]{5,20}|[a-z0-9.]{5,50}", re.ASCII | re.IGNORECASE),
    handle_hint="expected the Page's numeric id or its username (5 to 50 letters, digits or '.')",
    address_example="'examplepage'",
    concurrency=2,
    pool_description="Concurrent extractions from Meta's Graph API (Pages; usage counted per Page and app)",
    credentials=(
        Credential(
            "a Page access token of the organization (pages_read_engagement, pages_read_user_content), "
            "required",
            variables=("RAPPORT_META_TOKEN_<ORGANIZATION>",),
            connection_ids=("rapport_meta_<organization>",),
            required=True,
        ),
    ),
    cost=NightlyCost(
        unit="requests",
        formula=API_COST,
        first_run=43,
        nightly=6,
        nothing_new=3,
        example=(
            "3 posts a week, 12 comments each (one holding 7 replies, the Page's answer among them); "
            "a night with activity: 1 new post, new comments on 2 others (once the backlog is read)"
        ),
    ),
    availability=(
        Measure("followers", "yes", "the Page's followers_count (else fan_count)"),
        Measure("following", "no", "a Page follows no one in Graph's model: NULL"),
        Measure("posts count", "no", "Graph gives no count of a Page's posts: NULL"),
        Measure("account creation date", "no", "a Page node has no creation time: NULL"),
        Measure("account state", "no", "every Page read is active: one Graph does not show fails"),
        Measure(
            "own posts and replies",
            "yes",
            "published_posts of the window; the Page's comments (from.id is the Page) are its replies",
        ),
        Measure("own reposts and quotes", "no", "a shared post is read as an original: not told apart"),
        Measure("text, links and mentions", "partly", "message and the links in it; mentions not counted"),
        Measure("language", "no", "Graph gives no language of a post or comment: NULL"),
        Measure(
            "alt text",
            "no",
            "attachments carry no alt text (a photo's alt_text_custom is on the Photo node, not read)",
        ),
        Measure("likes received", "yes", "reactions summary total_count (every reaction, not only likes)"),
        Measure("reposts received", "yes", "shares.count"),
        Measure("edits", "no", "not read: edited_at is NULL"),
        Measure("deletions", "no", "a deleted post is not listed: is_deleted is always false"),
        Measure(
            "the public's replies and questions",
            "yes",
            "/{post-id}/comments?filter=stream per post, within the thread budget and the usage",
        ),
        Measure(
            "the account's answers (response rate and time)",
            "yes",
            "the Page's comments in those threads (from.id), to their parent",
        ),
        Measure(
            "the public's mentions",
            "partly",
            f"posts tagging the Page (/{{page-id}}/tagged) of the window: needs {TAGGED_PERMISSION}, else "
            "skipped; visitor posts are not served to New Pages Experience Pages",
        ),
        Measure("the public's quotes", "no", "shares of a post by others are not readable"),
        Measure("who liked or reposted", "no", "reactions are read as a total only"),
        Measure("views", "no", "Page insights are not read"),
        Measure("direct messages and non-public posts", "no", "Messenger is not read"),
        Measure("community posts and live chats", "no", "groups and live video comments are not read"),
    ),
    unavailable={
        "account_snapshots.following_count": (
            "a Page follows no one in Graph's model, and no Meta Business Suite export counts it"
        ),
        "account_snapshots.posts_count": (
            "neither Graph nor the Meta Business Suite exports give a count of a Page's posts"
        ),
        "account_snapshots.followers_count": (
            "Graph leaves followers_count and fan_count out for a token without pages_read_engagement; "
            "the Page's Meta Business Suite exports give a total only in a followers file (the "
            "'Facebook follows' file counts new follows a day), so a day no such file covers has none"
        ),
    },
    exports=(
        ExportFormat(
            name=POSTS_EXPORT,
            title="Meta Business Suite content export (Facebook posts)",
            files=(
                ".csv, UTF-8 with a BOM, one row per post (lifetime totals): Post ID, Page ID, Page name, "
                "Title, Description, Publish time, Permalink, Post type, Reactions, Comments, Shares... "
                "(English or French headers); named like Aug-01-2025_Aug-31-2025_<n>.csv"
            ),
            where="Meta Business Suite > Insights > Content > Export data (Facebook, posts, CSV)",
            reader="rapport.sources.facebook.exports:read_posts_export",
            detector="rapport.sources.facebook.exports:is_posts_export",
            feeds=(
                Feed("answered_question_share", False, "the export counts comments but holds none of them"),
                Feed("response_time", False, "the export counts comments but holds none of them"),
                Feed("trust_presence", True, "each post's Publish time (read as UTC)"),
                Feed(
                    "dialogue_share", False, "the export lists the Page's posts, not its comments or replies"
                ),
                Feed("own_news_share", True, "each post's text: its Title (the message) and Description"),
                Feed(
                    "directed_at_others_share",
                    False,
                    "a Page tagged in a message is exported as its plain name, not an @handle",
                ),
                Feed(
                    "non_promotional_share", True, "each post's text: its Title (the message) and Description"
                ),
                Feed("effort", True, "one action per post listed, on its Publish time"),
                Feed(
                    "accessibility_share",
                    False,
                    "no export gives alt text (media: one for a Photos, Videos or Reels post, else unknown)",
                ),
                Feed("followers", False, "the posts export holds no followers"),
            ),
        ),
        ExportFormat(
            name=PAGE_EXPORT,
            title="Meta Business Suite Insights overview export (the Page's follows or followers by day)",
            files=(
                ".csv, UTF-16 with a 'sep=,' first line, the metric's name on the next, then "
                '"Date","Primary" and one row per day'
            ),
            where="Meta Business Suite > Insights > Overview (or Audience) > Export data, one metric a file",
            reader="rapport.sources.facebook.exports:read_page_export",
            detector="rapport.sources.facebook.exports:is_page_export",
            feeds=(
                Feed("answered_question_share", False, "a daily Page metric: no comments"),
                Feed("response_time", False, "a daily Page metric: no comments"),
                Feed("trust_presence", False, "a daily Page metric: no posts"),
                Feed("dialogue_share", False, "a daily Page metric: no posts"),
                Feed("own_news_share", False, "a daily Page metric: no text"),
                Feed("directed_at_others_share", False, "a daily Page metric: no text"),
                Feed("non_promotional_share", False, "a daily Page metric: no text"),
                Feed("effort", False, "a daily Page metric: no posts"),
                Feed("accessibility_share", False, "no export gives alt text"),
                Feed(
                    "followers",
                    True,
                    "a file of followers by day (a total); the 'Facebook follows' file counts new "
                    "follows a day, not a total: it gives none (noted)",
                ),
            ),
        ),
    ),
)
