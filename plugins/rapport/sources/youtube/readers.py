"""Readers of the YouTube Data API v3 payloads: what extraction needs to page, and the records.

Shapes are the reference's resource representations: ``youtube#channelListResponse``,
``youtube#playlistItemListResponse``, ``youtube#videoListResponse``,
``youtube#commentThreadListResponse`` and ``youtube#commentListResponse``, each with
``items``, ``pageInfo`` and, when more follow, ``nextPageToken``; Google's errors are
``{"error": {"code", "message", "errors": [{"message", "domain", "reason"}], "status"}}``.
Counts (``subscriberCount``, ``commentCount``...) are JSON strings holding an unsigned
64-bit integer, and are left out when the owner hides them (likes, subscribers) or turned
comments off. Every reader raises ``NormalizationError`` naming the page and the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from rapport.records import ACCOUNT_SNAPSHOTS, INTERACTIONS, POSTS, THREAD_READS
from rapport.sources import NormalizationError, Page, Records, Row, empty_post, thread_read, without_in_flight
from rapport.sources.payloads import JsonNode, page_labels, page_param, parse_json, reply_interaction
from rapport.sources.youtube.settings import (
    CHANNELS_ENDPOINT,
    COMMENT_THREADS_ENDPOINT,
    COMMENTS_DISABLED,
    COMMENTS_ENDPOINT,
    KEY_REASONS,
    NAME,
    PLAYLIST_ITEMS_ENDPOINT,
    PLAYLIST_NOT_FOUND,
    QUOTA_EXCEEDED,
    VIDEO_NOT_FOUND,
    VIDEOS_ENDPOINT,
)

if TYPE_CHECKING:
    from rapport.accounts import Account

SKIPPED_REASONS: Final = frozenset({COMMENTS_DISABLED, VIDEO_NOT_FOUND, PLAYLIST_NOT_FOUND, QUOTA_EXCEEDED})
"""Reasons of an error page that normalize passes over: nothing of the channel's is in it."""

_URL: Final = re.compile(r"https?://\S+", re.IGNORECASE)
_DIGITS: Final = re.compile(r"[0-9]{1,19}")
_INT64_MAX: Final = 2**63 - 1


def google_error(body: bytes) -> tuple[str | None, str | None]:
    """(the first ``error.errors[].reason``, ``error.message``) of a Google error body; ``None``s
    for a body of another shape. The message loses its HTML (Google links the parameter's docs)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None, None
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return None, None
    errors = error.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    reason = first.get("reason")
    message = error.get("message")
    text = re.sub(r"<[^>]*>", "", message)[:200] if isinstance(message, str) else None
    return (reason if isinstance(reason, str) else None), text


def is_key_refused(body: bytes) -> bool:
    """Whether a Google error says the API key is refused: a ``keyInvalid``-like reason, the
    ``API_KEY_INVALID``-like reason of its ``google.rpc.ErrorInfo`` detail, or "API key not valid"."""
    reason, message = google_error(body)
    if reason in KEY_REASONS or (message or "").startswith("API key not valid"):
        return True
    try:
        details = json.loads(body)["error"]["details"]
        return any(str(detail.get("reason", "")).startswith("API_KEY_") for detail in details)
    except (ValueError, RecursionError, KeyError, TypeError, AttributeError):
        return False


def count(node: JsonNode, key: str) -> int | None:
    """A count of a ``statistics`` object: a string of digits (or a number); ``None`` when absent."""
    value = node.value.get(key) if isinstance(node.value, dict) else None
    if value is None:
        return None
    if isinstance(value, str) and _DIGITS.fullmatch(value) and int(value) <= _INT64_MAX:
        return int(value)
    if type(value) is int and 0 <= value <= _INT64_MAX:
        return value
    node.fail(f"expected a count (a string of digits), got {str(value)[:40]!r}", key)


def next_page_token(root: JsonNode) -> str | None:
    """The ``nextPageToken`` of a list response, ``None`` on the last page (an empty one too)."""
    return root.get_optional_str("nextPageToken") or None


def items(root: JsonNode) -> list[JsonNode]:
    """The ``items`` of a list response (none when absent: an empty result may leave them out).

    A body holding Google's ``error`` object is no list response, whatever its status (a 200
    from a proxy, say): read as one, it would pass for a channel or a video with nothing in it.
    """
    if isinstance(root.value, dict) and "error" in root.value:
        root.fail("an error object where a list response was expected", "error")
    return root.get_optional_list("items")


# -- what extraction needs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    channel_id: str
    uploads: str
    """The playlist of its uploads (``contentDetails.relatedPlaylists.uploads``)."""


def read_channel(root: JsonNode) -> Channel | None:
    """The channel a ``channels.list`` answered, ``None`` when it found none (an unknown handle or id)."""
    found = items(root)
    if not found:
        return None
    item = found[0]
    related = item.get_object("contentDetails").get_object("relatedPlaylists")
    return Channel(item.get_str("id"), related.get_str("uploads"))


@dataclass(frozen=True)
class Upload:
    video_id: str
    published_at: datetime


def read_uploads(root: JsonNode) -> list[Upload]:
    """The videos of a ``playlistItems.list`` page of the uploads playlist, newest first.

    A video's own ``contentDetails.videoPublishedAt`` dates it; a private or deleted video has
    none, and is dated when it was added to the playlist (``snippet.publishedAt``)."""
    uploads = []
    for item in items(root):
        details = item.get_object("contentDetails")
        published = details.get_optional_timestamp("videoPublishedAt")
        if published is None:
            published = item.get_object("snippet").get_timestamp("publishedAt")
        uploads.append(Upload(details.get_str("videoId"), published))
    return uploads


@dataclass(frozen=True)
class Video:
    video_id: str
    published_at: datetime
    comment_count: int | None
    """``statistics.commentCount``; ``None`` when comments are turned off."""


def read_videos(root: JsonNode) -> list[Video]:
    """The videos a ``videos.list`` batch answered (a deleted or private one is absent)."""
    return [
        Video(
            item.get_str("id"),
            item.get_object("snippet").get_timestamp("publishedAt"),
            count(item.get_object("statistics"), "commentCount"),
        )
        for item in items(root)
    ]


@dataclass(frozen=True)
class ThreadShown:
    comment_id: str
    total_replies: int
    replies_shown: int


def read_threads(root: JsonNode) -> list[ThreadShown]:
    """The threads of a ``commentThreads.list`` page: their top-level comment, how many replies
    they have, and how many came with them (the rest need ``comments.list``)."""
    shown = []
    for item in items(root):
        snippet = item.get_object("snippet")
        top = snippet.get_object("topLevelComment")
        replies = item.get_optional_object("replies")
        shown.append(
            ThreadShown(
                top.get_str("id"),
                snippet.get_int("totalReplyCount"),
                len(replies.get_optional_list("comments")) if replies is not None else 0,
            )
        )
    return shown


# -- records --------------------------------------------------------------------------------------


def snapshot_row(root: JsonNode, account: Account, observed: datetime) -> Row:
    """The channel as an ``account_snapshots`` row; ``NormalizationError`` when it found no channel
    or another channel than the account's."""
    found = items(root)
    if not found:
        root.fail(f"no channel answers {account.handle!r}: unknown handle or channel id", "items")
    item = found[0]
    snippet = item.get_object("snippet")
    statistics = item.get_object("statistics")
    channel_id = item.get_str("id")
    custom_url = snippet.get_optional_str("customUrl")
    if account.handle.startswith("@"):
        if custom_url is not None and custom_url.lower() != account.handle.lower():
            snippet.fail(f"the page describes {custom_url[:40]!r}, not {account.handle!r}", "customUrl")
    elif channel_id != account.handle:
        item.fail(f"the page describes {channel_id[:40]!r}, not {account.handle!r}", "id")
    hidden = statistics.get_flag("hiddenSubscriberCount")
    return {
        "platform": NAME,
        "account_id": account.account_id,
        "account_native_id": channel_id,
        "handle": custom_url or account.handle,
        "display_name": snippet.get_optional_str("title"),
        # A channel may hide its subscriber count; YouTube shows no subscriptions count at all.
        "followers_count": None if hidden else count(statistics, "subscriberCount"),
        "following_count": None,
        "posts_count": count(statistics, "videoCount"),
        "account_created_at": snippet.get_optional_timestamp("publishedAt"),
        "account_state": "active",
        "moved_to_handle": None,
        "observed_at": observed,
    }


def _language(snippet: JsonNode) -> str | None:
    """The primary subtag of the audio's language, else of the title's (``pt-BR`` gives ``pt``)."""
    tag = snippet.get_optional_str("defaultAudioLanguage") or snippet.get_optional_str("defaultLanguage")
    primary = tag.split("-", 1)[0].lower() if tag else ""
    return primary if primary.isalpha() and len(primary) <= 3 else None


def video_row(item: JsonNode, account: Account, observed: datetime) -> Row:
    """A video of ``videos.list`` as the channel's ``original`` post."""
    snippet = item.get_object("snippet")
    statistics = item.get_object("statistics")
    details = item.get_object("contentDetails")
    title = snippet.get_str("title")
    description = snippet.get_optional_str("description") or ""
    return {
        **empty_post(account, observed),
        "post_id": item.get_str("id"),
        "created_at": snippet.get_timestamp("publishedAt"),
        "post_type": "original",
        "text": f"{title}\n\n{description}" if description else title,
        "language": _language(snippet),
        "link_count": len(set(_URL.findall(description))),
        # The video is the post's medium; its captions are its accessible text (YouTube's alt text).
        "media_count": 1,
        "media_with_alt_text_count": 1 if details.get_optional_str("caption") == "true" else 0,
        # commentCount is absent when comments are turned off, likeCount when likes are hidden.
        "reply_count": count(statistics, "commentCount") or 0,
        "like_count": count(statistics, "likeCount") or 0,
    }


@dataclass(frozen=True)
class Comment:
    """One comment resource, as the records need it."""

    comment_id: str
    author_id: str
    author_name: str | None
    text: str
    published_at: datetime
    edited_at: datetime | None
    like_count: int


def read_comment(node: JsonNode) -> Comment:
    """A ``youtube#comment``: its author's channel id (``authorChannelId.value``), its plain text
    (``textDisplay`` as ``textFormat=plainText`` gives it, else ``textOriginal``)."""
    snippet = node.get_object("snippet")
    author = snippet.get_optional_object("authorChannelId")
    author_id = author.get_optional_str("value") if author is not None else None
    name = snippet.get_optional_str("authorDisplayName")
    if not author_id:
        if not name:
            snippet.fail("a comment needs authorChannelId.value or authorDisplayName", "authorChannelId")
        author_id = f"name:{name}"
    text = snippet.get_optional_str("textDisplay")
    if text is None:
        text = snippet.get_optional_str("textOriginal")
    if text is None:
        snippet.fail("required field is missing (neither textDisplay nor textOriginal)", "textDisplay")
    published = snippet.get_timestamp("publishedAt")
    updated = snippet.get_optional_timestamp("updatedAt")
    return Comment(
        comment_id=node.get_str("id"),
        author_id=author_id,
        author_name=name,
        text=text,
        published_at=published,
        edited_at=updated if updated is not None and updated > published else None,
        like_count=count(snippet, "likeCount") or 0,
    )


def own_reply_row(
    comment: Comment,
    account: Account,
    observed: datetime,
    *,
    replies_to: str,
    replies_to_author: str | None,
    own_id: str,
    reply_count: int,
) -> Row:
    """A comment of the channel itself: its ``reply`` post, answering ``replies_to`` (the top-level
    comment of its thread, or its own video for a top-level comment)."""
    return {
        **empty_post(account, observed),
        "post_id": comment.comment_id,
        "created_at": comment.published_at,
        "post_type": "reply",
        "text": comment.text,
        "in_reply_to_post_id": replies_to,
        "in_reply_to_account_native_id": replies_to_author,
        "is_reply_to_self": replies_to_author == own_id,
        "link_count": len(set(_URL.findall(comment.text))),
        "reply_count": reply_count,
        "like_count": comment.like_count,
        "edited_at": comment.edited_at,
    }


def interaction_row(
    comment: Comment, account: Account, observed: datetime, *, replies_to: str, is_top_level: bool
) -> Row:
    """A comment of the public as an ``interactions`` reply (``payloads.reply_interaction``)."""
    return reply_interaction(
        NAME,
        account,
        observed,
        interaction_id=comment.comment_id,
        author_native_id=comment.author_id,
        author_handle=comment.author_name,
        created_at=comment.published_at,
        replies_to=replies_to,
        text=comment.text,
        is_top_level=is_top_level,
    )


# -- normalize --------------------------------------------------------------------------------------


def records_of(
    pages: Sequence[Page], account: Account, observed: datetime, fetched: datetime | None
) -> Records:
    """The records of one extraction's landed pages (see :func:`rapport.sources.youtube.normalize`)."""
    channels: list[JsonNode] = []
    videos: list[JsonNode] = []
    threads: dict[str, list[JsonNode]] = {}
    replies: dict[str, list[JsonNode]] = {}
    for page, label in zip(pages, page_labels(pages, _SUBJECTS), strict=True):
        if page.status != 200:
            reason, _ = google_error(page.body)
            if page.endpoint != CHANNELS_ENDPOINT and reason in SKIPPED_REASONS:
                continue  # comments off, a video deleted meanwhile, the quota: nothing to read
            raise NormalizationError(f"{label}: HTTP status {page.status}, expected 200")
        root = parse_json(page.body, label)
        if page.endpoint == CHANNELS_ENDPOINT:
            channels.append(root)
        elif page.endpoint == VIDEOS_ENDPOINT:
            videos.append(root)
        elif page.endpoint == COMMENT_THREADS_ENDPOINT:
            threads.setdefault(page_param(page, "videoId", label), []).append(root)
        elif page.endpoint == COMMENTS_ENDPOINT:
            replies.setdefault(page_param(page, "parentId", label), []).append(root)
        elif page.endpoint != PLAYLIST_ITEMS_ENDPOINT:  # the listing only says which videos to ask for
            raise NormalizationError(f"{label}: unknown {NAME} endpoint {page.endpoint!r}")
    if not channels:
        raise NormalizationError(
            f"{account.account_id}: none of the {len(pages)} pages is a {CHANNELS_ENDPOINT} page, "
            "so the channel's own id is unknown"
        )
    snapshot = snapshot_row(channels[-1], account, observed)
    own_id = str(snapshot["account_native_id"])

    posts: dict[str, Row] = {}
    listed_counts: dict[str, int] = {}
    for root in videos:
        for item in items(root):
            row = video_row(item, account, observed)
            posts[row["post_id"]] = row
            listed_counts[row["post_id"]] = row["reply_count"]
    interactions: dict[str, Row] = {}
    reads: dict[str, Row] = {}
    for video_id, thread_pages in threads.items():
        read_in_full = next_page_token(thread_pages[-1]) is None
        comments_read = 0
        own_threads: dict[str, int] = {}  # the channel's own top-level comments with replies, read whole
        for root in thread_pages:
            for item in items(root):
                snippet = item.get_object("snippet")
                top = read_comment(snippet.get_object("topLevelComment"))
                total = snippet.get_int("totalReplyCount")
                shown = item.get_optional_object("replies")
                answers = {
                    reply.comment_id: reply
                    for node in (shown.get_optional_list("comments") if shown is not None else [])
                    for reply in [read_comment(node)]
                }
                more = replies.get(top.comment_id, [])
                if total > len(answers):
                    read_in_full = read_in_full and bool(more) and next_page_token(more[-1]) is None
                for root_of_replies in more:
                    answers |= {reply.comment_id: reply for reply in _comments(root_of_replies)}
                comments_read += 1 + len(answers)
                found = _Found(account, observed, own_id, posts, interactions)
                found.add(top, video_id, own_id, reply_count=total, is_top_level=True)
                if top.author_id == own_id and 0 < total <= len(answers):
                    own_threads[top.comment_id] = total
                for reply in answers.values():
                    found.add(reply, top.comment_id, top.author_id, video_id=video_id)
        if read_in_full:
            counted = listed_counts.get(video_id, comments_read)
            reads[video_id] = thread_read(account, video_id, counted, observed)
            # The channel's own comment with replies is a post with replies of its own: read with its video.
            for comment_id, total in own_threads.items():
                reads[comment_id] = thread_read(account, comment_id, total, observed)
    kept_posts = without_in_flight(posts.values(), observed, fetched)
    kept = {row["post_id"] for row in kept_posts} | (set(reads) - set(posts))
    return {
        ACCOUNT_SNAPSHOTS.name: [snapshot],
        POSTS.name: kept_posts,
        INTERACTIONS.name: without_in_flight(interactions.values(), observed, fetched),
        THREAD_READS.name: [read for video_id, read in reads.items() if video_id in kept],
    }


def _comments(root: JsonNode) -> list[Comment]:
    return [read_comment(node) for node in items(root)]


@dataclass(frozen=True)
class _Found:
    """Where the comments of one extraction go: the channel's own posts, the public's interactions."""

    account: Account
    observed: datetime
    own_id: str
    posts: dict[str, Row]
    interactions: dict[str, Row]

    def add(
        self,
        comment: Comment,
        replies_to: str,
        replies_to_author: str,
        *,
        reply_count: int = 0,
        is_top_level: bool = False,
        video_id: str | None = None,
    ) -> None:
        """A comment of the channel is its own reply post; one of the public, an interaction: a
        reply to the channel's own comment when it is under one, else to the video."""
        if comment.author_id == self.own_id:
            row = own_reply_row(
                comment,
                self.account,
                self.observed,
                replies_to=replies_to,
                replies_to_author=replies_to_author,
                own_id=self.own_id,
                reply_count=reply_count,
            )
            self.posts[row["post_id"]] = row
            return
        under_own = is_top_level or replies_to_author == self.own_id
        target = replies_to if under_own else (video_id or replies_to)
        interaction = interaction_row(
            comment, self.account, self.observed, replies_to=target, is_top_level=is_top_level
        )
        self.interactions[interaction["interaction_id"]] = interaction


_SUBJECTS: Final = ("videoId", "parentId", "playlistId", "forHandle", "id")
