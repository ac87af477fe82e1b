"""An account's inbox: the export files dropped for it, and those not imported yet.

The inbox is read, never written: a file stays where it was dropped (the folder may be a
read-only share), and the landing zone keeps what was imported. A file is new when no earlier
import of the account landed the same bytes (its SHA-256); dropping it again, under any name,
imports nothing. Hidden files, Office lock files (``~$...``) and partial downloads
(``.crdownload``, ``.part``, ``.tmp``, ``.download``) are left for a later night.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from rapport.sources import Page, SourceError, Window, get_platform
from rapport.sources.exports import FILE_ENDPOINT
from rapport.sources.exports.parsing import MAX_FILE_BYTES

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.settings import Settings
    from rapport.thread_ledger import ThreadLedger, ThreadReport

log = logging.getLogger(__name__)

_PARTIAL_SUFFIXES: Final = (".crdownload", ".part", ".partial", ".tmp", ".download", ".lock")


class InboxError(SourceError):
    """An account's inbox cannot be read; the message names the account and the folder."""


def inbox_of(account: Account, settings: Settings | None = None) -> Path:
    """Where the account's export files are dropped: its registry ``inbox``, else its default one."""
    from rapport import zones

    if account.inbox is not None:
        return account.inbox
    if settings is None:
        from rapport.settings import get_settings

        settings = get_settings()
    return zones.inbox_dir(settings.inbox_dir, account.platform, account.slug)


def reads_exports(account: Account) -> bool:
    """Whether the account is read from its export files: its platform has no API Rapport reads,
    or the registry gives it an inbox."""
    contract = get_platform(account.platform)
    return bool(contract.exports) and (account.inbox is not None or not contract.reads_api)


@dataclass(frozen=True)
class InboxFile:
    """A file of an inbox, read."""

    name: str
    data: bytes
    """Its bytes; none for a file refused unread."""
    sha256: str
    refused: str | None = None
    """Why it is refused without being read (its size): its import is quarantined with it."""


def inbox_files(account: Account, settings: Settings | None = None) -> list[InboxFile]:
    """The files of the account's inbox, by name, read. A missing inbox holds nothing (a warning
    names it); one that cannot be listed raises :class:`InboxError`. A file too large to be an
    export is still returned (its import is refused, and quarantined, naming its size)."""
    folder = inbox_of(account, settings)
    if not folder.exists():
        log.warning("%s: no inbox at %s: nothing to import", account.account_id, folder)
        return []
    try:
        entries = sorted(folder.iterdir(), key=lambda path: path.name)
    except OSError as error:
        raise InboxError(
            f"{account.account_id}: cannot list its inbox {folder} ({error.strerror})"
        ) from error
    files = []
    for path in entries:
        if _left_for_later(path):
            continue
        try:
            if not path.is_file():
                continue
            files.append(_read(path))
        except OSError as error:
            raise InboxError(
                f"{account.account_id}: cannot read {path} in its inbox ({error.strerror})"
            ) from error
    return files


def _read(path: Path) -> InboxFile:
    """A file of the inbox; one larger than an export can be is hashed, not held in memory."""
    size = path.stat().st_size
    if size <= MAX_FILE_BYTES:
        data = path.read_bytes()
        return InboxFile(path.name, data, hashlib.sha256(data).hexdigest())
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return InboxFile(
        path.name,
        b"",
        digest.hexdigest(),
        refused=f"{size} bytes, more than the {MAX_FILE_BYTES} an export can be",
    )


def _left_for_later(path: Path) -> bool:
    name = path.name
    return name.startswith((".", "~$")) or name.lower().endswith(_PARTIAL_SUFFIXES)


def file_page(file: InboxFile, run_date: date, **params: str) -> Page:
    """The page an imported file is landed as: its bytes, its name, hash and the run date (and,
    for a file refused unread, why: ``refused``)."""
    if file.refused is not None:
        params = {"refused": file.refused, **params}
    return Page(
        endpoint=FILE_ENDPOINT,
        body=file.data,
        params={"file": file.name, "sha256": file.sha256, "reference_date": run_date.isoformat(), **params},
    )


@dataclass
class InboxStats:
    """What reading an inbox cost: no request; the files found and those already imported."""

    files: int = 0
    new_files: int = 0
    already_imported: list[str] = field(default_factory=list)

    def counters(self) -> dict[str, Any]:
        return {
            "requests": 0,
            "retries": 0,
            "rate_limited": 0,
            "slept_seconds": 0.0,
            "files": self.files,
            "new_files": self.new_files,
        }

    @property
    def threads(self) -> ThreadReport | None:
        return None


def extract_with_stats(
    account: Account, window: Window, *, ledger: ThreadLedger | None = None
) -> tuple[Iterator[Page], InboxStats]:
    """One page per file of the account's inbox that no earlier import landed (see
    :func:`rapport.landing.imported_files`), for the run date of ``window.until``.

    The nightly run lands each as an extraction of its own (:func:`rapport.pipeline.extract_account`);
    ``rapport fetch`` shows them."""
    from rapport.landing import imported_files
    from rapport.settings import get_settings

    settings = get_settings()
    stats = InboxStats()
    run_date = window.until.date()
    landed = imported_files(settings.landing_dir, account)
    files = inbox_files(account, settings)
    stats.files = len(files)
    new = []
    for file in files:
        if file.sha256 in landed:
            stats.already_imported.append(file.name)
            continue
        new.append(file_page(file, run_date))
    stats.new_files = len(new)
    return iter(new), stats


def extract(account: Account, window: Window) -> Iterator[Page]:
    """The pages of :func:`extract_with_stats`."""
    pages, _ = extract_with_stats(account, window)
    return pages
