"""LinkedIn, from the Page analytics exports its admins download: posts, and the days they cover.

LinkedIn's Community Management API needs LinkedIn's approval, which most
organizations do not have: a LinkedIn Page is read from the workbooks its
admins export from the Page's Analytics (content, followers, visitors) and
drop in the account's inbox (``reads_api=False``). The entry points hand over
to the shared import (:mod:`rapport.sources.exports`): :func:`extract` yields
one page per new file of the inbox, :func:`normalize` reads them with the
readers of ``exports.py``. README.md says how to download the exports, what
they hold and which components they feed.

Importing this package loads no workbook reader: ``exports.py`` (and xlrd,
openpyxl) is imported when a file is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final

from rapport.sources import exports as imported_files
from rapport.sources.contract import ExportFormat, Measure, NightlyCost, Platform
from rapport.sources.linkedin.settings import (
    CONTENT,
    FOLLOWERS,
    NAME,
    NO_FOLLOWERS,
    NO_THREADS,
    POSTS_FED,
    TEXT_FED,
    VISITORS,
    feeds,
)

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.sources import Page, Records, Window
    from rapport.sources.contract import ExtractionCost
    from rapport.thread_ledger import ThreadLedger

__all__ = ["PLATFORM", "extract", "extract_with_stats", "normalize"]

_READERS: Final = "rapport.sources.linkedin.exports"


_CONTENT_FEEDS: Final = feeds(
    {
        "trust_presence": POSTS_FED,
        "effort": POSTS_FED,
        "own_news_share": TEXT_FED,
        "non_promotional_share": TEXT_FED,
    },
    "",
)
_FOLLOWERS_MISSING: Final = "a followers export lists no post: the content export of the same days does"
_VISITORS_MISSING: Final = (
    "a visitors export holds page views and visitors only (no component uses them): "
    "the content export of the same days gives the posts"
)

EXPORTS: Final = (
    ExportFormat(
        name=CONTENT,
        title="LinkedIn Page analytics: content export",
        files=(
            "<page>_content_<digits>.xls (.xlsx once saved again in Excel): sheets 'Metrics' "
            "(daily impressions, clicks, reactions, comments, reposts, engagement rate) and "
            "'All posts' (a note row, then one row per post)"
        ),
        where="the Page's admin view > Analytics > Content > Export (a date range of up to a year)",
        reader=f"{_READERS}:read_content",
        detector=f"{_READERS}:detect_content",
        feeds=_CONTENT_FEEDS,
    ),
    ExportFormat(
        name=FOLLOWERS,
        title="LinkedIn Page analytics: followers export",
        files=(
            "<page>_followers_<digits>.xls: sheet 'New followers' (daily sponsored, organic, "
            "auto-invited and total new followers) and the demographic sheets (Location, "
            "Job function, Seniority, Industry, Company size)"
        ),
        where="the Page's admin view > Analytics > Followers > Export (a date range)",
        reader=f"{_READERS}:read_followers",
        detector=f"{_READERS}:detect_followers",
        feeds=feeds({}, _FOLLOWERS_MISSING),
    ),
    ExportFormat(
        name=VISITORS,
        title="LinkedIn Page analytics: visitors export",
        files=(
            "<page>_visitors_<digits>.xls: sheet 'Visitor metrics' (daily page views by section, "
            "desktop/mobile/total, and unique visitors) and the demographic sheets"
        ),
        where="the Page's admin view > Analytics > Visitors > Export (a date range)",
        reader=f"{_READERS}:read_visitors",
        detector=f"{_READERS}:detect_visitors",
        feeds=feeds({}, _VISITORS_MISSING),
    ),
)


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
    title="LinkedIn",
    # The Page's public name in linkedin.com/company/<name> (letters, digits, hyphens), or its
    # numeric id: what the exports' file names carry.
    handle=re.compile(r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?", re.ASCII | re.IGNORECASE),
    handle_hint=(
        "expected the Page's public name as in linkedin.com/company/<name> "
        "(lowercase letters, digits and hyphens), or its numeric id"
    ),
    address_example="'city-library'",
    concurrency=4,
    pool_description="Concurrent imports of LinkedIn Page analytics exports (files: no request)",
    lowercase_handles=True,
    cost=NightlyCost(
        unit="requests",
        formula="0: no request, the exports are files read from the account's inbox",
        first_run=0,
        nightly=0,
        nothing_new=0,
        example="any Page: its exports are read from the inbox",
    ),
    availability=(
        Measure("followers", "no", NO_FOLLOWERS + ": followers_count is NULL"),
        Measure("following", "no", "the exports show no one a Page follows: NULL"),
        Measure("posts count", "no", "the exports count no posts beyond their date range: NULL"),
        Measure("account creation date", "no", "not in the exports: NULL"),
        Measure("account state", "no", "every Page imported is active: its admins exported it"),
        Measure(
            "own posts and replies",
            "partly",
            "'All posts' of the content export: the Page's posts; its comments and replies are not listed",
        ),
        Measure(
            "own reposts and quotes", "no", "not told apart: every row of 'All posts' is an original post"
        ),
        Measure(
            "text, links and mentions",
            "partly",
            "'Post title' (the post's opening text), links in it; LinkedIn's text keeps no @handles",
        ),
        Measure("language", "no", "not in the exports: NULL"),
        Measure("alt text", "no", "not in the exports"),
        Measure("likes received", "yes", "'Likes' (reactions of every kind) per post"),
        Measure("reposts received", "yes", "'Reposts' per post"),
        Measure("edits", "no", "not in the exports"),
        Measure("deletions", "no", "a deleted post is no longer listed: is_deleted is always false"),
        Measure("the public's replies and questions", "no", "'Comments' counts them; " + NO_THREADS),
        Measure("the account's answers (response rate and time)", "no", NO_THREADS),
        Measure("the public's mentions", "no", "not in the exports"),
        Measure("the public's quotes", "no", "not in the exports"),
        Measure("who liked or reposted", "no", "the exports give counts, never people"),
        Measure(
            "views", "no", "'Impressions' and 'Views' are in the file, not recorded: no indicator uses them"
        ),
        Measure(
            "direct messages and non-public posts",
            "no",
            "not in the exports (sponsored posts are listed with the others)",
        ),
    ),
    unavailable={
        "account_snapshots.followers_count": (
            "LinkedIn's exports give the day's new followers, never the Page's follower count"
        ),
        "account_snapshots.following_count": "LinkedIn's exports show no one a Page follows",
        "account_snapshots.posts_count": "LinkedIn's exports count no posts beyond their date range",
    },
    exports=EXPORTS,
    reads_api=False,
)
