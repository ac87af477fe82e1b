"""Meta Business Suite export files, written from small descriptions in their real shapes.

- :func:`facebook_posts_csv`, :func:`instagram_posts_csv`: the posts (content) export of
  Insights > Content > Export data: CSV, UTF-8 with a BOM, one row per post with Meta's whole column
  set (English or French headers; French numbers with narrow no-break spaces and day-first dates),
  ``Date`` holding ``Lifetime`` (the totals are lifetime ones).
- :func:`daily_csv`: a Page's or an account's daily export of one metric (the Insights overview):
  UTF-16 LE with a BOM, a ``sep=,`` first line, the metric's name alone, ``"Date","Primary"``, one
  row a day as ``"2025-08-01T00:00:00","20"``, every cell quoted, CRLF line ends.
- :func:`posts_file_name`: the name Meta gives a posts export (``Aug-01-2025_Aug-31-2025_<n>.csv``).

The column sets are those Meta writes (Meta Business Help Center, "Export insights data", and
exported files described in public repositories); the French headers follow Meta's French interface.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

Language = Literal["en", "fr"]

FACEBOOK_POST_COLUMNS = {
    "en": [
        "Post ID",
        "Page ID",
        "Page name",
        "Title",
        "Description",
        "Duration (sec)",
        "Publish time",
        "Caption type",
        "Permalink",
        "Is crosspost",
        "Is share",
        "Post type",
        "Languages",
        "Custom labels",
        "Funded content status",
        "Data comment",
        "Date",
        "Views",
        "Reach",
        "Reactions, comments and shares",
        "Reactions",
        "Comments",
        "Shares",
        "Total clicks",
        "Link clicks",
        "Other clicks",
        "Seconds viewed",
        "Average Seconds viewed",
    ],
    "fr": [
        "Identifiant de la publication",
        "Identifiant de la Page",
        "Nom de la Page",
        "Titre",
        "Description",
        "Durée (s)",
        "Heure de publication",
        "Type de sous-titres",
        "Permalien",
        "Est une publication croisée",
        "Est un partage",
        "Type de publication",
        "Langues",
        "Libellés personnalisés",
        "Statut du contenu financé",
        "Commentaire sur les données",
        "Date",
        "Vues",
        "Couverture",
        "Réactions, commentaires et partages",
        "Réactions",
        "Commentaires",
        "Partages",
        "Total des clics",
        "Clics sur un lien",
        "Autres clics",
        "Secondes visionnées",
        "Nombre moyen de secondes visionnées",
    ],
}
INSTAGRAM_POST_COLUMNS = {
    "en": [
        "Post ID",
        "Account ID",
        "Account username",
        "Account name",
        "Description",
        "Duration (sec)",
        "Publish time",
        "Permalink",
        "Post type",
        "Data comment",
        "Date",
        "Views",
        "Reach",
        "Likes",
        "Shares",
        "Follows",
        "Comments",
        "Saves",
    ],
    "fr": [
        "Identifiant de la publication",
        "Identifiant du compte",
        "Nom d'utilisateur du compte",
        "Nom du compte",
        "Description",
        "Durée (s)",
        "Heure de publication",
        "Permalien",
        "Type de publication",
        "Commentaire sur les données",
        "Date",
        "Vues",
        "Couverture",
        "J'aime",
        "Partages",
        "Abonnements",
        "Commentaires",
        "Enregistrements",
    ],
}
LIFETIME = {"en": "Lifetime", "fr": "Durée de vie"}


@dataclass
class MetaPost:
    """One post of an export; ``None`` leaves a cell empty."""

    post_id: str | None
    published: datetime | None
    text: str = ""
    """The Title of a Facebook post, the Description (caption) of an Instagram one."""
    description: str = ""
    """A Facebook post's Description (a link's or video's)."""
    post_type: str = "Photos"
    likes: int | None = 0
    """Reactions (Facebook) or Likes (Instagram)."""
    comments: int | None = 0
    shares: int | None = 0
    views: int = 100
    reach: int = 80
    permalink: str | None = None
    owner_id: str | None = None
    """Another owner than the file's (a file of two Pages)."""
    extra: dict[str, str] = field(default_factory=dict)
    """Cells written as they are, by English header (``{"Publish time": "soon"}``)."""


def facebook_posts_csv(
    posts: Sequence[MetaPost],
    *,
    page_id: str = "104857392018273",
    page_name: str = "City Library",
    language: Language = "en",
    bom: bool = True,
    drop: Sequence[str] = (),
) -> bytes:
    """A Facebook posts export (``drop``: English headers of columns to leave out)."""
    rows = []
    for post in posts:
        cells = {
            "Post ID": post.post_id or "",
            "Page ID": post.owner_id or page_id,
            "Page name": page_name,
            "Title": post.text,
            "Description": post.description,
            "Duration (sec)": "" if "Video" not in post.post_type else "42",
            "Publish time": _published(post.published, language),
            "Caption type": "",
            "Permalink": post.permalink or f"https://www.facebook.com/{page_id}/posts/{post.post_id}",
            "Is crosspost": "No" if language == "en" else "Non",
            "Is share": "No" if language == "en" else "Non",
            "Post type": post.post_type,
            "Languages": "",
            "Custom labels": "",
            "Funded content status": "",
            "Data comment": "",
            "Date": LIFETIME[language],
            "Views": _count(post.views, language),
            "Reach": _count(post.reach, language),
            "Reactions, comments and shares": _count(
                sum(value or 0 for value in (post.likes, post.comments, post.shares)), language
            ),
            "Reactions": _count(post.likes, language),
            "Comments": _count(post.comments, language),
            "Shares": _count(post.shares, language),
            "Total clicks": "3",
            "Link clicks": "1",
            "Other clicks": "2",
            "Seconds viewed": "",
            "Average Seconds viewed": "",
        }
        rows.append({**cells, **post.extra})
    return _posts_csv(FACEBOOK_POST_COLUMNS, rows, language, bom, drop)


def instagram_posts_csv(
    posts: Sequence[MetaPost],
    *,
    account_id: str = "17841400000000001",
    username: str = "citylibrary",
    account_name: str = "City Library",
    language: Language = "en",
    bom: bool = True,
    drop: Sequence[str] = (),
) -> bytes:
    """An Instagram posts export (``drop``: English headers of columns to leave out)."""
    rows = []
    for post in posts:
        cells = {
            "Post ID": post.post_id or "",
            "Account ID": post.owner_id or account_id,
            "Account username": username,
            "Account name": account_name,
            "Description": post.text,
            "Duration (sec)": "",
            "Publish time": _published(post.published, language),
            "Permalink": post.permalink or f"https://www.instagram.com/p/{post.post_id}/",
            "Post type": post.post_type,
            "Data comment": "",
            "Date": LIFETIME[language],
            "Views": _count(post.views, language),
            "Reach": _count(post.reach, language),
            "Likes": _count(post.likes, language),
            "Shares": _count(post.shares, language),
            "Follows": "0",
            "Comments": _count(post.comments, language),
            "Saves": "1",
        }
        rows.append({**cells, **post.extra})
    return _posts_csv(INSTAGRAM_POST_COLUMNS, rows, language, bom, drop)


def _posts_csv(
    columns: Mapping[str, list[str]],
    rows: Sequence[Mapping[str, str]],
    language: Language,
    bom: bool,
    drop: Sequence[str],
) -> bytes:
    kept = [index for index, name in enumerate(columns["en"]) if name not in drop]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([columns[language][index] for index in kept])
    for row in rows:
        writer.writerow([row[columns["en"][index]] for index in kept])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def _published(moment: datetime | None, language: Language) -> str:
    if moment is None:
        return ""
    return moment.strftime("%m/%d/%Y %H:%M" if language == "en" else "%d/%m/%Y %H:%M")


def _count(value: int | None, language: Language) -> str:
    if value is None:
        return ""
    written = f"{value:,}"
    return written.replace(",", "\u202f") if language == "fr" else written


def daily_csv(metric: str, days: Sequence[tuple[date, int | None]], *, header: str = "Primary") -> bytes:
    """A daily export of ``metric`` (``Facebook follows``, ``Instagram followers``...): UTF-16 LE
    with a BOM, ``sep=,``, the metric's line, ``"Date","<header>"``, one row a day."""
    lines = ["sep=,", f'"{metric}"', f'"Date","{header}"']
    lines += [f'"{day.isoformat()}T00:00:00","{"" if value is None else value}"' for day, value in days]
    return b"\xff\xfe" + "\r\n".join(lines).encode("utf-16-le")


def posts_file_name(first: date, last: date, number: str = "1039829308656930") -> str:
    """The name Meta gives a posts export of ``first`` to ``last``."""
    return f"{first.strftime('%b-%d-%Y')}_{last.strftime('%b-%d-%Y')}_{number}.csv"
