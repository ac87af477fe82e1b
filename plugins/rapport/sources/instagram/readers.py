"""Readers of the Instagram Graph API payloads: what extraction needs to page, and the records.

Shapes are the reference's (Instagram API with Facebook Login): ``GET /me`` answers the Page with its
``instagram_business_account {id, username}``; ``GET /{ig-user-id}`` the IG User (``username``,
``name``, ``followers_count``, ``follows_count``, ``media_count``); the edges ``/{ig-user-id}/media``,
``/{ig-media-id}/comments`` and ``/{ig-comment-id}/replies`` answer ``{"data": [...], "paging":
{"cursors": {"before", "after"}, "next"}}``, ``next`` absent on the last page. A comment has ``id``,
``text``, ``timestamp`` (``2017-08-31T18:10:30+0000``), ``username``, ``like_count``, ``from {id,
username}`` (added to IG Comments in October 2021: a comment without it is known by its ``username``)
and, asked by field expansion, the first page of its ``replies``. ``/{ig-user-id}/tags`` answers the
media of others the account is tagged in (``caption``, ``timestamp``, ``username``, ``permalink``), with
cursors and no ``next``. Graph errors are ``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}``. Every reader raises ``NormalizationError`` naming the page and the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Final

from rapport.records import ACCOUNT_SNAPSHOTS, INTERACTIONS, POSTS, THREAD_READS
from rapport.sources import NormalizationError, Page, Records, Row, empty_post, thread_read, without_in_flight
from rapport.sources.graph import MISSING_CODE, MISSING_SUBCODE, NODE_PARAM, is_permission_error, read_error
from rapport.sources.instagram.settings import (
    CAROUSEL,
    COMMENTS_ENDPOINT,
    ME_ENDPOINT,
    MEDIA_ENDPOINT,
    NAME,
    REPLIES_ENDPOINT,
    TAGS_ENDPOINT,
    USER_ENDPOINT,
)
from rapport.sources.payloads import (
    JsonNode,
    page_labels,
    page_param,
    parse_json,
    reply_interaction,
)

if TYPE_CHECKING:
    from rapport.accounts import Account

_URL: Final = re.compile(r"https?://\S+", re.IGNORECASE)
_MENTION: Final = re.compile(r"(?<![\w@.])@([a-z0-9_](?:[a-z0-9_.]{0,28}[a-z0-9_])?)", re.IGNORECASE)


def data(root: JsonNode) -> list[JsonNode]:
    """The ``data`` of an edge's page. A body holding a Graph ``error`` object is no page of an
    edge, whatever its status: read as one, it would pass for an account with nothing in it."""
    if isinstance(root.value, dict) and "error" in root.value:
        root.fail("an error object where a page of data was expected", "error")
    return root.get_list("data")


def next_page(root: JsonNode) -> str | None:
    """The ``paging.next`` URL of an edge's page, ``None`` on the last page."""
    paging = root.get_optional_object("paging")
    return paging.get_optional_str("next") or None if paging is not None else None


def _count(node: JsonNode, key: str) -> int | None:
    """A count the owner may hide (``like_count``) or the API leave out: ``None`` when absent."""
    if not isinstance(node.value, dict) or node.value.get(key) is None:
        return None
    value = node.get_int(key)
    if value < 0:
        node.fail(f"expected a count, got {value}", key)
    return value


# -- what extraction needs ------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkedAccount:
    ig_user_id: str
    username: str


def read_linked_account(root: JsonNode, handle: str) -> LinkedAccount:
    """The Instagram professional account linked to the token's Page; ``NormalizationError`` when
    the Page has none, or another one than ``handle`` (the registry's username)."""
    linked = root.get_optional_object("instagram_business_account")
    if linked is None:
        root.fail(
            "the token's Facebook Page has no linked Instagram professional account",
            "instagram_business_account",
        )
    username = linked.get_str("username")
    if username.lower() != handle.lower():
        linked.fail(f"the token's Page is linked to {username[:40]!r}, not {handle!r}", "username")
    return LinkedAccount(linked.get_str("id"), username)


@dataclass(frozen=True)
class Media:
    media_id: str
    published_at: datetime
    comment_count: int | None
    """``comments_count`` (replies included); ``None`` when the API leaves it out."""


def read_media(root: JsonNode) -> list[Media]:
    """The media of a ``/{ig-user-id}/media`` page, newest first."""
    return [
        Media(item.get_str("id"), item.get_timestamp("timestamp"), _count(item, "comments_count"))
        for item in data(root)
    ]


def read_tag_times(root: JsonNode) -> list[datetime]:
    """When each media of a ``/{ig-user-id}/tags`` page was published."""
    return [item.get_timestamp("timestamp") for item in data(root)]


@dataclass(frozen=True)
class CommentShown:
    comment_id: str
    more_replies: bool
    """Its ``replies`` page, as field expansion showed it, has a next one: ``/replies`` holds the rest."""


def read_comments(root: JsonNode) -> list[CommentShown]:
    """The comments of a ``/{ig-media-id}/comments`` page, and whether each needs its ``/replies``."""
    shown = []
    for item in data(root):
        replies = item.get_optional_object("replies")
        shown.append(CommentShown(item.get_str("id"), replies is not None and next_page(replies) is not None))
    return shown


# -- records --------------------------------------------------------------------------------------


def snapshot_row(root: JsonNode, account: Account, linked: LinkedAccount, observed: datetime) -> Row:
    """The IG User as an ``account_snapshots`` row; ``NormalizationError`` when it is another account."""
    user_id = root.get_str("id")
    if user_id != linked.ig_user_id:
        root.fail(f"the page describes {user_id[:40]!r}, not the linked account {linked.ig_user_id!r}", "id")
    return {
        "platform": NAME,
        "account_id": account.account_id,
        "account_native_id": user_id,
        "handle": root.get_optional_str("username") or linked.username,
        "display_name": root.get_optional_str("name"),
        "followers_count": _count(root, "followers_count"),
        "following_count": _count(root, "follows_count"),
        "posts_count": _count(root, "media_count"),
        # The Graph API does not say when an Instagram account was created.
        "account_created_at": None,
        "account_state": "active",
        "moved_to_handle": None,
        "observed_at": observed,
    }


def media_row(item: JsonNode, account: Account, observed: datetime) -> Row:
    """A media of the account as its ``original`` post: a carousel counts its children as media;
    the API gives no alt text; ``like_count`` is absent when the owner hides likes (0 then)."""
    caption = item.get_optional_str("caption")
    media_type = item.get_str("media_type")
    children = item.get_optional_object("children")
    media_count = len(children.get_optional_list("data")) if children is not None else 0
    if media_type != CAROUSEL or media_count == 0:
        media_count = 1
    return {
        **empty_post(account, observed),
        "post_id": item.get_str("id"),
        "created_at": item.get_timestamp("timestamp"),
        "post_type": "original",
        "text": caption,
        "link_count": len(set(_URL.findall(caption or ""))),
        "mention_count": len({name.lower() for name in _MENTION.findall(_URL.sub(" ", caption or ""))}),
        "media_count": media_count,
        "media_with_alt_text_count": 0,
        "reply_count": _count(item, "comments_count") or 0,
        "like_count": _count(item, "like_count") or 0,
    }


@dataclass(frozen=True)
class Comment:
    """One IG Comment, as the records need it."""

    comment_id: str
    author_id: str
    """``from.id``; ``username:<username>`` for a comment without ``from``."""
    username: str | None
    text: str
    published_at: datetime
    like_count: int
    replies: list[Comment] = field(default_factory=list)
    more_replies: bool = False


def read_comment(node: JsonNode) -> Comment:
    """An IG Comment, with the replies field expansion showed with it."""
    author = node.get_optional_object("from")
    author_id = author.get_optional_str("id") if author is not None else None
    username = node.get_optional_str("username") or (
        author.get_optional_str("username") if author is not None else None
    )
    if not author_id:
        if not username:
            node.fail("a comment needs from.id or username", "from")
        author_id = f"username:{username}"
    replies = node.get_optional_object("replies")
    return Comment(
        comment_id=node.get_str("id"),
        author_id=author_id,
        username=username,
        text=node.get_optional_str("text") or "",
        published_at=node.get_timestamp("timestamp"),
        like_count=_count(node, "like_count") or 0,
        replies=[read_comment(reply) for reply in data(replies)] if replies is not None else [],
        more_replies=replies is not None and next_page(replies) is not None,
    )


@dataclass(frozen=True)
class _Own:
    ig_user_id: str
    username: str

    def wrote(self, comment: Comment) -> bool:
        """Whether the account wrote ``comment``: its ``from.id``, else its ``username``."""
        if not comment.author_id.startswith("username:"):
            return comment.author_id == self.ig_user_id
        return (comment.username or "").lower() == self.username.lower()


def own_reply_row(
    comment: Comment,
    account: Account,
    observed: datetime,
    *,
    replies_to: str,
    replies_to_author: str,
    own: _Own,
) -> Row:
    """A comment of the account: its ``reply`` post, answering the comment it is under (or its own
    media, for a top-level comment)."""
    return {
        **empty_post(account, observed),
        "post_id": comment.comment_id,
        "created_at": comment.published_at,
        "post_type": "reply",
        "text": comment.text,
        "in_reply_to_post_id": replies_to,
        "in_reply_to_account_native_id": replies_to_author,
        "is_reply_to_self": replies_to_author == own.ig_user_id,
        "link_count": len(set(_URL.findall(comment.text))),
        "mention_count": len({name.lower() for name in _MENTION.findall(_URL.sub(" ", comment.text))}),
        "reply_count": len(comment.replies),
        "like_count": comment.like_count,
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
        author_handle=comment.username,
        created_at=comment.published_at,
        replies_to=replies_to,
        text=comment.text,
        is_top_level=is_top_level,
    )


def tag_row(item: JsonNode, account: Account, observed: datetime) -> Row:
    """A media of another account that tags the account, as a ``mention`` of it: its owner known by
    ``username`` (``username:<name>``, as a comment without ``from``), its caption as the text."""
    username = item.get_str("username")
    return reply_interaction(
        NAME,
        account,
        observed,
        interaction_id=item.get_str("id"),
        author_native_id=f"username:{username}",
        author_handle=username,
        replies_to=None,
        created_at=item.get_timestamp("timestamp"),
        text=item.get_optional_str("caption") or "",
        is_top_level=True,
    )


# -- normalize --------------------------------------------------------------------------------------


def records_of(
    pages: Sequence[Page], account: Account, observed: datetime, fetched: datetime | None
) -> Records:
    """The records of one extraction's landed pages (see :func:`rapport.sources.instagram.normalize`)."""
    me: list[JsonNode] = []
    users: list[JsonNode] = []
    media_pages: list[JsonNode] = []
    comments: dict[str, list[JsonNode]] = {}
    replies: dict[str, list[JsonNode]] = {}
    tags: list[JsonNode] = []
    for page, label in zip(pages, page_labels(pages, (NODE_PARAM,)), strict=True):
        if page.status != 200:
            if page.endpoint == TAGS_ENDPOINT and is_permission_error(page):
                continue  # a token without the permission of tags: the edge is passed over
            said = read_error(page.body)
            if page.endpoint in (COMMENTS_ENDPOINT, REPLIES_ENDPOINT) and (said.code, said.subcode) == (
                MISSING_CODE,
                MISSING_SUBCODE,
            ):
                continue  # a media or comment deleted between its listing and its read: nothing left
            raise NormalizationError(f"{label}: HTTP status {page.status}, expected 200")
        root = parse_json(page.body, label)
        if page.endpoint == ME_ENDPOINT:
            me.append(root)
        elif page.endpoint == USER_ENDPOINT:
            users.append(root)
        elif page.endpoint == MEDIA_ENDPOINT:
            media_pages.append(root)
        elif page.endpoint == COMMENTS_ENDPOINT:
            comments.setdefault(page_param(page, NODE_PARAM, label), []).append(root)
        elif page.endpoint == REPLIES_ENDPOINT:
            replies.setdefault(page_param(page, NODE_PARAM, label), []).append(root)
        elif page.endpoint == TAGS_ENDPOINT:
            tags.append(root)
        else:
            raise NormalizationError(f"{label}: unknown {NAME} endpoint {page.endpoint!r}")
    if not me or not users:
        missing = ME_ENDPOINT if not me else USER_ENDPOINT
        raise NormalizationError(
            f"{account.account_id}: none of the {len(pages)} pages is a {missing} page, "
            "so the account's own id is unknown"
        )
    linked = read_linked_account(me[-1], account.handle)
    snapshot = snapshot_row(users[-1], account, linked, observed)
    own = _Own(linked.ig_user_id, linked.username)

    posts: dict[str, Row] = {}
    for root in media_pages:
        for item in data(root):
            row = media_row(item, account, observed)
            posts[row["post_id"]] = row
    listed_counts = {post_id: row["reply_count"] for post_id, row in posts.items()}
    interactions: dict[str, Row] = {}
    for item in (item for root in tags for item in data(root)):
        mention = tag_row(item, account, observed)
        if str(mention["author_handle"]).lower() != own.username.lower():
            interactions[mention["interaction_id"]] = mention
    reads: dict[str, Row] = {}
    for media_id, comment_pages in comments.items():
        read_in_full = next_page(comment_pages[-1]) is None
        comments_read = 0
        own_threads: dict[str, int] = {}  # the account's own top-level comments with replies, read whole
        found = _Found(account, observed, own, posts, interactions)
        for root in comment_pages:
            for node in data(root):
                top = read_comment(node)
                answers = {reply.comment_id: reply for reply in top.replies}
                more = replies.get(top.comment_id, [])
                complete = not top.more_replies or (bool(more) and next_page(more[-1]) is None)
                read_in_full = read_in_full and complete
                for replies_root in more:
                    answers |= {reply.comment_id: reply for reply in map(read_comment, data(replies_root))}
                comments_read += 1 + len(answers)
                top = replace(top, replies=list(answers.values()))
                found.add(top, media_id, own.ig_user_id, top_level=True)
                if own.wrote(top) and answers and complete:
                    own_threads[top.comment_id] = len(answers)
                for reply in answers.values():
                    found.add(
                        reply, top.comment_id, top.author_id, media_id=media_id, under_own=own.wrote(top)
                    )
        if read_in_full:
            reads[media_id] = thread_read(
                account, media_id, listed_counts.get(media_id, comments_read), observed
            )
            # The account's own comment with replies is a post with replies of its own: read with its media.
            for comment_id, total in own_threads.items():
                reads[comment_id] = thread_read(account, comment_id, total, observed)
    kept_posts = without_in_flight(posts.values(), observed, fetched)
    kept = {row["post_id"] for row in kept_posts} | (set(reads) - set(posts))
    return {
        ACCOUNT_SNAPSHOTS.name: [snapshot],
        POSTS.name: kept_posts,
        INTERACTIONS.name: without_in_flight(interactions.values(), observed, fetched),
        THREAD_READS.name: [read for post_id, read in reads.items() if post_id in kept],
    }


@dataclass(frozen=True)
class _Found:
    """Where the comments of one extraction go: the account's own posts, the public's interactions."""

    account: Account
    observed: datetime
    own: _Own
    posts: dict[str, Row]
    interactions: dict[str, Row]

    def add(
        self,
        comment: Comment,
        replies_to: str,
        replies_to_author: str,
        *,
        top_level: bool = False,
        media_id: str | None = None,
        under_own: bool = False,
    ) -> None:
        """A comment of the account is its own reply post; one of the public, an interaction: a
        reply to the account's own comment when it is under one, else to the media."""
        if self.own.wrote(comment):
            row = own_reply_row(
                comment,
                self.account,
                self.observed,
                replies_to=replies_to,
                replies_to_author=replies_to_author,
                own=self.own,
            )
            self.posts[row["post_id"]] = row
            return
        target = replies_to if top_level or under_own else (media_id or replies_to)
        row = interaction_row(comment, self.account, self.observed, replies_to=target, is_top_level=top_level)
        self.interactions[row["interaction_id"]] = row
