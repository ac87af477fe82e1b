"""Readers of the Graph API's Page payloads: what extraction needs to page, and the records.

Shapes are the reference's: a Page node (``id``, ``name``, ``username``, ``category``,
``followers_count``, ``fan_count``); ``/{page-id}/published_posts`` (``data`` of posts with
``message``, ``created_time``, ``permalink_url``, ``attachments``, ``shares.count``, and the
``reactions`` and ``comments`` edges as ``{"data": [], "summary": {"total_count"}}``);
``/{post-id}/comments?filter=stream`` (``data`` of comments with ``from``, ``message``,
``created_time``, ``parent`` for a reply, ``comment_count``); ``/{page-id}/tagged`` (``data`` of the
posts the Page is tagged in: ``message``, ``created_time``, ``permalink_url``, ``from`` only when their
author is a Page). Graph writes times as
``2026-11-23T08:00:00+0000``. Every reader raises ``NormalizationError`` naming the page and the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from rapport.records import ACCOUNT_SNAPSHOTS, INTERACTIONS, POSTS, THREAD_READS
from rapport.sources import NormalizationError, Page, Records, Row, empty_post, thread_read, without_in_flight
from rapport.sources.facebook.settings import (
    COMMENTS_ENDPOINT,
    MEDIA_TYPES,
    NAME,
    PAGE_ENDPOINT,
    POSTS_ENDPOINT,
    TAGGED_ENDPOINT,
)
from rapport.sources.graph import (
    MISSING_CODE,
    MISSING_SUBCODE,
    THROTTLING_CODES,
    is_permission_error,
    read_error,
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
_OFFSET: Final = re.compile(r"([+-][0-9]{2})([0-9]{2})$")


def _time(node: JsonNode, key: str) -> datetime:
    """A Graph time (``+0000`` offsets, which ISO 8601 parsers of Python 3.11 read too)."""
    text = node.get_str(key)
    fixed = JsonNode({key: _OFFSET.sub(r"\1:\2", text)}, node.page, node.path)
    return fixed.get_timestamp(key)


def data(root: JsonNode) -> list[JsonNode]:
    """The ``data`` of a list answer. A body holding Graph's ``error`` object is no list, whatever
    its status: read as one, it would pass for a Page with no post."""
    if isinstance(root.value, dict) and "error" in root.value:
        root.fail("an error object where a list was expected", "error")
    return root.get_list("data")


def _total(node: JsonNode, edge: str) -> int:
    """The ``summary.total_count`` of an edge asked with ``.summary(true)``; 0 when absent."""
    found = node.get_optional_object(edge)
    summary = found.get_optional_object("summary") if found is not None else None
    return summary.get_int("total_count") if summary is not None else 0


# -- what extraction needs ----------------------------------------------------------------------------


def read_page_id(root: JsonNode) -> str:
    """The Page's numeric id."""
    if isinstance(root.value, dict) and "error" in root.value:
        root.fail("an error object where a Page was expected", "error")
    return root.get_str("id")


@dataclass(frozen=True)
class ListedPost:
    post_id: str
    created_at: datetime
    comment_count: int


def read_posts(root: JsonNode) -> list[ListedPost]:
    """The posts of a ``published_posts`` page: id, time and comment total."""
    return [
        ListedPost(node.get_str("id"), _time(node, "created_time"), _total(node, "comments"))
        for node in data(root)
    ]


def read_tagged_times(root: JsonNode) -> list[datetime]:
    """When each post of a ``tagged`` page was published."""
    return [_time(node, "created_time") for node in data(root)]


# -- records ------------------------------------------------------------------------------------------


def snapshot_row(root: JsonNode, account: Account, observed: datetime) -> Row:
    """The Page's snapshot: followers (``followers_count``, else ``fan_count``); following, posts and
    creation are not shown by Graph (NULL)."""
    value = root.value if isinstance(root.value, dict) else {}
    count = value.get("followers_count", value.get("fan_count"))
    if count is not None and (type(count) is not int or count < 0):
        root.fail(f"expected a count, got {str(count)[:40]!r}", "followers_count")
    return {
        "platform": NAME,
        "account_id": account.account_id,
        "account_native_id": root.get_str("id"),
        "handle": root.get_optional_str("username") or root.get_str("id"),
        "display_name": root.get_optional_str("name"),
        "followers_count": count,
        "following_count": None,
        "posts_count": None,
        "account_created_at": None,
        "account_state": "active",
        "moved_to_handle": None,
        "observed_at": observed,
    }


def media_count(post: JsonNode) -> int:
    """Media of a post's attachments: an album counts its subattachments, a photo or video one;
    a link, an event or a note none."""
    found = 0
    attachments = post.get_optional_object("attachments")
    for attachment in data(attachments) if attachments is not None else []:
        kind = attachment.get_optional_str("media_type") or attachment.get_optional_str("type") or ""
        children = attachment.get_optional_object("subattachments")
        if children is not None:
            found += len(data(children))
        elif kind in MEDIA_TYPES:
            found += 1
    return found


def post_row(node: JsonNode, account: Account, observed: datetime) -> Row:
    """An ``original`` post: its message, links, media, shares, reactions and comment totals. Graph
    gives no alt text in a post's attachments (a photo's ``alt_text_custom`` is on the Photo node,
    not read): ``media_with_alt_text_count`` is 0."""
    text = node.get_optional_str("message")
    shares = node.get_optional_object("shares")
    return {
        **empty_post(account, observed),
        "post_id": node.get_str("id"),
        "created_at": _time(node, "created_time"),
        "post_type": "original",
        "text": text,
        "link_count": len(_URL.findall(text or "")),
        "media_count": media_count(node),
        "reply_count": _total(node, "comments"),
        "repost_count": shares.get_int("count") if shares is not None else 0,
        "like_count": _total(node, "reactions"),
    }


@dataclass(frozen=True)
class Comment:
    comment_id: str
    author_id: str | None
    """``None`` when Graph leaves ``from`` out (a person whose data the token may not see)."""
    author_name: str | None
    text: str
    created_at: datetime
    parent_id: str | None
    parent_author_id: str | None
    reply_count: int


def read_comment(node: JsonNode) -> Comment:
    author = node.get_optional_object("from")
    parent = node.get_optional_object("parent")
    parent_author = parent.get_optional_object("from") if parent is not None else None
    return Comment(
        node.get_str("id"),
        author.get_str("id") if author is not None else None,
        author.get_optional_str("name") if author is not None else None,
        node.get_optional_str("message") or "",
        _time(node, "created_time"),
        parent.get_str("id") if parent is not None else None,
        parent_author.get_str("id") if parent_author is not None else None,
        _count(node, "comment_count"),
    )


def _count(node: JsonNode, key: str) -> int:
    value = node.value.get(key) if isinstance(node.value, dict) else None
    if value is None:
        return 0
    if type(value) is not int or value < 0:
        node.fail(f"expected a count, got {str(value)[:40]!r}", key)
    return value


def is_passed_over(page: Page) -> bool:
    """An error page normalize passes over: a post deleted meanwhile (100/33), Graph's throttling, the
    ``tagged`` edge of a token without its permission."""
    said = read_error(page.body)
    if page.endpoint == TAGGED_ENDPOINT and is_permission_error(page):
        return True
    return said.code in THROTTLING_CODES or (said.code == MISSING_CODE and said.subcode == MISSING_SUBCODE)


def mention_row(node: JsonNode, account: Account, observed: datetime) -> Row:
    """A post the Page is tagged in, as a ``mention`` of it. Graph gives a person's post without
    ``from``: its author is ``unknown:<post id>``."""
    author = node.get_optional_object("from")
    post_id = node.get_str("id")
    return reply_interaction(
        NAME,
        account,
        observed,
        interaction_id=post_id,
        author_native_id=author.get_str("id") if author is not None else f"unknown:{post_id}",
        author_handle=author.get_optional_str("name") if author is not None else None,
        replies_to=None,
        created_at=_time(node, "created_time"),
        text=node.get_optional_str("message") or "",
        is_top_level=True,
    )


def records_of(
    pages: Sequence[Page], account: Account, observed: datetime, fetched: datetime | None
) -> Records:
    """The records of one extraction's pages (see :func:`rapport.sources.facebook.normalize`)."""
    labels = page_labels(pages)
    snapshot: JsonNode | None = None
    posts: dict[str, Row] = {}
    comments: dict[str, list[JsonNode]] = {}
    tagged: list[JsonNode] = []
    for page, label in zip(pages, labels, strict=True):
        if page.status >= 400:
            if is_passed_over(page):
                continue
            said = read_error(page.body)
            raise NormalizationError(f"{label}: an error page ({said.said})")
        root = parse_json(page.body, label)
        if page.endpoint == PAGE_ENDPOINT:
            snapshot = root
        elif page.endpoint == POSTS_ENDPOINT:
            for node in data(root):
                row = post_row(node, account, observed)
                posts[row["post_id"]] = row
        elif page.endpoint == COMMENTS_ENDPOINT:
            comments.setdefault(page_param(page, "id", label), []).append(root)
        elif page.endpoint == TAGGED_ENDPOINT:
            tagged.append(root)
        else:
            raise NormalizationError(f"{label}: unknown {NAME} endpoint {page.endpoint!r}")
    if snapshot is None:
        raise NormalizationError(
            f"{account.account_id}: none of the {len(pages)} pages is a {PAGE_ENDPOINT} page, "
            "so the Page's own id is unknown"
        )
    snapshot_record = snapshot_row(snapshot, account, observed)
    own_id = str(snapshot_record["account_native_id"])

    interactions: dict[str, Row] = {}
    for node in (node for root in tagged for node in data(root)):
        mention = mention_row(node, account, observed)
        if mention["author_native_id"] != own_id:  # the Page tagging itself talks to no one
            interactions[mention["interaction_id"]] = mention
    reads: dict[str, Row] = {}
    for post_id, roots in comments.items():
        read = [read_comment(node) for root in roots for node in data(root)]
        by_id = {comment.comment_id: comment for comment in read}
        for comment in read:
            _add(comment, post_id, own_id, by_id, account, observed, posts, interactions)
        if not _has_next(roots[-1]):
            listed = posts.get(post_id)
            count = listed["reply_count"] if listed is not None else len(read)
            reads[post_id] = thread_read(account, post_id, count, observed)
    kept_posts = without_in_flight(posts.values(), observed, fetched)
    kept = {row["post_id"] for row in kept_posts} | (set(reads) - set(posts))
    return {
        ACCOUNT_SNAPSHOTS.name: [snapshot_record],
        POSTS.name: kept_posts,
        INTERACTIONS.name: without_in_flight(interactions.values(), observed, fetched),
        THREAD_READS.name: [row for post_id, row in reads.items() if post_id in kept],
    }


def _has_next(root: JsonNode) -> bool:
    """Whether a list answer announces a next page (``paging.next``): its edge was not read to the end."""
    paging = root.get_optional_object("paging")
    return paging is not None and bool(paging.get_optional_str("next"))


def _add(
    comment: Comment,
    post_id: str,
    own_id: str,
    by_id: dict[str, Comment],
    account: Account,
    observed: datetime,
    posts: dict[str, Row],
    interactions: dict[str, Row],
) -> None:
    """The Page's comment is its own ``reply`` post, to the comment it answers (its ``parent``), or
    to the post for a top-level one; the public's is an interaction: a top-level one replies to the
    post and is a question when it holds a ``?`` outside its links; a reply replies to the Page's own
    comment it is under, else to the post, and is no question."""
    parent_author = comment.parent_author_id
    if comment.parent_id is not None and parent_author is None and comment.parent_id in by_id:
        parent_author = by_id[comment.parent_id].author_id
    if comment.author_id == own_id:
        replies_to = comment.parent_id or post_id
        replies_to_author = (parent_author or None) if comment.parent_id else own_id
        posts[comment.comment_id] = {
            **empty_post(account, observed),
            "post_id": comment.comment_id,
            "created_at": comment.created_at,
            "post_type": "reply",
            "text": comment.text,
            "in_reply_to_post_id": replies_to,
            "in_reply_to_account_native_id": replies_to_author,
            "is_reply_to_self": replies_to_author == own_id,
            "link_count": len(_URL.findall(comment.text)),
            "reply_count": comment.reply_count,
        }
        return
    top_level = comment.parent_id is None
    target = post_id if top_level or parent_author != own_id else (comment.parent_id or post_id)
    interactions[comment.comment_id] = reply_interaction(
        NAME,
        account,
        observed,
        interaction_id=comment.comment_id,
        author_native_id=comment.author_id or f"unknown:{comment.comment_id}",
        author_handle=comment.author_name,
        created_at=comment.created_at,
        replies_to=target,
        text=comment.text,
        is_top_level=top_level,
    )
