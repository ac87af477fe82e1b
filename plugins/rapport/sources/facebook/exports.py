"""A Facebook Page's Meta Business Suite exports: the posts export and the Page's daily export.

The readers and detectors named by ``PLATFORM.exports``; the reading itself, shared with
Instagram's exports, is :mod:`rapport.sources.exports.business_suite`'s. README.md ("Read from
Meta Business Suite exports") says how to download the files and what each feeds.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from rapport.sources.exports import ExportRows
from rapport.sources.exports.business_suite import (
    DailyLayout,
    PostsLayout,
    looks_like_daily,
    looks_like_posts,
    read_daily,
    read_posts,
)
from rapport.sources.facebook.settings import PAGE_EXPORT, POSTS_EXPORT

POSTS: Final = PostsLayout(
    format=POSTS_EXPORT,
    columns={
        "post_id": ["Post ID", "Identifiant de la publication", "ID de la publication"],
        "owner_id": ["Page ID", "Identifiant de la Page", "ID de la Page"],
        "owner_name": ["Page name", "Nom de la Page"],
        "title": ["Title", "Titre"],
        "description": ["Description"],
        "publish_time": ["Publish time", "Heure de publication"],
        "permalink": ["Permalink", "Permalien"],
        "post_type": ["Post type", "Type de publication"],
        "likes": ["Reactions", "Réactions"],
        "comments": ["Comments", "Commentaires"],
        "shares": ["Shares", "Partages"],
    },
    owner="Page",
    media_types=("Photos", "Photo", "Videos", "Video", "Vidéos", "Vidéo", "Reels", "Reel"),
)
"""The columns read of a Facebook posts export, in English and French (others are passed over)."""

PAGE: Final = DailyLayout(format=PAGE_EXPORT, brand="Facebook", other_brands=("Instagram",))


def read_posts_export(file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Reads a posts export (:data:`rapport.sources.exports.Reader`): the Page's posts with their
    reactions, comments and shares, the Page's id and name, the days the file covers. Its dates
    hold their years: ``reference_date`` places none."""
    del reference_date
    return read_posts(POSTS, file_name, data)


def is_posts_export(file_name: str, data: bytes) -> bool:
    """Whether a file is a Facebook posts export: a header naming ``Post ID``, ``Publish time`` and
    ``Page ID`` (or their French), which an Instagram posts export has not (``Account ID``)."""
    return looks_like_posts(POSTS, file_name, data)


def read_page_export(file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Reads a Page's daily export (:data:`rapport.sources.exports.Reader`): the days it covers,
    and the followers of each when the file is a total (``Facebook follows`` is not: noted)."""
    del reference_date
    return read_daily(PAGE, file_name, data)


def is_page_export(file_name: str, data: bytes) -> bool:
    """Whether a file is a Page's daily export (``sep=,``, the metric, ``"Date","Primary"``), not an
    Instagram account's."""
    return looks_like_daily(PAGE, file_name, data)
