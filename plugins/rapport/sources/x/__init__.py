"""X (formerly Twitter), read from the analytics exports an account downloads: its API charges per post read.

An X account has an inbox (``inbox:`` in the registry); the CSV files dropped there are landed
and read by the shared import (:mod:`rapport.sources.exports`): :func:`extract` yields one page
per new file, :func:`normalize` turns them into records through the readers of ``exports.py``.
README.md says how to download the files and what each of them feeds.

Importing this package reads no file and loads no CSV reader: ``exports.py`` is imported when a
file is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final

from rapport.sources import exports as imported_files
from rapport.sources.contract import ExportFormat, Feed, Measure, NightlyCost, Platform
from rapport.sources.x.settings import feeds

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.sources import Page, Records, Window
    from rapport.sources.contract import ExtractionCost
    from rapport.thread_ledger import ThreadLedger

__all__ = ["PLATFORM", "extract", "extract_with_stats", "normalize"]

NAME: Final = "x"
_READERS: Final = "rapport.sources.x.exports"


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
    title="X",
    handle=re.compile(r"@[a-z0-9_]{1,15}", re.ASCII | re.IGNORECASE),
    handle_hint="expected '@' then the account's handle (1-15 letters, digits or '_')",
    address_example="'@citylibrary'",
    concurrency=4,
    pool_description="Concurrent imports of X analytics exports (files in the accounts' inboxes)",
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
        Measure("followers", "no", "no export gives a total of followers: NULL"),
        Measure("following", "no", "no export gives it: NULL"),
        Measure("posts count", "no", "no export gives the account's total of posts: NULL"),
        Measure("account creation date", "no", "no export gives it"),
        Measure("account state", "no", "an account whose files arrive is taken as active"),
        Measure(
            "own posts and replies",
            "partly",
            "each post of the period, with its id and time; a reply is an original post (the file "
            "does not say what it answers)",
        ),
        Measure("own reposts and quotes", "no", "the exports list neither"),
        Measure("text, links and mentions", "yes", "the post's full text, its links and @handles"),
        Measure("language", "no", "the exports do not give it"),
        Measure("alt text", "no", "the exports list no media"),
        Measure("likes received", "yes", "likes per post"),
        Measure("reposts received", "yes", "retweets / reposts per post"),
        Measure("edits", "no", "the exports do not show them"),
        Measure("deletions", "no", "a deleted post is not in later files; is_deleted is always false"),
        Measure(
            "the public's replies and questions",
            "partly",
            "replies counted per post, none of them listed: no questions",
        ),
        Measure(
            "the account's answers (response rate and time)",
            "no",
            "no reply is listed with what it answers: NULL",
        ),
        Measure("the public's mentions", "no", "not in the exports"),
        Measure("the public's quotes", "no", "not in the exports"),
        Measure("who liked or reposted", "no", "counts only"),
        Measure("views", "no", "impressions are in the files, not recorded: no indicator uses them"),
        Measure("direct messages and non-public posts", "no", "not in the exports"),
        Measure("community posts and live chats", "no", "Communities and Spaces are not exported"),
    ),
    unavailable={
        "account_snapshots.followers_count": "X's exports give no total of followers",
        "account_snapshots.following_count": "X's exports do not say whom the account follows",
        "account_snapshots.posts_count": "X's exports list the period's posts, not the account's total",
    },
    exports=(
        ExportFormat(
            name="x_tweet_activity",
            title="X tweet activity export (Tweets tab, by tweet)",
            files="tweet_activity_metrics_<handle>_<YYYYMMDD>_<YYYYMMDD>_<language>.csv, one row per post",
            where="analytics.twitter.com > Tweets > Export data > By Tweet",
            reader=f"{_READERS}:read_tweet_activity",
            detector=f"{_READERS}:detect_tweet_activity",
            feeds=feeds(text="'Tweet text': the post's full text", mentions=True),
        ),
        ExportFormat(
            name="x_content",
            title="X account analytics content export (one row per post)",
            files="account_analytics_content_<YYYY-MM-DD>_<YYYY-MM-DD>.csv, one row per post",
            where="x.com > Premium > Analytics > Content > Export",
            reader=f"{_READERS}:read_content",
            detector=f"{_READERS}:detect_content",
            feeds=feeds(text="'Post text': the post's full text", mentions=True),
        ),
        ExportFormat(
            name="x_overview",
            title="X account analytics overview export (one row per day)",
            files="account_overview_analytics.csv, one row per day",
            where="x.com > Premium > Analytics > Overview > Export",
            reader=f"{_READERS}:read_overview",
            detector=f"{_READERS}:detect_overview",
            feeds=(
                Feed("answered_question_share", False, "the file lists no post and no reply"),
                Feed("response_time", False, "the file lists no post and no reply"),
                Feed("trust_presence", False, "daily totals only, no post with its date"),
                Feed("dialogue_share", False, "the file lists no post"),
                Feed("own_news_share", False, "no text"),
                Feed("directed_at_others_share", False, "no text"),
                Feed("non_promotional_share", False, "no text"),
                Feed("effort", False, "daily totals only, no post with its date"),
                Feed("accessibility_share", False, "no media"),
                Feed(
                    "followers",
                    False,
                    "'New follows' and 'Unfollows' are daily gains and losses, not a total of followers",
                ),
            ),
        ),
    ),
)
