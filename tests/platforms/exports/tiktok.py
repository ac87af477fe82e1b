"""TikTok Studio exports in their real shapes, written from small lists of videos and followers.

Studio downloads one Analytics tab at a time, each in a zip (``Content_<username>.zip``,
``Followers_<username>.zip``, ``Overview_<first day>_<epoch>_<username>.zip``) of CSVs in UTF-8
with a BOM, every cell quoted, no newline at the end, days without a year (``November 30``, or
``30 novembre`` in French). ``kind`` chooses what is written: the ``zip`` as downloaded, the
``csv`` alone (its name as in the zip), or an ``xlsx`` workbook. Each function returns
``(file name, bytes)``, ready to drop in an inbox.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "fr": [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
}
CONTENT_HEADERS = {
    "en": [
        "Time",
        "Video title",
        "Video link",
        "Post time",
        "Total likes",
        "Total comments",
        "Total shares",
        "Total views",
    ],
    "fr": [
        "Heure",
        "Titre de la vidéo",
        "Lien de la vidéo",
        "Heure de publication",
        "Total des J'aime",
        "Total des commentaires",
        "Total des partages",
        "Total des vues",
    ],
}
FOLLOWERS_HEADERS = {
    "en": ["Date", "Followers", "Difference in followers from previous day"],
    "fr": ["Date", "Abonnés", "Différence d'abonnés par rapport à la veille"],
}
OVERVIEW_HEADERS = {
    "en": ["Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares"],
    "fr": ["Date", "Vues de vidéos", "Vues du profil", "J'aime", "Commentaires", "Partages"],
}
_OTHER_FOLLOWER_TABLES = {
    "FollowerActivity.csv": ["Date", "Hour", "Active followers"],
    "FollowerGender.csv": ["Gender", "Distribution"],
    "FollowerTopTerritories.csv": ["Top territories", "Distribution"],
}


@dataclass(frozen=True)
class TikTokVideo:
    """One video of the account: what the Content tab shows of it."""

    title: str
    published: datetime
    """Naive UTC."""
    likes: int = 0
    comments: int = 0
    shares: int = 0
    views: int = 100
    video_id: str | None = None
    """Its id; by default one TikTok would give a video made at ``published``."""

    def id(self, index: int = 0) -> str:
        return self.video_id or video_id(self.published, index)


def video_id(moment: datetime, sequence: int = 0) -> str:
    """An id as TikTok gives a video made at ``moment``: the Unix second in its first 32 bits."""
    return str((int((moment - datetime(1970, 1, 1)).total_seconds()) << 32) | (0x5A3C0000 + sequence))


def day_text(day: date, language: str = "en") -> str:
    """A day as Studio writes it: ``November 30``, ``30 novembre``."""
    month = MONTHS[language][day.month - 1]
    return f"{month} {day.day}" if language == "en" else f"{day.day} {month}"


def _csv(rows: Sequence[Sequence[object]]) -> bytes:
    lines = [",".join('"' + str(value).replace('"', '""') + '"' for value in row) for row in rows]
    return "\ufeff".encode() + "\n".join(lines).encode("utf-8")


def _xlsx(sheet: str, rows: Sequence[Sequence[object]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    worksheet = book.active
    worksheet.title = sheet
    for row in rows:
        worksheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def _file(
    table: str,
    zip_name: str,
    rows: Sequence[Sequence[object]],
    kind: str,
    extra: dict[str, bytes] | None = None,
) -> tuple[str, bytes]:
    if kind == "csv":
        return f"{table}.csv", _csv(rows)
    if kind == "xlsx":
        return f"{table}.xlsx", _xlsx(table, rows)
    return zip_name, _zip({f"{table}.csv": _csv(rows), **(extra or {})})


def content_file(
    username: str, videos: Sequence[TikTokVideo], exported: date, language: str = "en", kind: str = "zip"
) -> tuple[str, bytes]:
    """The Content tab downloaded on ``exported``: one row per video, lifetime totals."""
    rows: list[list[object]] = [CONTENT_HEADERS[language]]
    for index, video in sorted(enumerate(videos), key=lambda item: item[1].published, reverse=True):
        rows.append(
            [
                day_text(exported, language),
                video.title,
                f"https://www.tiktok.com/@{username}/video/{video.id(index)}",
                day_text(video.published.date(), language),
                video.likes,
                video.comments,
                video.shares,
                video.views,
            ]
        )
    return _file("Content", f"Content_{username}.zip", rows, kind)


def followers_file(
    username: str, followers: Sequence[tuple[date, int]], language: str = "en", kind: str = "zip"
) -> tuple[str, bytes]:
    """The Followers tab: its ``FollowerHistory`` (total and difference by day, oldest first); the
    zip also holds the tab's other tables, headers only."""
    rows: list[list[object]] = [FOLLOWERS_HEADERS[language]]
    previous = None
    for day, total in sorted(followers):
        rows.append([day_text(day, language), total, 0 if previous is None else total - previous])
        previous = total
    extra = {name: _csv([header]) for name, header in _OTHER_FOLLOWER_TABLES.items()}
    return _file("FollowerHistory", f"Followers_{username}.zip", rows, kind, extra)


def overview_file(
    username: str, days: Sequence[tuple[date, int, int, int]], language: str = "en", kind: str = "zip"
) -> tuple[str, bytes]:
    """The Overview tab: ``(day, views, likes, comments)`` per day, oldest first."""
    rows: list[list[object]] = [OVERVIEW_HEADERS[language]]
    for day, views, likes, comments in sorted(days):
        rows.append([day_text(day, language), views, 0, likes, comments, 0])
    first = min(day for day, *_ in days)
    last = max(day for day, *_ in days)
    epoch = int(
        (
            datetime.combine(last + timedelta(days=1), datetime.min.time()) - datetime(1970, 1, 1)
        ).total_seconds()
    )
    return _file("Overview", f"Overview_{first:%Y-%m-%d}_{epoch}_{username}.zip", rows, kind)
