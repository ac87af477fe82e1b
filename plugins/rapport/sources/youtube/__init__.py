"""YouTube, through the Data API v3 and an API key: a channel, its videos, and the public's comments;
or, for an account with an ``inbox`` in the registry, through YouTube Studio's exports.

:func:`extract` yields the raw responses of one channel for a window
(``channels``, the uploads playlist's ``playlistItems`` pages, ``videos``
batches, then ``commentThreads`` and ``comments`` pages of the videos the
thread ledger plans, within the night's quota); :func:`extract_with_stats`
does the same and also hands back the counters, quota units included;
:func:`normalize` turns the landed pages into the record types of
:mod:`rapport.records`, from the pages alone. README.md says what a channel
costs a night and what YouTube can and cannot tell.

Importing this package loads no HTTP client: the client (``client.py``), the
payload readers (``readers.py``), the quota ledger (``quota.py``) and the
extraction (``extraction.py``) are imported when an entry point runs.

A channel with an ``inbox`` is read from the YouTube Studio exports dropped
there (:data:`CONTENT_EXPORT`, read by ``exports.py``): the entry points hand
it over to :mod:`rapport.sources.exports` at their top.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from rapport.sources.contract import Credential, ExportFormat, Feed, Measure, NightlyCost, Platform
from rapport.sources.youtube.settings import API_KEY_VARIABLE, CONNECTION_ID, NAME

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.sources import Page, Records, Window
    from rapport.sources.contract import ExtractionCost
    from rapport.sources.youtube.client import ExtractionStats
    from rapport.thread_ledger import ThreadLedger

__all__ = ["API_COST", "CONTENT_EXPORT", "PLATFORM", "extract", "extract_with_stats", "normalize"]

API_COST: Final = (
    "quota units per channel per run (1 unit a call): 1 channels "
    "+ ceil(uploads down to the first one older than window.since / 50) playlistItems pages "
    "+ ceil(videos of the window / 50) videos batches "
    "+ for each video read (those whose commentCount changed since their last read, then the "
    "ledger's backlog, at most the thread budget, default 40): ceil(threads / 100) commentThreads "
    "pages + one comments page per 100 replies of each thread holding more replies than it shows; "
    "retries cost their unit too"
)
"""Quota units one extraction costs (also its requests, before retries): see README.md."""


def extract(
    account: Account,
    window: Window,
    *,
    thread_budget: int | None = None,
    ledger: ThreadLedger | None = None,
    **options: Any,
) -> Iterator[Page]:
    """Fetch one channel's data for a window from YouTube; see :func:`extract_with_stats`.

    A channel with an ``inbox`` yields the pages of the new files there instead."""
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
) -> tuple[Iterator[Page], ExtractionStats | ExtractionCost]:
    """Fetch one channel's data for a window, and count what it costs.

    A channel with an ``inbox`` in the registry is read from the YouTube Studio exports dropped
    there (:func:`rapport.sources.exports.inbox.extract_with_stats`: one page per new file).

    Returns the pages (lazy: nothing is asked before the first page is) and
    an ``ExtractionStats`` the iteration fills in: ``requests``, ``retries``,
    ``rate_limited``, ``slept_seconds``, ``units`` (quota units) and
    ``threads`` (what was listed and read, for the thread ledger).

    The pages, in order: ``channels`` (``forHandle`` for an ``@handle``, ``id``
    for a ``UC...`` channel id); the ``playlistItems`` pages of the uploads
    playlist, 50 a page, newest first, down to the first video older than
    ``window.since``; ``videos`` in batches of 50 (the window's videos, and
    older ones the ledger knows); then, for each video
    :func:`~rapport.thread_ledger.plan_thread_reads` chooses (commentCount
    changed since its last read first, then the backlog, at most
    ``thread_budget``, else ``RAPPORT_YOUTUBE_THREAD_BUDGET``, else 40), its
    ``commentThreads`` pages and the ``comments`` pages of the threads that
    hold more replies than they show.

    Each call first reserves its unit in the night's quota ledger
    (``RAPPORT_YOUTUBE_DAILY_UNITS`` a run date, default 10,000, shared by
    every task): when the budget (or Google's ``quotaExceeded``) stops the
    extraction after the channel and its first uploads page, it ends
    cleanly with what it read (``stats.stopped`` says why), and the videos
    not read stay due in the thread ledger for the next night; before, the
    iteration raises ``BudgetSpentError`` or ``QuotaExceededError`` naming
    the quota and the run date. A video whose comments are off (403
    ``commentsDisabled``) or deleted meanwhile (404) is landed and passed over.

    The key comes from ``RAPPORT_YOUTUBE_API_KEY``, else the password of the
    Airflow Connection ``rapport_youtube``: the iteration raises
    ``SourceError`` naming both when neither is set, and ``ApiKeyError``
    naming them when Google refuses it. Other failures raise the shared
    client's errors, naming the channel, the URL and Google's reason, after
    the failed response is yielded. ``options`` tune the HTTP client.
    """
    if getattr(account, "inbox", None) is not None:
        from rapport.sources.exports.inbox import extract_with_stats as extract_files_with_stats

        read: tuple[Iterator[Page], ExtractionCost] = extract_files_with_stats(account, window, ledger=ledger)
        return read
    from rapport.sources import SourceError
    from rapport.sources.youtube.client import ExtractionStats
    from rapport.sources.youtube.extraction import pages_of
    from rapport.thread_ledger import ThreadLedger

    if account.platform != NAME:
        raise SourceError(f"{account.account_id}: not a {NAME} account, the {NAME} source cannot fetch it")
    stats = ExtractionStats()
    return pages_of(account, window, ledger or ThreadLedger(), stats, thread_budget, options), stats


def normalize(
    pages: Sequence[Page], account: Account, observed_at: datetime, fetched_at: datetime | None = None
) -> Records:
    """Turn the landed pages of one extraction into records.

    - the snapshot comes from the last ``channels`` page: subscribers
      (``NULL`` when the channel hides them), videos, creation date;
      ``following_count`` is always ``NULL`` (YouTube shows no subscriptions count);
    - each video of the ``videos`` pages is an ``original`` post: title and
      description as text, its audio's (else its metadata's) language,
      ``commentCount`` as replies (0 when comments are off), ``likeCount``
      (0 when hidden), its captions flag as the alt text of its one medium;
    - a comment of the public is an ``interactions`` reply: a top-level one
      replies to the video and is a question when it holds a ``?`` outside its
      links; a reply inside a thread replies to the channel's comment it is under, else
      to the video, and is no question;
    - a comment of the channel itself (``authorChannelId`` is the channel's)
      is its own ``reply`` post: to the top-level comment it answers, or to
      its video for its own top-level comment;
    - a ``thread_reads`` row for each video whose threads, and each thread's
      replies, were read to the last page, at the ``commentCount`` it was listed with.

    What was published after ``observed_at`` that the extraction could have
    seen is left for the run dates that follow. Error pages of comments
    turned off, of a video deleted meanwhile and of the quota are passed over.
    Raises ``NormalizationError`` naming the page (``commentThreads (videoId=abc)
    page 2``) and the field when a body cannot be read, when no ``channels`` page
    is there or it describes another channel, and for another error page.

    Pages that are imported files (a channel read from its inbox) are YouTube Studio exports:
    :func:`rapport.sources.exports.records.normalize_files` reads them (``exports.py``).
    """
    from rapport.sources.exports import FILE_ENDPOINT

    if pages and all(page.endpoint == FILE_ENDPOINT for page in pages):
        from rapport.sources.exports.records import normalize_files

        records: Records = normalize_files(pages, account, observed_at)
        return records
    from rapport.sources.payloads import to_naive_utc
    from rapport.sources.youtube.readers import records_of

    fetched = to_naive_utc(fetched_at) if fetched_at is not None else None
    return records_of(pages, account, to_naive_utc(observed_at), fetched)


_NO_THREADS: Final = "the export counts comments ('Comments added') but holds none of them"
_TITLES: Final = "'Video title' (the title only, no description)"

CONTENT_EXPORT: Final = ExportFormat(
    name="youtube_studio",
    title="YouTube Studio analytics, Advanced mode, Content tab (Export current view, .csv)",
    files=(
        "a .zip named 'Content <first day>_<last day> <channel>.zip' holding 'Table data.csv' "
        "(one row per video, after a 'Total' row), 'Chart data.csv' and 'Totals.csv' (by day); "
        "English or French"
    ),
    where=(
        "YouTube Studio > Analytics > Advanced mode > Content, choose the period, add Likes, "
        "Comments added and Shares to the table, Export current view > Comma-separated values (.csv)"
    ),
    reader="rapport.sources.youtube.exports:read_content_export",
    detector="rapport.sources.youtube.exports:is_content_export",
    feeds=(
        Feed("answered_question_share", False, _NO_THREADS),
        Feed("response_time", False, _NO_THREADS),
        Feed(
            "trust_presence",
            True,
            "'Video publish time' of each video of 'Table data.csv' (a date: the days are exact)",
        ),
        Feed("dialogue_share", False, "the export lists the channel's videos only, none of its replies"),
        Feed("own_news_share", True, _TITLES),
        Feed(
            "directed_at_others_share",
            False,
            "the export has no descriptions or comments: no @handles addressed to others",
        ),
        Feed("non_promotional_share", True, _TITLES),
        Feed("effort", True, "the videos of 'Table data.csv' published in the period, by publish date"),
        Feed("accessibility_share", False, "no export gives alt text (nor captions)"),
        Feed(
            "followers",
            False,
            "'Subscribers' is the subscribers gained (per video or per day), never a total: "
            "a daily gain is not a total",
        ),
    ),
)
"""YouTube Studio's Content export (``exports.py``), for a channel with an ``inbox``."""

PLATFORM: Final = Platform(
    name=NAME,
    title="YouTube",
    # A handle: '@' then 3 to 30 letters, digits, '_', '-' or '.'; a channel id: 'UC' then 22 of
    # [A-Za-z0-9_-]. YouTube also allows handles in other scripts: they are not accepted yet.
    handle=re.compile(r"@[a-z0-9_.-]{3,30}|UC[a-z0-9_-]{22}", re.ASCII | re.IGNORECASE),
    handle_hint=(
        "expected '@' then the channel's handle (3-30 letters, digits, '_', '-' or '.'), "
        "or a channel id ('UC' then 22 characters)"
    ),
    address_example="'@channel'",
    concurrency=2,
    pool_description="Concurrent extractions from the YouTube Data API (one API key, one quota a day)",
    credentials=(
        Credential(
            "an API key (YouTube Data API v3), required",
            variables=(API_KEY_VARIABLE,),
            connection_ids=(CONNECTION_ID,),
            required=True,
        ),
    ),
    cost=NightlyCost(
        unit="quota units",
        formula=API_COST,
        first_run=85,
        nightly=6,
        nothing_new=3,
        example=(
            "3 videos a week, 12 comment threads each (one of 7 replies, the channel's answer among "
            "them); a night with activity: 1 new video, new comments on 2 others (once the backlog is read)"
        ),
    ),
    availability=(
        Measure("followers", "partly", "channels.list subscriberCount; NULL when the channel hides it"),
        Measure("following", "no", "YouTube shows no subscriptions count: NULL"),
        Measure("posts count", "yes", "channels.list videoCount"),
        Measure("account creation date", "yes", "channels.list snippet.publishedAt"),
        Measure(
            "account state", "no", "every channel read is active: one YouTube does not show is not found"
        ),
        Measure(
            "own posts and replies",
            "yes",
            "videos (Shorts included) through the uploads playlist; its comments in threads are its replies",
        ),
        Measure("own reposts and quotes", "no", "YouTube has neither"),
        Measure("text, links and mentions", "partly", "title and description, links in it; no mentions"),
        Measure("language", "partly", "defaultAudioLanguage, else defaultLanguage; NULL on comments"),
        Measure("alt text", "partly", "captions on a video (contentDetails.caption)"),
        Measure("likes received", "partly", "likeCount; 0 when the channel hides it"),
        Measure("reposts received", "no", "YouTube has no reposts: 0"),
        Measure("edits", "partly", "a comment's updatedAt; a video's edits are not shown"),
        Measure("deletions", "no", "a deleted or private video is skipped: is_deleted is always false"),
        Measure(
            "the public's replies and questions",
            "yes",
            "commentThreads.list and comments.list per video, within the thread budget and the quota",
        ),
        Measure(
            "the account's answers (response rate and time)",
            "yes",
            "the channel's comments in those threads (authorChannelId)",
        ),
        Measure("the public's mentions", "no", "not read (search.list is never called)"),
        Measure("the public's quotes", "no", "YouTube has none"),
        Measure("who liked or reposted", "no", "YouTube shows no one's likes"),
        Measure("views", "no", "statistics.viewCount is landed, not recorded: no indicator uses it"),
        Measure("direct messages and non-public posts", "no", "private videos are not listed; no messages"),
        Measure("community posts and live chats", "no", "out of scope: not read"),
    ),
    unavailable={
        "account_snapshots.following_count": "YouTube shows no count of a channel's subscriptions",
        "account_snapshots.followers_count": (
            "a channel may hide its subscriber count (hiddenSubscriberCount); a YouTube Studio export "
            "gives subscribers gained, never a total"
        ),
        "account_snapshots.posts_count": (
            "a YouTube Studio export (Content tab) lists the videos with views in its period, "
            "not the channel's count of videos"
        ),
    },
    exports=(CONTENT_EXPORT,),
)
