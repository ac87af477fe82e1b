"""Reading LinkedIn Page analytics exports: the content, followers and visitors workbooks.

Each export is a workbook (.xls as LinkedIn writes it, .xlsx once saved again
in Excel: told apart by content, never by extension) whose sheets are found by
name, else by their header row: ``All posts`` and ``Metrics`` (content),
``New followers`` (followers), ``Visitor metrics`` (visitors). A sheet may
have a note row above its header; headers are in English or French; dates are
date cells or text, ``m/d/Y`` in English exports and ``d/m/Y`` in French ones
(a day above 12 settles it either way); counts may carry the locale's
thousands separators (``1,234``, ``1 234``).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date

from rapport.sources.exports import ExportFileError, ExportPost, ExportRows, parsing
from rapport.sources.exports.parsing import Table
from rapport.sources.linkedin import settings

_SLASHED = re.compile(r"\s*(\d{1,2})[/.](\d{1,2})[/.]\d{4}\b")
_FORMAT_TITLES = {
    settings.CONTENT: "content export (sheets 'All posts', 'Metrics')",
    settings.FOLLOWERS: "followers export (sheet 'New followers')",
    settings.VISITORS: "visitors export (sheet 'Visitor metrics')",
}


def read_content(file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Read a content export: its posts (``All posts``) and the days it covers (``Metrics``).

    Raises :class:`ExportFileError` naming the file, sheet and line for a file it cannot read."""
    return read_workbook(settings.CONTENT, file_name, data, reference_date)


def read_followers(file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Read a followers export: the days ``New followers`` covers (its counts are daily gains)."""
    return read_workbook(settings.FOLLOWERS, file_name, data, reference_date)


def read_visitors(file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Read a visitors export: the days ``Visitor metrics`` covers."""
    return read_workbook(settings.VISITORS, file_name, data, reference_date)


def detect_content(file_name: str, data: bytes) -> bool:
    """Whether a file is a LinkedIn content export (or a workbook holding its sheets)."""
    return format_of(file_name, data) == settings.CONTENT


def detect_followers(file_name: str, data: bytes) -> bool:
    """Whether a file is a LinkedIn followers export (and holds no content sheet)."""
    return format_of(file_name, data) == settings.FOLLOWERS


def detect_visitors(file_name: str, data: bytes) -> bool:
    """Whether a file is a LinkedIn visitors export (and holds no content or followers sheet)."""
    return format_of(file_name, data) == settings.VISITORS


def format_of(file_name: str, data: bytes) -> str | None:
    """Which LinkedIn export a file is, from its sheet names, else its header rows, else the name
    LinkedIn gave it; ``None`` when it is none of them or no workbook. Never raises."""
    try:
        if parsing.kind_of(data) not in ("xls", "zip") or len(data) > parsing.MAX_FILE_BYTES:
            return None
        roles = {role for name in _sheet_names(data) if (role := _role_by_name(name))}
        if not roles:
            _check_inflated_size(file_name, data)
            roles = {
                role
                for table in parsing.workbook_sheets(file_name, data).values()
                if (role := _role_by_header(table))
            }
    except Exception:  # a detector never raises: a file it cannot open is not of its formats
        return None
    if roles:
        return _format_of_roles(roles)
    named = settings.FILE_NAME.fullmatch(file_name.rsplit("/", 1)[-1])
    return settings.FORMAT_OF_EXPORT[named["export"].lower()] if named else None


def read_workbook(export_format: str, file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Read any LinkedIn Page export workbook as ``export_format``: every sheet it knows (a workbook
    holding several exports' sheets is read whole); raises when the workbook is of another export."""
    _check_workbook(file_name, data)
    sheets = parsing.workbook_sheets(file_name, data)
    tables: dict[str, list[Table]] = {}
    for name, table in sheets.items():
        role = _role_by_name(name) or _role_by_header(table)
        if role is not None:
            tables.setdefault(role, []).append(table)
    if not tables:
        found = ", ".join(repr(name) for name in sheets) or "none"
        raise ExportFileError(
            file_name,
            "no sheet of a LinkedIn Page export (All posts, Metrics, New followers, Visitor metrics): "
            f"sheets {found}",
        )
    found_format = _format_of_roles(set(tables))
    if found_format != export_format:
        raise ExportFileError(
            file_name,
            f"a LinkedIn {_FORMAT_TITLES[found_format]}, not a {_FORMAT_TITLES[export_format]}",
        )
    french = any(_is_french(table) for group in tables.values() for table in group)
    rows = ExportRows(format=export_format, first_day=date.min, last_day=date.min)
    days: list[date] = []
    for table in tables.get(settings.POSTS, []):
        rows.posts += _posts(table, french, reference_date)
    for role in (settings.METRICS, settings.VISITOR_METRICS):
        for table in tables.get(role, []):
            days += [day for _, day in _daily(table, role, french, reference_date)]
    for table in tables.get(settings.NEW_FOLLOWERS, []):
        gained = _new_followers(table, french, reference_date)
        days += [day for day, _ in gained]
        total = sum(count for _, count in gained)
        rows.notes.append(
            f"sheet {table.sheet!r} gives the day's new followers ({total} over its days: sponsored, "
            "organic, auto-invited), not the Page's follower count: no followers recorded"
        )
    if not days:
        days = [post.created_at.date() for post in rows.posts]
    if not days:
        raise ExportFileError(file_name, "no dated row: the export covers no day (an empty date range?)")
    rows.first_day, rows.last_day = min(days), max(days)
    if settings.POSTS not in tables and export_format == settings.CONTENT:
        rows.notes.append("no sheet 'All posts': the posts of these days are not in this file")
    rows.identities = identities(file_name)
    return rows


def identities(file_name: str) -> dict[str, str]:
    """Whose export it is, from the name LinkedIn gives it (``city-library_content_<digits>.xls``):
    the Page's public name as ``handle`` (lowercase), or as ``name`` when it is no handle."""
    named = settings.FILE_NAME.fullmatch(file_name.rsplit("/", 1)[-1].strip())
    if named is None:
        return {}
    page = named["page"].strip()
    if settings.PAGE_NAME.fullmatch(page):
        return {"handle": page.lower()}
    return {"name": page}


# Workbooks


def _check_workbook(file_name: str, data: bytes) -> None:
    if len(data) > parsing.MAX_FILE_BYTES:
        raise ExportFileError(
            file_name, f"{len(data)} bytes, more than the {parsing.MAX_FILE_BYTES} an export can be"
        )
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise ExportFileError(
            file_name,
            "an HTML or XML page, not an .xls or .xlsx workbook (a page saved under the export's name? "
            "download the export again from the Page's Analytics)",
        )
    _check_inflated_size(file_name, data)


def _check_inflated_size(file_name: str, data: bytes) -> None:
    """Refuse an .xlsx whose parts would inflate beyond reason, before opening it (a zip bomb):
    the sizes its directory declares bound what reading it can inflate."""
    if parsing.kind_of(data) != "zip":
        return
    try:
        declared = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ExportFileError(file_name, f"not a readable .xlsx workbook ({error})") from error
    if declared > settings.MAX_UNZIPPED_BYTES:
        raise ExportFileError(
            file_name,
            f"{declared} bytes once unzipped, more than the {settings.MAX_UNZIPPED_BYTES} an export can be",
        )


def _sheet_names(data: bytes) -> list[str]:
    if parsing.kind_of(data) == "xls":
        import xlrd

        return list(xlrd.open_workbook(file_contents=data, on_demand=True).sheet_names())
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def _role_by_name(sheet_name: str) -> str | None:
    key = parsing.header_key(sheet_name)
    for role, names in settings.SHEET_NAMES.items():
        if key in {parsing.header_key(name) for name in names}:
            return role
    return None


def _role_by_header(table: Table) -> str | None:
    for role, (columns, required) in settings.COLUMNS.items():
        try:
            parsing.find_header(table, columns, required)
        except ExportFileError:
            continue
        return role
    return None


def _format_of_roles(roles: Iterable[str]) -> str:
    formats = {settings.FORMAT_OF_ROLE[role] for role in roles}
    return next(name for name in settings.FORMAT_ORDER if name in formats)


def _is_french(table: Table) -> bool:
    french = {parsing.header_key(name) for name in settings.FRENCH_HEADERS}
    return any(parsing.header_key(cell) in french for _, cells in table.rows[:10] for cell in cells)


# Sheets


def _posts(table: Table, french: bool, reference: date) -> list[ExportPost]:
    columns, required = settings.COLUMNS[settings.POSTS]
    position, found = parsing.find_header(table, columns, required)
    rows = list(parsing.data_rows(table, position))
    day_first = _day_first((parsing.cell(cells, found, "created") for _, cells in rows), french)
    moments = [
        parsing.read_moment(
            table, line, "Created date", parsing.cell(cells, found, "created"), day_first=day_first
        )
        for line, cells in rows
    ]
    created = parsing.place_years(moments, reference)
    posts = []
    for (line, cells), created_at in zip(rows, created, strict=True):
        link = parsing.cell(cells, found, "link")
        if not link:
            raise table.error("column 'Post link' is empty: the post has no id", line)
        urn = settings.POST_URN.search(link)
        posts.append(
            ExportPost(
                post_id=urn[0] if urn else link,
                created_at=created_at,
                line=line,
                text=parsing.cell(cells, found, "title") or None,
                url=link if link.lower().startswith(("http://", "https://")) else None,
                likes=parsing.parse_count(table, line, "Likes", parsing.cell(cells, found, "likes")),
                comments=parsing.parse_count(table, line, "Comments", parsing.cell(cells, found, "comments")),
                shares=parsing.parse_count(table, line, "Reposts", parsing.cell(cells, found, "reposts")),
            )
        )
    return posts


def _daily(table: Table, role: str, french: bool, reference: date) -> list[tuple[int, date]]:
    """The rows of a daily sheet (Metrics, Visitor metrics), with their line and day."""
    columns, required = settings.COLUMNS[role]
    position, found = parsing.find_header(table, columns, required)
    rows = list(parsing.data_rows(table, position))
    return _days(table, rows, found, french, reference)


def _new_followers(table: Table, french: bool, reference: date) -> list[tuple[date, int]]:
    """The day's new followers of each row of ``New followers`` (its ``Total followers``)."""
    columns, required = settings.COLUMNS[settings.NEW_FOLLOWERS]
    position, found = parsing.find_header(table, columns, required)
    rows = list(parsing.data_rows(table, position))
    days = _days(table, rows, found, french, reference)
    gained = []
    for (line, cells), (_, day) in zip(rows, days, strict=True):
        count = parsing.parse_count(table, line, "Total followers", parsing.cell(cells, found, "total"))
        gained.append((day, count or 0))
    return gained


def _days(
    table: Table,
    rows: Sequence[tuple[int, list[str]]],
    found: dict[str, int],
    french: bool,
    reference: date,
) -> list[tuple[int, date]]:
    texts = [parsing.cell(cells, found, "date") for _, cells in rows]
    day_first = _day_first(texts, french)
    moments = [
        parsing.read_moment(table, line, "Date", text, day_first=day_first)
        for (line, _), text in zip(rows, texts, strict=True)
    ]
    placed = parsing.place_years(moments, reference)
    return [(line, moment.date()) for (line, _), moment in zip(rows, placed, strict=True)]


def _day_first(texts: Iterable[str], french: bool) -> bool:
    """Whether a column's ``nn/nn/yyyy`` dates put the day first: a day above 12 tells (``30/11``
    or ``11/30``); else the export's language does (French d/m/Y, English m/d/Y)."""
    for text in texts:
        slashed = _SLASHED.match(text)
        if slashed is None:
            continue
        first, second = int(slashed[1]), int(slashed[2])
        if first > 12 >= second:
            return True
        if second > 12 >= first:
            return False
    return french
