"""The thread ledger: which of an account's reply threads were read, and which are still to read.

A source lists an account's posts, then reads the reply thread of some of them
(Mastodon's ``statuses/<id>/context``, Bluesky's ``getPostThread``) within a
budget per night. The ledger remembers, for each own post ever listed with
replies, its ``created_at``, its reply count when last listed and the reply
count, run date and extraction when its thread was last read. Each night
:func:`plan_thread_reads` spends the budget on

a. the threads listed tonight whose reply count differs from the count of
   their last read (never-read ones included), newest first; then
b. the backlog: threads of the ledger not listed tonight (older than the
   window) that were never read or were read at another count, newest first.

A reply of the account inside the thread of another of its posts (its
``root_id``) is read through that thread. What a read covers is what the thread
shows, not what was planned: the source reports, per thread read, the own posts
whose replies the thread holds (the posts its normalize writes ``thread_reads``
for). A post the root's thread did not reach (below a post whose author blocks
the reader, or cut at the server's depth limit, or under a root deleted
meanwhile) is read on its own: the same night when the budget has room, else
from the next night on; the root, up to date, is not read again for it.

So a first run's history is read completely over the nights that follow, and a
night where every listed count equals its read count and the backlog is empty
makes no thread call. A read by an extraction later quarantined is not trusted:
the thread is read again.

The planning is pure (a source receives the ledger's :class:`ThreadLedger`
view and reports a :class:`ThreadReport`); the file is read and written by
:func:`read_ledger` and :func:`record_extraction`, in the landing zone (its path
is :func:`rapport.zones.thread_ledger_file`): JSON holding post ids, dates and
counts, never a secret, replaced atomically under the account's ledger lock.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

from rapport import zones

log = logging.getLogger(__name__)

LEDGER_VERSION: Final = 1
_KEPT_READS: Final = 8
"""Reads kept per post: the latest trusted one is all planning needs, a few more survive a
quarantine of the latest ones and a replay of recent run dates."""


@dataclass(frozen=True)
class ListedThread:
    """One of the account's own posts that a listing showed with replies."""

    post_id: str
    created_at: datetime
    """Naive UTC, as the sources compare them."""
    reply_count: int
    root_id: str | None = None
    """The account's post at the root of the thread holding this one (Bluesky: a reply of the
    account inside the thread of another of its posts); ``None`` for a post that is not a reply."""


@dataclass(frozen=True)
class ThreadState:
    """What the ledger knew of a post before tonight's run."""

    created_at: datetime
    listed_count: int
    """Its reply count when last listed."""
    read_count: int | None
    """Its reply count when its thread was last read by a trusted extraction; ``None``: never read."""
    root_id: str | None = None
    is_detached: bool = False
    """A trusted read of its root's thread did not reach it: its thread is read on its own."""


@dataclass(frozen=True)
class ThreadLedger:
    """The ledger's view for one run date: every post listed before it, by post id."""

    posts: Mapping[str, ThreadState] = field(default_factory=dict)


@dataclass(frozen=True)
class ThreadPlan:
    """The threads to read tonight, in order, and what each read covers."""

    to_read: tuple[str, ...]
    covers: Mapping[str, tuple[tuple[str, int], ...]]
    """For each thread read: the posts (its own and those inside it) and the reply count read."""
    created_at: Mapping[str, datetime]
    changed: int
    """Threads listed tonight whose count changed since they were last read (or never read)."""
    backlog: int
    """Threads of the ledger not listed tonight that are unread or out of date."""
    budget: int = 0
    due: frozenset[str] = frozenset()
    """The posts due tonight (listed at a count other than their last read's, or never read)."""

    @property
    def left(self) -> int:
        """Threads to read that the budget left for the nights that follow."""
        return self.changed + self.backlog - len(self.to_read)


@dataclass
class ThreadReport:
    """What one extraction listed and read, for the ledger: filled in as its pages are consumed."""

    listed: list[ListedThread] = field(default_factory=list)
    plan: ThreadPlan | None = None
    read: list[str] = field(default_factory=list)
    """The threads read (a thread whose post was deleted meanwhile counts: there is nothing left)."""
    covered: dict[str, frozenset[str]] = field(default_factory=dict)
    """For each thread read, the own posts the read covered (see :meth:`add_read`)."""

    def threads_to_read(self) -> Iterator[str]:
        """The threads to read tonight, in order: the plan's, each followed (while the budget
        lasts) by the due posts its read did not reach, read on their own.

        The source reads each thread yielded and calls :meth:`add_read` before asking for the next.
        """
        plan = self.plan
        if plan is None:
            return
        queue = deque(plan.to_read)
        while queue:
            thread = queue.popleft()
            yield thread
            covered = frozenset().union(*self.covered.values())
            for member in self.missed(thread):
                has_room = len(self.read) + len(queue) < plan.budget
                if has_room and member in plan.due and member not in covered and member not in queue:
                    queue.append(member)

    def add_read(self, thread: str, covered: Iterable[str] | None) -> None:
        """Record that ``thread`` was read and covered the own posts ``covered``: those whose
        replies the thread holds, the posts its normalize writes ``thread_reads`` for.
        ``None``: the post was deleted meanwhile, its thread is read (nothing is left), and
        nothing else in it is."""
        self.read.append(thread)
        self.covered[thread] = frozenset([thread] if covered is None else covered)

    def missed(self, thread: str) -> list[str]:
        """The posts planned to be read through ``thread`` that its read did not cover."""
        planned = self.plan.covers.get(thread, ()) if self.plan is not None else ()
        covered = self.covered.get(thread, frozenset())
        return [post_id for post_id, _ in planned if post_id != thread and post_id not in covered]

    def reads(self) -> list[str]:
        """Every post the threads read covered, in the order read."""
        return [post_id for thread in self.read for post_id in sorted(self.covered.get(thread, ()))]

    def earliest_read(self) -> datetime | None:
        """The ``created_at`` of the oldest post whose thread was read (naive UTC), if any."""
        created = self.plan.created_at if self.plan is not None else {}
        return min((created[thread] for thread in self.read if thread in created), default=None)

    def summary(self) -> dict[str, Any]:
        """Counters for the manifest: threads listed, to read, read, left; the oldest read."""
        earliest = self.earliest_read()
        plan = self.plan
        return {
            "listed": len(self.listed),
            "changed": plan.changed if plan else 0,
            "backlog": plan.backlog if plan else 0,
            "read": len(self.read),
            "left": plan.left if plan else 0,
            "earliest_read_created_at": earliest.replace(tzinfo=UTC).isoformat() if earliest else None,
        }


def thread_budget(given: int | None, default: Callable[[], int], what: str = "thread budget") -> int:
    """An extraction's budget of thread reads: ``given``, else what ``default`` reads from the
    platform's setting. Raises ``ValueError`` for a negative one (a caller's mistake)."""
    budget = default() if given is None else given
    if budget < 0:
        raise ValueError(f"the {what} must not be negative, got {budget}")
    return budget


def plan_thread_reads(listed: Iterable[ListedThread], ledger: ThreadLedger, budget: int) -> ThreadPlan:
    """Choose the threads to read tonight, within ``budget``.

    First (a) the threads listed tonight whose reply count differs from their
    last read's (never read included), newest first; then (b) the ledger's
    unread or out-of-date threads not listed tonight, newest first. A post
    whose ``root_id`` is another known post of the account is read through that
    post's thread (not twice): the thread is due when any post in it is; unless
    a read of that thread did not reach it (``is_detached``): then it is a
    thread of its own, and the root is not due for it.
    Returns the plan; reading nothing when nothing changed and nothing is left.
    """
    tonight = {thread.post_id: thread for thread in listed}
    known: dict[str, tuple[datetime, int, str | None]] = {
        post_id: (state.created_at, state.listed_count, state.root_id)
        for post_id, state in ledger.posts.items()
    }
    known.update(
        {
            post_id: (thread.created_at, thread.reply_count, thread.root_id)
            for post_id, thread in tonight.items()
        }
    )
    groups: dict[str, list[str]] = {}
    for post_id, (_, _, root_id) in known.items():
        state = ledger.posts.get(post_id)
        is_detached = state is not None and state.is_detached
        is_inside = root_id is not None and root_id != post_id and root_id in known and not is_detached
        groups.setdefault(root_id if is_inside and root_id else post_id, []).append(post_id)

    def is_due(post_id: str) -> bool:
        state = ledger.posts.get(post_id)
        return state is None or state.read_count != known[post_id][1]

    changed: list[str] = []
    backlog: list[str] = []
    for key, members in groups.items():
        if any(is_due(member) for member in members):
            (changed if any(member in tonight for member in members) else backlog).append(key)

    def newest_first(keys: list[str]) -> list[str]:
        return sorted(keys, key=lambda key: (known[key][0], key), reverse=True)

    to_read = tuple((newest_first(changed) + newest_first(backlog))[: max(budget, 0)])
    return ThreadPlan(
        to_read=to_read,
        covers={key: tuple((member, known[member][1]) for member in sorted(groups[key])) for key in to_read},
        created_at={key: known[key][0] for key in to_read},
        changed=len(changed),
        backlog=len(backlog),
        budget=max(budget, 0),
        due=frozenset(post_id for post_id in known if is_due(post_id)),
    )


# -- the file ---------------------------------------------------------------------------------------


class LedgerError(ValueError):
    """A ledger file cannot be read as a ledger; the message says what is wrong."""


def read_ledger(path: Path, before: date, is_quarantined: Callable[[date, str], bool]) -> ThreadLedger:
    """The ledger's view for a run on ``before``: what runs of earlier dates listed and read.

    Only listings and reads of earlier run dates count, so a run date replayed
    plans what it planned the first time; a read whose extraction
    ``is_quarantined(run_date, extraction_id)`` is not trusted (its thread is
    read again). A missing ledger is an empty one; a damaged one (not JSON, or
    not of this shape) is moved aside, kept, with a warning naming the file, and
    the run goes on with an empty ledger.
    """
    posts = _load(path)
    quarantined: dict[tuple[date, str], bool] = {}

    def trusted(run_date: date, extraction_id: str) -> bool:
        if (run_date, extraction_id) not in quarantined:
            quarantined[run_date, extraction_id] = is_quarantined(run_date, extraction_id)
        return not quarantined[run_date, extraction_id]

    view: dict[str, ThreadState] = {}
    for post_id, entry in posts.items():
        listings = [(run_date, count) for run_date, count in entry["listings"] if run_date < before]
        if not listings:
            continue
        reads = [
            count
            for run_date, extraction_id, count in entry["reads"]
            if run_date < before and trusted(run_date, extraction_id)
        ]
        view[post_id] = ThreadState(
            created_at=entry["created_at"],
            listed_count=listings[-1][1],
            read_count=reads[-1] if reads else None,
            root_id=entry["root_id"],
            is_detached=any(
                run_date < before and trusted(run_date, extraction_id)
                for run_date, extraction_id in entry["missed"]
            ),
        )
    return ThreadLedger(view)


def record_extraction(path: Path, report: ThreadReport, run_date: date, extraction_id: str) -> None:
    """Add what a complete extraction listed and read to the ledger file, atomically.

    A post is recorded as read when a thread read covered it
    (:meth:`ThreadReport.reads`), at the count it was last listed with; a post
    planned inside a thread whose read did not cover it is recorded as missed
    by that read (it is read on its own from then on). What an earlier
    extraction of the same run date recorded is replaced. Holds the account's
    ledger lock while the file is read, changed and replaced.
    Raises ``OSError`` when the disk refuses the write.
    """
    with zones.file_lock(zones.thread_ledger_lock_file(path), wait=True):
        posts = _load(path)
        for thread in report.listed:
            entry = posts.setdefault(
                thread.post_id,
                {
                    "created_at": thread.created_at,
                    "root_id": thread.root_id,
                    "listings": [],
                    "reads": [],
                    "missed": [],
                },
            )
            entry["root_id"] = thread.root_id
            listings = [item for item in entry["listings"] if item[0] != run_date] + [
                (run_date, thread.reply_count)
            ]
            listings.sort(key=lambda item: item[0])
            # Only changes are kept: a count listed every night needs one entry.
            entry["listings"] = [
                item
                for number, item in enumerate(listings)
                if number == 0 or item[1] != listings[number - 1][1]
            ]
        for post_id in report.reads():
            if post_id not in posts:
                continue
            entry = posts[post_id]
            listed = [count for day, count in entry["listings"] if day <= run_date]
            if not listed:
                continue
            # The count it was listed with: the one tomorrow's listing is compared with.
            reads = [item for item in entry["reads"] if item[0] != run_date] + [
                (run_date, extraction_id, listed[-1])
            ]
            reads.sort(key=lambda item: item[0])
            entry["reads"] = reads[-_KEPT_READS:]
        for post_id in {member for thread in report.read for member in report.missed(thread)}:
            if post_id in posts:
                entry = posts[post_id]
                missed = [item for item in entry["missed"] if item[0] != run_date] + [
                    (run_date, extraction_id)
                ]
                entry["missed"] = sorted(missed)[-_KEPT_READS:]
        _write(path, posts)


def _load(path: Path) -> dict[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        log.warning("%s: the thread ledger cannot be read (%s): planned as empty", path, error)
        return {}
    try:
        return _parse(text)
    except LedgerError as error:
        kept = zones.damaged_aside(path)
        try:
            path.rename(kept)
        except OSError:
            kept = path
        log.warning(
            "%s: damaged thread ledger (%s), kept as %s; planned as empty: the threads listed from "
            "now on are read again",
            path,
            error,
            kept.name,
        )
        return {}


def _parse(text: str) -> dict[str, dict[str, Any]]:
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("version") != LEDGER_VERSION:
            raise LedgerError(f"not a version {LEDGER_VERSION} ledger")
        posts = document["posts"]
        if not isinstance(posts, dict):
            raise LedgerError("'posts' is not an object")
        return {
            str(post_id): {
                "created_at": datetime.fromisoformat(entry["created_at"]),
                "root_id": None if entry.get("root_id") is None else str(entry["root_id"]),
                "listings": [(date.fromisoformat(day), int(count)) for day, count in entry["listings"]],
                "reads": [
                    (date.fromisoformat(day), str(extraction_id), int(count))
                    for day, extraction_id, count in entry["reads"]
                ],
                "missed": [
                    (date.fromisoformat(day), str(extraction_id))
                    for day, extraction_id in entry.get("missed", [])
                ],
            }
            for post_id, entry in posts.items()
        }
    except LedgerError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise LedgerError(f"{type(error).__name__}: {error}") from None


def _write(path: Path, posts: Mapping[str, Mapping[str, Any]]) -> None:
    document = {
        "version": LEDGER_VERSION,
        "posts": {
            post_id: {
                "created_at": entry["created_at"].isoformat(),
                "root_id": entry["root_id"],
                "listings": [[day.isoformat(), count] for day, count in entry["listings"]],
                "reads": [
                    [day.isoformat(), extraction_id, count] for day, extraction_id, count in entry["reads"]
                ],
                **(
                    {"missed": [[day.isoformat(), extraction_id] for day, extraction_id in entry["missed"]]}
                    if entry["missed"]
                    else {}
                ),
            }
            for post_id, entry in sorted(posts.items())
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
