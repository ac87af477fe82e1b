"""Constants of the YouTube source: where the Data API v3 lives, what it is asked, what a night may spend.

Shapes, limits and costs are those of the YouTube Data API v3 reference
(developers.google.com/youtube/v3/docs: channels, playlistItems, videos,
commentThreads, comments, errors; getting-started#quota). Every value an
operator may change is read from the environment when an extraction starts,
never at import; a malformed one raises ``SettingsError`` naming the variable.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

from rapport.settings import read_setting

NAME: Final = "youtube"

DEFAULT_BASE_URL: Final = "https://www.googleapis.com/youtube/v3"
BASE_URL_VARIABLE: Final = "RAPPORT_YOUTUBE_BASE_URL"
"""Overrides :data:`DEFAULT_BASE_URL`: a proxy, or a local server in tests."""

API_KEY_VARIABLE: Final = "RAPPORT_YOUTUBE_API_KEY"
CONNECTION_ID: Final = "rapport_youtube"
"""The Airflow Connection whose password is the API key, read when the variable is unset."""
API_KEY_HEADER: Final = "X-goog-api-key"
"""Google APIs take the key in this header as well as in ``key=`` (cloud.google.com, "Use API keys
to access APIs"): in a header, it is never part of a URL, a landed page's parameters or a log line."""

DAILY_UNITS_VARIABLE: Final = "RAPPORT_YOUTUBE_DAILY_UNITS"
DEFAULT_DAILY_UNITS: Final = 10_000
"""Google's default quota of a project: 10,000 units a day."""
MAX_DAILY_UNITS: Final = 100_000_000

THREAD_BUDGET_VARIABLE: Final = "RAPPORT_YOUTUBE_THREAD_BUDGET"
DEFAULT_THREAD_BUDGET: Final = 40
"""Videos whose comment threads are read per channel per night, at most (as Mastodon's and Bluesky's)."""
MAX_THREAD_BUDGET: Final = 10_000

QUOTA_STATE_NAME: Final = "quota.json"
"""The night's units ledger, in ``zones.platform_state_file(data_dir, "youtube", ...)``."""
QUOTA_DAYS_KEPT: Final = 14

# Endpoint names of landed pages are the resources' list methods; the request's parameters
# (``videoId``, ``parentId``, ``pageToken``) are landed with each page and tell them apart.
CHANNELS_ENDPOINT: Final = "channels"
PLAYLIST_ITEMS_ENDPOINT: Final = "playlistItems"
VIDEOS_ENDPOINT: Final = "videos"
COMMENT_THREADS_ENDPOINT: Final = "commentThreads"
COMMENTS_ENDPOINT: Final = "comments"
ENDPOINTS: Final = (
    CHANNELS_ENDPOINT,
    PLAYLIST_ITEMS_ENDPOINT,
    VIDEOS_ENDPOINT,
    COMMENT_THREADS_ENDPOINT,
    COMMENTS_ENDPOINT,
)

UNIT_COST: Final = {endpoint: 1 for endpoint in ENDPOINTS}
"""Quota units of one call of each list method (the reference: "a quota cost of 1 unit"). A call
Google refuses costs its unit too; ``search.list`` (100 units) is never called."""

CHANNEL_PARTS: Final = "snippet,statistics,contentDetails"
PLAYLIST_PARTS: Final = "snippet,contentDetails"
VIDEO_PARTS: Final = "snippet,statistics,contentDetails"
THREAD_PARTS: Final = "snippet,replies"
COMMENT_PARTS: Final = "snippet"
TEXT_FORMAT: Final = "plainText"
"""``textDisplay`` as plain text: ``textOriginal`` is only guaranteed to the comment's author."""

PLAYLIST_PAGE_SIZE: Final = 50
VIDEOS_BATCH: Final = 50
THREADS_PAGE_SIZE: Final = 100
COMMENTS_PAGE_SIZE: Final = 100
"""Each list method's ``maxResults`` maximum (``videos.list`` takes up to 50 ids)."""

# error.errors[].reason values (developers.google.com/youtube/v3/docs/errors)
QUOTA_EXCEEDED: Final = "quotaExceeded"
RATE_LIMIT_REASONS: Final = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
COMMENTS_DISABLED: Final = "commentsDisabled"
VIDEO_NOT_FOUND: Final = "videoNotFound"
PLAYLIST_NOT_FOUND: Final = "playlistNotFound"
"""404 of ``playlistItems.list`` for the uploads playlist of a channel that never uploaded a video."""
KEY_REASONS: Final = frozenset({"keyInvalid", "keyExpired", "ipRefererBlocked", "accessNotConfigured"})
"""A 400/403 that says the key (or its project) is refused: a configuration problem, not the channel's."""

RATE_LIMIT_ATTEMPTS: Final = 5
"""Attempts of one call that a 403 ``rateLimitExceeded`` is waited out for, the first included."""


def read_daily_units() -> int:
    """``RAPPORT_YOUTUBE_DAILY_UNITS``, or :data:`DEFAULT_DAILY_UNITS` when unset.

    Raises ``SettingsError`` naming the variable and its value when it is not a whole number
    from 1 to :data:`MAX_DAILY_UNITS`.
    """
    return read_setting(
        DAILY_UNITS_VARIABLE,
        Annotated[int, Field(ge=1, le=MAX_DAILY_UNITS)],
        DEFAULT_DAILY_UNITS,
        f"a whole number of quota units from 1 to {MAX_DAILY_UNITS}",
    )


def read_thread_budget() -> int:
    """``RAPPORT_YOUTUBE_THREAD_BUDGET``, or :data:`DEFAULT_THREAD_BUDGET` when unset.

    Raises ``SettingsError`` naming the variable and its value when it is not a whole number
    from 0 to :data:`MAX_THREAD_BUDGET`.
    """
    return read_setting(
        THREAD_BUDGET_VARIABLE,
        Annotated[int, Field(ge=0, le=MAX_THREAD_BUDGET)],
        DEFAULT_THREAD_BUDGET,
        f"a whole number of videos from 0 to {MAX_THREAD_BUDGET}",
    )
