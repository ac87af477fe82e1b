"""Readers and detectors of TikTok Studio's analytics exports: Overview (one row per day), Content
(one row per video) and Followers (``FollowerHistory``: the total of followers each day).

TikTok Studio downloads one tab at a time, as CSV or .xlsx, often zipped
(``Overview_<first day>_<epoch>_<handle>.zip``, ``Followers_<handle>.zip``, ``Content_<handle>.zip``):
each is read by its content, whatever its name. Its dates have no year (``November 30``,
``30 novembre``): they are placed in the last year that does not put the file's latest day after
the run date (:func:`~rapport.sources.exports.parsing.place_years`). The CSVs name no account:
only a zip's name and a video's link (``https://www.tiktok.com/@name/video/<id>``) do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
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
    is_xlsx,
    kind_of,
    parse_count,
    place_years,
    read_moment,
    workbook_sheets,
    zip_members,
)

OVERVIEW: Final = "tiktok_overview"
CONTENT: Final = "tiktok_content"
FOLLOWERS: Final = "tiktok_followers"

OVERVIEW_COLUMNS: Final = {
    "date": ["Date"],
    "views": ["Video Views", "Vues de vidéos", "Vues des vidéos"],
    "profile_views": ["Profile Views", "Vues du profil"],
    "likes": ["Likes", "J'aime"],
    "comments": ["Comments", "Commentaires"],
    "shares": ["Shares", "Partages"],
}
CONTENT_COLUMNS: Final = {
    "exported": ["Time", "Heure"],
    "title": ["Video title", "Video description", "Titre de la vidéo", "Description de la vidéo"],
    "link": ["Video link", "Lien de la vidéo"],
    "posted": ["Post time", "Heure de publication", "Date de publication"],
    "likes": ["Total likes", "Total des J'aime", "Nombre total de J'aime"],
    "comments": ["Total comments", "Total des commentaires", "Nombre total de commentaires"],
    "shares": ["Total shares", "Total des partages", "Nombre total de partages"],
    "views": ["Total views", "Total des vues", "Nombre total de vues"],
}
FOLLOWERS_COLUMNS: Final = {
    "date": ["Date"],
    "followers": ["Followers", "Abonnés", "Followers"],
    "difference": [
        "Difference in followers from previous day",
        "Différence d'abonnés par rapport à la veille",
    ],
}
_OVERVIEW_REQUIRED: Final = ("date", "views", "profile_views", "likes", "comments", "shares")
_CONTENT_REQUIRED: Final = ("title", "link", "posted", "likes", "comments", "shares")
_FOLLOWERS_REQUIRED: Final = ("date", "followers", "difference")
_ZIP_NAME: Final = re.compile(
    r"(?:Overview|Content|Followers|Viewers)_(?:\d{4}-\d{2}-\d{2}_\d+_)?(?P<handle>[a-z0-9_.]{2,24})"
    r"(?: ?\(\d+\))?\.zip",
    re.IGNORECASE,
)
"""How TikTok Studio names a tab's zip: the only place its CSVs name the account."""
_VIDEO_LINK: Final = re.compile(
    r"https?://(?:www\.|m\.)?tiktok\.com/@(?P<handle>[a-z0-9_.]{2,24})/(?:video|photo)/(?P<id>\d{1,20})",
    re.IGNORECASE,
)


def read_overview(file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Read an Overview export: one row per day (views, profile views, likes, comments, shares of
    the day). It lists no video and no follower total: the file gives the days it covers only.
    Raises :class:`~rapport.sources.exports.ExportFileError` naming the line and the reason."""
    table, position, columns = _table(file_name, data, OVERVIEW_COLUMNS, _OVERVIEW_REQUIRED)
    header = table.rows[position][1]
    moments = []
    for line, cells in data_rows(table, position):
        moments.append(
            read_moment(table, line, header[columns["date"]], cell(cells, columns, "date"), day_first=False)
        )
        for key in _OVERVIEW_REQUIRED[1:]:
            parse_count(table, line, header[columns[key]], cell(cells, columns, key))
    days = _days(table, moments, reference_date)
    return ExportRows(
        format=OVERVIEW,
        first_day=min(days),
        last_day=max(days),
        identities=_named_identities(file_name),
        notes=["lists no videos and no total of followers: daily views, likes, comments and shares only"],
    )


def read_followers(file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Read a Followers export's ``FollowerHistory``: the total of followers at each day's end.
    Raises :class:`~rapport.sources.exports.ExportFileError` naming the line and the reason."""
    table, position, columns = _table(file_name, data, FOLLOWERS_COLUMNS, _FOLLOWERS_REQUIRED)
    header = table.rows[position][1]
    moments, totals = [], []
    for line, cells in data_rows(table, position):
        moments.append(
            read_moment(table, line, header[columns["date"]], cell(cells, columns, "date"), day_first=False)
        )
        total = parse_count(table, line, header[columns["followers"]], cell(cells, columns, "followers"))
        if total is None or total < 0:
            raise table.error(f"column {header[columns['followers']]!r}: no total of followers", line)
        totals.append(total)
    days = _days(table, moments, reference_date)
    return ExportRows(
        format=FOLLOWERS,
        first_day=min(days),
        last_day=max(days),
        followers=sorted(zip(days, totals, strict=True)),
        identities=_named_identities(file_name),
    )


def read_content(file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Read a Content export: one row per video (its title, link, post day and lifetime totals).

    The video's id is its link's; its publish time is the id's (TikTok's ids start with the
    second they were made) when that falls within a day of the written post day, else the post
    day, its year placed as the other dates'. The file covers the days from its first video to the
    day it was exported (``Time``), else to its last video. Raises
    :class:`~rapport.sources.exports.ExportFileError` naming the line and the reason.
    """
    table, position, columns = _table(file_name, data, CONTENT_COLUMNS, _CONTENT_REQUIRED)
    header = table.rows[position][1]
    exported: date | None = None
    posts = []
    handles: dict[str, int] = {}
    for line, cells in data_rows(table, position):
        if exported is None and cell(cells, columns, "exported"):
            moment = read_moment(
                table, line, header[columns["exported"]], cell(cells, columns, "exported"), day_first=False
            )
            exported = place_years([moment], reference_date)[0].date()
        link = cell(cells, columns, "link")
        found = _VIDEO_LINK.fullmatch(link.split("?", 1)[0])
        if found is None:
            raise table.error(
                f"column {header[columns['link']]!r}: {link[:80]!r} is not a TikTok video link", line
            )
        handles.setdefault(found["handle"].lower(), line)
        posted = read_moment(
            table, line, header[columns["posted"]], cell(cells, columns, "posted"), day_first=False
        )
        day = place_years([posted], exported or reference_date)[0]

        def count(key: str, line: int = line, cells: Sequence[str] = cells) -> int | None:
            return parse_count(table, line, header[columns[key]], cell(cells, columns, key))

        posts.append(
            ExportPost(
                post_id=found["id"],
                created_at=_id_time(found["id"], day) or day,
                line=line,
                text=cell(cells, columns, "title"),
                url=link,
                likes=count("likes"),
                comments=count("comments"),
                shares=count("shares"),
            )
        )
    if len(handles) > 1:
        second = sorted(handles, key=lambda handle: handles[handle])[1]
        raise table.error(
            f"videos of several accounts (@{', @'.join(sorted(handles))}): an export lists one account's",
            handles[second],
        )
    days = [post.created_at.date() for post in posts]
    if not days:
        raise table.error("no video listed under the header")
    identities = _named_identities(file_name)
    if handles:
        linked = f"@{next(iter(handles))}"
        if identities and identities["handle"] != linked:
            raise table.error(f"the zip's name says {identities['handle']}, its videos' links {linked}")
        identities = {"handle": linked}
    return ExportRows(
        format=CONTENT,
        first_day=min(days),
        last_day=max([exported or max(days), *days]),
        posts=posts,
        identities=identities,
    )


def detect_overview(file_name: str, data: bytes) -> bool:
    """Whether a file (CSV, .xlsx or a zip of them) holds TikTok Studio's Overview table."""
    return _holds(file_name, data, OVERVIEW_COLUMNS, _OVERVIEW_REQUIRED)


def detect_content(file_name: str, data: bytes) -> bool:
    """Whether a file (CSV, .xlsx or a zip of them) holds TikTok Studio's Content table."""
    return _holds(file_name, data, CONTENT_COLUMNS, _CONTENT_REQUIRED)


def detect_followers(file_name: str, data: bytes) -> bool:
    """Whether a file (CSV, .xlsx or a zip of them) holds TikTok Studio's FollowerHistory table."""
    return _holds(file_name, data, FOLLOWERS_COLUMNS, _FOLLOWERS_REQUIRED)


def _tables(file_name: str, data: bytes) -> list[Table]:
    """The tables of a file: a CSV's, each sheet of an .xlsx, each CSV or .xlsx of a zip."""
    kind = kind_of(data)
    if kind == "text":
        return [csv_table(file_name, decode_text(file_name, data))]
    if kind == "xls":
        return list(workbook_sheets(file_name, data).values())
    members = zip_members(file_name, data)
    if is_xlsx(members):
        return list(workbook_sheets(file_name, data).values())
    tables = []
    for member, content in sorted(members.items()):
        where = f"{file_name} > {member}"
        if member.lower().endswith(".csv"):
            tables.append(csv_table(where, decode_text(where, content)))
        elif member.lower().endswith(".xlsx"):
            tables += workbook_sheets(where, content).values()
    return tables


def _table(
    file_name: str, data: bytes, columns: Mapping[str, Sequence[str]], required: Sequence[str]
) -> tuple[Table, int, dict[str, int]]:
    """The table of a file that holds ``required``, its header's position and columns; raises
    naming the columns missing from the file's (first) table."""
    tables = _tables(file_name, data)
    if not tables:
        raise ExportFileError(file_name, "no CSV or sheet in it")
    for table in tables:
        try:
            position, found = find_header(table, columns, required)
        except ExportFileError:
            continue
        return table, position, found
    position, found = find_header(tables[0], columns, required)  # raises, naming what is missing
    return tables[0], position, found


def _holds(
    file_name: str, data: bytes, columns: Mapping[str, Sequence[str]], required: Sequence[str]
) -> bool:
    try:
        _table(file_name, data, columns, required)
    except (ExportFileError, UnicodeDecodeError):
        return False
    return True


def _days(table: Table, moments: Sequence[Moment], reference_date: date) -> list[date]:
    if not moments:
        raise table.error("no day listed under the header")
    return [placed.date() for placed in place_years(moments, reference_date)]


def _id_time(video_id: str, day: datetime) -> datetime | None:
    """When a video was published, from its id (its first 32 bits are the Unix second), if that
    falls within a day of ``day``."""
    moment = datetime(1970, 1, 1) + timedelta(seconds=int(video_id) >> 32)
    return moment if abs(moment - day) < timedelta(days=2) else None


def _named_identities(file_name: str) -> dict[str, str]:
    named = _ZIP_NAME.fullmatch(file_name.replace("\\", "/").rsplit("/", 1)[-1])
    return {"handle": f"@{named['handle'].lower()}"} if named else {}
