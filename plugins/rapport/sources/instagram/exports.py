"""An Instagram account's Meta Business Suite exports: the posts export and the account's daily export.

The readers and detectors named by ``PLATFORM.exports``; the reading itself, shared with
Facebook's exports, is :mod:`rapport.sources.exports.business_suite`'s. README.md ("Read from
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
from rapport.sources.instagram.settings import ACCOUNT_EXPORT, POSTS_EXPORT

POSTS: Final = PostsLayout(
    format=POSTS_EXPORT,
    columns={
        "post_id": ["Post ID", "Identifiant de la publication", "ID de la publication"],
        "owner_id": ["Account ID", "Identifiant du compte", "ID du compte"],
        "owner_handle": ["Account username", "Nom d'utilisateur du compte"],
        "owner_name": ["Account name", "Nom du compte"],
        "title": ["Title", "Titre"],
        "description": ["Description"],
        "publish_time": ["Publish time", "Heure de publication"],
        "permalink": ["Permalink", "Permalien"],
        "post_type": ["Post type", "Type de publication"],
        "likes": ["Likes", "J'aime", "Mentions J'aime"],
        "comments": ["Comments", "Commentaires"],
        "shares": ["Shares", "Partages"],
    },
    owner="account",
    media_types=("IG image", "IG video", "IG reel", "Image IG", "Vidéo IG", "Reel IG"),
    mentions_in_text=True,
)
"""The columns read of an Instagram posts export, in English and French (others are passed over)."""

ACCOUNT: Final = DailyLayout(format=ACCOUNT_EXPORT, brand="Instagram", other_brands=("Facebook",))


def read_posts_export(file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Reads a posts export (:data:`rapport.sources.exports.Reader`): the account's media with their
    likes, comments and shares, the account's id, username and name, the days the file covers. Its
    dates hold their years: ``reference_date`` places none."""
    del reference_date
    return read_posts(POSTS, file_name, data)


def is_posts_export(file_name: str, data: bytes) -> bool:
    """Whether a file is an Instagram posts export: a header naming ``Post ID``, ``Publish time`` and
    ``Account ID`` (or their French), which a Facebook posts export has not (``Page ID``)."""
    return looks_like_posts(POSTS, file_name, data)


def read_account_export(file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Reads an account's daily export (:data:`rapport.sources.exports.Reader`): the days it covers,
    and the followers of each when the file is a total (``Instagram follows`` is not: noted)."""
    del reference_date
    return read_daily(ACCOUNT, file_name, data)


def is_account_export(file_name: str, data: bytes) -> bool:
    """Whether a file is an account's daily export (``sep=,``, the metric, ``"Date","Primary"``),
    not a Facebook Page's."""
    return looks_like_daily(ACCOUNT, file_name, data)
