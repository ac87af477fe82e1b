"""YouTube Studio's Content export, built from a small description: the zip Studio downloads.

YouTube Studio > Analytics > Advanced mode > Content > Export current view >
Comma-separated values (.csv) downloads ``Content <first>_<last> <channel>.zip``
holding ``Table data.csv`` (a ``Total`` row, then one row per video),
``Chart data.csv`` (the chart's metric by day and video) and ``Totals.csv``
(the metric by day). In French the headers, the numbers (``1 234``, ``4,5``)
and the publish dates (``30 nov. 2026``) follow the language; the days of
the chart stay ISO dates.

    data = studio_zip([Video("dQw4w9WgXcQ", "Story time", date(2026, 11, 30))],
                      days=[(date(2026, 11, 30), 120)], first=date(2026, 9, 1), last=date(2026, 11, 30))
    name = studio_zip_name(date(2026, 9, 1), date(2026, 11, 30), "City Library")
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

TABLE = "Table data.csv"
CHART = "Chart data.csv"
TOTALS = "Totals.csv"

_HEADERS = {
    "en": {
        "content": "Content",
        "title": "Video title",
        "published": "Video publish time",
        "duration": "Duration",
        "likes": "Likes",
        "comments": "Comments added",
        "shares": "Shares",
        "views": "Views",
        "watch": "Watch time (hours)",
        "subscribers": "Subscribers",
        "impressions": "Impressions",
        "ctr": "Impressions click-through rate (%)",
        "date": "Date",
    },
    "fr": {
        "content": "Contenu",
        "title": "Titre de la vidéo",
        "published": "Heure de publication de la vidéo",
        "duration": "Durée",
        "likes": "J'aime",
        "comments": "Commentaires ajoutés",
        "shares": "Partages",
        "views": "Vues",
        "watch": "Durée de visionnage (heures)",
        "subscribers": "Abonnés",
        "impressions": "Impressions",
        "ctr": "Taux de clics des impressions (%)",
        "date": "Date",
    },
}
_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": (
        "janv.",
        "févr.",
        "mars",
        "avr.",
        "mai",
        "juin",
        "juil.",
        "août",
        "sept.",
        "oct.",
        "nov.",
        "déc.",
    ),
}
ENGAGEMENT = ("likes", "comments", "shares")


@dataclass(frozen=True)
class Video:
    """One row of ``Table data.csv``. ``published`` as a date, or the text to write (a bad date)."""

    video_id: str
    title: str
    published: date | str
    likes: int = 12
    comments: int = 3
    shares: int = 1
    views: int = 1500
    subscribers: int = 2
    duration_seconds: int = 312
    watch_hours: float = 40.5
    impressions: int = 21000
    ctr_percent: float = 4.5


def studio_zip_name(
    first: date, last: date, channel: str | None = "City Library", tab: str = "Content"
) -> str:
    """The name Studio gives the zip: ``Content 2026-09-01_2026-11-30 City Library.zip``."""
    return f"{tab} {first.isoformat()}_{last.isoformat()}" + (f" {channel}" if channel else "") + ".zip"


def publish_text(day: date, language: str = "en") -> str:
    """A publish date as Studio writes it: ``Nov 30, 2026``, ``30 nov. 2026``."""
    month = _MONTHS[language][day.month - 1]
    return f"{month} {day.day}, {day.year}" if language == "en" else f"{day.day} {month} {day.year}"


def _count(value: int, language: str) -> str:
    text = f"{value:,}"
    return text.replace(",", "\u202f") if language == "fr" else text


def _decimal(value: float, language: str) -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if language == "fr" else text


def _csv(rows: Sequence[Sequence[str]], *, bom: bool = False) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")


def table_csv(
    videos: Sequence[Video],
    *,
    language: str = "en",
    engagement: Sequence[str] = ENGAGEMENT,
    total_row: bool = True,
    drop: Sequence[str] = (),
) -> bytes:
    """``Table data.csv``: the header, the ``Total`` row, one row per video; ``engagement`` the
    optional metrics added to the table (Likes, Comments added, Shares); ``drop`` removes columns."""
    words = _HEADERS[language]
    keys = [
        "content",
        "title",
        "published",
        "duration",
        *[key for key in ENGAGEMENT if key in engagement],
        "views",
        "watch",
        "subscribers",
        "impressions",
        "ctr",
    ]
    keys = [key for key in keys if key not in drop]

    def row(video: Video) -> dict[str, str]:
        published = (
            video.published if isinstance(video.published, str) else publish_text(video.published, language)
        )
        return {
            # Studio writes a space before an id that starts with '-' (so a spreadsheet reads no formula).
            "content": f" {video.video_id}" if video.video_id.startswith("-") else video.video_id,
            "title": video.title,
            "published": published,
            "duration": str(video.duration_seconds),
            "likes": _count(video.likes, language),
            "comments": _count(video.comments, language),
            "shares": _count(video.shares, language),
            "views": _count(video.views, language),
            "watch": _decimal(video.watch_hours, language),
            "subscribers": _count(video.subscribers, language),
            "impressions": _count(video.impressions, language),
            "ctr": _decimal(video.ctr_percent, language),
        }

    total = {
        "content": "Total",
        "title": "",
        "published": "",
        "duration": "",
        "likes": _count(sum(video.likes for video in videos), language),
        "comments": _count(sum(video.comments for video in videos), language),
        "shares": _count(sum(video.shares for video in videos), language),
        "views": _count(sum(video.views for video in videos), language),
        "watch": _decimal(sum(video.watch_hours for video in videos), language),
        "subscribers": _count(sum(video.subscribers for video in videos), language),
        "impressions": _count(sum(video.impressions for video in videos), language),
        "ctr": _decimal(4.2, language),
    }
    rows = [[words[key] for key in keys]]
    if total_row:
        rows.append([total[key] for key in keys])
    rows += [[row(video)[key] for key in keys] for video in videos]
    return _csv(rows)


def chart_csv(videos: Sequence[Video], days: Sequence[tuple[date, int]], *, language: str = "en") -> bytes:
    """``Chart data.csv``: views by day and video (the day's views shared among the videos out by then)."""
    words = _HEADERS[language]
    rows = [[words[key] for key in ("date", "content", "title", "published", "duration", "views")]]
    for day, views in days:
        out = [video for video in videos if isinstance(video.published, str) or video.published <= day]
        for video in out:
            published = (
                video.published
                if isinstance(video.published, str)
                else publish_text(video.published, language)
            )
            rows.append(
                [
                    day.isoformat(),
                    video.video_id,
                    video.title,
                    published,
                    str(video.duration_seconds),
                    str(views // len(out)),
                ]
            )
    return _csv(rows)


def totals_csv(days: Sequence[tuple[date, int]], *, language: str = "en") -> bytes:
    """``Totals.csv``: the views of each day."""
    words = _HEADERS[language]
    return _csv([[words["date"], words["views"]], *[[day.isoformat(), str(views)] for day, views in days]])


def zip_of(members: Mapping[str, bytes]) -> bytes:
    """A zip of these members, as Studio writes it (deflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def studio_zip(
    videos: Sequence[Video],
    days: Sequence[tuple[date, int]] = (),
    *,
    language: str = "en",
    engagement: Sequence[str] = ENGAGEMENT,
    chart: bool = True,
    totals: bool = True,
) -> bytes:
    """The zip of Studio's Content export: ``Table data.csv``, and ``Chart data.csv`` and
    ``Totals.csv`` over ``days`` (``(day, views)``) unless left out."""
    members = {TABLE: table_csv(videos, language=language, engagement=engagement)}
    if chart:
        members[CHART] = chart_csv(videos, days, language=language)
    if totals:
        members[TOTALS] = totals_csv(days, language=language)
    return zip_of(members)
