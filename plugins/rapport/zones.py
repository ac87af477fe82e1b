"""Where each storage zone keeps its files: every path format is written here, once.

::

    landing     <landing_dir>/platform=<platform>/account=<slug>/run_date=<YYYY-MM-DD>/extraction=<id>/
    ledger      <landing_dir>/platform=<platform>/account=<slug>/thread-ledger.json (and .lock, and
                thread-ledger.json.damaged-<n> for a damaged one kept aside)
    staged      <staging_dir>/run_date=<YYYY-MM-DD>/part=<nnnnn>/
    quarantine  <quarantine_dir>/run_date=<YYYY-MM-DD>/extraction=<id>/
    reports     <data_dir>/reports/run_date=<YYYY-MM-DD>/
    GX docs     <gx_docs_dir>/run_date=<YYYY-MM-DD>/      one Great Expectations project per run date
                <gx_docs_dir>/run_date=<YYYY-MM-DD>.lock  held while that date is validated
    warehouse   <warehouse> and <warehouse>.lock          the lock every writer holds
    published   <published_dir>/rapport.duckdb, parquet/current/, report/, dbt_docs/
    state       <data_dir>/state/<platform>/<name> (session.json, a quota's ledger) and <name>.lock
                a platform's sign-in session, shared by a run's tasks: private (0600), never landed
    inbox       <inbox_dir>/platform=<platform>/account=<slug>/   the analytics exports dropped for an
                account read from its files (unless the registry gives it an ``inbox`` of its own);
                read, never written or emptied: the landing zone keeps what was imported

A run date's folder is named ``run_date=<YYYY-MM-DD>`` in every zone; a folder
of an extraction ``extraction=<its id>``. Locks are ``flock`` locks on files
that are never removed: the kernel releases them when their process dies,
killed or not.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from rapport.errors import RapportError

log = logging.getLogger(__name__)

SERVING_FILE: Final = "rapport.duckdb"
_RUN_DATE: Final = "run_date="
_EXTRACTION: Final = "extraction="
_PART: Final = "part="
_PLATFORM: Final = "platform="
_ACCOUNT: Final = "account="
_ASIDE: Final = ".rebuild-"
_THREAD_LEDGER: Final = "thread-ledger.json"
_DAMAGED: Final = ".damaged-"


# Every zone partitioned by run date


def run_date_dir(root: Path, run_date: date) -> Path:
    """The folder of a run date in a zone (landing account, staged, quarantine, reports, GX docs)."""
    return root / f"{_RUN_DATE}{run_date.isoformat()}"


def run_date_of_dir(path: Path) -> date | None:
    """The run date a folder of :func:`run_date_dir` stands for; ``None`` for any other name."""
    if not path.name.startswith(_RUN_DATE):
        return None
    try:
        return date.fromisoformat(path.name.removeprefix(_RUN_DATE))
    except ValueError:
        return None


def _run_date_pattern(run_dates: Iterable[date] | None) -> list[str]:
    if run_dates is None:
        return [f"{_RUN_DATE}*"]
    return [f"{_RUN_DATE}{run_date.isoformat()}" for run_date in run_dates]


# Landing


def landing_account_dir(landing_dir: Path, platform: str, slug: str) -> Path:
    """Where an account's extractions are landed, every run date's in a folder of its own."""
    return landing_dir / f"{_PLATFORM}{platform}" / f"{_ACCOUNT}{slug}"


def landing_extraction_dirs(
    landing_dir: Path, run_date: date | None = None, account_dir: Path | None = None
) -> list[Path]:
    """The extraction folders landed, of one run date or all, of one account's folder or all, in order."""
    base = account_dir or landing_dir
    prefix = "" if account_dir else f"{_PLATFORM}*/{_ACCOUNT}*/"
    [pattern] = _run_date_pattern([run_date] if run_date else None)
    return sorted(base.glob(f"{prefix}{pattern}/{_EXTRACTION}*"))


def landed_run_dates(landing_dir: Path) -> list[date]:
    """Every run date some account has a folder for in the landing zone, in order."""
    found = {
        run_date
        for path in landing_dir.glob(f"{_PLATFORM}*/{_ACCOUNT}*/{_RUN_DATE}*")
        if (run_date := run_date_of_dir(path)) is not None
    }
    return sorted(found)


def inbox_dir(inbox_root: Path, platform: str, slug: str) -> Path:
    """The default inbox of an account read from its analytics exports."""
    return inbox_root / f"{_PLATFORM}{platform}" / f"{_ACCOUNT}{slug}"


def thread_ledger_file(landing_dir: Path, platform: str, slug: str) -> Path:
    """An account's thread ledger (:mod:`rapport.thread_ledger`): which of its reply threads were read."""
    return landing_account_dir(landing_dir, platform, slug) / _THREAD_LEDGER


def thread_ledger_lock_file(ledger: Path) -> Path:
    """The lock held while an account's thread ledger is read, changed and replaced."""
    return ledger.with_name(f"{ledger.name}.lock")


def damaged_aside(path: Path) -> Path:
    """A free name beside ``path`` where a damaged file is kept for a person to read."""
    number = 1
    while (candidate := path.with_name(f"{path.name}{_DAMAGED}{number}")).exists():
        number += 1
    return candidate


def extraction_dir(parent: Path, extraction_id: str) -> Path:
    """An extraction's folder in ``parent`` (a landing run-date folder, or a quarantine one)."""
    return parent / f"{_EXTRACTION}{extraction_id}"


@dataclass(frozen=True)
class LandingAddress:
    """What a landed extraction's path says of it, whatever its manifest says (or if it has none)."""

    platform: str
    slug: str
    run_date: date
    extraction_id: str


def landing_address(path: Path) -> LandingAddress | None:
    """Read platform, account slug, run date and extraction id from an extraction folder's path."""
    parts = path.parts[-4:]
    run_date = run_date_of_dir(path.parent)
    if len(parts) < 4 or run_date is None:
        return None
    platform, account, _, extraction = parts
    if not (
        platform.startswith(_PLATFORM) and account.startswith(_ACCOUNT) and extraction.startswith(_EXTRACTION)
    ):
        return None
    return LandingAddress(
        platform.removeprefix(_PLATFORM),
        account.removeprefix(_ACCOUNT),
        run_date,
        extraction.removeprefix(_EXTRACTION),
    )


def extraction_id_of(path: Path) -> str | None:
    """The extraction id an extraction folder is named for; ``None`` for any other folder."""
    return path.name.removeprefix(_EXTRACTION) if path.name.startswith(_EXTRACTION) else None


# Staged (validated) and quarantined batches, validation reports, Great Expectations projects


def staged_part_dir(staging_dir: Path, run_date: date, number: int) -> Path:
    """The folder of one part of the batches staged for a run date."""
    return run_date_dir(staging_dir, run_date) / f"{_PART}{number:05d}"


def staged_part_files(staging_dir: Path, run_dates: Iterable[date] | None, name: str) -> list[Path]:
    """The file ``name`` of every staged part, of some run dates or all, in order of date and part."""
    return sorted(
        path
        for pattern in _run_date_pattern(run_dates)
        for path in staging_dir.glob(f"{pattern}/{_PART}*/{name}")
    )


def quarantine_batch_dir(quarantine_dir: Path, run_date: date, extraction_id: str) -> Path:
    """Where a batch that failed validation is kept, with the reason, for a person to read."""
    return extraction_dir(run_date_dir(quarantine_dir, run_date), extraction_id)


def is_quarantined(quarantine_dir: Path, run_date: date, extraction_id: str) -> bool:
    """Whether the last validation of ``run_date`` quarantined this extraction."""
    return quarantine_batch_dir(quarantine_dir, run_date, extraction_id).is_dir()


def quarantined_batch_dirs(quarantine_dir: Path) -> list[Path]:
    """Every quarantined batch's folder, in order of run date."""
    return sorted(quarantine_dir.glob(f"{_RUN_DATE}*/{_EXTRACTION}*"))


def report_file(data_dir: Path, run_date: date, name: str) -> Path:
    """A report of a run date's validation (``name``: the file)."""
    return run_date_dir(data_dir / "reports", run_date) / name


def report_files(data_dir: Path, name: str) -> dict[date, Path]:
    """The reports named ``name`` of every run date that has one, by run date."""
    return {
        run_date: folder / name
        for folder in (data_dir / "reports").glob(f"{_RUN_DATE}*")
        if (run_date := run_date_of_dir(folder)) is not None and (folder / name).is_file()
    }


def gx_project_dir(gx_docs_dir: Path, run_date: date) -> Path:
    """The Great Expectations project of a run date's validations, with its Data Docs."""
    return run_date_dir(gx_docs_dir, run_date)


def data_docs_index(gx_docs_dir: Path, run_date: date) -> Path:
    """The index page of a run date's Data Docs (where the project's GX context renders them)."""
    return (
        gx_project_dir(gx_docs_dir, run_date)
        / "gx"
        / "uncommitted"
        / "data_docs"
        / "local_site"
        / "index.html"
    )


def validation_lock_file(gx_docs_dir: Path, run_date: date) -> Path:
    """The lock a validation of ``run_date`` holds: validations of one date run one at a time."""
    folder = gx_project_dir(gx_docs_dir, run_date)
    return folder.with_name(f"{folder.name}.lock")


# Warehouse and published copies


def writer_lock_file(warehouse: Path) -> Path:
    """The lock every writer of ``warehouse`` holds (load, dbt, rebuild)."""
    return warehouse.with_name(f"{warehouse.name}.lock")


def aside(path: Path, token: str) -> Path:
    """A hidden sibling of ``path`` where a rebuild writes its replacement."""
    return path.with_name(f".{path.name}{_ASIDE}{token}")


def asides(path: Path) -> list[Path]:
    """Every :func:`aside` of ``path`` left there (by a rebuild that was killed)."""
    return sorted(path.parent.glob(f".{path.name}{_ASIDE}*"))


def serving_file(published_dir: Path) -> Path:
    """The published DuckDB copy of the marts that readers open."""
    return published_dir / SERVING_FILE


def published_parquet_dir(published_dir: Path) -> Path:
    """The published Parquet versions (``current`` links to the complete one)."""
    return published_dir / "parquet"


def published_report_dir(published_dir: Path) -> Path:
    """The weekly HTML report (``latest.html``)."""
    return published_dir / "report"


def published_dbt_docs_dir(published_dir: Path) -> Path:
    """dbt's generated documentation."""
    return published_dir / "dbt_docs"


# Private state: what a platform's extraction tasks share (a sign-in session, a quota spent)


def platform_state_file(data_dir: Path, platform: str, name: str) -> Path:
    """A file a platform's extraction tasks share, ``<data_dir>/state/<platform>/<name>``.

    Outside the landing, staged and published zones: nothing there is ever landed or shown.
    """
    return data_dir / "state" / platform / name


def session_state_file(data_dir: Path, platform: str) -> Path:
    """Where a platform's sign-in session is kept between the tasks of a run (tokens: mode 0600)."""
    return platform_state_file(data_dir, platform, "session.json")


def state_lock_file(state_file: Path) -> Path:
    """The lock held while a state file is read, renewed or written."""
    return state_file.with_name(f"{state_file.name}.lock")


def damaged_state_file(state_file: Path, token: str) -> Path:
    """Where a state file that cannot be read is set aside, for a person to look at."""
    return state_file.with_name(f"{state_file.name}{_DAMAGED}{token}")


# Locks


class LockHeldError(RapportError, RuntimeError):
    """A lock taken without waiting is held by another process; the message names the lock file."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path}: held by {holder}")
        self.path = path
        self.holder = holder


@contextmanager
def file_lock(
    path: Path, *, wait: bool, busy: Callable[[LockHeldError], Exception] | None = None
) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if need be) until the block ends.

    Held by another process: wait for it (``wait``), or raise ``busy(error)``
    (default: the ``LockHeldError`` naming the file and its holder). The lock
    file holds its holder's process id and host, for that message.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held = LockHeldError(path, _holder(descriptor))
            if not wait:
                raise (busy(held) if busy else held) from None
            log.info("%s: waiting for %s to release it", path, held.holder)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"process {os.getpid()} on {socket.gethostname()}".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _holder(descriptor: int) -> str:
    text = os.pread(descriptor, 200, 0).decode("utf-8", errors="replace").strip()
    return text or "another process"
