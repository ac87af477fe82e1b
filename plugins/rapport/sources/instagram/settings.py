"""Constants of the Instagram source: where the Graph API lives, what it is asked, what a night may spend.

Shapes and fields are those of the Instagram Graph API reference, as "Instagram API with
Facebook Login" uses it (developers.facebook.com/docs/instagram-platform: IG User, IG Media,
IG Comment, IG Comment replies): the host is Facebook's Graph host, the token is the
organization's Page access token, and the Instagram professional account is the one linked
to that Page. Every value an operator may change is read from the environment when an
extraction starts, never at import; a malformed one raises ``SettingsError`` naming the variable.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import Field

from rapport.settings import read_setting

NAME: Final = "instagram"

DEFAULT_BASE_URL: Final = "https://graph.facebook.com"
"""Instagram's Graph API with Facebook Login lives on Facebook's Graph host (``graph.instagram.com``
is the host of "Instagram API with Instagram Login", which Rapport does not use). Without the
version, which :func:`rapport.sources.graph.base_url` adds (``RAPPORT_GRAPH_BASE_URL`` overrides the host)."""

TOKEN_VARIABLE: Final = "RAPPORT_META_TOKEN_<ORGANIZATION>"
"""The environment variable of an organization's Page access token, its id in capitals with
``_`` for ``-`` (``RAPPORT_META_TOKEN_CITY_LIBRARY``): one token serves its Facebook Page and
the Instagram account linked to it."""
CONNECTION_ID: Final = "rapport_meta_<organization>"
"""The Airflow Connection (its password) read when the variable is unset: ``rapport_meta_city_library``.
Both names are :mod:`rapport.sources.graph`'s (``token_variable``, ``token_connection``)."""

# Endpoint names of landed pages. The node a call is about (``/{ig-media-id}/comments``) is in
# its path, not its query: extraction lands it in the page's parameters under ``id``
# (rapport.sources.graph.NODE_PARAM).
ME_ENDPOINT: Final = "me"
USER_ENDPOINT: Final = "user"
MEDIA_ENDPOINT: Final = "media"
COMMENTS_ENDPOINT: Final = "comments"
REPLIES_ENDPOINT: Final = "replies"
TAGS_ENDPOINT: Final = "tags"
"""``/{ig-user-id}/tags``: the media of others the account is tagged in."""
ENDPOINTS: Final = (
    ME_ENDPOINT,
    USER_ENDPOINT,
    MEDIA_ENDPOINT,
    TAGS_ENDPOINT,
    COMMENTS_ENDPOINT,
    REPLIES_ENDPOINT,
)

ME_FIELDS: Final = "instagram_business_account{id,username}"
"""``GET /me``: the Page the token belongs to, and the Instagram professional account linked to it."""
USER_FIELDS: Final = "id,username,name,followers_count,follows_count,media_count"
MEDIA_FIELDS: Final = (
    "id,caption,media_type,media_product_type,timestamp,like_count,comments_count,permalink,"
    "children{media_type}"
)
TAGS_FIELDS: Final = "id,caption,timestamp,username,permalink"
"""A tagging media's owner is its ``username`` (``owner`` is shown to the media's owner only)."""
TAGS_PERMISSION: Final = "instagram_manage_comments"
"""What ``/tags`` needs beside ``instagram_basic`` and ``pages_read_engagement``; without it the edge is
passed over (its error page landed), not the account."""
COMMENT_FIELDS: Final = "id,text,username,timestamp,from,like_count"
COMMENTS_FIELDS: Final = f"{COMMENT_FIELDS},replies{{{COMMENT_FIELDS}}}"
"""A comment with the first page of its replies (field expansion); more with ``/{comment-id}/replies``."""

MEDIA_PAGE_SIZE: Final = 50
COMMENTS_PAGE_SIZE: Final = 50
REPLIES_PAGE_SIZE: Final = 50
TAGS_PAGE_SIZE: Final = 50
"""``limit`` of each edge: the Graph API's usual cap of a page (cursor-based pagination)."""

CAROUSEL: Final = "CAROUSEL_ALBUM"

THREAD_BUDGET_VARIABLE: Final = "RAPPORT_INSTAGRAM_THREAD_BUDGET"
DEFAULT_THREAD_BUDGET: Final = 40
"""Media whose comments are read per account per night, at most (as the other platforms)."""
MAX_THREAD_BUDGET: Final = 10_000

USERNAME: Final = re.compile(r"(?!.*\.\.)(?!\.)[a-z0-9_.]{1,30}(?<!\.)", re.ASCII | re.IGNORECASE)
"""An Instagram username: 1 to 30 letters, digits, ``_`` or ``.``, no ``.`` first, last or twice in a row."""


def read_thread_budget() -> int:
    """``RAPPORT_INSTAGRAM_THREAD_BUDGET``, or :data:`DEFAULT_THREAD_BUDGET` when unset.

    Raises ``SettingsError`` naming the variable and its value when it is not a whole number
    from 0 to :data:`MAX_THREAD_BUDGET`.
    """
    return read_setting(
        THREAD_BUDGET_VARIABLE,
        Annotated[int, Field(ge=0, le=MAX_THREAD_BUDGET)],
        DEFAULT_THREAD_BUDGET,
        f"a whole number of media from 0 to {MAX_THREAD_BUDGET}",
    )


# Meta Business Suite's exports (an account with an inbox is read from them: see exports.py).
POSTS_EXPORT: Final = "instagram_posts"
"""The posts (content) export: one row per post."""
ACCOUNT_EXPORT: Final = "instagram_account_insights"
"""The account's daily export of one metric (its follows, or followers)."""
