"""The night's YouTube quota, shared by every extraction task through a small ledger file.

Google counts a project's units per day (midnight to midnight, Pacific time);
Airflow runs the night's YouTube extractions as separate task processes. So
the units are counted in one JSON file,
``zones.platform_state_file(data_dir, "youtube", "quota.json")``, under its
lock (:func:`rapport.zones.file_lock`): every call reserves its units first,
and a call that would pass the day's budget is not sent.

The ledger is keyed by the run date (the date of ``window.until``), not by the
wall clock: a run gives the same result whatever day it executes. A backfill
of many run dates executed in one real day is counted per run date here, but
Google counts it in one day: it meets Google's own ``quotaExceeded``, which
marks the run date spent (:meth:`QuotaLedger.mark_spent`) so that the other
tasks stop at once instead of each earning the same refusal.

The file holds dates and counts only, never a key. One that cannot be read is
set aside (``quota.json.damaged-<id>``) with a warning, and counting starts anew.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, Final

from rapport import zones

logger = logging.getLogger("rapport.sources.youtube")

LEDGER_VERSION: Final = 1


class QuotaLedger:
    """The units spent on one run date, in ``path``, against ``budget`` units a day.

    Arguments:
        path: the ledger file (see the module docstring).
        run_date: the date the units are counted under.
        budget: units the night's tasks may spend together on that date.
        days_kept: run dates kept in the file, the newest.
    """

    def __init__(self, path: Path, run_date: date, budget: int, *, days_kept: int = 14) -> None:
        self.path = path
        self.run_date = run_date
        self.budget = budget
        self.days_kept = days_kept

    def reserve(self, units: int) -> bool:
        """Count ``units`` as spent when they fit in the day's budget; ``False`` (nothing counted)
        when they do not, or when the day was marked spent."""
        with self._locked():
            days = self._read()
            day = days.setdefault(self.run_date.isoformat(), {"spent": 0, "exhausted": False})
            if day["exhausted"] or day["spent"] + units > self.budget:
                return False
            day["spent"] += units
            self._write(days)
            return True

    def charge(self, units: int) -> None:
        """Count ``units`` already spent (retried attempts: Google counts every call), budget or not."""
        if units <= 0:
            return
        with self._locked():
            days = self._read()
            day = days.setdefault(self.run_date.isoformat(), {"spent": 0, "exhausted": False})
            day["spent"] += units
            self._write(days)

    def mark_spent(self) -> None:
        """Google answered ``quotaExceeded``: no task sends another call on this run date."""
        with self._locked():
            days = self._read()
            day = days.setdefault(self.run_date.isoformat(), {"spent": 0, "exhausted": False})
            day["exhausted"] = True
            self._write(days)

    def state(self) -> tuple[int, bool]:
        """(units spent on the run date, whether Google said the quota is exceeded)."""
        with self._locked():
            day = self._read().get(self.run_date.isoformat(), {"spent": 0, "exhausted": False})
            return int(day["spent"]), bool(day["exhausted"])

    def left(self) -> int:
        """Units left on the run date (0 once it is marked spent)."""
        spent, exhausted = self.state()
        return 0 if exhausted else max(0, self.budget - spent)

    # -- the file -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with zones.file_lock(zones.state_lock_file(self.path), wait=True):
            yield

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as error:
            self._set_aside(f"cannot be read ({type(error).__name__})")
            return {}
        try:
            return _parse(json.loads(text))
        except (ValueError, RecursionError) as problem:
            self._set_aside(str(problem))
            return {}

    def _set_aside(self, problem: str) -> None:
        aside = zones.damaged_state_file(self.path, uuid.uuid4().hex[:12])
        try:
            self.path.replace(aside)
        except OSError:
            aside = self.path
        logger.warning(
            "the YouTube quota ledger %s is damaged (%s): set aside as %s; counting starts anew",
            self.path,
            problem,
            aside.name,
        )

    def _write(self, days: dict[str, dict[str, Any]]) -> None:
        kept = dict(sorted(days.items())[-self.days_kept :])
        document = {"version": LEDGER_VERSION, "days": kept}
        descriptor, name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        temporary = Path(name)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(document, file, sort_keys=True)
                file.flush()
                os.fsync(file.fileno())
            temporary.replace(self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise


def _parse(document: Any) -> dict[str, dict[str, Any]]:
    """Read a ledger document; raises ``ValueError`` naming what is wrong."""
    if not isinstance(document, dict) or document.get("version") != LEDGER_VERSION:
        raise ValueError(f"not a version {LEDGER_VERSION} ledger")
    days = document.get("days")
    if not isinstance(days, dict):
        raise ValueError("'days' is not an object")
    parsed: dict[str, dict[str, Any]] = {}
    for day, entry in days.items():
        date.fromisoformat(day)
        if not isinstance(entry, dict):
            raise ValueError(f"the entry of {day} is not an object")
        spent, exhausted = entry.get("spent"), entry.get("exhausted")
        if type(spent) is not int or spent < 0 or not isinstance(exhausted, bool):
            raise ValueError(f"the entry of {day} is not a count of units and a flag")
        parsed[day] = {"spent": spent, "exhausted": exhausted}
    return parsed
