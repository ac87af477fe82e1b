"""Instagram, through the Graph API and the organization's Page token: a professional account,
its media, the public's comments and the account's own replies.

:func:`extract` yields the raw responses of one account for a window (``me``: the token's Page
and its linked Instagram account, ``user``: the snapshot, the ``media`` pages, the ``tags`` pages, then the
``comments`` and ``replies`` pages of the media the thread ledger plans);
:func:`extract_with_stats` does the same and also hands back the counters; :func:`normalize`
turns the landed pages into the record types of :mod:`rapport.records`, from the pages alone.
README.md says what an account costs a night and what Instagram can and cannot tell;
docs/meta-setup.md how an organization's admin makes the token.

Importing this package loads no HTTP client: the payload readers (``readers.py``) and the
extraction (``extraction.py``, on the shared Graph client) are imported when an entry point runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from rapport.sources.contract import Credential, ExportFormat, Feed, Measure, NightlyCost, Platform
from rapport.sources.instagram.settings import (
    ACCOUNT_EXPORT,
    CONNECTION_ID,
    NAME,
    POSTS_EXPORT,
    TAGS_PERMISSION,
    TOKEN_VARIABLE,
    USERNAME,
)

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.sources import Page, Records, Window
    from rapport.sources.contract import ExtractionCost
    from rapport.thread_ledger import ThreadLedger

__all__ = ["API_COST", "PLATFORM", "extract", "extract_with_stats", "normalize"]

API_COST: Final = (
    "requests per account per run: 1 me (the Page and its linked account) + 1 user (the snapshot) "
    "+ ceil(media down to the first one older than window.since / 50) media pages "
    "+ the tags pages (50 media tagging the account a page) down to the first one older than "
    "window.since, else to the empty page that ends them (the edge gives no next): at least 1 "
    "+ for each media read (those whose comments_count changed since their last read, then the "
    "ledger's backlog, at most the thread budget, default 40): ceil(comments / 50) comments pages "
    "+ one replies page per 50 replies of each comment holding more replies than it shows; "
    "retries cost their request too"
)
"""Requests one extraction costs, before retries: see README.md (measured against the local Graph server)."""


def extract(
    account: Account,
    window: Window,
    *,
    thread_budget: int | None = None,
    ledger: ThreadLedger | None = None,
    **options: Any,
) -> Iterator[Page]:
    """Fetch one account's data for a window from Instagram; see :func:`extract_with_stats`.

    An account with an inbox in the registry is read from the export files dropped there instead.
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
    """Fetch one account's data for a window, and count what it costs.

    An account with an inbox in the registry (``inbox:``) is read from the Meta Business Suite
    exports dropped there instead (:mod:`rapport.sources.exports.inbox`: one page per new file).

    Returns the pages (lazy: nothing is asked before the first page is) and an
    ``ExtractionStats`` the iteration fills in: ``requests``, ``retries``, ``rate_limited``,
    ``slept_seconds``, ``paced``, ``throttled``, ``usage_percent`` (Graph's usage) and ``threads``
    (what was listed and read, for the thread ledger).

    The pages, in order: ``me`` (``instagram_business_account{id,username}`` of the token's
    Page: its username must be the registry's handle); ``user`` (the snapshot); the ``media``
    pages, 50 a page, newest first, down to the first media older than ``window.since``; the ``tags``
    pages (media of others tagging the account, the same way; a token without their permission lands
    Graph's error page and the edge is passed over, named in ``stats.skipped``); then,
    for each media :func:`~rapport.thread_ledger.plan_thread_reads` chooses (``comments_count``
    changed since its last read first, then the backlog, at most ``thread_budget``, else
    ``RAPPORT_INSTAGRAM_THREAD_BUDGET``, else 40), its ``comments`` pages (with the first
    replies of each comment) and the ``replies`` pages of the comments holding more.

    The token is the organization's (``RAPPORT_META_TOKEN_<ORGANIZATION>``, else the password of
    the Airflow Connection ``rapport_meta_<organization>``): ``SourceError`` naming both when neither
    is set, ``TokenError`` naming them when Graph refuses it (190). A Page linked to another account
    raises ``SourceError`` naming both usernames. Usage nearing Graph's cap, or throttling that
    lasts, raise ``UsageCapError`` (deferred to the next night). A media deleted between its listing
    and its comments (100/33) is landed and passed over. Other failures raise the shared client's
    errors, naming the account, the URL and Graph's message, after the failed answer is yielded.
    ``options`` tune the HTTP client.
    """
    from rapport.sources import SourceError
    from rapport.sources.instagram.client import ExtractionStats
    from rapport.sources.instagram.extraction import pages_of
    from rapport.thread_ledger import ThreadLedger

    if getattr(account, "inbox", None) is not None:
        from rapport.sources.exports.inbox import extract_with_stats as extract_files_with_stats

        handed: tuple[Iterator[Page], ExtractionCost] = extract_files_with_stats(
            account, window, ledger=ledger
        )
        return handed
    if account.platform != NAME:
        raise SourceError(f"{account.account_id}: not an {NAME} account, the {NAME} source cannot fetch it")
    stats = ExtractionStats()
    return pages_of(account, window, ledger or ThreadLedger(), stats, thread_budget, options), stats


def normalize(
    pages: Sequence[Page], account: Account, observed_at: datetime, fetched_at: datetime | None = None
) -> Records:
    """Turn the landed pages of one extraction into records.

    Pages that are all landed export files (endpoint ``file``) are read by their formats' readers
    (:func:`rapport.sources.exports.records.normalize_files`). Those of Graph:

    - the snapshot comes from the last ``user`` page (followers, follows, media count; no
      creation date), once the last ``me`` page shows the account is the registry's;
    - each media of the ``media`` pages is an ``original`` post: its caption as text, the
      children of a carousel as its media (no alt text: the API gives none), ``comments_count``
      as replies, ``like_count`` (0 when the owner hides it);
    - a comment of the public is an ``interactions`` reply: a top-level one replies to the
      media and is a question when it holds a ``?`` outside its links; a reply to a comment
      replies to the account's comment it is under, else to the media, and is no question;
    - a media of the ``tags`` pages is an ``interactions`` mention of the account, its owner known
      by ``username`` (``username:<name>``), a question when its caption holds a ``?`` outside links;
    - a comment of the account itself (``from.id`` is its id; ``username`` when ``from`` is
      absent) is its own ``reply`` post: to the comment it is under, or to its media;
    - a ``thread_reads`` row for each media whose comments, and each comment's replies, were
      read to the last page, at the ``comments_count`` it was listed with.

    What was published after ``observed_at`` that the extraction could have seen is left for
    the run dates that follow. The error page of a media or comment deleted before its read
    (code 100, subcode 33) is passed over, and so is the ``tags`` error page of a token without its
    permission. Raises ``NormalizationError`` naming the page
    (``comments (id=17895695668004550) page 2``) and the field when a body cannot be read, when
    no ``me`` or ``user`` page is there, when the Page is linked to another account than the
    registry's, and for another error page.
    """
    from rapport.sources.exports import FILE_ENDPOINT

    if pages and all(page.endpoint == FILE_ENDPOINT for page in pages):
        from rapport.sources.exports.records import normalize_files

        records: Records = normalize_files(pages, account, observed_at)
        return records
    from rapport.sources.instagram.readers import records_of
    from rapport.sources.payloads import to_naive_utc

    fetched = to_naive_utc(fetched_at) if fetched_at is not None else None
    return records_of(pages, account, to_naive_utc(observed_at), fetched)


PLATFORM: Final = Platform(
    name=NAME,
    title="Instagram",
    handle=USERNAME,
    handle_hint=(
        "expected the account's Instagram username without '@' (1-30 letters, digits, '_' or '.', "
        "no '.' first, last or twice in a row)"
    ),
    address_example="'citylibrary'",
    concurrency=2,
    pool_description="Concurrent extractions from Instagram's Graph API (one Page token per organization)",
    lowercase_handles=True,
    credentials=(
        Credential(
            "the organization's Page access token (Meta Graph API), shared with its Facebook Page, required",
            variables=(TOKEN_VARIABLE,),
            connection_ids=(CONNECTION_ID,),
            required=True,
        ),
    ),
    cost=NightlyCost(
        unit="requests",
        formula=API_COST,
        first_run=45,
        nightly=7,
        nothing_new=4,
        example=(
            "3 media a week, 12 comments each (one with 7 replies, the account's answer among them); a "
            "night with activity: 1 new media, new comments on 2 others (once the backlog is read); "
            "measured against the local Graph server"
        ),
    ),
    availability=(
        Measure("followers", "yes", "IG User followers_count"),
        Measure("following", "yes", "IG User follows_count"),
        Measure("posts count", "yes", "IG User media_count"),
        Measure("account creation date", "no", "the Graph API does not give it: NULL"),
        Measure(
            "account state",
            "no",
            "every account read is active: one whose Page link is gone fails the account",
        ),
        Measure(
            "own posts and replies",
            "yes",
            "media (images, videos, reels, carousels) of /{ig-user-id}/media; its comments: its replies",
        ),
        Measure("own reposts and quotes", "no", "Instagram has neither"),
        Measure("text, links and mentions", "partly", "the caption, links and @mentions in it"),
        Measure("language", "no", "the Graph API gives no language: NULL"),
        Measure("alt text", "no", "the Graph API gives no alt text of a media: 0 with alt text"),
        Measure("likes received", "partly", "like_count; 0 when the owner hides likes"),
        Measure("reposts received", "no", "Instagram shows no shares count: 0"),
        Measure("edits", "no", "neither a caption's nor a comment's edits are shown"),
        Measure("deletions", "no", "a deleted media or comment is skipped: is_deleted is always false"),
        Measure(
            "the public's replies and questions",
            "yes",
            "/{ig-media-id}/comments and /{ig-comment-id}/replies per media, within the thread budget",
        ),
        Measure(
            "the account's answers (response rate and time)",
            "yes",
            "the account's comments in those threads (from.id, else username)",
        ),
        Measure(
            "the public's mentions",
            "partly",
            f"media tagging the account (/{{ig-user-id}}/tags) of the window: needs {TAGS_PERMISSION}, "
            "else skipped; @mentions in others' captions and comments (mentioned_media) are not read",
        ),
        Measure("the public's quotes", "no", "Instagram has none"),
        Measure("who liked or reposted", "no", "the Graph API shows no one's likes"),
        Measure("views", "no", "insights are not read"),
        Measure("direct messages and non-public posts", "no", "messages need another permission: not read"),
        Measure(
            "community posts and live chats", "no", "stories and live comments are out of scope: not read"
        ),
    ),
    unavailable={
        "account_snapshots.following_count": (
            "the Meta Business Suite exports do not count the accounts it follows (the Graph API does)"
        ),
        "account_snapshots.posts_count": (
            "the Meta Business Suite exports give no count of the account's media (the Graph API does)"
        ),
        "account_snapshots.followers_count": (
            "the account's Meta Business Suite exports give a total only in a followers file (the "
            "'Instagram follows' file counts new follows a day), so a day no such file covers has none"
        ),
    },
    exports=(
        ExportFormat(
            name=POSTS_EXPORT,
            title="Meta Business Suite content export (Instagram posts)",
            files=(
                ".csv, UTF-8 with a BOM, one row per post (lifetime totals): Post ID, Account ID, "
                "Account username, Account name, Description, Publish time, Permalink, Post type, Likes, "
                "Shares, Comments... (English or French headers); named like Aug-01-2025_Aug-31-2025_<n>.csv"
            ),
            where="Meta Business Suite > Insights > Content > Export data (Instagram, posts, CSV)",
            reader="rapport.sources.instagram.exports:read_posts_export",
            detector="rapport.sources.instagram.exports:is_posts_export",
            feeds=(
                Feed("answered_question_share", False, "the export counts comments but holds none of them"),
                Feed("response_time", False, "the export counts comments but holds none of them"),
                Feed("trust_presence", True, "each post's Publish time (read as UTC)"),
                Feed(
                    "dialogue_share",
                    False,
                    "the export lists the account's posts, not its comments or replies",
                ),
                Feed("own_news_share", True, "each post's caption (Description)"),
                Feed(
                    "directed_at_others_share",
                    True,
                    "the @handles of each caption (Description); the account's comments on others' posts "
                    "are not in the export",
                ),
                Feed("non_promotional_share", True, "each post's caption (Description)"),
                Feed("effort", True, "one action per post listed, on its Publish time"),
                Feed(
                    "accessibility_share",
                    False,
                    "no export gives alt text (media: one for an IG image, video or reel, else unknown)",
                ),
                Feed("followers", False, "the posts export holds no followers"),
            ),
        ),
        ExportFormat(
            name=ACCOUNT_EXPORT,
            title="Meta Business Suite Insights overview export (the account's follows or followers by day)",
            files=(
                ".csv, UTF-16 with a 'sep=,' first line, the metric's name on the next, then "
                '"Date","Primary" and one row per day'
            ),
            where="Meta Business Suite > Insights > Overview (or Audience) > Export data, one metric a file",
            reader="rapport.sources.instagram.exports:read_account_export",
            detector="rapport.sources.instagram.exports:is_account_export",
            feeds=(
                Feed("answered_question_share", False, "a daily account metric: no comments"),
                Feed("response_time", False, "a daily account metric: no comments"),
                Feed("trust_presence", False, "a daily account metric: no posts"),
                Feed("dialogue_share", False, "a daily account metric: no posts"),
                Feed("own_news_share", False, "a daily account metric: no text"),
                Feed("directed_at_others_share", False, "a daily account metric: no text"),
                Feed("non_promotional_share", False, "a daily account metric: no text"),
                Feed("effort", False, "a daily account metric: no posts"),
                Feed("accessibility_share", False, "no export gives alt text"),
                Feed(
                    "followers",
                    True,
                    "a file of followers by day (a total, 'Instagram followers'); the 'Instagram follows' "
                    "file counts new follows a day, not a total: it gives none (noted)",
                ),
            ),
        ),
    ),
)
