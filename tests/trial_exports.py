"""A throwaway platform read from a small CSV export, for the tests of the import machinery.

The machinery (inbox, landing, duplicates, overlaps, quarantine, ``rapport import``) knows no
format: these tests check it on a format of their own, in a package put in a temporary folder
of ``rapport.sources.__path__``, while each real format has its tests under
``tests/unit/sources/exports/``.

The format: an optional first line ``# account: <handle>``, then a header
``date,post_id,text,likes,comments,followers`` and a row per day (a post id, or none).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import rapport.sources

TRIAL = "trialexport"

_INIT = '''"""A throwaway platform read from its exports only."""

import re

from rapport.sources.contract import COMPONENTS, ExportFormat, Feed, Measure, NightlyCost, Platform

PLATFORM = Platform(
    name="{name}",
    title="Trial export",
    handle=re.compile(r"@[a-z]{{3,12}}", re.ASCII),
    handle_hint="expected '@' then 3-12 lowercase letters",
    address_example="'@name'",
    concurrency=2,
    pool_description="Imports of the trial platform",
    cost=NightlyCost(unit="requests", formula="0", first_run=0, nightly=0, nothing_new=0, example="any"),
    availability=(Measure("followers", "partly", "the file's followers column"),),
    reads_api=False,
    unavailable={{
        "account_snapshots.following_count": "not in the export",
        "account_snapshots.posts_count": "not in the export",
    }},
    exports=(
        ExportFormat(
            name="{name}_daily",
            title="Trial daily export",
            files="CSV",
            where="the trial platform's analytics",
            reader="rapport.sources.{name}.exports:read",
            detector="rapport.sources.{name}.exports:detect",
            feeds=tuple(
                Feed(component, component in ("trust_presence", "effort", "own_news_share",
                     "non_promotional_share", "followers"), "the file")
                for component in COMPONENTS
            ),
        ),
    ),
)


def extract(account, window):
    from rapport.sources.exports.inbox import extract

    return extract(account, window)


def extract_with_stats(account, window, *, ledger=None):
    from rapport.sources.exports.inbox import extract_with_stats

    return extract_with_stats(account, window, ledger=ledger)


def normalize(pages, account, observed_at, fetched_at=None):
    from rapport.sources.exports.records import normalize_files

    return normalize_files(pages, account, observed_at)
'''

_EXPORTS = '''"""The trial format's reader and detector."""

from datetime import datetime

from rapport.sources.exports import ExportPost, ExportRows
from rapport.sources.exports.parsing import (
    cell, csv_table, data_rows, decode_text, find_header, parse_count, place_years, read_moment,
)

COLUMNS = {{
    "date": ["date"], "post_id": ["post_id"], "text": ["text"], "likes": ["likes"],
    "comments": ["comments"], "followers": ["followers"],
}}


def detect(file, data):
    try:
        text = decode_text(file, data)
    except Exception:
        return False
    return "date,post_id" in text[:200]


def read(file, data, reference):
    text = decode_text(file, data)
    identities = {{}}
    if text.startswith("# account: "):
        first, _, rest = text.partition("\\n")
        text = "\\n" + rest  # the line stays counted
        identities["handle"] = first.removeprefix("# account: ").strip()
    table = csv_table(file, text)
    position, columns = find_header(table, COLUMNS, ["date", "post_id", "likes"])
    rows = list(data_rows(table, position))
    moments = place_years([read_moment(table, line, "date", cell(cells, columns, "date"), day_first=False)
                           for line, cells in rows], reference)
    posts, followers = [], []
    for (line, cells), moment in zip(rows, moments):
        if cell(cells, columns, "post_id"):
            posts.append(ExportPost(
                post_id=cell(cells, columns, "post_id"), created_at=moment.replace(hour=12), line=line + 1,
                text=cell(cells, columns, "text") or None,
                likes=parse_count(table, line, "likes", cell(cells, columns, "likes")),
                comments=parse_count(table, line, "comments", cell(cells, columns, "comments")),
            ))
        count = parse_count(table, line, "followers", cell(cells, columns, "followers"))
        if count is not None:
            followers.append((moment.date(), count))
    days = [moment.date() for moment in moments]
    return ExportRows("{name}_daily", min(days), max(days), posts, followers, identities)
'''


@contextmanager
def trial_platform(root: Path) -> Iterator[str]:
    """The platform ``trialexport``, in a package under ``root``, found by discovery."""
    package = root / TRIAL
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(_INIT.format(name=TRIAL), encoding="utf-8")
    (package / "exports.py").write_text(_EXPORTS.format(name=TRIAL), encoding="utf-8")
    importlib.invalidate_caches()
    rapport.sources.__path__.append(str(root))
    rapport.sources._platforms.cache_clear()
    try:
        yield TRIAL
    finally:
        rapport.sources.__path__.remove(str(root))
        for module in (f"rapport.sources.{TRIAL}.exports", f"rapport.sources.{TRIAL}"):
            sys.modules.pop(module, None)
        if hasattr(rapport.sources, TRIAL):  # the parent keeps its submodule as an attribute
            delattr(rapport.sources, TRIAL)
        rapport.sources._platforms.cache_clear()


def trial_file(
    days: list[tuple[date, str | None, int | None]], *, account: str | None = "@cityhall", likes: int = 3
) -> bytes:
    """A trial export: a row per (day, post id or None, followers or None)."""
    lines = [f"# account: {account}"] if account else []
    lines.append("date,post_id,text,likes,comments,followers")
    for day, post_id, followers in days:
        lines.append(
            f"{day.isoformat()},{post_id or ''},{'news' if post_id else ''},"
            f"{likes if post_id else ''},{1 if post_id else ''},{'' if followers is None else followers}"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")
