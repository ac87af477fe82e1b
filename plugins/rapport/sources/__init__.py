"""Sources: one sub-package per platform, all of the same shape.

Each ``rapport.sources.<platform>`` package declares its platform
(``PLATFORM``, a :class:`~rapport.sources.contract.Platform`: see
:mod:`rapport.sources.contract`, which lists what derives from it) and exports
three functions (:class:`~rapport.sources.contract.Source`):

``extract(account, window) -> Iterator[Page]``
    Calls the platform for one account and yields every raw response it got,
    untouched, as a :class:`Page`. It raises :class:`SourceError` naming the
    account, the URL (without secrets) and the cause when the account cannot
    be extracted; pages yielded before the error are still landed.

``normalize(pages, account, observed_at, fetched_at=None) -> Records``
    Turns the landed pages of one extraction into rows of the common record
    types of :mod:`rapport.records` (keys ``account_snapshots``, ``posts``,
    ``interactions``, ``thread_reads``, and ``export_files`` for an imported
    analytics export; each row a dict keyed by column; a type the source never
    gives may be left out). ``observed_at`` is the
    end of the extraction's window (the run's logical date), never the wall
    clock: it stamps every row, and what was published after it is left for
    the run dates that follow (``without_in_flight``); ``fetched_at``, when the
    extraction started on the wall clock, only bounds that. It raises
    :class:`NormalizationError` naming the page and field at fault when a
    payload cannot be read. Rows, not frames: validation types the rows of
    many extractions at once (:func:`rapport.sources.payloads.records_frames`
    makes frames of one).

``extract_with_stats(account, window, *, ledger=None) -> (Iterator[Page], ExtractionCost)``
    The same pages, and what they cost (final once they are consumed) and
    which reply threads they read (:class:`~rapport.sources.contract.ExtractionCost`).

A platform package is one folder of one shape: ``__init__`` (the
declaration and the entry points), ``readers`` (the payload readers),
``extraction`` and ``client`` (the calls), ``settings``, README.md. Its
``__init__`` imports nothing heavy (a test keeps it so): the DAG file reads
every contract when it is parsed; the extraction loop and the HTTP client
(requests) are imported when an extraction runs. A simulated platform's world
is not a source: it lives in :mod:`rapport.simulators`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from rapport.errors import RapportError
from rapport.sources.contract import Platform, Source

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.thread_ledger import ThreadLedger, ThreadReport

Row = dict[str, Any]
"""One record: its values keyed by column name."""
Records = dict[str, list[Row]]
"""An extraction's records: the rows of each record type, keyed by the type's name."""


IN_FLIGHT: Final = timedelta(days=1)
"""How long after an extraction started a post can have been published while it ran."""


def without_in_flight(rows: Iterable[Row], observed: datetime, fetched: datetime | None = None) -> list[Row]:
    """``rows`` less those dated after ``observed``, the end of their extraction's window (the
    run's logical date), that the extraction could have seen: up to ``fetched`` (when it
    started, on the wall clock; ``observed`` when not given) plus ``IN_FLIGHT``.

    They belong to a later run date, whose window covers them: a run for a past date, executed
    today, must not score what was published after that date, so that a run gives the same
    rows whatever day it executes. A row dated later than that is no race but a wrong date: it
    is kept, and validation quarantines its batch, naming ``created_at``, instead of the row
    vanishing on every run."""
    latest = max(observed, fetched or observed) + IN_FLIGHT
    return [row for row in rows if not observed < row["created_at"] <= latest]


def empty_post(account: Account, observed: datetime) -> Row:
    """A ``posts`` row of ``account`` with nothing in it yet (no text, link, medium or count; not
    a reply, not edited, not deleted), for a source to fill in from its payload."""
    return {
        "platform": account.platform,
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
        "edited_at": None,
        "is_deleted": False,
        "observed_at": observed,
    }


def thread_read(account: Account, post_id: str, reply_count: int, observed: datetime) -> Row:
    """A ``thread_reads`` row: the replies of ``post_id`` were read in full, ``reply_count`` of them."""
    return {
        "platform": account.platform,
        "account_id": account.account_id,
        "post_id": post_id,
        "reply_count": reply_count,
        "observed_at": observed,
    }


@dataclass(frozen=True)
class Window:
    """The time range an extraction covers: ``since`` inclusive, ``until`` exclusive (UTC).

    ``replies_since``, when set, is the end of the account's earlier
    extractions (its watermark): every post of the public published before it
    was read by them, and a post of the public does not change once read. A
    source that lists the public's posts by date (the demo's notifications)
    reads them from there; the account's own posts are still listed from
    ``since``, to refresh their counts. Sources that read the public's posts in
    reply threads plan those with the thread ledger instead.
    """

    since: datetime
    until: datetime
    replies_since: datetime | None = None


@dataclass(frozen=True)
class Page:
    """One raw response of a platform, as received."""

    endpoint: str
    body: bytes
    status: int = 200
    params: dict[str, str] = field(default_factory=dict)
    redacted: bool = False
    """Known secret values (a token the server echoed) were replaced by ``***`` in ``body``."""


class SourceError(RapportError, RuntimeError):
    """An account could not be extracted; the message names account, URL and cause."""


class DeferredError(SourceError):
    """The platform asks Rapport to come back later: its quota or usage cap for the night is spent.

    Not a failure of the account: what came before is landed (status ``deferred``),
    the run does not fail for it, and the next night resumes from the account's
    watermark and thread ledger. The run summary names the account and the reason,
    and ``dim_accounts.is_unreachable`` says it was not read. The message names the
    account, the cap and the run date.
    """


class NormalizationError(RapportError, ValueError):
    """A landed payload could not be turned into records; the message names page and field."""


def platform_names() -> tuple[str, ...]:
    """Every platform Rapport reads: the folders of ``rapport.sources`` that declare a ``PLATFORM``."""
    return tuple(_platforms())


def platforms() -> tuple[Platform, ...]:
    """The contract of every platform, in the order of :func:`platform_names`."""
    return tuple(_platforms().values())


def get_platform(name: str) -> Platform:
    """The contract of one platform; raise ``KeyError`` naming the known ones for an unknown one."""
    try:
        return _platforms()[name]
    except (KeyError, TypeError):
        known = ", ".join(_platforms())
        raise KeyError(f"unknown platform {name!r}; known platforms: {known}") from None


def get_source(platform: str) -> Source:
    """Return the source package of a platform; raise ``KeyError`` for an unknown one."""
    get_platform(platform)
    module: Source = importlib.import_module(f"{__name__}.{platform}")
    return module


@cache
def _platforms() -> dict[str, Platform]:
    found: dict[str, Platform] = {}
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda module: module.name):
        if not module.ispkg or module.name.startswith("_"):
            continue
        declared = getattr(importlib.import_module(f"{__name__}.{module.name}"), "PLATFORM", None)
        if not isinstance(declared, Platform):
            continue
        if declared.name != module.name:
            raise RapportError(
                f"{__name__}.{module.name} declares the platform {declared.name!r}: "
                "a platform's name is its folder's"
            )
        found[declared.name] = declared
    return dict(sorted(found.items(), key=lambda item: (_ORDER.get(item[0], len(_ORDER)), item[0])))


# The platforms of Rapport 0.1 keep their places (messages, the DAG's task order); the others follow
# by name. An order, not a list: a platform missing from it is still found.
_ORDER: Final = {"demo": 0, "mastodon": 1, "bluesky": 2}


def extract_with_cost(
    source: Source, account: Account, window: Window, ledger: ThreadLedger | None = None
) -> tuple[Iterator[Page], Callable[[], dict[str, Any] | None], Callable[[], ThreadReport | None]]:
    """A source's pages for an account and window, a way to read what they cost, and what it read.

    The second item returns, once the pages are consumed, the extraction's
    counters in its platform's unit (requests, retries, rate_limited,
    slept_seconds; quota units where the platform counts them), ``None`` for a
    simulated platform, which sends no request. ``ledger`` (the thread
    ledger's view, :mod:`rapport.thread_ledger`) is handed to the source; the
    third item returns, once the pages are consumed, what it listed and read
    (``None`` for a source without reply threads).
    """
    pages, stats = source.extract_with_stats(account, window, ledger=ledger)
    return pages, stats.counters, lambda: stats.threads
