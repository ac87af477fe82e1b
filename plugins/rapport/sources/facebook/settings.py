"""Constants of the Facebook Pages source: where the Graph API lives, what it is asked, what a night may read.

Shapes and fields are those of the Graph API reference (developers.facebook.com/docs/graph-api:
Page, Page Published Posts, Post, Object Comments, Paginated Results). The token, the version
and the usage are :mod:`rapport.sources.graph`'s. Every value an operator may change is read
when an extraction starts, never at import; a malformed one raises ``SettingsError`` naming it.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

from rapport.settings import read_setting

NAME: Final = "facebook"

DEFAULT_BASE_URL: Final = "https://graph.facebook.com"
"""Without the version, which :func:`rapport.sources.graph.base_url` adds."""

THREAD_BUDGET_VARIABLE: Final = "RAPPORT_FACEBOOK_THREAD_BUDGET"
DEFAULT_THREAD_BUDGET: Final = 40
"""Posts whose comments are read per Page per night, at most (as the other platforms')."""
MAX_THREAD_BUDGET: Final = 10_000

# Landed pages are named by the node or edge read; the node's id (in the path on Graph) is landed
# among the page's parameters as ``id``, so that normalize knows which post a comments page is of.
PAGE_ENDPOINT: Final = "page"
POSTS_ENDPOINT: Final = "published_posts"
COMMENTS_ENDPOINT: Final = "comments"
TAGGED_ENDPOINT: Final = "tagged"
"""``/{page-id}/tagged``: the public posts the Page is tagged in (``visitor_posts`` is not read: the
reference says it does not serve Pages of the New Pages Experience, every Page since 2023)."""
ENDPOINTS: Final = (PAGE_ENDPOINT, POSTS_ENDPOINT, TAGGED_ENDPOINT, COMMENTS_ENDPOINT)

PAGE_FIELDS: Final = "id,name,username,category,followers_count,fan_count,link"
POST_FIELDS: Final = (
    "id,message,created_time,permalink_url,shares,"
    "attachments{media_type,type,description,subattachments{media_type,type}},"
    "reactions.summary(total_count).limit(0),comments.summary(true).limit(0)"
)
COMMENT_FIELDS: Final = "id,from,message,created_time,parent{id,from},comment_count,like_count"
TAGGED_FIELDS: Final = "id,message,created_time,from,permalink_url"
"""``from`` is left out of a person's post (the reference: only its author's token sees it)."""
TAGGED_PERMISSION: Final = "pages_read_user_content"
"""What ``/tagged`` needs; without it the edge is passed over (its error page landed), not the Page."""
COMMENT_FILTER: Final = "stream"
"""Every comment of a post, replies included (each with its ``parent``), not the top-level ones only."""
COMMENT_ORDER: Final = "chronological"

POSTS_PAGE_SIZE: Final = 100
COMMENTS_PAGE_SIZE: Final = 100
TAGGED_PAGE_SIZE: Final = 100
MEDIA_TYPES: Final = frozenset({"photo", "video", "animated_image_video", "animated_image_share", "album"})
"""Attachment ``media_type`` values that are media (a ``link`` or an ``event`` is not one)."""


def read_thread_budget() -> int:
    """``RAPPORT_FACEBOOK_THREAD_BUDGET``, or :data:`DEFAULT_THREAD_BUDGET` when unset.

    Raises ``SettingsError`` naming the variable and its value when it is not a whole number
    from 0 to :data:`MAX_THREAD_BUDGET`.
    """
    return read_setting(
        THREAD_BUDGET_VARIABLE,
        Annotated[int, Field(ge=0, le=MAX_THREAD_BUDGET)],
        DEFAULT_THREAD_BUDGET,
        f"a whole number of posts from 0 to {MAX_THREAD_BUDGET}",
    )


# Meta Business Suite's exports (an account with an inbox is read from them: see exports.py).
POSTS_EXPORT: Final = "facebook_posts"
"""The posts (content) export: one row per post."""
PAGE_EXPORT: Final = "facebook_page_insights"
"""The Page's daily export of one metric (its follows, or followers)."""
