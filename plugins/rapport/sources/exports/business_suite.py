"""Meta Business Suite's export files, read the same way for a Facebook Page and an Instagram
professional account: each platform folder's ``exports.py`` gives its layout (its columns in English
and French, the brand its daily files name) and calls these readers and detectors.

Two kinds of file:

- the **posts** export (Insights > Content > Export data): CSV, UTF-8 with a BOM, one row per post,
  lifetime totals, ``Publish time`` as ``11/30/2026 14:05`` with no time zone (read as UTC). Its
  name, as Meta gives it, holds the date range chosen: ``Aug-01-2025_Aug-31-2025_<n>.csv``.
- the **daily** export of a Page or an account (the Insights overview, one metric a file):
  UTF-16 with a BOM, a ``sep=,`` first line, the metric's name alone on the next line, then
  ``"Date","Primary"`` and one row per day (``"2025-08-01T00:00:00","20"``).

This module names no platform: the folders pass their own names in (a platform added after the
first three is named nowhere outside its folder).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from rapport.sources.exports import ExportFileError, ExportPost, ExportRows
from rapport.sources.exports.parsing import (
    MONTHS,
    Table,
    cell,
    count_mentions,
    csv_table,
    data_rows,
    decode_text,
    find_header,
    header_key,
    kind_of,
    parse_count,
    read_moment,
)

_HEAD_BYTES: Final = 64 * 1024
"""How much of a file a detector reads: the header is in its first lines."""


@dataclass(frozen=True)
class PostsLayout:
    """The columns of one platform's posts export, by key, as Meta writes them in English and French.

    Keys: ``post_id``, ``publish_time``, ``permalink``, ``post_type``, ``likes``, ``comments``,
    ``shares``, ``title``, ``description``, and whose posts they are: ``owner_id`` (required),
    ``owner_handle``, ``owner_name``.
    """

    format: str
    """The :class:`~rapport.sources.contract.ExportFormat` name files are read as."""
    columns: Mapping[str, Sequence[str]]
    owner: str
    """What the owner is called in a message: ``Page``, ``account``."""
    media_types: Sequence[str]
    """``Post type`` values (compared by :func:`header_key`) that are one photo or video."""
    mentions_in_text: bool = False
    """Whether the text keeps the @handles of the accounts a post mentions (a caption does; a Page's
    message exports a tagged Page as its plain name): then they are counted."""

    @property
    def required(self) -> tuple[str, ...]:
        return ("post_id", "publish_time", "owner_id")


@dataclass(frozen=True)
class DailyLayout:
    """One platform's daily export (a Page's or an account's metric by day)."""

    format: str
    brand: str
    """The name its metrics start with (``Facebook follows``)."""
    other_brands: Sequence[str]
    """The names of the other platforms' daily files, which this layout refuses."""


_DAILY_COLUMNS: Final = {"date": ["Date"], "value": ["Primary", "Principal", "Principale"]}
_GAIN_WORDS: Final = frozenset(
    {"follows", "follow", "new", "nouveaux", "nouvelles", "gained", "lost", "unfollows", "suivis"}
    | {"abonnements", "desabonnements", "perdus", "gagnes"}
)
_TOTAL_WORDS: Final = frozenset({"followers", "abonnes", "abonnees", "fans"})
_NAME_RANGE: Final = re.compile(
    r"(?P<first_month>[^\W\d_]+)-(?P<first_day>\d{1,2})-(?P<first_year>\d{4})_"
    r"(?P<last_month>[^\W\d_]+)-(?P<last_day>\d{1,2})-(?P<last_year>\d{4})"
)
_SEP_HINT: Final = re.compile(r'"?sep=.', re.IGNORECASE)
_NUMERIC_DATE: Final = re.compile(r"\s*(\d{1,2})[/.](\d{1,2})[/.]\d{4}")


# Posts


def read_posts(layout: PostsLayout, file: str, data: bytes) -> ExportRows:
    """The posts of a posts export, the days it covers and whose posts they are.

    The days are the date range in the file's name where Meta wrote it there, widened to the
    posts' publish dates; else the first and last publish dates. Raises :class:`ExportFileError`
    naming the file and the line: a missing column, a post without a publish time or an id, a
    bad count or date, a post listed twice, rows of two owners, no posts and no range.
    """
    table = csv_table(file, decode_text(file, data))
    position, columns = find_header(table, layout.columns, layout.required)
    rows = [(line, cells) for line, cells in data_rows(table, position) if _has_values(cells)]
    day_first = _day_first(
        [cell(cells, columns, "publish_time") for _, cells in rows],
        french=_is_french(table.rows[position][1], columns, layout),
    )
    posts: list[ExportPost] = []
    seen: dict[str, int] = {}
    owner: tuple[str, int] | None = None
    identities: dict[str, str] = {}
    for line, cells in rows:
        owner_id = cell(cells, columns, "owner_id")
        if owner_id and owner is not None and owner_id != owner[0]:
            raise table.error(
                f"rows of two {layout.owner}s: {owner[0]!r} (line {owner[1]}) and {owner_id!r}: "
                f"export one {layout.owner} a file",
                line,
            )
        if owner_id and owner is None:
            owner = (owner_id, line)
            identities = _identities(cells, columns)
        post = _post(layout, table, line, cells, columns, day_first=day_first)
        if post.post_id in seen:
            raise table.error(
                f"post {post.post_id!r} listed twice (line {seen[post.post_id]} too): "
                "export lifetime totals, one row a post",
                line,
            )
        seen[post.post_id] = line
        posts.append(post)
    days = [post.created_at.date() for post in posts]
    named = _named_range(file)
    if named is not None:
        days += list(named)
    if not days:
        raise table.error("no posts, and no date range in the file's name to say which days it covers")
    return ExportRows(
        format=layout.format,
        first_day=min(days),
        last_day=max(days),
        posts=posts,
        identities=identities,
    )


def _post(
    layout: PostsLayout,
    table: Table,
    line: int,
    cells: Sequence[str],
    columns: Mapping[str, int],
    *,
    day_first: bool,
) -> ExportPost:
    header = layout.columns
    permalink = cell(cells, columns, "permalink") or None
    post_id = cell(cells, columns, "post_id") or permalink
    if post_id is None:
        raise table.error(f"no {header['post_id'][0]!r} nor {header['permalink'][0]!r}", line)
    published = cell(cells, columns, "publish_time")
    if not published:
        raise table.error(f"post {post_id!r} has no {header['publish_time'][0]!r}", line)
    moment = read_moment(table, line, header["publish_time"][0], published, day_first=day_first)
    if moment.year is None:
        raise table.error(f"column {header['publish_time'][0]!r}: {published!r} has no year", line)
    texts = [cell(cells, columns, key) for key in ("title", "description")]
    text = "\n".join(dict.fromkeys(value for value in texts if value)) or None
    post_type = header_key(cell(cells, columns, "post_type"))
    return ExportPost(
        post_id=post_id,
        created_at=moment.at(moment.year),
        line=line,
        text=text,
        url=permalink,
        media_count=1 if post_type in {header_key(kind) for kind in layout.media_types} else None,
        likes=_count(table, line, cells, columns, header, "likes"),
        comments=_count(table, line, cells, columns, header, "comments"),
        shares=_count(table, line, cells, columns, header, "shares"),
        mentions=count_mentions(text) if layout.mentions_in_text else None,
    )


def _count(
    table: Table,
    line: int,
    cells: Sequence[str],
    columns: Mapping[str, int],
    header: Mapping[str, Sequence[str]],
    key: str,
) -> int | None:
    if key not in columns:
        return None
    return parse_count(table, line, header[key][0], cell(cells, columns, key))


def _has_values(cells: Sequence[str]) -> bool:
    return any(value.strip() for value in cells)


def _identities(cells: Sequence[str], columns: Mapping[str, int]) -> dict[str, str]:
    found = {
        kind: cell(cells, columns, key)
        for kind, key in (("id", "owner_id"), ("handle", "owner_handle"), ("name", "owner_name"))
    }
    return {kind: value for kind, value in found.items() if value}


def _is_french(header: Sequence[str], columns: Mapping[str, int], layout: PostsLayout) -> bool:
    written = header_key(header[columns["publish_time"]])
    return written != header_key(layout.columns["publish_time"][0])


def _day_first(texts: Sequence[str], *, french: bool) -> bool:
    """Whether ``10/11/2026`` is the 10th of November: told by a day above 12 in the file's dates,
    else by the language of its headers (a French export writes the day first)."""
    pairs = [(int(found[1]), int(found[2])) for text in texts if (found := _NUMERIC_DATE.match(text))]
    if any(first > 12 for first, _ in pairs):
        return True
    if any(second > 12 for _, second in pairs):
        return False
    return french


def _named_range(file: str) -> tuple[date, date] | None:
    """The date range Meta writes in a posts export's name (``Aug-01-2025_Aug-31-2025_<n>.csv``)."""
    found = _NAME_RANGE.search(file.rsplit("/", 1)[-1])
    if found is None:
        return None
    try:
        first, last = (
            date(
                int(found[f"{end}_year"]), MONTHS[header_key(found[f"{end}_month"])], int(found[f"{end}_day"])
            )
            for end in ("first", "last")
        )
    except (KeyError, ValueError):
        return None
    return first, last


def looks_like_posts(layout: PostsLayout, file: str, data: bytes) -> bool:
    """Whether a file is this layout's posts export: its header row names the post id, the publish
    time and the owner's id in this platform's words. Never raises."""
    for _, cells in _head_rows(file, data)[:10]:
        keys = {header_key(value) for value in cells}
        if all(keys & {header_key(name) for name in layout.columns[key]} for key in layout.required):
            return True
    return False


def _head_rows(file: str, data: bytes) -> list[tuple[int, list[str]]]:
    """The first rows of a text file, read from its head; none for a workbook, a zip or junk."""
    text = _head_text(file, data)
    try:
        return csv_table(file, text).rows
    except (ExportFileError, ValueError):
        return []


def _head_text(file: str, data: bytes) -> str:
    """The text of a file's head, its last (cut) line left out; ``""`` for a workbook, a zip or junk."""
    if kind_of(data) != "text":
        return ""
    try:
        text = decode_text(file, data[:_HEAD_BYTES])
    except ExportFileError:
        return ""
    return text.rsplit("\n", 1)[0] if len(data) > _HEAD_BYTES else text


# Daily files


def read_daily(layout: DailyLayout, file: str, data: bytes) -> ExportRows:
    """The days of a daily export, and the followers at the end of each when its metric is a total.

    A file of follows (new follows a day: Meta's ``Facebook follows``, ``Instagram follows``) gives
    the days it covers and no followers, with a note: a daily gain is not a total. Raises
    :class:`ExportFileError` for another metric (views, visits...: Rapport imports none), for
    another platform's file, a bad date or count (naming the line), or a file without days.
    """
    text = decode_text(file, data)
    table = csv_table(file, text)
    metric, position, columns = _daily_header(table)
    if _other_brand(layout, metric):
        raise table.error(f"a daily export of {metric!r}: another platform's file")
    kind = _metric_kind(metric)
    if kind == "other":
        raise table.error(
            f"a daily export of {metric!r}: Rapport imports only the followers or follows file "
            "of the Insights overview"
        )
    days: list[tuple[date, int | None]] = []
    for line, cells in data_rows(table, position):
        written = cell(cells, columns, "date")
        if not written:
            continue
        moment = read_moment(table, line, "Date", written, day_first=False)
        if moment.year is None:
            raise table.error(f"column 'Date': {written!r} has no year", line)
        value = parse_count(table, line, metric, cell(cells, columns, "value"))
        days.append((moment.at(moment.year).date(), value))
    if not days:
        raise table.error("no days listed")
    rows = ExportRows(
        format=layout.format,
        first_day=min(day for day, _ in days),
        last_day=max(day for day, _ in days),
    )
    if kind == "total":
        rows.followers = sorted((day, value) for day, value in days if value is not None)
    else:
        rows.notes.append(
            f"{metric!r} counts new follows a day, not a total of followers: no followers are taken from it"
        )
    return rows


def _daily_header(table: Table) -> tuple[str, int, dict[str, int]]:
    """The metric's name, the header row's position and its columns: ``"Date","Primary"`` under a
    line naming the metric, or ``"Date","<metric>"``."""
    for position, (line, cells) in enumerate(table.rows[:3]):
        keys = [header_key(value) for value in cells]
        if len([key for key in keys if key]) != 2 or keys[0] != "date":
            continue
        if keys[1] in {header_key(name) for name in _DAILY_COLUMNS["value"]}:
            if position == 0:
                raise table.error("no line naming the metric above the 'Date' header", line)
            return " ".join(table.rows[position - 1][1]).strip(), position, {"date": 0, "value": 1}
        return cells[1], position, {"date": 0, "value": 1}
    raise table.error("no 'Date' header with one metric column in the first lines: not a daily export")


def _metric_kind(metric: str) -> str:
    """``total`` (followers at the end of a day), ``gain`` (follows a day) or ``other``."""
    words = set(header_key(metric).split())
    if words & _GAIN_WORDS:
        return "gain"
    if words & _TOTAL_WORDS:
        return "total"
    return "other"


def _other_brand(layout: DailyLayout, metric: str) -> bool:
    words = set(header_key(metric).split())
    return bool(words & {header_key(brand) for brand in layout.other_brands})


def looks_like_daily(layout: DailyLayout, file: str, data: bytes) -> bool:
    """Whether a file is this layout's daily export: a ``"Date"`` header with one metric column (under
    the metric's name), a metric naming this platform or Meta's ``sep=`` first line, and no other
    platform's name. Never raises."""
    text = _head_text(file, data)
    try:
        metric, _, _ = _daily_header(csv_table(file, text))
    except (ExportFileError, ValueError):
        return False
    if _other_brand(layout, metric):
        return False
    named = header_key(layout.brand) in header_key(metric).split()
    return named or bool(_SEP_HINT.match(text))


__all__ = [
    "DailyLayout",
    "PostsLayout",
    "looks_like_daily",
    "looks_like_posts",
    "read_daily",
    "read_posts",
]
