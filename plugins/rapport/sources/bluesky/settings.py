"""Constants of the Bluesky source: hosts, XRPC methods, page size, budget, and the variables that set them.

Every value an operator may change is read from the environment when an
extraction starts (never at import), by :func:`rapport.sources.bluesky.client.read_connection`;
a malformed one raises ``SettingsError`` naming the variable, its value and what it must hold.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

from rapport.settings import read_setting

NAME: Final = "bluesky"

DEFAULT_BASE_URL: Final = "https://public.api.bsky.app"
"""Bluesky's public AppView: every read Rapport makes works there without credentials."""
BASE_URL_VARIABLE: Final = "RAPPORT_BLUESKY_BASE_URL"

DEFAULT_PDS_URL: Final = "https://bsky.social"
"""Where an app password signs in; with a session, reads go there too (it proxies them to the AppView)."""
PDS_URL_VARIABLE: Final = "RAPPORT_BLUESKY_PDS_URL"
LOGIN_HANDLE_VARIABLE: Final = "RAPPORT_BLUESKY_HANDLE"
APP_PASSWORD_VARIABLE: Final = "RAPPORT_BLUESKY_APP_PASSWORD"
CONNECTION_ID: Final = "rapport_bluesky"
"""The Airflow Connection (login = handle, password = app password) read when the variables are unset."""

DEFAULT_THREAD_BUDGET: Final = 40
"""At most this many getPostThread calls per account extraction (the newest posts with replies first)."""
THREAD_BUDGET_VARIABLE: Final = "RAPPORT_BLUESKY_THREAD_BUDGET"
MAX_THREAD_BUDGET: Final = 10_000


def read_thread_budget() -> int:
    """``RAPPORT_BLUESKY_THREAD_BUDGET``, or :data:`DEFAULT_THREAD_BUDGET` when unset.

    Raises ``SettingsError`` naming the variable and its value when it is not a
    whole number from 0 to :data:`MAX_THREAD_BUDGET`.
    """
    return read_setting(
        THREAD_BUDGET_VARIABLE,
        Annotated[int, Field(ge=0, le=MAX_THREAD_BUDGET)],
        DEFAULT_THREAD_BUDGET,
        f"a whole number of getPostThread calls from 0 to {MAX_THREAD_BUDGET}",
    )


XRPC_PREFIX: Final = "/xrpc/"

# Endpoint names are the XRPC method ids (NSIDs): the landed pages are named after them.
RESOLVE_HANDLE_ENDPOINT: Final = "com.atproto.identity.resolveHandle"
PROFILE_ENDPOINT: Final = "app.bsky.actor.getProfile"
AUTHOR_FEED_ENDPOINT: Final = "app.bsky.feed.getAuthorFeed"
POST_THREAD_ENDPOINT: Final = "app.bsky.feed.getPostThread"
CREATE_SESSION_ENDPOINT: Final = "com.atproto.server.createSession"
"""A POST to the PDS; its response holds tokens and is never landed."""
REFRESH_SESSION_ENDPOINT: Final = "com.atproto.server.refreshSession"
"""A POST to the PDS with the refresh token as bearer and no body: new tokens, never landed."""
SESSION_TOKEN_ERRORS: Final = frozenset({"ExpiredToken", "InvalidToken"})
"""XRPC error names (a 400 from a PDS, a 401 from the AppView) of a read whose access token has
expired or is no longer accepted: the session is refreshed and the read sent again, once."""

PAGE_SIZE: Final = 100
"""getAuthorFeed's ``limit``: the lexicon's maximum."""
FEED_FILTER: Final = "posts_with_replies"
"""Posts, replies and reposts of the account (the lexicon's default, sent explicitly)."""

THREAD_DEPTH: Final = 6
"""Levels of replies getPostThread returns under a post (the lexicon's default): the public's
replies, the organization's answers, and the public's answers to those."""
THREAD_PARENT_HEIGHT: Final = 0
"""No ancestors: the thread is fetched from the organization's own post down."""

NOT_FOUND_ERRORS: Final = frozenset({"AccountTakedown", "AccountDeactivated", "HandleNotFound"})
"""XRPC error names that mean the account is gone, whatever the HTTP status (Bluesky answers 400)."""
ACCOUNT_STATE_ERRORS: Final = {"AccountTakedown": "taken_down", "AccountDeactivated": "deactivated"}
"""getProfile's (or a PDS's resolveHandle's) errors for an account that exists but shows nothing,
and the ``account_state`` each one is (rapport.records.ACCOUNT_STATES): landed as a state, not a failure."""
TAKEDOWN_LABEL: Final = "!takedown"
"""The moderation label (com.atproto.label.defs#label ``val``) of an account taken down whose profile
is still served: its snapshot is ``taken_down``, unless the label is negated (``neg``)."""
UNKNOWN_ACCOUNT_MESSAGES: Final = ("Unable to resolve handle", "Profile not found")
"""Messages of the generic 400 ``InvalidRequest`` that mean the handle or DID names no account."""
DELETED_POST_ERROR: Final = "NotFound"
"""getPostThread's error for a post deleted between the feed and the thread call: landed, then skipped."""

# $type values of the unions Rapport reads (app.bsky.feed.defs, app.bsky.embed.*, app.bsky.richtext.facet).
REASON_REPOST: Final = "app.bsky.feed.defs#reasonRepost"
REASON_PIN: Final = "app.bsky.feed.defs#reasonPin"
THREAD_VIEW_POST: Final = "app.bsky.feed.defs#threadViewPost"
NOT_FOUND_POST: Final = "app.bsky.feed.defs#notFoundPost"
BLOCKED_POST: Final = "app.bsky.feed.defs#blockedPost"
EMBED_IMAGES: Final = "app.bsky.embed.images"
EMBED_VIDEO: Final = "app.bsky.embed.video"
EMBED_EXTERNAL: Final = "app.bsky.embed.external"
EMBED_RECORD: Final = "app.bsky.embed.record"
EMBED_RECORD_WITH_MEDIA: Final = "app.bsky.embed.recordWithMedia"
FACET_MENTION: Final = "app.bsky.richtext.facet#mention"
FACET_LINK: Final = "app.bsky.richtext.facet#link"
POST_COLLECTION: Final = "app.bsky.feed.post"
