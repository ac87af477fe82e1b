"""Reading export files as the platforms write them: encodings, CSV dialects, workbooks, zips,
headers in English or French, numbers and dates in the export's locale.

Every function names the file (and the line or sheet) in the :class:`ExportFileError` it raises:
the message reaches the quarantine and the person who dropped the file.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import unicodedata
import zipfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from rapport.sources.exports import ExportFileError

_UTF8_BOM: Final = b"\xef\xbb\xbf"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
_OLE2: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a legacy .xls workbook (BIFF in an OLE2 file)
_ZIP: Final = b"PK\x03\x04"  # an .xlsx workbook, or a zip of CSV files (YouTube Studio)
MAX_FILE_BYTES: Final = 200 * 1024 * 1024
"""A file larger than this is refused: an analytics export of one account is a few megabytes."""
_MAX_ZIP_MEMBER_BYTES: Final = 100 * 1024 * 1024


def kind_of(data: bytes) -> str:
    """What a file is, from its first bytes: ``xls``, ``zip`` (xlsx or a zip of CSVs) or ``text``."""
    if data.startswith(_OLE2):
        return "xls"
    if data.startswith(_ZIP):
        return "zip"
    return "text"


def decode_text(file: str, data: bytes) -> str:
    """The text of a CSV export, whatever its encoding: UTF-8 with or without a BOM, UTF-16 with a
    BOM (Meta's page-level files) or without one, else Windows-1252 (a CSV saved again by Excel)."""
    if len(data) > MAX_FILE_BYTES:
        raise ExportFileError(file, f"{len(data)} bytes, more than the {MAX_FILE_BYTES} an export can be")
    if data.startswith(_UTF8_BOM):
        return _decoded(file, data[len(_UTF8_BOM) :], "utf-8")
    if data.startswith(_UTF16_BOMS):
        return _decoded(file, data, "utf-16")
    if len(data) >= 4 and data[1:4:2] == b"\x00\x00" and data[0:4:2] != b"\x00\x00":
        return _decoded(file, data, "utf-16-le")
    if len(data) >= 4 and data[0:4:2] == b"\x00\x00" and data[1:4:2] != b"\x00\x00":
        return _decoded(file, data, "utf-16-be")
    if b"\x00" in data[:4096]:
        raise ExportFileError(file, "not a text file, a workbook or a zip: binary content")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _decoded(file: str, data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise ExportFileError(file, f"not valid {encoding.upper()} text at byte {error.start}") from error
    return text.lstrip("\ufeff")


@dataclass(frozen=True)
class Table:
    """The rows of one CSV file or one sheet, each with the line (or row) it was read at, 1-based."""

    file: str
    rows: list[tuple[int, list[str]]]
    sheet: str | None = None

    def error(self, reason: str, line: int | None = None) -> ExportFileError:
        return ExportFileError(self.file, reason, line, self.sheet)


def csv_table(file: str, text: str) -> Table:
    """The rows of a CSV export. A first line ``sep=<c>`` (Excel's hint, in Meta's files) sets the
    delimiter and is skipped; otherwise the delimiter is sniffed among ``,``, ``;`` and tab."""
    lines = text.splitlines(keepends=True)
    offset = 0
    delimiter = None
    if lines and (hint := re.fullmatch(r'"?sep=(.)"?\s*', lines[0].strip("\r\n"), re.IGNORECASE)):
        delimiter = hint.group(1)
        offset = 1
        text = "".join(lines[1:])
    if delimiter is None:
        first = next((line for line in lines if line.strip()), "")
        counts = {candidate: _unquoted(first).count(candidate) for candidate in (",", ";", "\t")}
        delimiter = max(counts, key=lambda candidate: counts[candidate]) if any(counts.values()) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        line = offset + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((line, [cell.strip() for cell in row]))
            line = offset + reader.line_num + 1
    except csv.Error as error:
        raise ExportFileError(file, f"not readable as CSV: {error}", offset + reader.line_num) from error
    return Table(file, rows)


def _unquoted(line: str) -> str:
    return re.sub(r'"[^"]*"', "", line)


def zip_members(file: str, data: bytes, names: Collection[str] | None = None) -> dict[str, bytes]:
    """The files of a zip (YouTube Studio's export: ``Table data.csv``, ``Chart data.csv``,
    ``Totals.csv``), by their name without folders (``/`` or ``\\``: a member named
    ``../../x.csv`` is read as ``x.csv``, in memory, never written anywhere). Only the members
    named in ``names`` are read when it is given (the others are never inflated). Refuses a zip
    whose members would inflate beyond reason, one by one or together."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = {}
        total = 0
        for info in archive.infolist():
            name = re.split(r"[/\\]", info.filename)[-1]
            if info.is_dir() or (names is not None and name not in names):
                continue
            if info.file_size > _MAX_ZIP_MEMBER_BYTES:
                raise ExportFileError(
                    file, f"{info.filename}: {info.file_size} bytes once unzipped, too large"
                )
            total += info.file_size
            if total > MAX_FILE_BYTES:
                raise ExportFileError(
                    file, f"{total} bytes once unzipped, more than the {MAX_FILE_BYTES} an export can be"
                )
            members[name] = archive.read(info)
        return members
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as error:
        raise ExportFileError(file, f"not a readable zip ({error})") from error


def is_xlsx(members: Mapping[str, bytes]) -> bool:
    """Whether a zip's members are those of an .xlsx workbook."""
    return "[Content_Types].xml" in members and "workbook.xml" in members


def workbook_sheets(file: str, data: bytes) -> dict[str, Table]:
    """Every sheet of an .xls or .xlsx workbook, as text cells (dates as ``YYYY-MM-DD``), by name."""
    kind = kind_of(data)
    if kind == "xls":
        return _xls_sheets(file, data)
    if kind == "zip":
        return _xlsx_sheets(file, data)
    raise ExportFileError(file, "not an .xls or .xlsx workbook")


def _xls_sheets(file: str, data: bytes) -> dict[str, Table]:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception as error:  # xlrd raises its own errors, and struct/assertion errors on a damaged file
        raise ExportFileError(file, f"not a readable .xls workbook ({error})") from error
    sheets = {}
    for sheet in book.sheets():
        rows = []
        for index in range(sheet.nrows):
            cells = [_xls_cell(cell, book.datemode) for cell in sheet.row(index)]
            if any(cells):
                rows.append((index + 1, cells))
        sheets[sheet.name] = Table(file, rows, sheet.name)
    return sheets


def _xls_cell(cell: object, datemode: int) -> str:
    import xlrd

    kind = getattr(cell, "ctype", None)
    value = getattr(cell, "value", "")
    if kind == xlrd.XL_CELL_DATE:
        moment: datetime = xlrd.xldate_as_datetime(value, datemode)
        return moment.date().isoformat() if moment.time() == datetime.min.time() else moment.isoformat(" ")
    if kind == xlrd.XL_CELL_NUMBER:
        return _number_text(float(value))
    return str(value).strip()


def _xlsx_sheets(file: str, data: bytes) -> dict[str, Table]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zip, XML and key errors on a damaged file
        raise ExportFileError(file, f"not a readable .xlsx workbook ({error})") from error
    sheets = {}
    try:
        for sheet in book.worksheets:
            rows = []
            for index, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = [_xlsx_cell(value) for value in values]
                if any(cells):
                    rows.append((index, cells))
            sheets[sheet.title] = Table(file, rows, sheet.title)
    finally:
        book.close()
    return sheets


def _xlsx_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return _number_text(float(value))
    return str(value).strip()


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


# Headers


def header_key(text: str) -> str:
    """A header as compared: lowercase, without accents, punctuation or repeated spaces."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return " ".join(re.sub(r"[^a-z0-9%]+", " ", plain).split())


def find_header(
    table: Table, columns: Mapping[str, Sequence[str]], required: Sequence[str]
) -> tuple[int, dict[str, int]]:
    """The header row of ``table`` (the first within its first 10 rows that holds every required
    column, in English or French) and the index of each column found, by key.

    ``columns`` maps a key to the headers the platform writes for it (every language), compared by
    :func:`header_key`. Raises :class:`ExportFileError` naming the missing columns and the line of
    the row that held the most of them.
    """
    wanted = {key: {header_key(name) for name in names} for key, names in columns.items()}
    best: tuple[int, int, list[str]] | None = None
    for position, (line, cells) in enumerate(table.rows[:10]):
        keys = [header_key(cell) for cell in cells]
        found = {}
        for key, names in wanted.items():
            index = next((index for index, cell in enumerate(keys) if cell in names), None)
            if index is not None:
                found[key] = index
        missing = [key for key in required if key not in found]
        if not missing:
            return position, found
        if best is None or len(found) > best[1]:
            best = (line, len(found), missing)
    if best is None:
        raise table.error("empty: no header row")
    line, _, missing = best
    listed = ", ".join(repr(columns[key][0]) for key in missing)
    raise table.error(
        f"missing column(s) {listed}: not a file of this format, or columns removed",
        line if best[1] else None,
    )


def holds_header(
    file: str, data: bytes, columns: Mapping[str, Sequence[str]], required: Sequence[str]
) -> bool:
    """Whether a CSV file's first lines hold a header with every ``required`` column (a detector's
    check: reads the first 64 KB only, and never raises)."""
    if kind_of(data) != "text":
        return False
    try:
        head = decode_text(file, data[:65536])
        table = csv_table(file, "".join(head.splitlines(keepends=True)[:12]))
        find_header(table, columns, required)
    except (ExportFileError, UnicodeDecodeError):
        return False
    return True


def cell(cells: Sequence[str], columns: Mapping[str, int], key: str) -> str:
    """The text of column ``key`` in a row, ``""`` when the file has no such column or the row is short."""
    index = columns.get(key)
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _shown(text: str) -> str:
    """A cell as an error message quotes it: a huge cell cut, so that the message stays one short line."""
    return repr(text) if len(text) <= 80 else f"{text[:80]!r}... ({len(text)} characters)"


# Numbers

_SPACES: Final = "\u00a0\u202f\u2009 '\u2019"
_GROUPED: Final = re.compile(r"[+-]?\d{1,3}(?:([,.\u00a0\u202f\u2009 '\u2019])\d{3})(?:\1\d{3})*")
_EMPTY: Final = {"", "-", "--", "\u2014", "n/a", "na", "nan", "none", "null"}


def parse_count(table: Table, line: int, column: str, text: str) -> int | None:
    """A count written in the export's locale (``1,234``, ``1 234``, ``1.234``, ``1234.0``);
    ``None`` for an empty cell or a dash. Raises naming the line, the column and the text."""
    value = text.strip()
    if value.lower() in _EMPTY:
        return None
    if re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    if _GROUPED.fullmatch(value):
        return int(re.sub(r"[,.\u00a0\u202f\u2009 '\u2019]", "", value))
    if re.fullmatch(r"[+-]?\d+[.,]0+", value):
        return int(re.split(r"[.,]", value)[0])
    raise table.error(f"column {column!r}: {_shown(text)} is not a count", line)


def parse_decimal(table: Table, line: int, column: str, text: str, *, decimal_comma: bool) -> float | None:
    """A decimal number or percentage in the export's locale: ``4.5%``, ``4,5 %``, ``1,234.5``,
    ``1 234,5``; a percentage as a share (``4,5 %`` is 0.045). ``None`` for an empty cell."""
    value = text.strip()
    if value.lower() in _EMPTY:
        return None
    percent = value.endswith("%")
    value = value.rstrip("%").strip()
    for space in _SPACES:
        value = value.replace(space, "")
    value = value.replace(".", "").replace(",", ".") if decimal_comma else value.replace(",", "")
    try:
        number = float(value)
    except ValueError:
        raise table.error(f"column {column!r}: {_shown(text)} is not a number", line) from None
    return number / 100 if percent else number


# Dates

MONTHS: Final = {
    **{
        name: number
        for number, name in enumerate(
            (
                "january",
                "february",
                "march",
                "april",
                "may",
                "june",
                "july",
                "august",
                "september",
                "october",
                "november",
                "december",
            ),
            1,
        )
    },
    **{
        name: number
        for number, name in enumerate(
            (
                "janvier",
                "fevrier",
                "mars",
                "avril",
                "mai",
                "juin",
                "juillet",
                "aout",
                "septembre",
                "octobre",
                "novembre",
                "decembre",
            ),
            1,
        )
    },
    **{
        name: number
        for number, name in enumerate(
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
        )
    },
    "sept": 9,
    "janv": 1,
    "fevr": 2,
    "avr": 4,
    "juil": 7,
}
_WEEKDAYS: Final = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun|lun|mar|mer|jeu|ven|sam|dim)[a-z]*(?:\.,?|,)\s+", re.IGNORECASE
)
_TIME: Final = (
    r"(?:[ T](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?(?:\.\d+)?\s*(?P<ampm>[ap]\.?m\.?)?)?"
)
_ZONE: Final = r"\s*(?:Z|UTC|GMT|(?P<zone>[+-]\d{2}:?\d{2}))?"


@dataclass(frozen=True)
class Moment:
    """A date (and time) as a file writes it; ``year`` is ``None`` when the file leaves it out."""

    year: int | None
    month: int
    day: int
    hour: int = 0
    minute: int = 0
    second: int = 0
    offset_minutes: int = 0

    def at(self, year: int) -> datetime:
        """This moment in ``year``, as naive UTC."""
        local = datetime(year, self.month, self.day, self.hour, self.minute, self.second)
        return local - timedelta(minutes=self.offset_minutes)


def read_moment(table: Table, line: int, column: str, text: str, *, day_first: bool) -> Moment:
    """A date or date-time as exports write them: ``2026-11-30``, ``2026-11-30 14:05 +0000``,
    ``11/30/2026 14:05`` (``30/11/2026`` when ``day_first``), ``Nov 30, 2026``, ``30 nov. 2026``,
    ``Mon, Nov 30, 2026``, ``ven. 27 nov. 2026``, and without a year: ``November 30``,
    ``30 novembre``, ``11-30``.
    Raises naming the line, the column and the text."""
    value = _WEEKDAYS.sub("", " ".join(text.strip().split()))
    found = (
        re.fullmatch(rf"(?P<year>\d{{4}})-(?P<month>\d{{1,2}})-(?P<day>\d{{1,2}}){_TIME}{_ZONE}", value)
        or re.fullmatch(
            rf"(?P<first>\d{{1,2}})[/.](?P<second_part>\d{{1,2}})[/.](?P<year>\d{{4}}){_TIME}{_ZONE}", value
        )
        or re.fullmatch(
            rf"(?P<month_name>[^\W\d]+)\.?\s+(?P<day>\d{{1,2}})(?:,?\s+(?P<year>\d{{4}}))?,?{_TIME}{_ZONE}",
            value,
        )
        or re.fullmatch(
            rf"(?P<day>\d{{1,2}})(?:er)?\s+(?P<month_name>[^\W\d]+)\.?(?:\s+(?P<year>\d{{4}}))?,?{_TIME}{_ZONE}",
            value,
        )
        or re.fullmatch(rf"(?P<first>\d{{1,2}})-(?P<second_part>\d{{1,2}}){_TIME}", value)
    )
    if found is None:
        raise table.error(f"column {column!r}: {_shown(text)} is not a date", line)
    parts = found.groupdict()
    try:
        if parts.get("month_name"):
            month = MONTHS[header_key(parts["month_name"]).rstrip(".")]
            day = int(parts["day"])
        elif parts.get("first"):
            first, second = int(parts["first"]), int(parts["second_part"])
            month, day = (second, first) if day_first else (first, second)
        else:
            month, day = int(parts["month"]), int(parts["day"])
        hour = int(parts.get("hour") or 0)
        ampm = (parts.get("ampm") or "").replace(".", "").lower()
        if ampm == "pm" and hour < 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
        offset = 0
        if zone := parts.get("zone"):
            sign = -1 if zone.startswith("-") else 1
            digits = zone[1:].replace(":", "")
            offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        moment = Moment(
            int(parts["year"]) if parts.get("year") else None,
            month,
            day,
            hour,
            int(parts.get("minute") or 0),
            int(parts.get("second") or 0),
            offset,
        )
        moment.at(moment.year or 2000)  # checks the day exists (29 February in a leap year)
    except (KeyError, ValueError):
        raise table.error(f"column {column!r}: {_shown(text)} is not a date", line) from None
    return moment


def place_years(moments: Sequence[Moment], reference: date) -> list[datetime]:
    """The moments as naive UTC datetimes, years given where the file leaves them out.

    A file without years (TikTok Studio's) lists its days in order, oldest or newest first,
    within a year of its download. The latest of them is placed in the last year that does not
    put it after ``reference`` (the run date the file was imported on); walking away from it, the
    year changes each time the month and day cross back over the new year. Moments with a year
    keep it.
    """
    if all(moment.year is not None for moment in moments):
        return [moment.at(moment.year or 0) for moment in moments]
    keys = [(moment.month, moment.day, moment.hour, moment.minute) for moment in moments]
    ascending = _mostly_ascending(keys)
    order = list(range(len(moments))) if ascending else list(range(len(moments)))[::-1]
    placed: dict[int, datetime] = {}
    year: int | None = None
    later_key: tuple[int, int, int, int] | None = None
    for index in reversed(order):  # from the latest to the earliest
        moment = moments[index]
        if moment.year is not None:
            placed[index] = moment.at(moment.year)
            year, later_key = moment.year, keys[index]
            continue
        if year is None:
            year = (
                reference.year
                if (moment.month, moment.day) <= (reference.month, reference.day)
                else reference.year - 1
            )
        elif later_key is not None and keys[index] > later_key:
            year -= 1
        placed[index] = _existing(moment, year)
        later_key = keys[index]
    return [placed[index] for index in range(len(moments))]


def _existing(moment: Moment, year: int) -> datetime:
    """29 February placed in a year without it: the leap year before."""
    while True:
        try:
            return moment.at(year)
        except ValueError:
            year -= 1


def _mostly_ascending(keys: Sequence[tuple[int, int, int, int]]) -> bool:
    """Whether the day-of-year keys mostly go up (one wrap at the new year aside)."""
    ups = sum(1 for earlier, later in itertools.pairwise(keys) if later > earlier)
    downs = sum(1 for earlier, later in itertools.pairwise(keys) if later < earlier)
    return ups >= downs


def data_rows(table: Table, header_position: int) -> Iterator[tuple[int, list[str]]]:
    """The rows after the header, a row that repeats the header (a second table below) ending them."""
    header = [header_key(value) for value in table.rows[header_position][1]]
    for line, cells in table.rows[header_position + 1 :]:
        if [header_key(value) for value in cells] == header:
            break
        yield line, cells


LINK: Final = re.compile(r"https?://\S+", re.IGNORECASE)
MENTION: Final = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{1,30}\b")


def count_links(text: str | None) -> int:
    """Links in a post's text."""
    return len(LINK.findall(text or ""))


def count_mentions(text: str | None) -> int:
    """@handles in a post's text, outside its links."""
    return len(MENTION.findall(LINK.sub(" ", text or "")))
