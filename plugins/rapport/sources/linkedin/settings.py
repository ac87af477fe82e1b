"""Constants of the LinkedIn source: the Page analytics exports' sheets, columns and file names.

LinkedIn Page admins download three exports from the Page's Analytics
(Content, Followers, Visitors > Export): legacy .xls workbooks named
``<page>_content_<digits>.xls``, ``<page>_followers_<digits>.xls`` and
``<page>_visitors_<digits>.xls``. Headers are listed in English first (the
name an error gives), then in French; they are compared by
:func:`rapport.sources.exports.parsing.header_key` (case, accents and
punctuation aside).
"""

from __future__ import annotations

import re
from typing import Final

from rapport.sources.contract import COMPONENTS, Feed

NAME: Final = "linkedin"

CONTENT: Final = "linkedin_content"
FOLLOWERS: Final = "linkedin_followers"
VISITORS: Final = "linkedin_visitors"

POSTS: Final = "posts"
METRICS: Final = "metrics"
NEW_FOLLOWERS: Final = "new_followers"
VISITOR_METRICS: Final = "visitor_metrics"

SHEET_NAMES: Final = {
    POSTS: ("All posts", "Tous les posts", "Toutes les publications"),
    METRICS: ("Metrics", "Indicateurs", "Statistiques"),
    NEW_FOLLOWERS: ("New followers", "Nouveaux abonnés"),
    VISITOR_METRICS: ("Visitor metrics", "Statistiques des visiteurs", "Indicateurs des visiteurs"),
}
"""The sheets a workbook is read from, by role. A sheet of another name is still read when its
header row is one of these roles' (a workbook saved again, sheets renamed); the demographic sheets
(Location, Job function, Seniority, Industry, Company size) are not read."""

FORMAT_OF_ROLE: Final = {
    POSTS: CONTENT,
    METRICS: CONTENT,
    NEW_FOLLOWERS: FOLLOWERS,
    VISITOR_METRICS: VISITORS,
}
FORMAT_ORDER: Final = (CONTENT, FOLLOWERS, VISITORS)
"""A workbook holding the sheets of several exports is of the first of these it holds."""

POST_COLUMNS: Final = {
    "title": ("Post title", "Titre du post", "Titre de la publication", "Update title"),
    "link": ("Post link", "Lien du post", "Lien de la publication", "Update link"),
    "created": ("Created date", "Date de création", "Date de creation"),
    "likes": ("Likes", "Reactions", "Réactions", "J'aime"),
    "comments": ("Comments", "Commentaires"),
    "reposts": ("Reposts", "Shares", "Republications", "Partages"),
}
POST_REQUIRED: Final = ("title", "link", "created", "likes", "comments", "reposts")

METRICS_COLUMNS: Final = {
    "date": ("Date",),
    "impressions": (
        "Impressions (total)",
        "Impressions (organic)",
        "Impressions",
        "Impressions (organiques)",
        "Impressions (naturelles)",
    ),
}
FOLLOWER_COLUMNS: Final = {
    "date": ("Date",),
    "total": ("Total followers", "Total des abonnés", "Total abonnés", "Nouveaux abonnés"),
    "organic": ("Organic followers", "Abonnés organiques", "Abonnés naturels"),
    "sponsored": ("Sponsored followers", "Abonnés sponsorisés"),
    "auto_invited": ("Auto-invited followers", "Abonnés invités automatiquement"),
}
VISITOR_COLUMNS: Final = {
    "date": ("Date",),
    "page_views": (
        "Total page views (total)",
        "Total page views",
        "Page views (total)",
        "Total des vues de page (total)",
        "Vues de la page (total)",
    ),
}
COLUMNS: Final = {
    POSTS: (POST_COLUMNS, POST_REQUIRED),
    METRICS: (METRICS_COLUMNS, ("date", "impressions")),
    NEW_FOLLOWERS: (FOLLOWER_COLUMNS, ("date", "total")),
    VISITOR_METRICS: (VISITOR_COLUMNS, ("date", "page_views")),
}

FRENCH_HEADERS: Final = frozenset(
    {
        "Titre du post",
        "Titre de la publication",
        "Lien du post",
        "Lien de la publication",
        "Date de création",
        "Réactions",
        "J'aime",
        "Commentaires",
        "Republications",
        "Partages",
        "Total des abonnés",
        "Total abonnés",
        "Nouveaux abonnés",
        "Abonnés organiques",
        "Abonnés sponsorisés",
        "Impressions (organiques)",
        "Total des vues de page (total)",
    }
)
"""Headers only a French export writes: their dates are read day first (30/11/2026)."""

FILE_NAME: Final = re.compile(
    r"(?P<page>.+?)_(?P<export>content|updates|followers|visitors)_\d+(?:\s*\(\d+\))?\.xlsx?",
    re.IGNORECASE,
)
"""The name LinkedIn gives a download (``city-library_content_1732965600000.xls``; a browser adds
`` (1)`` to a second copy). ``updates`` is the content export's older name."""
FORMAT_OF_EXPORT: Final = {
    "content": CONTENT,
    "updates": CONTENT,
    "followers": FOLLOWERS,
    "visitors": VISITORS,
}

PAGE_NAME: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?", re.ASCII | re.IGNORECASE)
"""A Page's public name in linkedin.com/company/<name>, or its numeric id."""

POST_URN: Final = re.compile(r"urn:li:[A-Za-z]+:\d+")
"""A post's id in its link: ``.../feed/update/urn:li:activity:7123456789012345678``."""

MAX_UNZIPPED_BYTES: Final = 200 * 1024 * 1024
"""An .xlsx whose parts would inflate beyond this is refused before it is opened (a zip bomb)."""

# What the formats feed (the contract's ExportFormat.feeds)

NO_THREADS: Final = "the export counts comments but holds none of them"
POSTS_FED: Final = "'All posts': one row per post with its 'Created date'"
TEXT_FED: Final = "'Post title': the post's opening text as LinkedIn lists it (not always the whole post)"
NO_FOLLOWERS: Final = (
    "'New followers' gives the day's new followers (sponsored, organic, auto-invited), "
    "not the Page's follower count: a daily gain is not a total"
)


def feeds(fed: dict[str, str], missing: str) -> tuple[Feed, ...]:
    """One feed per component: those of ``fed`` with how, the others not fed (``missing`` says why
    unless a reason of its own applies)."""
    reasons = {
        "answered_question_share": NO_THREADS,
        "response_time": NO_THREADS,
        "dialogue_share": "the export lists no replies of the Page to others",
        "directed_at_others_share": "LinkedIn's post titles keep no @handles",
        "accessibility_share": "no export gives alt text",
        "followers": NO_FOLLOWERS,
    }
    return tuple(
        Feed(component, True, fed[component])
        if component in fed
        else Feed(component, False, reasons.get(component, missing))
        for component in COMPONENTS
    )
