"""The contract of a platform: what a ``sources/<platform>/`` folder declares, once, for the rest of Rapport.

A platform is one folder. Its ``__init__`` holds its public entry points:
``PLATFORM``, a :class:`Platform`, and the three functions of
:class:`Source` (``extract``, ``extract_with_stats``, ``normalize``). Its
helper modules hold the rest (the client, the payload readers, the
settings). Everything else derives from the folder:

- the platform list (:func:`rapport.sources.platform_names`): the registry's
  accepted platforms, the validation suites' accepted values, the DAG's
  extract tasks, the CLI's help;
- the registry's handle rules (:attr:`Platform.handle`, ``handle_hint``,
  ``lowercase_handles``, ``needs_instance``);
- the Airflow pools (:attr:`Platform.pool`, ``concurrency``: ``rapport pools``);
- the warehouse's ``raw.platforms`` table, which dbt's staging tests check
  every account's platform against (no list of platforms in the dbt YAML);
- the counts a platform does not always show (:attr:`Platform.unavailable`):
  NULL, never 0, in every record and suite;
- the pipeline's clock for a simulated platform (:attr:`Platform.simulated`).

``tests/unit/test_platform_contract.py`` fails when any of these drifts.
Importing a platform's ``__init__`` must stay light (no HTTP client, no
simulator): the DAG reads every contract when it is parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.sources import Page, Records, Window
    from rapport.thread_ledger import ThreadLedger, ThreadReport

Seen = Literal["yes", "partly", "no"]
POOL_PREFIX: Final = "rapport_"


@dataclass(frozen=True)
class Credential:
    """A credential a platform reads: where from, and whether it is needed at all.

    Looked up when an extraction starts (:mod:`rapport.sources.credentials`),
    never logged, landed, echoed or written to XComs.
    """

    what: str
    """What it is and what it unlocks, e.g. ``"an API key (YouTube Data API v3)"``."""
    variables: tuple[str, ...]
    """Environment variables that hold it (the first set wins)."""
    connection_ids: tuple[str, ...] = ()
    """Airflow Connections that hold it (their password), looked at when no variable is set."""
    required: bool = False
    """True when the platform cannot be read without it."""


@dataclass(frozen=True)
class NightlyCost:
    """What one account costs a night, in the platform's own unit, for the README's example account."""

    unit: str
    """``requests``, or ``quota units`` for a platform that counts units per call."""
    formula: str
    """The cost of one extraction in that unit, before retries."""
    first_run: int
    nightly: int
    nothing_new: int
    example: str
    """The account the three figures are for, e.g. ``"15 posts a week, 2/3 with replies"``."""


@dataclass(frozen=True)
class Measure:
    """One row of the metric-availability table: what Rapport needs, and how the platform shows it."""

    name: str
    """What is measured, e.g. ``"followers"``, ``"the public's questions"``, ``"alt text"``."""
    seen: Seen
    how: str
    """Where it comes from, or why it is missing and what Rapport does then."""


@dataclass(frozen=True)
class Platform:
    """Everything the rest of Rapport needs to know of a platform, declared in its folder."""

    name: str
    """The key of the platform: folder name, registry value, warehouse value (``youtube``)."""
    title: str
    """How it is written for people (``YouTube``)."""
    handle: re.Pattern[str]
    """What a handle looks like, matched whole (``fullmatch``)."""
    handle_hint: str
    """What the registry says of a malformed handle: ``expected ...``."""
    address_example: str
    """An account as ``rapport fetch`` takes it: ``'@user@instance'``, ``'@channel'``."""
    concurrency: int
    """Default slots of its Airflow pool: extractions of this platform at the same time."""
    pool_description: str
    cost: NightlyCost
    availability: tuple[Measure, ...]
    credentials: tuple[Credential, ...] = ()
    needs_instance: bool = False
    """True when an account lives on one of many servers, named under ``instance`` in the registry."""
    lowercase_handles: bool = False
    """True when the platform folds handles to lowercase (they are stored so)."""
    unavailable: Mapping[str, str] = field(default_factory=dict)
    """Record columns the platform does not always show, and why: never shown
    (``"account_snapshots.following_count"`` of a YouTube channel), or hidden by some accounts
    (a channel that hides its subscriber count). NULL on those rows, never 0; the validation
    suites allow NULL in them on this platform (elsewhere they still require a value)."""
    simulated: bool = False
    """A simulated platform is observed at the end of its window, so that replays are identical."""
    exports: tuple[ExportFormat, ...] = ()
    """The analytics exports of the platform Rapport imports: an account with an ``inbox`` in the
    registry is read from the files dropped there instead of the platform's API."""
    reads_api: bool = True
    """False for a platform read from its exports only: every account of it has an inbox."""
    post_url: str | None = None
    """The public address of a post (a question of the public, an answer of the account), with
    placeholders dbt fills (macros/format_post_url.sql, for ``fct_open_questions``): ``{instance}``
    (the account's server), ``{author}`` (the post's author handle, without a leading ``@``),
    ``{post_id}`` (the platform's id of the post) and ``{post_key}`` (the part of ``{post_id}`` after
    its last ``/``). ``None`` when posts have no public address Rapport can make from these."""

    @property
    def pool(self) -> str:
        """Its Airflow pool: ``rapport_<name>``."""
        return f"{POOL_PREFIX}{self.name}"

    def shows(self, record_type: str, column: str) -> bool:
        """False when ``record_type.column`` is one of the columns this platform never shows."""
        return f"{record_type}.{column}" not in self.unavailable


COMPONENTS: Final = (
    "answered_question_share",
    "response_time",
    "trust_presence",
    "dialogue_share",
    "own_news_share",
    "directed_at_others_share",
    "non_promotional_share",
    "effort",
    "accessibility_share",
    "followers",
)
"""What an indicator is built from (docs/methodology.md), as an export format says it feeds them:
the scoring components, and the followers of the account's snapshots."""


@dataclass(frozen=True)
class Feed:
    """One row of an export format's availability table: whether it feeds a component, and how."""

    component: str
    """One of :data:`COMPONENTS`."""
    fed: bool
    how: str
    """The file's columns it comes from, or why it is missing (then the component is NULL, with a note)."""


@dataclass(frozen=True)
class ExportFormat:
    """An analytics export an organization downloads from the platform, that Rapport imports.

    A file is read by ``reader`` (``"module:function"``, imported when a file
    is read: the contract stays light), which returns an
    :class:`rapport.sources.exports.ExportRows`; :data:`COMPONENTS` it does not
    feed are NULL, with a note, in the weeks its files cover.
    """

    name: str
    """Its key, unique across platforms (``linkedin_page``): in the landing zone and the warehouse."""
    title: str
    """How the platform's help names it (``LinkedIn page analytics (content, followers, visitors)``)."""
    files: str
    """What the file looks like (``.xls or .xlsx workbook, sheets 'Metrics', 'All posts'``)."""
    where: str
    """Where in the platform's tools it is downloaded."""
    reader: str
    """``module:function`` that reads a file (:data:`rapport.sources.exports.Reader`)."""
    detector: str
    """``module:function`` that tells, cheaply, whether a file is of this format
    (:data:`rapport.sources.exports.Detector`): its kind, its sheets or its header row."""
    feeds: tuple[Feed, ...]
    """One row per component of :data:`COMPONENTS`, in that order."""

    def fed(self, component: str) -> bool:
        """Whether a file of this format feeds ``component``."""
        return any(feed.component == component and feed.fed for feed in self.feeds)


class Source(Protocol):
    """What every ``rapport.sources.<platform>`` package provides (see :mod:`rapport.sources`)."""

    PLATFORM: Platform

    def extract(self, account: Account, window: Window) -> Iterator[Page]: ...

    def extract_with_stats(
        self, account: Account, window: Window, *, ledger: ThreadLedger | None = None
    ) -> tuple[Iterator[Page], ExtractionCost]: ...

    def normalize(
        self,
        pages: Sequence[Page],
        account: Account,
        observed_at: datetime,
        fetched_at: datetime | None = None,
    ) -> Records: ...


class ExtractionCost(Protocol):
    """What ``extract_with_stats`` hands back beside the pages, final once they are consumed."""

    def counters(self) -> dict[str, Any]:
        """What the extraction cost, in the platform's unit: at least ``requests``, ``retries``,
        ``rate_limited`` and ``slept_seconds``; a platform with a quota adds ``units``."""
        ...

    @property
    def threads(self) -> ThreadReport | None:
        """What it listed and read, for the thread ledger; ``None`` for a platform without threads."""
        ...
