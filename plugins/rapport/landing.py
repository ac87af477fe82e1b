"""The landing zone: every payload a source returned, stored once, compressed, immutable.

Layout (the folders' names are :mod:`rapport.zones`')::

    <landing_dir>/platform=<platform>/account=<slug>/run_date=<YYYY-MM-DD>/
        extraction=<id>/manifest.json     what was asked, when, and how it ended (and, for a
                                          source that reads reply threads, how many it read)
        extraction=<id>/0001.json.gz ...  each response body, byte for byte (known secrets a
                                          server echoed read ``***``; the page's entry says
                                          ``"redacted": true``)

An extraction directory is written aside (``.landing-<pid>@<host>-…``, with a
journal of the pages written so far) and renamed into place in one step, so a
reader never sees half of one. If the process is killed meanwhile, the next
landing of the same account, for that date or one of the week after, lands
what it had received as a failed extraction (:func:`salvage_interrupted`).
Its id is a hash of its content: landing the same responses twice
(re-running a date on a deterministic source) keeps one copy. Files are made
read-only; nothing downstream edits them, and the warehouse can be rebuilt
from this directory alone.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from rapport import zones
from rapport.accounts import Account
from rapport.errors import RapportError
from rapport.sources import DeferredError, Page, Window

MANIFEST = "manifest.json"
_STAGING_PREFIX = ".landing-"
# In a folder being landed only: the manifest's fields known at the start, then one line per page written.
_JOURNAL = "journal.jsonl"
# A folder being landed by a process of another machine, left this long untouched, was abandoned.
_ABANDONED_AFTER = timedelta(days=1)
# A landing of an account salvages the abandoned folders of its run dates this recent.
_SALVAGED_DAYS = timedelta(days=7)
# zlib's fast strategy: on API JSON, 10x the speed of level 9 for a file some 25% larger.
_COMPRESSION_LEVEL = 3

log = logging.getLogger(__name__)


class LandingError(RapportError, RuntimeError):
    """The landing zone could not be written or read; the message names the path."""


@dataclass(frozen=True)
class Extraction:
    """One landed extraction of one account, as its manifest describes it."""

    path: Path
    extraction_id: str
    platform: str
    account_id: str
    run_date: date
    window: Window
    fetched_at: datetime
    status: str
    error: str | None
    pages: tuple[dict[str, Any], ...]
    cost: dict[str, Any] | None = None
    threads: dict[str, Any] | None = None
    """What a source that reads reply threads listed and read (:meth:`ThreadReport.summary`)."""

    @property
    def reads_since(self) -> datetime | None:
        """The ``created_at`` of the oldest post whose thread it read (its rows may be that old)."""
        earliest = (self.threads or {}).get("earliest_read_created_at")
        return datetime.fromisoformat(earliest) if isinstance(earliest, str) else None

    @property
    def is_complete(self) -> bool:
        return self.status == "complete"

    @property
    def is_deferred(self) -> bool:
        """Ended by the platform's quota or usage cap (``DeferredError``): not read tonight, not failed."""
        return self.status == DEFERRED

    def read_pages(self) -> list[Page]:
        """Read the landed bodies back; raise ``LandingError`` naming a corrupt file."""
        pages = []
        for entry in self.pages:
            file = self.path / entry["file"]
            try:
                body = gzip.decompress(file.read_bytes())
            except (OSError, EOFError, gzip.BadGzipFile) as error:
                raise LandingError(f"{file}: cannot read landed payload ({error})") from error
            if hashlib.sha256(body).hexdigest() != entry["sha256"]:
                raise LandingError(f"{file}: payload does not match the checksum in {MANIFEST}")
            pages.append(
                Page(
                    endpoint=entry["endpoint"],
                    body=body,
                    status=entry["status"],
                    params=entry["params"],
                    redacted=bool(entry.get("redacted", False)),
                )
            )
        return pages


def account_dir(landing_dir: Path, account: Account) -> Path:
    return zones.landing_account_dir(landing_dir, account.platform, account.slug)


DEFERRED = "deferred"


def _status_after(failure: BaseException | None) -> str:
    """An extraction's status: complete, deferred by the platform's cap (``DeferredError``), or failed."""
    if failure is None:
        return "complete"
    return DEFERRED if isinstance(failure, DeferredError) else "failed"


def land_extraction(
    landing_dir: Path,
    account: Account,
    run_date: date,
    window: Window,
    fetched_at: datetime,
    pages: Iterable[Page],
    cost: Callable[[], dict[str, Any] | None] | None = None,
    threads: Callable[[], dict[str, Any] | None] | None = None,
) -> Extraction:
    """Store every page an extraction yields, then its manifest, atomically.

    ``cost``, when given, is called once the pages are consumed; what it returns
    (request counters, never a secret) is kept in the manifest. So is what
    ``threads`` returns, when it returns something: the counts of reply threads
    listed and read, and the oldest post read (the load refreshes the weeks from there).

    Pages are written as they arrive. If the source raises, the pages already
    received are landed all the same with status ``failed`` and the error, and
    the exception is re-raised: nothing fetched is lost. Returns the landed
    extraction; raises ``LandingError`` when the disk refuses a write.
    """
    parent = _run_dir(account_dir(landing_dir, account), run_date)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for recent in _recent_run_dirs(parent.parent, run_date):
            salvage_interrupted(recent)
        staging = Path(
            tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{os.getpid()}@{socket.gethostname()}-", dir=parent)
        )
    except OSError as error:
        raise LandingError(f"{parent}: cannot create the landing directory ({error})") from error
    window_fields = {"since": window.since.isoformat(), "until": window.until.isoformat()}
    if window.replies_since is not None:
        window_fields["replies_since"] = window.replies_since.isoformat()
    header = {
        "platform": account.platform,
        "account_id": account.account_id,
        "run_date": run_date.isoformat(),
        "window": window_fields,
        "fetched_at": fetched_at.isoformat(),
    }
    entries: list[dict[str, Any]] = []
    failure: BaseException | None = None
    try:
        with _journal(staging) as journal:
            journal(header)
            responses = iter(pages)
            while True:
                try:
                    page = next(responses)
                except StopIteration:
                    break
                except Exception as error:  # the source failed: land what came, then re-raise
                    failure = error
                    break
                entries.append(_write_page(staging, len(entries) + 1, page))
                journal(entries[-1])
        manifest = {
            **header,
            "status": _status_after(failure),
            "error": f"{type(failure).__name__}: {failure}" if failure else None,
            "pages": entries,
            "cost": cost() if cost else None,
        }
        # Only when there is one: the manifests (and ids) of other sources stay as they were.
        if (thread_summary := threads() if threads else None) is not None:
            manifest["threads"] = thread_summary
        final = _finish(staging, manifest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    extraction = read_extraction(final)
    if failure is not None:
        raise failure
    return extraction


def _finish(staging: Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest of a folder being landed and move it into place; return where it is."""
    manifest["extraction_id"] = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]
    _write_bytes(staging / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
    return _place(staging, manifest["extraction_id"])


def _place(staging: Path, extraction_id: str) -> Path:
    """Move a folder whose manifest is written into place, its journal dropped; return where it is."""
    try:
        (staging / _JOURNAL).unlink(missing_ok=True)
    except OSError as error:
        raise LandingError(f"{staging}: cannot write to the landing zone ({error})") from error
    final = zones.extraction_dir(staging.parent, extraction_id)
    if _move_into_place(staging, final):
        for file in final.iterdir():
            file.chmod(0o444)
    else:
        shutil.rmtree(staging)  # the same content is already landed
    return final


@contextmanager
def _journal(staging: Path) -> Iterator[Callable[[dict[str, Any]], None]]:
    """The journal of a folder being landed, open while it is: a function appending a line.

    Line-buffered, each line reaches the system as it is written, and a killed process's lines
    are kept; not synced, a power cut may lose the last ones (and their pages are then left out).
    """
    try:
        handle = (staging / _JOURNAL).open("a", encoding="utf-8", buffering=1)
    except OSError as error:
        raise LandingError(f"{staging}: cannot write to the landing zone ({error})") from error

    def append(line: dict[str, Any]) -> None:
        try:
            handle.write(json.dumps(line, sort_keys=True) + "\n")
        except OSError as error:
            raise LandingError(f"{staging / _JOURNAL}: cannot write to the landing zone ({error})") from error

    with handle:
        yield append


def salvage_interrupted(parent: Path) -> list[Path]:
    """Land, as failed extractions, the folders of ``parent`` whose landing process died.

    A process killed while landing (SIGKILL, out of memory, a lost machine)
    leaves its folder aside, with the pages received and their journal. A
    folder is abandoned when its process, on this machine, is gone; from
    another machine, when it has been left untouched for a day. Its pages
    whose journal line and checksum are whole are landed with status
    ``failed`` and the error ``interrupted``, like those of a source that
    failed: nothing received is lost, and the run's summary names the
    account. A folder that cannot be read is left as it is, with a warning.
    Returns the salvaged extractions' paths.
    """
    salvaged: list[Path] = []
    try:
        folders = sorted(path for path in parent.iterdir() if path.name.startswith(_STAGING_PREFIX))
    except FileNotFoundError:
        return salvaged
    for staging in folders:
        try:
            if not staging.is_dir() or not _is_abandoned(staging):
                continue
            final = _salvage(staging)
        except FileNotFoundError:
            continue  # moved into place, or salvaged, by another process meanwhile
        except (OSError, ValueError, KeyError, TypeError, LandingError) as error:
            log.warning(
                "%s: an interrupted landing could not be salvaged, left as it is (%s)", staging, error
            )
            continue
        log.warning("%s: an interrupted landing was landed as failed extraction %s", staging, final.name)
        salvaged.append(final)
    return salvaged


def _recent_run_dirs(account_path: Path, run_date: date) -> Iterator[Path]:
    """The account's run-date folders of the week up to ``run_date``: where a landing killed by a
    recent run may lie, even when the account is not landed again for that date."""
    for days in range(_SALVAGED_DAYS.days + 1):
        folder = _run_dir(account_path, run_date - timedelta(days=days))
        if folder.is_dir():
            yield folder


def _run_dir(account_path: Path, run_date: date) -> Path:
    return zones.run_date_dir(account_path, run_date)


def _is_abandoned(staging: Path) -> bool:
    """Its process, on this machine, is gone; or nothing was written in it for a day."""
    untouched = timedelta(seconds=_filesystem_now(staging.parent) - staging.stat().st_mtime)
    if untouched > _ABANDONED_AFTER:
        return True
    owner, _, rest = staging.name.removeprefix(_STAGING_PREFIX).partition("@")
    if not owner.isdigit() or rest.rpartition("-")[0] != socket.gethostname() or int(owner) == os.getpid():
        return False
    try:
        os.kill(int(owner), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def _filesystem_now(directory: Path) -> float:
    """Now, on the clock that stamps the files of ``directory``: the time a file made there gets.

    A folder's age is its modification time against this, not against our own clock: a disk
    shared by several machines is stamped by its server, whose clock need not be ours, and a
    wrong clock here must not make a landing in progress look a year old (or a dead one new).
    """
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".clock-") as probe:
        return os.fstat(probe.fileno()).st_mtime


def _salvage(staging: Path) -> Path:
    if (staging / MANIFEST).exists():  # killed between writing its manifest and moving it into place
        return _place(staging, json.loads((staging / MANIFEST).read_text(encoding="utf-8"))["extraction_id"])
    lines = (staging / _JOURNAL).read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    entries: list[dict[str, Any]] = []
    for line in lines[1:]:
        try:
            entry = json.loads(line)
            body = gzip.decompress((staging / entry["file"]).read_bytes())
        except (ValueError, KeyError, OSError, EOFError):
            break  # the page being written when the process died
        if hashlib.sha256(body).hexdigest() != entry["sha256"]:
            break
        entries.append(entry)
    kept = {entry["file"] for entry in entries} | {_JOURNAL}
    for file in staging.iterdir():
        if file.name not in kept:
            file.unlink()
    error = "interrupted: the process landing it was killed before it finished"
    return _finish(staging, {**header, "status": "failed", "error": error, "pages": entries, "cost": None})


def _move_into_place(staging: Path, final: Path) -> bool:
    """Rename ``staging`` to ``final``; return False when ``final`` is already landed.

    Checking ``final`` first would not do: another process landing the same
    content (the same account and date, extracted twice at once) can rename
    between the check and the rename, which then fails with ENOTEMPTY.
    """
    try:
        _sync_directory(staging)  # its files' names, before it is renamed
        staging.rename(final)
    except OSError as error:
        if error.errno in (errno.ENOTEMPTY, errno.EEXIST) and (final / MANIFEST).exists():
            return False
        raise LandingError(f"{final}: cannot move the extraction into place ({error})") from error
    try:
        _sync_directory(final.parent)  # the rename itself
    except OSError as error:
        raise LandingError(f"{final}: cannot make the extraction's name durable ({error})") from error
    return True


def _sync_directory(directory: Path) -> None:
    """Flush a directory's entries to disk: a file created or renamed in it survives a power cut
    only once its directory is synced, as the file's own bytes only once the file is."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_page(directory: Path, number: int, page: Page) -> dict[str, Any]:
    file = f"{number:04d}.json.gz"
    _write_bytes(directory / file, gzip.compress(page.body, compresslevel=_COMPRESSION_LEVEL, mtime=0))
    entry = {
        "file": file,
        "endpoint": page.endpoint,
        "params": page.params,
        "status": page.status,
        "bytes": len(page.body),
        "sha256": hashlib.sha256(page.body).hexdigest(),
    }
    # Only when true: the manifests (and ids) of pages that were not redacted stay as they were.
    if page.redacted:
        entry["redacted"] = True
    return entry


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        with path.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise LandingError(f"{path}: cannot write to the landing zone ({error})") from error


def read_extraction(path: Path) -> Extraction:
    """Read one extraction's manifest; raise ``LandingError`` naming it and what is wrong when it is
    unreadable: not JSON (truncated), a field missing or of the wrong type, or not this folder's."""
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise TypeError(f"a JSON object is expected, not {type(manifest).__name__}")
        window = _field(manifest, "window", dict)
        extraction = Extraction(
            path=path,
            extraction_id=_field(manifest, "extraction_id", str),
            platform=_field(manifest, "platform", str),
            account_id=_field(manifest, "account_id", str),
            run_date=date.fromisoformat(_field(manifest, "run_date", str)),
            window=Window(
                since=_moment(window, "window.since"),
                until=_moment(window, "window.until"),
                replies_since=_moment(window, "window.replies_since") if "replies_since" in window else None,
            ),
            fetched_at=_moment(manifest, "fetched_at"),
            status=_field(manifest, "status", str),
            error=_field(manifest, "error", str, optional=True),
            pages=tuple(
                _page(entry, number) for number, entry in enumerate(_field(manifest, "pages", list), 1)
            ),
            cost=_field(manifest, "cost", dict, optional=True),
            threads=_field(manifest, "threads", dict, optional=True),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LandingError(f"{manifest_path}: unreadable manifest ({error})") from error
    if zones.extraction_id_of(path) != extraction.extraction_id:
        raise LandingError(
            f"{manifest_path}: unreadable manifest (extraction_id {extraction.extraction_id!r} "
            f"is not its folder's)"
        )
    return extraction


def _field(manifest: dict[str, Any], name: str, kind: type, optional: bool = False) -> Any:
    """``manifest[name]`` (the last part of a dotted name), checked to be a ``kind`` (or null when
    ``optional``); raise ``TypeError`` or ``KeyError`` naming the field otherwise."""
    key = name.rpartition(".")[2]
    if key not in manifest:
        if optional:
            return None
        raise KeyError(f"field {name!r} is missing")
    value = manifest[key]
    if (value is None and optional) or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    raise TypeError(f"field {name!r} must be {kind.__name__}, not {type(value).__name__}")


def _moment(manifest: dict[str, Any], name: str) -> datetime:
    """A field holding an ISO 8601 moment with its time zone."""
    moment = datetime.fromisoformat(_field(manifest, name, str))
    if moment.tzinfo is None:
        raise ValueError(f"field {name!r} has no time zone")
    return moment


_PAGE_FIELDS: Final = {"file": str, "endpoint": str, "status": int, "params": dict, "sha256": str}


def _page(entry: Any, number: int) -> dict[str, Any]:
    """A manifest's entry for a page, checked: its fields, and a file name inside the folder."""
    if not isinstance(entry, dict):
        raise TypeError(f"page {number} must be an object, not {type(entry).__name__}")
    for name, kind in _PAGE_FIELDS.items():
        _field(entry, f"pages[{number}].{name}", kind)
    if Path(entry["file"]).name != entry["file"] or entry["file"] in ("", ".", ".."):
        raise ValueError(f"field 'pages[{number}].file' is not a file name: {entry['file']!r}")
    return entry


def readable_extractions(paths: Iterable[Path]) -> Iterator[Extraction]:
    """The extractions of ``paths`` whose manifest can be read; each other one is skipped with a
    warning naming it and what is wrong (validation quarantines it)."""
    for path in paths:
        try:
            yield read_extraction(path)
        except LandingError as error:
            log.warning("skipped: %s", error)


def find_extractions(
    landing_dir: Path, run_date: date | None = None, account: Account | None = None
) -> Iterator[Path]:
    """Yield the extraction directories landed, optionally for one run date or account, in order."""
    account_path = account_dir(landing_dir, account) if account else None
    yield from zones.landing_extraction_dirs(landing_dir, run_date, account_path)


@dataclass(frozen=True)
class ImportedFile:
    """An export file an earlier import landed for an account (:func:`imported_files`)."""

    file: str
    sha256: str
    run_date: date
    extraction: Extraction
    params: dict[str, str]

    @property
    def holds(self) -> set[str]:
        """What it was found to hold when imported: ``posts``, ``followers``."""
        return set(filter(None, self.params.get("holds", "").split(",")))


def imported_files(landing_dir: Path, account: Account) -> dict[str, ImportedFile]:
    """The export files landed for ``account`` by its imports, by SHA-256 of their bytes: a file
    dropped again (under any name) is not imported twice. Pages of other extractions are not files."""
    from rapport.sources.exports import FILE_ENDPOINT

    found: dict[str, ImportedFile] = {}
    for extraction in readable_extractions(find_extractions(landing_dir, account=account)):
        for entry in extraction.pages:
            if entry.get("endpoint") != FILE_ENDPOINT:
                continue
            params = {str(key): str(value) for key, value in dict(entry.get("params") or {}).items()}
            sha256 = params.get("sha256") or str(entry.get("sha256"))
            found.setdefault(
                sha256,
                ImportedFile(
                    params.get("file", entry["file"]), sha256, extraction.run_date, extraction, params
                ),
            )
    return found


def latest_until(
    landing_dir: Path, account: Account, before: date, quarantine_dir: Path | None = None
) -> datetime | None:
    """The end of the newest complete extraction of an account landed by a run before ``before``.

    It is the account's watermark: the next run fetches from there (less the
    lookback window) instead of the whole history. An extraction whose batch
    is quarantined (in ``quarantine_dir``), or whose manifest cannot be read
    (skipped with a warning), does not count: its window is fetched again.
    """
    ends = []
    for extraction in readable_extractions(find_extractions(landing_dir, account=account)):
        if not extraction.is_complete or extraction.run_date >= before:
            continue
        if quarantine_dir and zones.is_quarantined(
            quarantine_dir, extraction.run_date, extraction.extraction_id
        ):
            log.warning(
                "%s: quarantined, not counted in the watermark of %s: its window is fetched again",
                extraction.path,
                account.account_id,
            )
            continue
        ends.append(extraction.window.until)
    return max(ends, default=None)
