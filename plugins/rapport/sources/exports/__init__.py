"""Analytics exports: the files an organization downloads from a platform, imported as its records.

A platform that cannot be read through an API (or whose API an organization
cannot get) is read from the exports it lets the organization download:
LinkedIn page analytics, Meta Business Suite, X analytics, TikTok Studio,
YouTube Studio. A platform folder declares the formats it accepts
(:attr:`rapport.sources.contract.Platform.exports`, each an
:class:`~rapport.sources.contract.ExportFormat` with the components it
feeds); its reader turns one file into :class:`ExportRows`, and
:mod:`rapport.sources.exports.records` turns those into the common records.

The files of an account are dropped in its inbox (``inbox:`` in the registry,
by default ``<data>/inbox/platform=<platform>/account=<slug>/``). The nightly
run lands each new file byte for byte, one extraction per file
(:mod:`rapport.sources.exports.inbox`), before any of its rows goes anywhere; a
file already imported (same content) is not imported again. A file that
cannot be read (unknown format, missing columns, another account's, dates
overlapping a file imported before) is quarantined by validation with the
file's name, the line and the reason; the account's other files, and the
other accounts, go on.

This module stays light (the DAG parses the contracts): parsing helpers live
in :mod:`~rapport.sources.exports.parsing`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Final

from rapport.sources import NormalizationError

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.sources import Page, Records, Window
    from rapport.sources.contract import ExtractionCost
    from rapport.thread_ledger import ThreadLedger

FILE_ENDPOINT: Final = "file"
"""The ``endpoint`` of a landed page that holds an imported file (its name in ``params['file']``)."""


class ExportFileError(NormalizationError):
    """A file cannot be imported: the message names the file, the line (or sheet) and the reason."""

    def __init__(self, file: str, reason: str, line: int | None = None, sheet: str | None = None) -> None:
        where = file
        if sheet is not None:
            where += f", sheet {sheet!r}"
        if line is not None:
            where += f", line {line}"
        super().__init__(f"{where}: {reason}")
        self.file = file
        self.reason = reason
        self.line = line
        self.sheet = sheet


@dataclass(frozen=True)
class ExportPost:
    """One post of the account as an export lists it. ``None`` where the file does not show a value."""

    post_id: str
    """The platform's id for the post, or its URL when the file gives no id."""
    created_at: datetime
    """When it was published, naive UTC (a file without a time zone is read as UTC)."""
    line: int
    """Where the file lists it (1-based, the header counted), for a message naming it."""
    post_type: str = "original"
    text: str | None = None
    url: str | None = None
    media_count: int | None = None
    likes: int | None = None
    """Likes, or reactions of every kind where the platform has several."""
    comments: int | None = None
    shares: int | None = None
    """Shares, reposts or retweets."""
    mentions: int | None = None
    """Accounts the post mentions, when the file keeps them (@handles in its text)."""
    language: str | None = None


@dataclass
class ExportRows:
    """What one file holds, read: the dates it covers, the posts, the followers by day."""

    format: str
    """The :attr:`~rapport.sources.contract.ExportFormat.name` it was read as."""
    first_day: date
    last_day: date
    """The days it covers, both included (the export's date range, or its rows' when it states none)."""
    posts: list[ExportPost] = field(default_factory=list)
    followers: list[tuple[date, int]] = field(default_factory=list)
    """Followers at the end of each day the file gives them (a total, never a daily gain)."""
    identities: dict[str, str] = field(default_factory=dict)
    """Whose file it says it is, by kind: ``id`` (the platform's id of the account), ``handle``
    (its handle or username), ``name`` (its display name). Empty when the file does not say."""
    notes: list[str] = field(default_factory=list)
    """What the file lacks that a reader would expect (a sheet missing from a workbook...)."""


Reader = Callable[[str, bytes, date], ExportRows]
"""Reads one export file: ``reader(file_name, data, reference_date)``; ``reference_date`` is the
run date the file was imported on, which places dates written without a year (the latest such
date is the last one not after it). Raises :class:`ExportFileError` for a file it cannot read."""

Detector = Callable[[str, bytes], bool]
"""Tells whether a file is of a format: ``detector(file_name, data)``, from its kind, sheet names
or header row; cheap, and never raises (a file it cannot tell is not of its format)."""


# The entry points of a platform read from its exports only (``reads_api=False``): its folder's
# ``__init__`` re-exports these three. Their modules are imported when they run.


def extract(account: Account, window: Window) -> Iterator[Page]:
    """One page per new file of the account's inbox (:mod:`rapport.sources.exports.inbox`)."""
    from rapport.sources.exports.inbox import extract as extract_files

    return extract_files(account, window)


def extract_with_stats(
    account: Account, window: Window, *, ledger: ThreadLedger | None = None
) -> tuple[Iterator[Page], ExtractionCost]:
    """The pages of :func:`extract`, and what they cost: no request, the files are local."""
    from rapport.sources.exports.inbox import extract_with_stats as extract_files_with_stats

    return extract_files_with_stats(account, window, ledger=ledger)


def normalize(
    pages: Sequence[Page], account: Account, observed_at: datetime, fetched_at: datetime | None = None
) -> Records:
    """The records of the landed files, each read by its format's reader
    (:func:`rapport.sources.exports.records.normalize_files`)."""
    from rapport.sources.exports.records import normalize_files

    return normalize_files(pages, account, observed_at)
