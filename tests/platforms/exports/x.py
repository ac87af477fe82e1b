"""X analytics exports in their real shapes, written from a small list of posts (English or French).

``tweet_activity_csv`` writes the tweet activity export (``tweet_activity_metrics_<handle>_<from>_<to>_<lang>.csv``:
its counts as ``12.0``, its ``promoted ...`` columns as ``-``), ``content_csv`` the account analytics
content export (``Date`` as ``Fri, Nov 27, 2026``), ``overview_csv`` the account overview export (one
row per day, newest first). Each returns ``(file name, bytes)``, ready to drop in an inbox.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

SNOWFLAKE_EPOCH_MS = 1288834974657

TWEET_ACTIVITY_HEADERS = {
    "en": [
        "Tweet id",
        "Tweet permalink",
        "Tweet text",
        "time",
        "impressions",
        "engagements",
        "engagement rate",
        "retweets",
        "replies",
        "likes",
        "user profile clicks",
        "url clicks",
        "hashtag clicks",
        "detail expands",
        "permalink clicks",
        "app opens",
        "app installs",
        "follows",
        "email tweet",
        "dial phone",
        "media views",
        "media engagements",
        "promoted impressions",
        "promoted engagements",
        "promoted engagement rate",
        "promoted retweets",
        "promoted replies",
        "promoted likes",
    ],
    "fr": [
        "Identifiant du Tweet",
        "Permalien du Tweet",
        "Texte du Tweet",
        "heure",
        "impressions",
        "engagements",
        "taux d'engagement",
        "Retweets",
        "réponses",
        "J'aime",
        "clics sur le profil utilisateur",
        "clics sur l'URL",
        "clics sur le hashtag",
        "ouvertures des détails",
        "clics sur le permalien",
        "ouvertures d'application",
        "installations d'application",
        "abonnements",
        "envoyer le Tweet par e-mail",
        "composer le numéro de téléphone",
        "vues du média",
        "engagements avec le média",
        "impressions sponsorisées",
        "engagements sponsorisés",
        "taux d'engagement sponsorisé",
        "Retweets sponsorisés",
        "réponses sponsorisées",
        "J'aime sponsorisés",
    ],
}
CONTENT_HEADERS = {
    "en": [
        "Post id",
        "Date",
        "Post text",
        "Post Link",
        "Impressions",
        "Likes",
        "Engagements",
        "Bookmarks",
        "Shares",
        "New follows",
        "Replies",
        "Reposts",
        "Profile visits",
        "Detail Expands",
        "URL Clicks",
        "Hashtag Clicks",
        "Permalink Clicks",
    ],
    "fr": [
        "Identifiant du post",
        "Date",
        "Texte du post",
        "Lien du post",
        "Impressions",
        "J'aime",
        "Engagements",
        "Signets",
        "Partages",
        "Nouveaux abonnements",
        "Réponses",
        "Reposts",
        "Visites du profil",
        "Ouvertures des détails",
        "Clics sur l'URL",
        "Clics sur le hashtag",
        "Clics sur le permalien",
    ],
}
OVERVIEW_HEADERS = {
    "en": [
        "Date",
        "Impressions",
        "Likes",
        "Engagements",
        "Bookmarks",
        "Shares",
        "New follows",
        "Unfollows",
        "Replies",
        "Reposts",
        "Profile visits",
        "Create Post",
        "Video views",
        "Media views",
    ],
    "fr": [
        "Date",
        "Impressions",
        "J'aime",
        "Engagements",
        "Signets",
        "Partages",
        "Nouveaux abonnements",
        "Désabonnements",
        "Réponses",
        "Reposts",
        "Visites du profil",
        "Créer un post",
        "Vues des vidéos",
        "Vues des médias",
    ],
}
_WEEKDAYS_FR = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
_MONTHS_FR = [
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
]


@dataclass(frozen=True)
class XPost:
    """One post of the account: what the exports show of it."""

    text: str
    published: datetime
    """Naive UTC."""
    likes: int = 0
    replies: int = 0
    reposts: int = 0
    impressions: int = 100
    post_id: str | None = None
    """Its id; by default the snowflake of ``published``."""

    def id(self, index: int = 0) -> str:
        return self.post_id or snowflake(self.published, index)


def snowflake(moment: datetime, sequence: int = 0) -> str:
    """The id X gives a post published at ``moment`` (naive UTC)."""
    milliseconds = int((moment - datetime(1970, 1, 1)).total_seconds() * 1000) - SNOWFLAKE_EPOCH_MS
    return str((milliseconds << 22) | (sequence & 0xFFF))


def _csv(rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def tweet_activity_csv(
    handle: str, posts: Sequence[XPost], since: date, until: date, language: str = "en"
) -> tuple[str, bytes]:
    """The tweet activity export of ``handle`` for ``since`` .. ``until`` (both included): X names
    it with the day after ``until``, lists posts newest first, writes counts as ``12.0``."""
    name = f"tweet_activity_metrics_{handle}_{since:%Y%m%d}_{until + timedelta(days=1):%Y%m%d}_{language}.csv"
    rows: list[list[object]] = [TWEET_ACTIVITY_HEADERS[language]]
    ordered = sorted(enumerate(posts), key=lambda item: item[1].published, reverse=True)
    for index, post in ordered:
        engagements = post.likes + post.replies + post.reposts
        post_id = post.id(index)
        rows.append(
            [
                post_id,
                f"https://twitter.com/{handle}/status/{post_id}",
                post.text,
                f"{post.published:%Y-%m-%d %H:%M} +0000",
                f"{post.impressions}.0",
                f"{engagements}.0",
                repr(engagements / post.impressions) if post.impressions else "0.0",
                f"{post.reposts}.0",
                f"{post.replies}.0",
                f"{post.likes}.0",
                *["0.0"] * 12,
                *["-"] * 6,
            ]
        )
    return name, _csv(rows)


def _content_date(day: date, language: str) -> str:
    if language == "fr":
        return f"{_WEEKDAYS_FR[day.weekday()]} {day.day} {_MONTHS_FR[day.month - 1]} {day.year}"
    return f"{day:%a}, {day:%b} {day.day}, {day.year}"


def content_csv(
    handle: str, posts: Sequence[XPost], since: date, until: date, language: str = "en"
) -> tuple[str, bytes]:
    """The account analytics content export of ``handle`` for ``since`` .. ``until``: posts newest
    first, each with its day only (``Fri, Nov 27, 2026``)."""
    name = f"account_analytics_content_{since:%Y-%m-%d}_{until:%Y-%m-%d}.csv"
    rows: list[list[object]] = [CONTENT_HEADERS[language]]
    ordered = sorted(enumerate(posts), key=lambda item: item[1].published, reverse=True)
    for index, post in ordered:
        post_id = post.id(index)
        rows.append(
            [
                post_id,
                _content_date(post.published.date(), language),
                post.text,
                f"https://x.com/{handle}/status/{post_id}",
                post.impressions,
                post.likes,
                post.likes + post.replies + post.reposts,
                0,
                0,
                0,
                post.replies,
                post.reposts,
                0,
                0,
                0,
                0,
                0,
            ]
        )
    return name, _csv(rows)


def overview_csv(days: Sequence[tuple[date, int, int]], language: str = "en") -> tuple[str, bytes]:
    """The account overview export: ``(day, new follows, unfollows)`` per day, newest first."""
    rows: list[list[object]] = [OVERVIEW_HEADERS[language]]
    for day, follows, unfollows in sorted(days, reverse=True):
        rows.append([_content_date(day, language), 100, 3, 5, 0, 0, follows, unfollows, 1, 1, 2, 1, 0, 0])
    return "account_overview_analytics.csv", _csv(rows)
