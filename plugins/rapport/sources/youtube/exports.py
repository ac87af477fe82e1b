"""YouTube Studio's Content export: the reader and the detector of :data:`CONTENT_EXPORT`'s files.

YouTube Studio > Analytics > Advanced mode > Content, *Export current view* >
*Comma-separated values (.csv)* downloads a zip named after the tab, the
period and the channel (``Content 2026-09-01_2026-11-30 City Library.zip``)
holding three CSV files:

- ``Table data.csv``: one row per video with views in the period (its id
  under ``Content``, ``Video title``, ``Video publish time``, ``Duration``
  and the metrics of the table: ``Views``, ``Watch time (hours)``,
  ``Subscribers``, ``Impressions``..., and ``Likes``, ``Comments added``,
  ``Shares`` when they were added to it), after a first ``Total`` row that
  is no video;
- ``Chart data.csv``: the chart's metric by day and video (``Date``, ``Content``...);
- ``Totals.csv``: the chart's metric by day (``Date``, the metric).

Headers, numbers and dates follow the language of Studio (``Contenu``,
``1 234``, ``30 nov. 2026`` in French). A publish time is a date: the posts
are placed at 00:00 UTC of their day.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from typing import Final

from rapport.sources.exports import ExportFileError, ExportPost, ExportRows
from rapport.sources.exports.parsing import (
    Moment,
    Table,
    cell,
    csv_table,
    data_rows,
    decode_text,
    find_header,
    header_key,
    kind_of,
    parse_count,
    place_years,
    read_moment,
    zip_members,
)

FORMAT: Final = "youtube_studio"
TABLE: Final = "Table data.csv"
CHART: Final = "Chart data.csv"
TOTALS: Final = "Totals.csv"

VIDEO_COLUMNS: Final = {
    "content": ("Content", "Contenu"),
    "title": ("Video title", "Titre de la vidéo"),
    "published": ("Video publish time", "Heure de publication de la vidéo"),
    "likes": ("Likes", "J'aime"),
    "comments": ("Comments added", "Commentaires ajoutés"),
    "shares": ("Shares", "Partages"),
}
"""The columns of ``Table data.csv`` the reader uses, in English and French."""
REQUIRED_VIDEO_COLUMNS: Final = ("content", "title", "published")
ENGAGEMENT_COLUMNS: Final = ("likes", "comments", "shares")
"""Metrics Studio's table leaves out unless they are added to it before the export."""
_DAY_COLUMNS: Final = {"date": ("Date",)}
_TOTAL_ROW: Final = "total"
_VIDEO_ID: Final = re.compile(r"[A-Za-z0-9_-]{11}")
_ZIP_NAME: Final = re.compile(
    r"(?P<tab>[^\d]+?) (?P<first>\d{4}-\d{2}-\d{2})_(?P<last>\d{4}-\d{2}-\d{2})"
    r"(?: (?P<channel>.*?))?(?: \(\d+\))?\.zip",
    re.IGNORECASE,
)
"""Studio's name for the zip: tab, period, channel; a browser adds `` (1)`` to a second download."""
_DETECTOR_HEAD: Final = 4096

NO_FOLLOWERS: Final = (
    "YouTube Studio gives subscribers gained per video or per day ('Subscribers'), never a total: "
    "no followers"
)
DAYS_NOT_HOURS: Final = "publish times are dates (read at 00:00 UTC): activity days are exact, hours are not"


def read_content_export(file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Read a zip of YouTube Studio's Content tab into :class:`ExportRows`.

    Each video of ``Table data.csv`` published in the period is a post: its id, its publish date
    (00:00 UTC), its title as text, ``Likes``, ``Comments added`` and ``Shares`` (``None`` when
    the table was exported without them). The period is the one in the zip's name, else the
    first and last ``Date`` of ``Totals.csv`` or ``Chart data.csv``, else the videos' publish
    dates; the channel's name in the zip's name is its ``name`` identity. No followers.

    Raises :class:`ExportFileError` naming the zip, the member and the line: not a zip, no
    ``Table data.csv``, a required column missing, a video id, date or count that cannot be read.
    """
    members = zip_members(file_name, data, names=(TABLE, CHART, TOTALS))
    if TABLE not in members:
        raise ExportFileError(
            file_name,
            f"no {TABLE!r} in the zip: not a YouTube Studio export (Analytics > Advanced mode > "
            "Export current view > .csv), or the file was removed from it",
        )
    table = _member_table(file_name, TABLE, members[TABLE])
    position, columns = find_header(table, VIDEO_COLUMNS, REQUIRED_VIDEO_COLUMNS)
    headers = table.rows[position][1]
    day_first = header_key(headers[columns["content"]]) == header_key(VIDEO_COLUMNS["content"][1])
    notes = [NO_FOLLOWERS]
    for key in ENGAGEMENT_COLUMNS:
        if key not in columns:
            notes.append(
                f"no {VIDEO_COLUMNS[key][0]!r} column: the table was exported without it, "
                "so the posts have no such counts"
            )
    videos = _videos(table, position, columns, headers, day_first, reference_date, notes)
    named = _ZIP_NAME.fullmatch(file_name.replace("\\", "/").rsplit("/", 1)[-1])
    period = _named_period(named) or _days_period(file_name, members, day_first, reference_date)
    if period is None and videos:
        days = [post.created_at.date() for post in videos]
        period = (min(days), max(days))
    if period is None:
        raise table.error("no dates: no period in the zip's name, no days, no videos")
    first_day, last_day = period
    posts = [post for post in videos if first_day <= post.created_at.date() <= last_day]
    if len(posts) < len(videos):
        notes.append(
            f"{len(videos) - len(posts)} video(s) published outside {first_day}..{last_day} left out: "
            "the table lists them for their views in the period"
        )
    if any(post.created_at.time() == datetime.min.time() for post in posts):
        notes.append(DAYS_NOT_HOURS)
    identities = {"name": named.group("channel")} if named and named.group("channel") else {}
    return ExportRows(FORMAT, first_day, last_day, posts=posts, identities=identities, notes=notes)


def is_content_export(file_name: str, data: bytes) -> bool:
    """Whether a file is a zip of YouTube Studio's Content tab: it holds a ``Table data.csv``
    whose header has the video columns (read from the member's first bytes). Never raises."""
    if kind_of(data) != "zip":
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = next(
                (
                    info
                    for info in archive.infolist()
                    if not info.is_dir() and re.split(r"[/\\]", info.filename)[-1] == TABLE
                ),
                None,
            )
            if info is None:
                return False
            with archive.open(info) as member:
                head = member.read(_DETECTOR_HEAD)
        first_line = decode_text(file_name, head).splitlines()[0]
        find_header(csv_table(file_name, first_line), VIDEO_COLUMNS, REQUIRED_VIDEO_COLUMNS)
    # RuntimeError: an encrypted member; NotImplementedError: an unknown compression method;
    # IndexError: an empty member.
    except (
        ExportFileError,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        RuntimeError,
        OSError,
        EOFError,
        ValueError,
        IndexError,
    ):
        return False
    return True


def _member_table(file_name: str, member: str, data: bytes) -> Table:
    """A member's rows, its errors naming the zip and the member (as the sheet of the zip)."""
    try:
        table = csv_table(file_name, decode_text(file_name, data))
    except ExportFileError as error:
        raise ExportFileError(file_name, error.reason, error.line, member) from error
    return Table(file_name, table.rows, member)


def _videos(
    table: Table,
    position: int,
    columns: dict[str, int],
    headers: Sequence[str],
    day_first: bool,
    reference_date: date,
    notes: list[str],
) -> list[ExportPost]:
    """The videos of ``Table data.csv``, the ``Total`` row skipped."""
    found: list[tuple[int, list[str], Moment]] = []
    unpublished = 0
    for line, cells in data_rows(table, position):
        video_id = cell(cells, columns, "content")
        if header_key(video_id) == _TOTAL_ROW:
            continue  # the table's first row sums the videos: it is none of them
        if not _VIDEO_ID.fullmatch(video_id):
            raise table.error(f"column {headers[columns['content']]!r}: {video_id!r} is not a video id", line)
        published = cell(cells, columns, "published")
        if not published:
            unpublished += 1
            continue
        moment = read_moment(table, line, headers[columns["published"]], published, day_first=day_first)
        found.append((line, cells, moment))
    if unpublished:
        notes.append(f"{unpublished} video(s) without a publish time (private or deleted since) left out")
    placed = place_years([moment for _, _, moment in found], reference_date)
    videos = []
    for (line, cells, _), created_at in zip(found, placed, strict=True):
        counts = {
            key: parse_count(table, line, headers[columns[key]], cell(cells, columns, key))
            if key in columns
            else None
            for key in ENGAGEMENT_COLUMNS
        }
        videos.append(
            ExportPost(
                post_id=cell(cells, columns, "content"),
                created_at=created_at,
                line=line,
                text=cell(cells, columns, "title") or None,
                url=f"https://www.youtube.com/watch?v={cell(cells, columns, 'content')}",
                likes=counts["likes"],
                comments=counts["comments"],
                shares=counts["shares"],
            )
        )
    return videos


def _named_period(named: re.Match[str] | None) -> tuple[date, date] | None:
    """The period in Studio's name for the zip, when it is there and makes sense."""
    if named is None:
        return None
    try:
        first, last = date.fromisoformat(named.group("first")), date.fromisoformat(named.group("last"))
    except ValueError:
        return None
    return (first, last) if first <= last else None


def _days_period(
    file_name: str, members: dict[str, bytes], day_first: bool, reference_date: date
) -> tuple[date, date] | None:
    """The first and last ``Date`` of ``Totals.csv``, else of ``Chart data.csv``."""
    for member in (TOTALS, CHART):
        if member not in members:
            continue
        table = _member_table(file_name, member, members[member])
        if not table.rows:
            continue
        position, columns = find_header(table, _DAY_COLUMNS, ("date",))
        header = table.rows[position][1][columns["date"]]
        moments = [
            read_moment(table, line, header, cell(cells, columns, "date"), day_first=day_first)
            for line, cells in data_rows(table, position)
        ]
        if moments:
            days = [moment.date() for moment in place_years(moments, reference_date)]
            return min(days), max(days)
    return None
