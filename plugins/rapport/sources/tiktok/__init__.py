"""TikTok, read from the analytics exports TikTok Studio downloads: its Display API gives no comments.

A TikTok account has an inbox (``inbox:`` in the registry); the files dropped there (CSV,
.xlsx, or the zips TikTok Studio downloads) are landed and read by the shared import
(:mod:`rapport.sources.exports`): :func:`extract` yields one page per new file, :func:`normalize`
turns them into records through the readers of ``exports.py``. README.md says how to download
the files and what each of them feeds.

Importing this package reads no file and loads no CSV or workbook reader: ``exports.py`` is
imported when a file is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final

from rapport.sources import exports as imported_files
from rapport.sources.contract import ExportFormat, Feed, Measure, NightlyCost, Platform
from rapport.sources.tiktok.settings import NO_THREADS, daily

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.sources import Page, Records, Window
    from rapport.sources.contract import ExtractionCost
    from rapport.thread_ledger import ThreadLedger

__all__ = ["PLATFORM", "extract", "extract_with_stats", "normalize"]

NAME: Final = "tiktok"
_READERS: Final = "rapport.sources.tiktok.exports"


def extract(account: Account, window: Window) -> Iterator[Page]:
    """One page per new file of the account's inbox (:func:`rapport.sources.exports.extract`)."""
    return imported_files.extract(account, window)


def extract_with_stats(
    account: Account, window: Window, *, ledger: ThreadLedger | None = None
) -> tuple[Iterator[Page], ExtractionCost]:
    """The pages of :func:`extract`, and what they cost: no request, the files are local."""
    return imported_files.extract_with_stats(account, window, ledger=ledger)


def normalize(
    pages: Sequence[Page], account: Account, observed_at: datetime, fetched_at: datetime | None = None
) -> Records:
    """The records of the landed files, each read by its format's reader (``exports.py``)."""
    return imported_files.normalize(pages, account, observed_at, fetched_at)


PLATFORM: Final = Platform(
    name=NAME,
    title="TikTok",
    handle=re.compile(r"@[a-z0-9_.]{2,24}", re.ASCII),
    handle_hint="expected '@' then the account's username (2-24 lowercase letters, digits, '_' or '.')",
    address_example="'@citylibrary'",
    concurrency=4,
    pool_description="Concurrent imports of TikTok Studio exports (files in the accounts' inboxes)",
    lowercase_handles=True,
    reads_api=False,
    cost=NightlyCost(
        unit="requests",
        formula="0: the files are read from the account's inbox",
        first_run=0,
        nightly=0,
        nothing_new=0,
        example="any account: a file dropped in its inbox",
    ),
    availability=(
        Measure(
            "followers", "partly", "the Followers export's total of followers by day; NULL on other days"
        ),
        Measure("following", "no", "no export gives it: NULL"),
        Measure("posts count", "no", "no export gives the account's total of videos: NULL"),
        Measure("account creation date", "no", "no export gives it"),
        Measure("account state", "no", "an account whose files arrive is taken as active"),
        Measure(
            "own posts and replies",
            "partly",
            "the Content export's videos; the account's comments are not listed",
        ),
        Measure("own reposts and quotes", "no", "the exports list neither"),
        Measure(
            "text, links and mentions",
            "partly",
            "the video's title (its caption, as the export cuts it); no mentions",
        ),
        Measure("language", "no", "the exports do not give it"),
        Measure("alt text", "no", "the exports give no captions or alt text"),
        Measure("likes received", "yes", "Total likes per video"),
        Measure("reposts received", "yes", "Total shares per video"),
        Measure("edits", "no", "the exports do not show them"),
        Measure("deletions", "no", "a deleted video is not in later files; is_deleted is always false"),
        Measure(
            "the public's replies and questions",
            "partly",
            "comments counted per video, none of them listed: no questions",
        ),
        Measure(
            "the account's answers (response rate and time)",
            "no",
            "no comment is listed: NULL",
        ),
        Measure("the public's mentions", "no", "not in the exports"),
        Measure("the public's quotes", "no", "TikTok's duets and stitches are not in the exports"),
        Measure("who liked or reposted", "no", "counts only"),
        Measure("views", "no", "views are in the files, not recorded: no indicator uses them"),
        Measure("direct messages and non-public posts", "no", "not in the exports"),
        Measure("community posts and live chats", "no", "LIVE analytics are not imported"),
    ),
    unavailable={
        "account_snapshots.followers_count": (
            "TikTok's Followers export gives the total by day; the other exports give none"
        ),
        "account_snapshots.following_count": "TikTok's exports do not say whom the account follows",
        "account_snapshots.posts_count": "TikTok's exports list the period's videos, not the account's total",
    },
    exports=(
        ExportFormat(
            name="tiktok_content",
            title="TikTok Studio Content export (one row per video)",
            files="Content.csv or .xlsx (in Content_<username>.zip): title, link, post time, totals",
            where="TikTok Studio > Analytics > Content > Download data",
            reader=f"{_READERS}:read_content",
            detector=f"{_READERS}:detect_content",
            feeds=(
                Feed("answered_question_share", False, NO_THREADS),
                Feed("response_time", False, NO_THREADS),
                Feed("trust_presence", True, "one row per video with its link (its id) and post day"),
                Feed("dialogue_share", False, "the account's comments are not listed"),
                Feed("own_news_share", True, "'Video title': the caption, as the export cuts it"),
                Feed("directed_at_others_share", False, "the title is cut: its @mentions are not all kept"),
                Feed("non_promotional_share", True, "'Video title': the caption, as the export cuts it"),
                Feed("effort", True, "one row per video with its post day"),
                Feed("accessibility_share", False, "no export gives captions or alt text"),
                Feed("followers", False, "no followers in this tab"),
            ),
        ),
        ExportFormat(
            name="tiktok_followers",
            title="TikTok Studio Followers export (FollowerHistory: followers by day)",
            files="FollowerHistory.csv or .xlsx (in Followers_<username>.zip): Date, Followers, Difference",
            where="TikTok Studio > Analytics > Followers > Download data",
            reader=f"{_READERS}:read_followers",
            detector=f"{_READERS}:detect_followers",
            feeds=daily(Feed("followers", True, "'Followers': the total at each day's end")),
        ),
        ExportFormat(
            name="tiktok_overview",
            title="TikTok Studio Overview export (one row per day)",
            files="Overview.csv or .xlsx (in Overview_<first day>_<epoch>_<username>.zip): daily totals",
            where="TikTok Studio > Analytics > Overview > Download data",
            reader=f"{_READERS}:read_overview",
            detector=f"{_READERS}:detect_overview",
            feeds=daily(Feed("followers", False, "daily views, likes, comments and shares: no followers")),
        ),
    ),
)
