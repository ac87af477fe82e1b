"""LinkedIn Page analytics exports, built as LinkedIn writes them, from a small description.

The content export (``<page>_content_<digits>.xls``) holds the sheets ``Metrics`` (one row a
day) and ``All posts`` (a note row above the header, one row a post); the followers export
(``<page>_followers_<digits>.xls``) ``New followers`` (the day's new followers) and the
demographic sheets; the visitors export (``<page>_visitors_<digits>.xls``) ``Visitor metrics``.
Each can be written in English (dates m/d/Y) or French (dates d/m/Y, "1 234", "4,5 %"), as a
legacy .xls (xlwt: what LinkedIn writes) or an .xlsx (openpyxl: a file saved again in Excel),
with dates as text (LinkedIn's) or as date cells (a file saved again)::

    data = content_workbook([LinkedInPost("Our new opening hours", date(2026, 11, 30))],
                            language="fr", kind="xlsx")
    name = file_name("city-library", "content", kind="xlsx")
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

Rows = list[list[Any]]

POST_NOTE = {
    "en": "All posts, organic and sponsored, published in the selected date range. Metrics are lifetime totals.",
    "fr": "Tous les posts, organiques et sponsorisés, publiés sur la période choisie.",
}
POST_HEADERS = {
    "en": [
        "Post title",
        "Post link",
        "Post type",
        "Campaign name",
        "Posted by",
        "Created date",
        "Campaign start date",
        "Campaign end date",
        "Audience",
        "Impressions",
        "Views",
        "Offsite Views",
        "Clicks",
        "Click through rate (CTR)",
        "Likes",
        "Comments",
        "Reposts",
        "Follows",
        "Engagement rate",
        "Content Type",
    ],
    "fr": [
        "Titre du post",
        "Lien du post",
        "Type de post",
        "Nom de la campagne",
        "Publié par",
        "Date de création",
        "Date de début de la campagne",
        "Date de fin de la campagne",
        "Audience",
        "Impressions",
        "Vues",
        "Vues hors site",
        "Clics",
        "Taux de clics (CTR)",
        "Réactions",
        "Commentaires",
        "Republications",
        "Abonnements",
        "Taux d'engagement",
        "Type de contenu",
    ],
}
METRICS_HEADERS = {
    "en": [
        "Date",
        "Impressions (organic)",
        "Impressions (sponsored)",
        "Impressions (total)",
        "Unique impressions (organic)",
        "Clicks (organic)",
        "Clicks (sponsored)",
        "Clicks (total)",
        "Reactions (organic)",
        "Reactions (sponsored)",
        "Reactions (total)",
        "Comments (organic)",
        "Comments (sponsored)",
        "Comments (total)",
        "Reposts (organic)",
        "Reposts (sponsored)",
        "Reposts (total)",
        "Engagement rate (organic)",
        "Engagement rate (sponsored)",
        "Engagement rate (total)",
    ],
    "fr": [
        "Date",
        "Impressions (organiques)",
        "Impressions (sponsorisées)",
        "Impressions (total)",
        "Impressions uniques (organiques)",
        "Clics (organiques)",
        "Clics (sponsorisés)",
        "Clics (total)",
        "Réactions (organiques)",
        "Réactions (sponsorisées)",
        "Réactions (total)",
        "Commentaires (organiques)",
        "Commentaires (sponsorisés)",
        "Commentaires (total)",
        "Republications (organiques)",
        "Republications (sponsorisées)",
        "Republications (total)",
        "Taux d'engagement (organique)",
        "Taux d'engagement (sponsorisé)",
        "Taux d'engagement (total)",
    ],
}
FOLLOWER_HEADERS = {
    "en": ["Date", "Sponsored followers", "Organic followers", "Auto-invited followers", "Total followers"],
    "fr": [
        "Date",
        "Abonnés sponsorisés",
        "Abonnés organiques",
        "Abonnés invités automatiquement",
        "Total des abonnés",
    ],
}
VISITOR_SECTIONS = {
    "en": ["Overview", "Life", "Jobs", "Total"],
    "fr": ["Présentation", "Vie", "Emplois", "Total des"],
}
SHEETS = {
    "en": {
        "posts": "All posts",
        "metrics": "Metrics",
        "followers": "New followers",
        "visitors": "Visitor metrics",
    },
    "fr": {
        "posts": "Tous les posts",
        "metrics": "Indicateurs",
        "followers": "Nouveaux abonnés",
        "visitors": "Statistiques des visiteurs",
    },
}
DEMOGRAPHICS = {
    "en": [
        ("Location", "Lyon, Auvergne-Rhône-Alpes, France"),
        ("Job function", "Education"),
        ("Seniority", "Entry"),
        ("Industry", "Libraries"),
        ("Company size", "51-200"),
    ],
    "fr": [
        ("Lieu", "Lyon, Auvergne-Rhône-Alpes, France"),
        ("Fonction", "Enseignement"),
        ("Niveau hiérarchique", "Débutant"),
        ("Secteur", "Bibliothèques"),
        ("Taille de l'entreprise", "51-200"),
    ],
}


@dataclass(frozen=True)
class LinkedInPost:
    """One post of ``All posts``: its title, when it was created, its counts."""

    title: str
    created: date
    likes: int = 0
    comments: int = 0
    reposts: int = 0
    impressions: int = 100
    activity: int | None = None
    """The number of its ``urn:li:activity:<n>`` link (derived from the title when not given)."""

    @property
    def urn(self) -> str:
        number = (
            self.activity
            if self.activity is not None
            else 7_100_000_000_000_000_000 + zlib.crc32(self.title.encode())
        )
        return f"urn:li:activity:{number}"

    @property
    def link(self) -> str:
        return f"https://www.linkedin.com/feed/update/{self.urn}"


def file_name(page: str, export: str, *, kind: str = "xls", stamp: int = 1_764_460_800_000) -> str:
    """The name LinkedIn gives a download: ``<page>_<content|followers|visitors>_<digits>.xls``."""
    return f"{page}_{export}_{stamp}.{kind}"


def content_workbook(
    posts: Sequence[LinkedInPost],
    days: Sequence[date] | None = None,
    *,
    language: str = "en",
    kind: str = "xls",
    date_cells: bool = False,
) -> bytes:
    """A content export: ``Metrics`` over ``days`` (by default the posts' first to last day) and
    ``All posts``."""
    return workbook(content_sheets(posts, days, language=language, date_cells=date_cells), kind=kind)


def followers_workbook(
    new_followers: Sequence[tuple[date, int]],
    *,
    language: str = "en",
    kind: str = "xls",
    date_cells: bool = False,
) -> bytes:
    """A followers export: ``New followers`` (the day's organic new followers, as given) and the
    demographic sheets."""
    return workbook(followers_sheets(new_followers, language=language, date_cells=date_cells), kind=kind)


def visitors_workbook(
    days: Sequence[date], *, language: str = "en", kind: str = "xls", date_cells: bool = False
) -> bytes:
    """A visitors export: ``Visitor metrics`` over ``days``."""
    return workbook(visitors_sheets(days, language=language, date_cells=date_cells), kind=kind)


def page_workbook(
    posts: Sequence[LinkedInPost],
    new_followers: Sequence[tuple[date, int]],
    days: Sequence[date] | None = None,
    *,
    language: str = "en",
    kind: str = "xls",
) -> bytes:
    """One workbook holding every export's sheets: metrics, all posts, new followers, visitor metrics."""
    sheets = content_sheets(posts, days, language=language)
    sheets.update(followers_sheets(new_followers, language=language))
    sheets.update(visitors_sheets(days or _span(posts), language=language))
    return workbook(sheets, kind=kind)


def content_sheets(
    posts: Sequence[LinkedInPost],
    days: Sequence[date] | None = None,
    *,
    language: str = "en",
    date_cells: bool = False,
) -> dict[str, Rows]:
    names = SHEETS[language]
    metrics: Rows = [list(METRICS_HEADERS[language])]
    for number, day in enumerate(days if days is not None else _span(posts)):
        counts = [120 + number, 30, 150 + number, 90, 4, 1, 5, 6, 0, 6, 1, 0, 1, 0, 0, 0]
        rates = [0.045, 0.0, 0.041]
        metrics.append([_day(day, language, date_cells), *counts, *(_rate(rate, language) for rate in rates)])
    listed: Rows = [[POST_NOTE[language]], list(POST_HEADERS[language])]
    for post in posts:
        listed.append(
            [
                post.title,
                post.link,
                "Organic",
                "",
                "City Library",
                _day(post.created, language, date_cells),
                "",
                "",
                "All followers",
                _count(post.impressions, language),
                "",
                "",
                3,
                _rate(0.03, language),
                _count(post.likes, language),
                _count(post.comments, language),
                _count(post.reposts, language),
                0,
                _rate(0.05, language),
                "Text",
            ]
        )
    return {names["metrics"]: metrics, names["posts"]: listed}


def followers_sheets(
    new_followers: Sequence[tuple[date, int]], *, language: str = "en", date_cells: bool = False
) -> dict[str, Rows]:
    rows: Rows = [list(FOLLOWER_HEADERS[language])]
    for day, organic in new_followers:
        rows.append([_day(day, language, date_cells), 0, organic, 0, organic])
    sheets = {SHEETS[language]["followers"]: rows}
    total = "Total followers" if language == "en" else "Total des abonnés"
    for sheet, bucket in DEMOGRAPHICS[language]:
        sheets[sheet] = [[sheet, total], [bucket, 40]]
    return sheets


def visitors_sheets(
    days: Sequence[date], *, language: str = "en", date_cells: bool = False
) -> dict[str, Rows]:
    header: list[Any] = ["Date"]
    for section in VISITOR_SECTIONS[language]:
        for measure in (
            ("page views", "unique visitors") if language == "en" else ("vues de page", "visiteurs uniques")
        ):
            for device in ("desktop", "mobile", "total"):
                header.append(f"{section} {measure} ({device})")
    rows: Rows = [header]
    for day in days:
        rows.append([_day(day, language, date_cells), *([1] * (len(header) - 1))])
    return {SHEETS[language]["visitors"]: rows}


def workbook(sheets: dict[str, Rows], *, kind: str = "xls") -> bytes:
    """The sheets as an .xls (xlwt) or .xlsx (openpyxl) workbook; a ``date`` value is a date cell."""
    if kind == "xls":
        import xlwt

        book = xlwt.Workbook(encoding="utf-8")
        dated = xlwt.easyxf(num_format_str="mm/dd/yyyy")
        for name, rows in sheets.items():
            sheet = book.add_sheet(name[:31])
            for row_number, row in enumerate(rows):
                for column, value in enumerate(row):
                    if isinstance(value, date):
                        sheet.write(row_number, column, value, dated)
                    elif value != "":
                        sheet.write(row_number, column, value)
        stream = io.BytesIO()
        book.save(stream)
        return stream.getvalue()
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name[:31])
        for row in rows:
            sheet.append([None if value == "" else value for value in row])
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def _span(posts: Sequence[LinkedInPost]) -> list[date]:
    if not posts:
        return []
    first = min(_as_date(post.created) for post in posts)
    last = max(_as_date(post.created) for post in posts)
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _day(day: date, language: str, date_cells: bool) -> date | str:
    """A date as LinkedIn writes it (text, m/d/Y in English, d/m/Y in French), or a date cell."""
    if date_cells:
        return day
    return day.strftime("%d/%m/%Y") if language == "fr" else day.strftime("%m/%d/%Y")


def _count(value: int, language: str) -> int | str:
    """A count, with the French thousands separator (a narrow no-break space) as text above 999."""
    if language == "fr" and value >= 1000:
        return f"{value:,}".replace(",", "\u202f")
    return value


def _rate(value: float, language: str) -> str:
    percent = f"{value * 100:.1f}"
    return f"{percent.replace('.', ',')}\u00a0%" if language == "fr" else f"{percent}%"
