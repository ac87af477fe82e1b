"""Importing an account's export files: each new file landed byte for byte, one extraction each.

Used by the nightly run (:func:`rapport.pipeline.extract_account` for an account read from its
exports) and by ``rapport import FILE --account ID``, which shows first what a file holds and
what it would load (:func:`examine`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rapport import zones
from rapport.sources import Window
from rapport.sources.contract import ExportFormat
from rapport.sources.exports import ExportFileError, ExportRows
from rapport.sources.exports.formats import detect, read
from rapport.sources.exports.inbox import InboxFile, file_page, inbox_files
from rapport.sources.exports.records import check_owner, covered_window

if TYPE_CHECKING:
    from rapport.accounts import Account
    from rapport.landing import Extraction, ImportedFile
    from rapport.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Examination:
    """What a file is and what importing it for a run date would do."""

    file: InboxFile
    run_until: datetime
    """The end of the run's window: its logical date."""
    window: Window
    """The days it covers (the run's window when it cannot be read)."""
    export: ExportFormat | None = None
    rows: ExportRows | None = None
    error: ExportFileError | None = None
    """Why it cannot be imported: it is landed all the same, and quarantined with this."""
    refused: str | None = None
    """Why the import refuses it though it reads (too large, overlapping another file)."""
    already: ImportedFile | None = None
    """The earlier import of the same bytes, if any: nothing to do."""
    later: bool = False
    """Its days run past the run date: left in the inbox for a later run date."""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def run_date(self) -> date:
        return self.run_until.date()

    @property
    def problem(self) -> str | None:
        """Why it would be quarantined, if it would."""
        return str(self.error) if self.error is not None else self.refused


def examine(
    settings: Settings, account: Account, file: InboxFile, window: Window, landed: dict[str, ImportedFile]
) -> Examination:
    """Read ``file`` for the run whose window is ``window`` and say what importing it would do,
    beside the files ``landed`` before (:func:`rapport.landing.imported_files`)."""
    run_date = window.until.date()
    found = Examination(file, window.until, window)
    if file.sha256 in landed:
        found.already = landed[file.sha256]
        return found
    if file.refused is not None:
        found.refused = file.refused
        return found
    try:
        export = detect(account.platform, file.name, file.data)
        rows = read(export, file.name, file.data, run_date)
        check_owner(file.name, rows, account)
    except ExportFileError as error:
        found.error = error
        return found
    found.export, found.rows = export, rows
    since, until = covered_window(rows)
    if since.date() > run_date:
        found.later = True
        return found
    found.window = Window(since, until)
    holds = [name for name, given in (("followers", rows.followers), ("posts", rows.posts)) if given]
    found.params = {"format": export.name, "holds": ",".join(holds)}
    found.refused = overlapping(settings, landed.values(), export.name, set(holds), found.window)
    return found


def overlapping(
    settings: Settings, landed: Iterable[ImportedFile], export_format: str, holds: set[str], covered: Window
) -> str | None:
    """Why a file covering ``covered`` cannot be imported beside those ``landed`` before: the
    first of the same format holding the same content (posts, followers) whose days overlap its
    own, not refused or quarantined itself; ``None`` when there is none."""
    for other in sorted(landed, key=lambda other: (other.run_date, other.file)):
        window = other.extraction.window
        if (
            other.params.get("format") != export_format
            or "refused" in other.params
            or not holds & other.holds
            or not (window.since < covered.until and covered.since < window.until)
            or zones.is_quarantined(settings.quarantine_dir, other.run_date, other.extraction.extraction_id)
        ):
            continue
        last, other_last = covered.until - timedelta(days=1), window.until - timedelta(days=1)
        return (
            f"its days {covered.since:%Y-%m-%d} to {last:%Y-%m-%d} overlap those of {other.file} "
            f"({window.since:%Y-%m-%d} to {other_last:%Y-%m-%d}, imported for {other.run_date}), "
            f"which gives the same {' and '.join(sorted(holds & other.holds))}: import one export per period "
            "(both files are kept in the landing zone)"
        )
    return None


def land(settings: Settings, account: Account, found: Examination) -> Extraction:
    """Land an examined file byte for byte as an extraction of its own (refused ones too: their
    batch is quarantined, naming why). Its window is the days it covers; observed at their end."""
    from rapport.landing import land_extraction

    params = dict(found.params)
    if found.refused is not None and found.file.refused is None:
        params["refused"] = found.refused
    page = file_page(found.file, found.run_date, **params)
    # No request, no wall clock: "fetched" at the run's logical date, so a replay lands the same.
    return land_extraction(
        settings.landing_dir,
        account,
        found.run_date,
        found.window,
        found.run_until,
        [page],
        lambda: {"requests": 0, "files": 1},
    )


def import_inbox(settings: Settings, account: Account, window: Window) -> dict[str, Any]:
    """Import the new files of an account's inbox for the run date of ``window.until``.

    Each file no earlier import landed (the same bytes, under any name) is landed byte for byte
    as an extraction of its own, before any of its rows goes anywhere: validation then reads it,
    and quarantines it alone (with the file, line and reason) when it cannot be imported, the
    account's other files and the other accounts going on. A file is read once first, to name
    what it is and the days it covers (the extraction's window); one that cannot be read is landed
    all the same, with the run's window. A file whose days start after the run date is left in the
    inbox for the runs of later dates; one whose days overlap a file of the same format giving
    the same content (posts, followers) imported before is landed refused, naming both files.
    Returns what was imported, already imported, and left for later.
    """
    from rapport.landing import ImportedFile, imported_files

    landed = imported_files(settings.landing_dir, account)
    imported: list[dict[str, Any]] = []
    already, later = [], []
    for file in inbox_files(account, settings):
        found = examine(settings, account, file, window, landed)
        if found.already is not None:
            already.append(file.name)
            continue
        if found.later:
            later.append(file.name)
            continue
        if found.problem is not None:
            log.warning("%s: %s", account.account_id, found.problem)
        extraction = land(settings, account, found)
        landed[file.sha256] = ImportedFile(
            file.name, file.sha256, found.run_date, extraction, dict(extraction.pages[0]["params"])
        )
        imported.append(
            {
                "file": file.name,
                "extraction_id": extraction.extraction_id,
                "format": found.export.name if found.export is not None else None,
                "since": found.window.since.isoformat(),
                "until": found.window.until.isoformat(),
                "problem": found.problem,
            }
        )
    return {
        "account_id": account.account_id,
        "files": imported,
        "already_imported": already,
        "left_for_later_dates": later,
        "requests": 0,
    }
