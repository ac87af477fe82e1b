"""A local Meta Graph API serving an in-memory model of Facebook Pages and Instagram professional accounts.

Shapes are those of the Graph API reference (developers.facebook.com/docs/graph-api: Page,
Page Feed, Post, Comment, Paginated Results, Handling Errors, Rate Limits; the Instagram
Graph API: IG User, IG User Media, IG Media, IG Media Comments, IG Comment Replies). Every path
starts with a version (``/v26.0/...``); the token comes as ``Authorization: Bearer`` (or
``access_token=``, which Meta accepts too: the server records which).

Facebook:

- ``/me`` and ``/{page-id | username}`` with ``fields=`` (``id,name,username,category,followers_count,
  fan_count,link,instagram_business_account{id,username}``);
- ``/{page-id}/published_posts`` and ``/{page-id}/posts``, newest first, ``since``/``until`` (unix
  seconds or ISO 8601), ``limit`` (default 25, at most 100), ``fields=`` with
  ``reactions.summary(total_count).limit(0)``, ``comments.summary(true).limit(0)``, ``shares``,
  ``attachments{media_type,description,subattachments}``;
- ``/{post-id}/comments`` (``filter=stream``: every comment, replies with their ``parent``;
  ``toplevel``, the default: the top-level ones), ``order=chronological | reverse_chronological``,
  ``summary=true`` (``{"order", "total_count", "can_comment"}``), ``fields=from,message,
  created_time,parent,comment_count,like_count``; ``/{comment-id}/comments``: its replies;
- ``/{page-id}/tagged``: the public posts the Page is tagged in, newest first (``from`` only on a
  Page's post: the reference gives a person's post without it), needing ``pages_read_user_content``.

Instagram:

- ``/{ig-user-id}?fields=username,followers_count,follows_count,media_count,name``;
- ``/{ig-user-id}/media?fields=id,caption,media_type,timestamp,like_count,comments_count,permalink,
  children{media_type}``, newest first;
- ``/{ig-media-id}/comments?fields=id,text,username,timestamp,from,like_count,replies{...}``, newest
  first; ``/{ig-comment-id}/replies``, oldest first;
- ``/{ig-user-id}/tags?fields=id,caption,timestamp,username,permalink``: the media others tagged the
  account in, newest first, needing ``instagram_manage_comments``; its pages carry ``cursors`` but,
  as the reference says of this edge, no ``next`` nor ``previous``: the page after the last is empty.

Lists answer ``{"data": [...], "paging": {"cursors": {"before", "after"}, "next", "previous"}}``;
``next``/``previous`` carry ``access_token=`` as Graph's do. Errors are Graph's
``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``: 190/463 for an expired
token, 190 for an unknown one, 10 naming a permission the token lacks, 100/33 for a deleted or unknown
object, and the throttling codes past the usage budget.

Usage: every call counts against its token (the business use case: ``X-Business-Use-Case-Usage``,
``estimated_time_to_regain_access`` in minutes) and against the app (``X-App-Usage``), in a sliding
window (:attr:`GraphServer.window`, 24 h by default) on the server's clock (injectable: a test shares a
fake clock with the client's sleep). The budgets are configurable (Meta's real ones, 4,800 calls a
day per engaged user of a Page, are too big to test). Past 100 % a call answers 80001 (a Page),
80002 (an Instagram account) or 4 (the app), and is counted, as on Graph.

Run it by hand: ``python -m tests.platforms.graph_server --port 8004``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from tests.platforms.world import Post as WorldPost
from tests.platforms.world import World, WsgiServer

VERSION = "v26.0"
EXPANSION_LIMIT = 25
"""The items a field expansion (``replies{...}``) shows before its ``paging.next``: Graph's default limit."""
DAY = 24 * 3600.0


class FakeClock:
    """A clock the client's sleep advances and the server reads (``clock=FakeClock.time``): a test
    waits no real second."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# -- the model ----------------------------------------------------------------------------------------


@dataclass
class Comment:
    """A comment on a Facebook post: top-level (``parent_id`` None) or a reply to another comment."""

    comment_id: str
    author_id: str
    author_name: str
    message: str
    created_time: str
    parent_id: str | None = None
    like_count: int = 0
    deleted: bool = False


@dataclass
class Attachment:
    media_type: str = "photo"
    description: str | None = None
    subattachments: int = 0
    """Photos of an album: the attachment lists them under ``subattachments``."""


@dataclass
class FacebookPost:
    post_id: str
    created_time: str
    message: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    shares: int = 0
    reactions: int = 0
    comments: list[Comment] = field(default_factory=list)
    """Oldest first, replies included (their ``parent_id`` says where)."""
    comments_disabled: bool = False
    deleted: bool = False

    def visible_comments(self) -> list[Comment]:
        return [comment for comment in self.comments if not comment.deleted]


@dataclass
class IgComment:
    comment_id: str
    user_id: str
    username: str
    text: str
    timestamp: str
    like_count: int = 0
    replies: list[IgComment] = field(default_factory=list)
    """Oldest first."""
    deleted: bool = False


@dataclass
class IgMedia:
    media_id: str
    timestamp: str
    caption: str | None = None
    media_type: str = "IMAGE"
    like_count: int = 0
    children: list[str] = field(default_factory=list)
    """The media types of a carousel's children."""
    comments: list[IgComment] = field(default_factory=list)
    """Top-level comments, oldest first."""
    comments_disabled: bool = False
    deleted: bool = False

    @property
    def comments_count(self) -> int:
        return sum(
            1 + len([reply for reply in comment.replies if not reply.deleted])
            for comment in self.comments
            if not comment.deleted
        )


@dataclass
class IgUser:
    ig_id: str
    username: str
    name: str
    followers_count: int
    follows_count: int
    media: list[IgMedia] = field(default_factory=list)
    """Newest first."""
    tagged: list[TaggedMedia] = field(default_factory=list)


@dataclass
class TaggedPost:
    """A post of the public that tags a Page."""

    post_id: str
    created_time: str
    message: str
    author_id: str
    author_name: str
    author_is_page: bool = False
    """Graph shows ``from`` on a Page's post only."""


@dataclass
class TaggedMedia:
    """A media of another Instagram account that tags the account."""

    media_id: str
    timestamp: str
    caption: str
    username: str


@dataclass
class FacebookPage:
    page_id: str
    username: str | None
    name: str
    category: str = "Nonprofit Organization"
    followers_count: int = 0
    fan_count: int = 0
    posts: list[FacebookPost] = field(default_factory=list)
    """Newest first."""
    instagram: IgUser | None = None
    tagged: list[TaggedPost] = field(default_factory=list)


@dataclass
class Token:
    """An access token the server knows: the Page it was issued for, and its state."""

    page_id: str
    expired: bool = False
    missing: frozenset[str] = frozenset()
    """Permissions it lacks: an edge that needs one answers code 10 naming it."""


@dataclass
class Recorded:
    path: str
    query: dict[str, str]
    token: str | None
    token_in_url: bool
    status: int
    code: int | None = None


NEEDS: dict[str, str] = {
    "comments": "pages_read_user_content",
    "tagged": "pages_read_user_content",
    "replies": "instagram_manage_comments",
    "tags": "instagram_manage_comments",
}
"""Edges and the permission each needs (code 10 naming it when the token lacks it)."""

THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try again.",
    80002: "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again.",
}


def error_body(
    code: int, message: str, kind: str = "OAuthException", subcode: int | None = None, trace: str = "A1b2C3"
) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = trace
    return {"error": error}


def missing_object_body(object_id: str, trace: str = "A1b2C3") -> dict[str, Any]:
    return error_body(
        100,
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        "GraphMethodException",
        33,
        trace,
    )


class GraphServer(WsgiServer):
    """The model as the Graph API on 127.0.0.1 (see the module docstring).

    Arguments:
        pages: the Facebook Pages (an Instagram account hangs on its Page).
        tokens: token value -> :class:`Token`.
        budget: calls per token per :attr:`window` (the business use case's budget).
        app_budget: calls of all tokens together per window (``X-App-Usage``).
        window: seconds of the sliding window.
        clock: the server's clock (``time.time``; a test's fake clock).
        page_cap: the most items a page holds whatever ``limit`` asks.
    """

    platform = "graph"

    def __init__(
        self,
        pages: Iterable[FacebookPage],
        *,
        tokens: dict[str, Token] | None = None,
        budget: int = 4800,
        app_budget: int = 100_000,
        window: float = DAY,
        clock: Callable[[], float] = time.time,
        page_cap: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.pages = list(pages)
        self.tokens = tokens if tokens is not None else {"test-token": Token(self.pages[0].page_id)}
        self.budget = budget
        self.app_budget = app_budget
        self.window = window
        self.clock = clock
        self.page_cap = page_cap
        self.host, self.port = host, port
        self.override: Callable[[str, dict[str, str]], tuple[int, Any] | None] | None = None
        """A test's own answer (status, body) to a call, before the model's (``None``: the model's)."""
        self.throttle_next: list[int] = []
        """Throttling codes the next calls answer, one each, whatever the usage (4, 17, 32, 613...)."""
        self.calls: dict[str, deque[float]] = {}
        self.app_calls: deque[float] = deque()
        self.log: list[Recorded] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The base URL without the version (``RAPPORT_GRAPH_BASE_URL``)."""
        if self._server is None:
            raise RuntimeError("the graph server is not started")
        return f"http://{self.host}:{self._server.server_port}"

    def answered(self, *codes: int) -> list[Recorded]:
        """The calls that answered one of the error ``codes``."""
        return [call for call in self.log if call.code in codes]

    def usage(self, token: str) -> float:
        """The token's usage now, percent of :attr:`budget`."""
        with self._lock:
            return self._percent(self._window(self.calls.setdefault(token, deque())), self.budget)

    def spend(self, token: str, calls: int) -> None:
        """Count ``calls`` earlier calls of ``token`` (made now): another app's use of the Page."""
        with self._lock:
            now = self.clock()
            self.calls.setdefault(token, deque()).extend([now] * calls)
            self.app_calls.extend([now] * calls)

    # -- objects ------------------------------------------------------------------------------------

    def _objects(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for page in self.pages:
            found[page.page_id] = page
            if page.username:
                found[page.username.lower()] = page
            for post in page.posts:
                found[post.post_id] = post
                for comment in post.comments:
                    found[comment.comment_id] = comment
            if page.instagram is not None:
                found[page.instagram.ig_id] = page.instagram
                for media in page.instagram.media:
                    found[media.media_id] = media
                    for top in media.comments:
                        found[top.comment_id] = top
                        for reply in top.replies:
                            found[reply.comment_id] = reply
        return found

    def _page_of(self, page_id: str) -> FacebookPage | None:
        return next((page for page in self.pages if page.page_id == page_id), None)

    # -- rendering ----------------------------------------------------------------------------------

    def _page_node(self, page: FacebookPage) -> dict[str, Any]:
        node: dict[str, Any] = {
            "id": page.page_id,
            "name": page.name,
            "category": page.category,
            "followers_count": page.followers_count,
            "fan_count": page.fan_count,
            "link": f"https://www.facebook.com/{page.username or page.page_id}",
        }
        if page.username:
            node["username"] = page.username
        if page.instagram is not None:
            node["instagram_business_account"] = {
                "id": page.instagram.ig_id,
                "username": page.instagram.username,
            }
        return node

    def _post_node(self, page: FacebookPage, post: FacebookPost) -> dict[str, Any]:
        comments = post.visible_comments()
        node: dict[str, Any] = {
            "id": post.post_id,
            "created_time": post.created_time,
            "permalink_url": f"https://www.facebook.com/{page.page_id}/posts/{post.post_id.split('_')[-1]}",
            "from": {"name": page.name, "id": page.page_id},
            "reactions": {"data": [], "summary": {"total_count": post.reactions, "viewer_reaction": "NONE"}},
            "comments": {
                "data": [],
                "summary": {
                    "order": "ranked",
                    "total_count": len(comments),
                    "can_comment": not post.comments_disabled,
                },
            },
        }
        if post.message is not None:
            node["message"] = post.message
        if post.shares:
            node["shares"] = {"count": post.shares}
        if post.attachments:
            node["attachments"] = {"data": [_attachment(attachment) for attachment in post.attachments]}
        return node

    def _comment_node(self, post: FacebookPost, page: FacebookPage, comment: Comment) -> dict[str, Any]:
        node: dict[str, Any] = {
            "id": comment.comment_id,
            "created_time": comment.created_time,
            "from": {"name": comment.author_name, "id": comment.author_id},
            "message": comment.message,
            "comment_count": len(
                [reply for reply in post.visible_comments() if reply.parent_id == comment.comment_id]
            ),
            "like_count": comment.like_count,
        }
        if comment.parent_id is not None:
            parent = next((c for c in post.comments if c.comment_id == comment.parent_id), None)
            if parent is not None:
                node["parent"] = {
                    "created_time": parent.created_time,
                    "from": {"name": parent.author_name, "id": parent.author_id},
                    "message": parent.message,
                    "id": parent.comment_id,
                }
        return node

    def _ig_user_node(self, user: IgUser) -> dict[str, Any]:
        return {
            "id": user.ig_id,
            "username": user.username,
            "name": user.name,
            "followers_count": user.followers_count,
            "follows_count": user.follows_count,
            "media_count": len([media for media in user.media if not media.deleted]),
        }

    def _ig_media_node(self, user: IgUser, media: IgMedia) -> dict[str, Any]:
        node: dict[str, Any] = {
            "id": media.media_id,
            "media_type": media.media_type,
            "timestamp": media.timestamp,
            "like_count": media.like_count,
            "comments_count": media.comments_count,
            "permalink": f"https://www.instagram.com/p/{media.media_id}/",
            "username": user.username,
        }
        if media.caption is not None:
            node["caption"] = media.caption
        if media.children:
            node["children"] = {
                "data": [
                    {"media_type": kind, "id": f"{media.media_id}{n}"}
                    for n, kind in enumerate(media.children)
                ]
            }
        return node

    def _ig_comment_node(self, comment: IgComment) -> dict[str, Any]:
        node: dict[str, Any] = {
            "id": comment.comment_id,
            "text": comment.text,
            "username": comment.username,
            "timestamp": comment.timestamp,
            "from": {"id": comment.user_id, "username": comment.username},
            "like_count": comment.like_count,
        }
        replies = [reply for reply in comment.replies if not reply.deleted]
        if replies:
            # Field expansion shows the first page of an edge, with its paging when there is more.
            shown = min(EXPANSION_LIMIT, self.page_cap or EXPANSION_LIMIT)
            node["replies"] = {"data": [self._ig_comment_node(reply) for reply in replies[:shown]]}
            if len(replies) > shown:
                node["replies"]["paging"] = {
                    "cursors": {"before": _cursor(0), "after": _cursor(shown)},
                    "next": f"{self.url}/{VERSION}/{comment.comment_id}/replies?"
                    + urlencode({"limit": shown, "after": _cursor(shown)}),
                }
        return node

    # -- lists --------------------------------------------------------------------------------------

    def _list(
        self, items: list[dict[str, Any]], query: dict[str, str], path: str, token: str, *, links: bool = True
    ) -> dict[str, Any]:
        limit = _int(query.get("limit"), 25)
        limit = max(1, min(limit, 100, self.page_cap or 100))
        after = query.get("after")
        start = _offset(after) if after else 0
        if start is None:
            raise _RefusedError(400, error_body(100, "Invalid cursor", "OAuthException"))
        chunk = [_select(item, query.get("fields")) for item in items[start : start + limit]]
        body: dict[str, Any] = {"data": chunk}
        paging: dict[str, Any] = {}
        if chunk:
            paging["cursors"] = {"before": _cursor(start), "after": _cursor(start + len(chunk) - 1 + 1)}
        base = {key: value for key, value in query.items() if key not in ("after", "before")}
        link = f"{self.url}/{VERSION}/{path}"
        if links and start + limit < len(items):
            paging["next"] = (
                f"{link}?{urlencode({**base, 'access_token': token, 'limit': limit, 'after': _cursor(start + limit)})}"
            )
        if links and start:
            paging["previous"] = (
                f"{link}?{urlencode({**base, 'access_token': token, 'limit': limit, 'before': _cursor(start)})}"
            )
        if paging:
            body["paging"] = paging
        return body

    # -- answers ------------------------------------------------------------------------------------

    def answer(self, path: str, query: dict[str, str], token: Token, value: str) -> dict[str, Any]:
        parts = [part for part in path.split("/") if part]
        if not parts:
            raise _RefusedError(400, error_body(100, "Unsupported get request.", "GraphMethodException"))
        objects = self._objects()
        node_id = token.page_id if parts[0] == "me" else parts[0]
        target = objects.get(node_id) or objects.get(node_id.lower())
        if target is None or getattr(target, "deleted", False):
            raise _RefusedError(400, missing_object_body(node_id))
        edge = parts[1] if len(parts) > 1 else None
        if edge in NEEDS and NEEDS[edge] in token.missing:
            raise _RefusedError(
                403,
                error_body(
                    10,
                    f"(#10) This endpoint requires the '{NEEDS[edge]}' permission or the 'Page Public "
                    "Content Access' feature. Refer to https://developers.facebook.com/docs/apps/review",
                ),
            )
        where = "/".join(parts)
        if edge is None:
            if isinstance(target, FacebookPage):
                return _select(self._page_node(target), query.get("fields") or "id,name")
            if isinstance(target, IgUser):
                return _select(self._ig_user_node(target), query.get("fields") or "id")
            raise _RefusedError(400, error_body(100, "Unsupported get request.", "GraphMethodException"))
        if isinstance(target, FacebookPage) and edge in ("published_posts", "posts", "feed"):
            since, until = _moment(query.get("since")), _moment(query.get("until"))
            posts = [
                self._post_node(target, post)
                for post in target.posts
                if not post.deleted
                and (since is None or _moment(post.created_time) >= since)  # type: ignore[operator]
                and (until is None or _moment(post.created_time) < until)  # type: ignore[operator]
            ]
            return self._list(posts, query, where, value)
        if isinstance(target, FacebookPage) and edge == "tagged":
            posts = sorted(target.tagged, key=lambda post: post.created_time, reverse=True)
            return self._list([_tagged_node(post) for post in posts], query, where, value)
        if isinstance(target, IgUser) and edge == "tags":
            media = sorted(target.tagged, key=lambda item: item.timestamp, reverse=True)
            nodes = [
                {
                    "id": item.media_id,
                    "caption": item.caption,
                    "timestamp": item.timestamp,
                    "username": item.username,
                    "media_type": "IMAGE",
                    "permalink": f"https://www.instagram.com/p/{item.media_id}/",
                }
                for item in media
            ]
            return self._list(nodes, query, where, value, links=False)
        if isinstance(target, FacebookPost) and edge == "comments":
            page = next(page for page in self.pages if target in page.posts)
            return self._comments(page, target, None, query, where, value)
        if isinstance(target, Comment) and edge == "comments":
            page, post = next(
                (page, post) for page in self.pages for post in page.posts if target in post.comments
            )
            return self._comments(page, post, target.comment_id, query, where, value)
        if isinstance(target, IgUser) and edge == "media":
            media = [self._ig_media_node(target, item) for item in target.media if not item.deleted]
            return self._list(media, query, where, value)
        if isinstance(target, IgMedia) and edge == "comments":
            comments = [
                self._ig_comment_node(comment) for comment in reversed(target.comments) if not comment.deleted
            ]
            return self._list(comments, query, where, value)
        if isinstance(target, IgComment) and edge == "replies":
            replies = [self._ig_comment_node(reply) for reply in target.replies if not reply.deleted]
            return self._list(replies, query, where, value)
        raise _RefusedError(
            400,
            error_body(100, f"(#100) Tried accessing nonexisting field ({edge})", "OAuthException"),
        )

    def _comments(
        self,
        page: FacebookPage,
        post: FacebookPost,
        parent: str | None,
        query: dict[str, str],
        where: str,
        token: str,
    ) -> dict[str, Any]:
        visible = post.visible_comments()
        if parent is not None:
            chosen = [comment for comment in visible if comment.parent_id == parent]
        elif query.get("filter") == "stream":
            chosen = visible
        else:
            chosen = [comment for comment in visible if comment.parent_id is None]
        if query.get("order") == "reverse_chronological":
            chosen = list(reversed(chosen))
        body = self._list(
            [self._comment_node(post, page, comment) for comment in chosen], query, where, token
        )
        if query.get("summary") == "true":
            body["summary"] = {
                "order": query.get("order", "chronological"),
                "total_count": len(chosen) if parent is not None else len(visible),
                "can_comment": not post.comments_disabled,
            }
        return body

    # -- usage --------------------------------------------------------------------------------------

    def _window(self, calls: deque[float]) -> deque[float]:
        cut = self.clock() - self.window
        while calls and calls[0] <= cut:
            calls.popleft()
        return calls

    @staticmethod
    def _percent(calls: deque[float], budget: int) -> float:
        return round(100.0 * len(calls) / budget, 1)

    def _regain_minutes(self, calls: deque[float], budget: int) -> int:
        if len(calls) < budget:
            return 0
        # Access returns when enough calls leave the window to bring the count under the budget.
        leaving = calls[len(calls) - budget]
        return max(1, math.ceil((leaving + self.window - self.clock()) / 60))

    def _usage_headers(self, value: str, token: Token, kind: str) -> list[tuple[str, str]]:
        calls = self._window(self.calls.setdefault(value, deque()))
        percent = self._percent(calls, self.budget)
        app = self._percent(self._window(self.app_calls), self.app_budget)
        buc = {
            token.page_id: [
                {
                    "type": kind,
                    "call_count": percent,
                    "total_cputime": round(percent / 4, 1),
                    "total_time": round(percent / 3, 1),
                    "estimated_time_to_regain_access": self._regain_minutes(calls, self.budget),
                }
            ]
        }
        return [
            (
                "X-App-Usage",
                json.dumps(
                    {"call_count": app, "total_time": round(app / 3, 1), "total_cputime": round(app / 4, 1)}
                ),
            ),
            ("X-Business-Use-Case-Usage", json.dumps(buc)),
        ]

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from werkzeug.wrappers import Request

        request = Request(environ)
        query = dict(request.args.items())
        header = request.headers.get("Authorization", "")
        in_url = "access_token" in query
        value = (
            header.removeprefix("Bearer ").strip()
            if header.startswith("Bearer ")
            else query.pop("access_token", None)
        )
        path = request.path.strip("/")
        version, _, rest = path.partition("/")
        headers: list[tuple[str, str]] = []
        code: int | None = None
        with self._lock:
            trace = (
                base64.urlsafe_b64encode(hashlib.sha1(f"{len(self.log)}".encode()).digest()[:8])
                .decode()
                .rstrip("=")
            )
            token = self.tokens.get(value or "")
            kind = "instagram" if rest.split("/")[0] in self._instagram_ids() else "pages"
            if not version.startswith("v"):
                status, body = (
                    400,
                    error_body(2500, "Unknown path components: /" + path, "OAuthException", trace=trace),
                )
            elif token is None:
                status, body = (
                    400,
                    error_body(190, "Invalid OAuth access token - Cannot parse access token", trace=trace),
                )
            elif token.expired:
                status, body = (
                    400,
                    error_body(
                        190,
                        "Error validating access token: Session has expired on Sunday, 22-Nov-26 08:00:00 PST. "
                        "The current time is Monday, 23-Nov-26 01:00:00 PST.",
                        subcode=463,
                        trace=trace,
                    ),
                )
            else:
                calls = self._window(self.calls.setdefault(value or "", deque()))
                app_calls = self._window(self.app_calls)
                over = len(calls) >= self.budget
                app_over = len(app_calls) >= self.app_budget
                calls.append(self.clock())
                app_calls.append(self.clock())
                if self.throttle_next:
                    code = self.throttle_next.pop(0)
                    status, body = (
                        400,
                        error_body(
                            code, THROTTLE_MESSAGES.get(code, f"(#{code}) Too many calls"), trace=trace
                        ),
                    )
                elif over:
                    code = 80002 if kind == "instagram" else 80001
                    status, body = 400, error_body(code, THROTTLE_MESSAGES[code], trace=trace)
                elif app_over:
                    code = 4
                    status, body = 400, error_body(code, THROTTLE_MESSAGES[code], trace=trace)
                elif self.override is not None and (own := self.override(rest, query)) is not None:
                    status, body = own
                else:
                    try:
                        status, body = 200, self.answer(rest, query, token, value or "")
                    except _RefusedError as refused:
                        status, body = refused.status, refused.body
                        body["error"]["fbtrace_id"] = trace
                headers = self._usage_headers(value or "", token, kind)
            if (
                status != 200
                and code is None
                and isinstance(body, dict)
                and isinstance(body.get("error"), dict)
            ):
                code = body["error"].get("code")
            self.log.append(Recorded(request.path, query, value, in_url, status, code))
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(status, "Error")
        start_response(
            f"{status} {reason}",
            [
                ("Content-Type", "application/json; charset=UTF-8"),
                ("Content-Length", str(len(data))),
                *headers,
            ],
        )
        return [data]

    def _instagram_ids(self) -> set[str]:
        ids: set[str] = set()
        for page in self.pages:
            if page.instagram is not None:
                ids.add(page.instagram.ig_id)
                for media in page.instagram.media:
                    ids.add(media.media_id)
                    ids.update(comment.comment_id for comment in media.comments)
        return ids


class _RefusedError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


# -- helpers ------------------------------------------------------------------------------------------


def _attachment(attachment: Attachment) -> dict[str, Any]:
    node: dict[str, Any] = {"media_type": attachment.media_type, "type": attachment.media_type}
    if attachment.description is not None:
        node["description"] = attachment.description
    if attachment.subattachments:
        node["subattachments"] = {
            "data": [{"media_type": "photo", "type": "photo"} for _ in range(attachment.subattachments)]
        }
    return node


def _tagged_node(post: TaggedPost) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": post.post_id,
        "created_time": post.created_time,
        "message": post.message,
        "permalink_url": f"https://www.facebook.com/{post.post_id.replace('_', '/posts/')}",
    }
    if post.author_is_page:
        node["from"] = {"name": post.author_name, "id": post.author_id}
    return node


def split_fields(text: str) -> list[tuple[str, str | None]]:
    """``fields=`` as (name, nested fields or None): ``a,b{c,d},e.summary(true).limit(0)`` ->
    ``[("a", None), ("b", "c,d"), ("e", None)]``; modifiers after a ``.`` are dropped."""
    found: list[tuple[str, str | None]] = []
    depth, start = 0, 0
    for index, char in enumerate(text + ","):
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        elif char == "," and depth == 0:
            part = text[start:index].strip()
            start = index + 1
            if not part:
                continue
            name = part.split("{", 1)[0].split(".", 1)[0].strip()
            nested = part[part.index("{") + 1 : part.rindex("}")] if "{" in part else None
            found.append((name, nested))
    return found


def _select(node: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """The ``fields`` of ``node`` (``id`` always), nested selections applied to ``{"data": [...]}``
    lists and to objects."""
    if not fields:
        return node
    chosen: dict[str, Any] = {"id": node["id"]} if "id" in node else {}
    for name, nested in split_fields(fields):
        if name not in node:
            continue
        value = node[name]
        if nested is not None and isinstance(value, dict):
            if isinstance(value.get("data"), list):
                value = {**value, "data": [_select(item, nested) for item in value["data"]]}
            else:
                value = _select(value, nested)
        chosen[name] = value
    return chosen


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"QVFIU:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str) -> int | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, number = base64.urlsafe_b64decode(padded.encode()).decode().split(":")
        return int(number) if prefix == "QVFIU" else None
    except ValueError:
        return None


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


def _moment(text: str | None) -> float | None:
    """Unix seconds or ISO 8601 (``2026-11-23T00:00:00+0000``) as epoch seconds."""
    if not text:
        return None
    if text.isdigit():
        return float(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def graph_time(moment: datetime) -> str:
    """A moment as Graph writes it: ``2026-11-23T08:00:00+0000``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


# -- worlds -------------------------------------------------------------------------------------------


def page_id_of(number: int) -> str:
    """A person of the test world as a Facebook id (a Page's or a user's): 15 digits."""
    return f"{100_000_000_000_000 + number}"


def ig_id_of(number: int) -> str:
    """A person of the test world as an Instagram user id: 17 digits."""
    return f"{17_841_400_000_000_000 + number}"


def pages_from_world(world: World, handles: Iterable[str]) -> list[FacebookPage]:
    """Accounts of the test world (tests/platforms/world.py) as Facebook Pages, for a test that
    scores a Page beside the world's other accounts.

    A Page's posts are the account's originals (newest first); every reply below one, the account's
    answers included, is a comment in its stream: a direct reply top-level, a deeper one a reply to
    the comment it answers (Graph nests one level: a reply to a reply has the top-level one as its
    ``parent``), oldest first. A deleted post is no comment. Images are photo attachments."""
    pages = []
    for handle in handles:
        account = world.accounts[handle]
        person = account.person
        page = FacebookPage(
            page_id_of(person.number),
            handle,
            person.display_name,
            followers_count=person.followers_count,
            fan_count=person.followers_count,
        )
        for post in account.timeline():
            if post.kind != "original":
                continue
            item = FacebookPost(
                f"{page.page_id}_{post.number}",
                graph_time(post.created_at),
                post.text,
                attachments=[Attachment("photo")]
                if len(post.images) == 1
                else ([Attachment("album", subattachments=len(post.images))] if post.images else []),
                reactions=post.like_count,
                shares=post.repost_count,
            )
            for reply in post.visible_replies:
                top = _fb_comment(page, reply, None)
                below = sorted(_descendants(reply), key=lambda comment: comment.created_at)
                item.comments.append(top)
                item.comments += [_fb_comment(page, comment, top.comment_id) for comment in below]
            item.comments.sort(key=lambda comment: comment.created_time)
            page.posts.append(item)
        pages.append(page)
    return pages


def instagram_from_world(world: World, handle: str, page: FacebookPage) -> IgUser:
    """An account of the test world as the Instagram professional account of ``page``: its originals
    as media (newest first; a post with images a carousel or an image), each direct reply a top-level
    comment and every post below it a reply to that comment (Instagram nests one level), oldest first."""
    account = world.accounts[handle]
    person = account.person
    user = IgUser(
        ig_id_of(person.number), handle, person.display_name, person.followers_count, person.following_count
    )
    for post in account.timeline():
        if post.kind != "original":
            continue
        media = IgMedia(
            f"179{post.number:014d}",
            graph_time(post.created_at),
            post.text,
            "CAROUSEL_ALBUM" if len(post.images) > 1 else "IMAGE",
            post.like_count,
            ["IMAGE"] * len(post.images) if len(post.images) > 1 else [],
        )
        for reply in post.visible_replies:
            top = _ig_comment(reply)
            top.replies = [
                _ig_comment(comment) for comment in sorted(_descendants(reply), key=lambda c: c.created_at)
            ]
            media.comments.append(top)
        user.media.append(media)
    page.instagram = user
    return user


def _descendants(post: WorldPost) -> list[WorldPost]:
    found = []
    for reply in post.visible_replies:
        found += [reply, *_descendants(reply)]
    return found


def _fb_comment(page: FacebookPage, post: WorldPost, parent: str | None) -> Comment:
    own = page_id_of(post.author.number) == page.page_id
    return Comment(
        f"{10**15 + post.number}_{post.number}",
        page.page_id if own else page_id_of(post.author.number),
        page.name if own else post.author.display_name,
        post.text,
        graph_time(post.created_at),
        parent,
        post.like_count,
    )


def _ig_comment(post: WorldPost) -> IgComment:
    return IgComment(
        f"178{post.number:014d}",
        ig_id_of(post.author.number),
        post.author.handle,
        post.text,
        graph_time(post.created_at),
        post.like_count,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="A local Meta Graph API serving one example Page.")
    parser.add_argument("--port", type=int, default=8004)
    parser.add_argument("--token", default="test-token")
    arguments = parser.parse_args()
    page = FacebookPage(
        "100000000000001", "examplepage", "Example Page", followers_count=1200, fan_count=1100
    )
    server = GraphServer([page], tokens={arguments.token: Token(page.page_id)}, port=arguments.port)
    server.start()
    print(f"serving {server.url}/{VERSION} (token {arguments.token!r}); Ctrl-C to stop")
    try:
        while server._thread is not None and server._thread.is_alive():
            server._thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()


def example_facebook_page(
    until: datetime = datetime(2026, 11, 23, tzinfo=UTC),
    *,
    weeks: int = 26,
    per_week: int = 3,
    comments: int = 12,
    long_thread_replies: int = 7,
) -> FacebookPage:
    """The README's example Page: ``per_week`` posts a week for ``weeks`` weeks before ``until``,
    each with ``comments`` top-level comments of the public (every third a question), the first
    holding ``long_thread_replies`` replies, the Page's answer first among them."""
    from datetime import timedelta

    page = FacebookPage(
        "100000000000777", "examplepage", "Example Page", followers_count=25_000, fan_count=24_000
    )
    for number in range(weeks * per_week):
        published = until - timedelta(hours=56 * number + 20)
        post = FacebookPost(f"{page.page_id}_{number}", graph_time(published), f"Post {number}", reactions=40)
        for n in range(comments):
            at = graph_time(published + timedelta(hours=1 + n))
            text = "When is the next one?" if n % 3 == 0 else "Nice."
            post.comments.append(Comment(f"{number}_{n}", page_id_of(500 + n), f"Person {n}", text, at))
        for reply in range(long_thread_replies):
            author = page.page_id if reply == 0 else page_id_of(900 + reply)
            at = graph_time(published + timedelta(hours=1, minutes=10 + reply))
            post.comments.append(
                Comment(f"{number}_0_{reply}", author, "Someone", "Thanks", at, f"{number}_0")
            )
        post.comments.sort(key=lambda comment: comment.created_time)
        page.posts.append(post)
    return page


def add_facebook_activity(
    page: FacebookPage, at: datetime, *, new_posts: int = 1, commented: int = 2
) -> None:
    """A night's activity: ``new_posts`` posts at ``at`` with one comment each, and a new comment on
    each of the ``commented`` most recent older posts."""
    stamp = graph_time(at)
    for number in range(new_posts):
        post = FacebookPost(f"{page.page_id}_new{at:%Y%m%d}{number}", stamp, "New post")
        post.comments.append(Comment(f"new{at:%Y%m%d}{number}", page_id_of(999), "Visitor", "First?", stamp))
        page.posts.insert(0, post)
    for post in page.posts[new_posts : new_posts + commented]:
        post.comments.append(
            Comment(f"late{post.post_id}{at:%Y%m%d}", page_id_of(998), "Late", "Late.", stamp)
        )


def example_instagram_account(
    until: datetime = datetime(2026, 11, 23, tzinfo=UTC),
    *,
    weeks: int = 26,
    per_week: int = 3,
    comments: int = 12,
    long_thread_replies: int = 7,
) -> FacebookPage:
    """The README's example Instagram account, linked to its organization's Page: ``per_week`` media a
    week for ``weeks`` weeks before ``until``, each with ``comments`` top-level comments of the public
    (every third a question), the first holding ``long_thread_replies`` replies, the account's answer
    first among them."""
    from datetime import timedelta

    page = FacebookPage("100000000000778", "examplepage", "Example Page", followers_count=25_000)
    user = IgUser(ig_id_of(777), "exampleaccount", "Example Account", 31_000, 210)
    for number in range(weeks * per_week):
        published = until - timedelta(hours=56 * number + 20)
        media = IgMedia(f"179{number:014d}", graph_time(published), f"Media {number}", like_count=90)
        for n in range(comments):
            at = graph_time(published + timedelta(hours=1 + n))
            text = "When is the next one?" if n % 3 == 0 else "Nice."
            media.comments.append(
                IgComment(f"178{number:08d}{n:06d}", ig_id_of(500 + n), f"person{n}", text, at)
            )
        for reply in range(long_thread_replies):
            own = reply == 0
            at = graph_time(published + timedelta(hours=1, minutes=10 + reply))
            media.comments[0].replies.append(
                IgComment(
                    f"177{number:08d}{reply:06d}",
                    user.ig_id if own else ig_id_of(900 + reply),
                    user.username if own else f"replier{reply}",
                    "Thanks",
                    at,
                )
            )
        user.media.append(media)
    page.instagram = user
    return page


def add_instagram_activity(user: IgUser, at: datetime, *, new_media: int = 1, commented: int = 2) -> None:
    """A night's activity: ``new_media`` media at ``at`` with one comment each, and a new comment on
    each of the ``commented`` most recent older media."""
    stamp = graph_time(at)
    for number in range(new_media):
        media = IgMedia(f"176{at:%Y%m%d}{number:06d}", stamp, "New media")
        media.comments.append(
            IgComment(f"175{at:%Y%m%d}{number:06d}", ig_id_of(999), "visitor", "First?", stamp)
        )
        user.media.insert(0, media)
    for media in user.media[new_media : new_media + commented]:
        media.comments.append(
            IgComment(f"174{media.media_id[-8:]}{at:%Y%m%d}", ig_id_of(998), "late", "Late.", stamp)
        )
