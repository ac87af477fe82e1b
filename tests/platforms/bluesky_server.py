"""A local Bluesky AppView serving the generated world through the public XRPC methods.

Methods (lexicons app.bsky.*, com.atproto.identity.*; docs.bsky.app):

- ``com.atproto.identity.resolveHandle?handle=`` -> ``{"did"}``, or 400
  ``{"error": "InvalidRequest", "message": "Unable to resolve handle"}``;
- ``app.bsky.actor.getProfile?actor=`` (handle or DID) -> profileViewDetailed,
  or 400 ``InvalidRequest`` "Profile not found";
- ``app.bsky.feed.getAuthorFeed?actor=&filter=&limit=&cursor=`` -> ``{"feed", "cursor"}``:
  feedViewPost items newest first, with ``reply`` {root, parent, grandparentAuthor}
  for replies and ``reason`` ``#reasonRepost`` for reposts; ``limit`` 1..100
  (default 50); the cursor is opaque (the last item's sort time), present while
  a page has items; an unreadable cursor gives an empty feed;
- ``app.bsky.feed.getPostThread?uri=&depth=&parentHeight=`` -> ``{"thread"}``:
  nested threadViewPost nodes, a deleted reply with replies under it as
  ``#notFoundPost``, a reply whose author blocks the viewer as ``#blockedPost``;
  a deleted or unknown post is 400 ``{"error": "NotFound", "message": "Post not found: <uri>"}``.

Ids look like the network's: ``did:plc:`` + 24 base32 characters, record keys
are TIDs (microseconds and a clock id, base32-sortable), CIDs are CIDv1
dag-cbor (``bafyrei...``) and blob CIDs raw (``bafkrei...``).

Given ``app_passwords`` (identifier -> app password), the server is also the
login account's PDS, and reads need its session (lexicons com.atproto.server.*):

- ``com.atproto.server.createSession`` (POST ``{"identifier", "password"}``) ->
  ``{"did", "handle", "accessJwt", "refreshJwt", "active", ...}``; 401
  ``AuthenticationRequired`` "Invalid identifier or password"; at most
  ``sign_in_limit`` (30) per ``sign_in_window`` (5 minutes) per identifier, then
  429 ``RateLimitExceeded`` with that limit's ``RateLimit-*`` headers;
- ``com.atproto.server.refreshSession`` (POST, no body, the refresh token as
  bearer) -> new tokens, the old refresh token revoked; 400 ``ExpiredToken``
  "Token has expired" or ``InvalidToken`` (revoked, unknown, an access token);
- a read without a token is 401 ``AuthMissing``; with an expired access token
  400 ``ExpiredToken`` "Token has expired" (as the PDS answers it), with an
  unknown one 400 ``InvalidToken``. Tokens live ``access_seconds`` (2 hours)
  and ``refresh_seconds`` (90 days) on the server's clock; ``expire_sessions()``
  makes every access token issued so far expire at once.

Every answer carries ``RateLimit-Limit``, ``RateLimit-Remaining``,
``RateLimit-Reset`` (epoch seconds, floored, as @atproto/xrpc-server writes it)
and ``RateLimit-Policy`` (``<limit>;w=<seconds>``); a window starts with the
first request after the previous one ended. Past the budget: 429
``{"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}``. Accounts in
``failing`` are answered 503.

Run it by hand: ``python -m tests.platforms.bluesky_server --port 8002 --accounts 50``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tests.platforms.world import (
    Answer,
    Image,
    LocalPlatformServer,
    Person,
    Post,
    RateLimitWindow,
    World,
    add_server_arguments,
    format_datetime,
    world_from_arguments,
)

DEFAULT_RATE_LIMIT = 3000
DEFAULT_WINDOW_SECONDS = 300.0
"""3000 requests per 5 minutes per IP address (docs: advanced-guides/rate-limits)."""
DEFAULT_FEED_LIMIT = 50
MAX_FEED_LIMIT = 100
DEFAULT_DEPTH = 6
DEFAULT_PARENT_HEIGHT = 80
MAX_DEPTH = 1000
HANDLE_DOMAIN = "bsky.social"
CDN = "https://cdn.bsky.app/img"

RESOLVE_HANDLE = "com.atproto.identity.resolveHandle"
GET_PROFILE = "app.bsky.actor.getProfile"
GET_AUTHOR_FEED = "app.bsky.feed.getAuthorFeed"
GET_POST_THREAD = "app.bsky.feed.getPostThread"
QUERY_METHODS = (RESOLVE_HANDLE, GET_PROFILE, GET_AUTHOR_FEED, GET_POST_THREAD)

CREATE_SESSION = "com.atproto.server.createSession"
REFRESH_SESSION = "com.atproto.server.refreshSession"
SESSION_METHODS = (CREATE_SESSION, REFRESH_SESSION)
SIGN_IN_LIMIT = 30
SIGN_IN_WINDOW_SECONDS = 300.0
"""30 createSession per 5 minutes per login account (docs: advanced-guides/rate-limits)."""
ACCESS_SECONDS = 2 * 3600.0
REFRESH_SECONDS = 90 * 86400.0

POST_VIEW = "app.bsky.feed.defs#postView"
THREAD_VIEW_POST = "app.bsky.feed.defs#threadViewPost"
NOT_FOUND_POST = "app.bsky.feed.defs#notFoundPost"
BLOCKED_POST = "app.bsky.feed.defs#blockedPost"
REASON_REPOST = "app.bsky.feed.defs#reasonRepost"

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_XRPC_PATH = re.compile(r"^/xrpc/(?P<method>[A-Za-z0-9.\-]+)/?$")
_AT_URI = re.compile(r"^at://(?P<did>[^/]+)/(?P<collection>[^/]+)/(?P<rkey>[^/]+)$")
_FEED_FILTERS = ("posts_with_replies", "posts_no_replies", "posts_with_media", "posts_and_author_threads")


def xrpc_error(error: str, message: str, status: int = 400) -> Answer:
    return Answer(status, {"error": error, "message": message})


def tid(ms: int, clock_id: int) -> str:
    """A record key: 53 bits of microseconds and 10 bits of clock id, 13 base32-sortable characters."""
    value = (ms * 1000) << 10 | (clock_id & 0x3FF)
    return "".join(_TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def cid(key: str, *, raw: bool = False) -> str:
    """A CIDv1 (sha2-256) in base32: dag-cbor for records (``bafyrei``), raw for blobs (``bafkrei``)."""
    digest = hashlib.sha256(key.encode()).digest()
    prefix = bytes((0x01, 0x55 if raw else 0x71, 0x12, 0x20))
    return "b" + base64.b32encode(prefix + digest).decode().lower().rstrip("=")


def short_link(url: str) -> str:
    """How the Bluesky app writes a link in a post's text: no scheme, at most 30 characters."""
    text = re.sub(r"^https?://(www\.)?", "", url)
    return text if len(text) <= 30 else text[:27] + "..."


class BlueskyServer(LocalPlatformServer):
    """The world as Bluesky's public AppView on 127.0.0.1 (see the module docstring for what it answers).

    Arguments:
        world: the world to serve (default: ``World.generate()``, 50 accounts over 26 weeks).
        rate_limit: requests allowed per window (all clients together).
        window_seconds: length of a rate-limit window.
        clock: the server's time (epoch seconds), for the rate-limit window and the request log.
        failing: handles answered 503 forever (default: the world's).
        handle_domain: the domain of every handle (``org001.bsky.social``).
    """

    platform = "bluesky"
    aligned_windows = False

    def __init__(
        self,
        world: World | None = None,
        *,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
        failing: Iterable[str] | None = None,
        handle_domain: str = HANDLE_DOMAIN,
        app_passwords: Mapping[str, str] | None = None,
        access_seconds: float = ACCESS_SECONDS,
        refresh_seconds: float = REFRESH_SECONDS,
        sign_in_limit: int = SIGN_IN_LIMIT,
        sign_in_window: float = SIGN_IN_WINDOW_SECONDS,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(
            world if world is not None else World.generate(),
            rate_limit=rate_limit,
            window_seconds=window_seconds,
            clock=clock,
            failing=failing,
            host=host,
            port=port,
        )
        self.handle_domain = handle_domain
        self.pds = (
            LocalPds(app_passwords, clock, access_seconds, refresh_seconds, sign_in_limit, sign_in_window)
            if app_passwords is not None
            else None
        )
        """The login account's PDS, when the server has ``app_passwords``: reads then need its session."""
        people = self.world.people.values()
        self._dids = {person.number: self._make_did(person) for person in people}
        self._by_did = {self._dids[person.number]: person for person in people}
        self._by_handle = {self.handle(person): person for person in people}
        self._organizations = {
            account.person.number: account.handle for account in self.world.accounts.values()
        }
        self._posts = {self.uri(post): post for post in self.world.posts.values() if post.reposted is None}
        self._feeds: dict[int, list[Post]] = {}
        for post in sorted(self.world.posts.values(), key=lambda post: post.created_at, reverse=True):
            if not post.is_deleted:
                self._feeds.setdefault(post.author.number, []).append(post)

    # Identities.

    def _make_did(self, person: Person) -> str:
        digest = hashlib.sha256(f"{self.world.seed}:did:{person.number}".encode()).digest()
        return "did:plc:" + base64.b32encode(digest).decode().lower()[:24]

    def did(self, person: Person) -> str:
        return self._dids[person.number]

    def handle(self, person: Person) -> str:
        """``org001.bsky.social``; underscores become hyphens, as handles allow no underscore."""
        return f"{person.handle.replace('_', '-')}.{self.handle_domain}"

    def uri(self, post: Post) -> str:
        """The at:// URI of a post, or of the repost record when the post is a repost."""
        collection = "app.bsky.feed.repost" if post.reposted is not None else "app.bsky.feed.post"
        return f"at://{self.did(post.author)}/{collection}/{tid(post.created_ms, post.account_number)}"

    def cid(self, post: Post) -> str:
        return cid(f"{self.world.seed}:post:{post.number}")

    def person(self, actor: str) -> Person | None:
        """The person a handle or DID names."""
        actor = actor.strip()
        if actor.startswith("did:"):
            return self._by_did.get(actor)
        return self._by_handle.get(actor.lower().removeprefix("@"))

    # What a request is about.

    def identify(self, method: str, path: str, query: dict[str, str]) -> tuple[str, str | None]:
        match = _XRPC_PATH.match(path)
        if match is None:
            return "unknown", None
        nsid = match["method"]
        if nsid == RESOLVE_HANDLE:
            return nsid, self._account_of(query.get("handle", ""))
        if nsid in (GET_PROFILE, GET_AUTHOR_FEED):
            return nsid, self._account_of(query.get("actor", ""))
        if nsid == GET_POST_THREAD:
            uri = query.get("uri", "")
            post = self._posts.get(uri)
            if post is not None:
                return nsid, post.account
            at_uri = _AT_URI.match(uri)
            return nsid, self._account_of(at_uri["did"]) if at_uri else None
        return nsid, None

    def _account_of(self, actor: str) -> str | None:
        person = self.person(actor) if actor else None
        if person is not None:
            return self._organizations.get(person.number)
        # An unknown handle is still named in the log: tests count the requests made for it.
        name = actor.strip().lower().removeprefix("@")
        suffix = f".{self.handle_domain}"
        return name.removesuffix(suffix) if name.endswith(suffix) else None

    def expire_sessions(self) -> None:
        """Make every access token issued so far expired (their refresh tokens stay valid)."""
        if self.pds is not None:
            self.pds.expire_access_tokens()

    def dispatch(self, request: Any, endpoint: str) -> Answer:
        if endpoint in SESSION_METHODS and self.pds is not None:
            return self.pds.answer(request, endpoint)
        if self.pds is not None and endpoint in QUERY_METHODS:
            refused = self.pds.check_access(request)
            if refused is not None:
                return refused
        if endpoint not in QUERY_METHODS:
            return xrpc_error("MethodNotImplemented", "Method Not Implemented", 501)
        if request.method != "GET":
            return xrpc_error("InvalidRequest", f"Incorrect HTTP method ({request.method}) expected GET")
        args = request.args
        if endpoint == RESOLVE_HANDLE:
            return self._resolve_handle(args)
        if endpoint == GET_PROFILE:
            return self._get_profile(args)
        if endpoint == GET_AUTHOR_FEED:
            return self._get_author_feed(args)
        return self._get_post_thread(args)

    def rate_limit_headers(self, remaining: int, reset_at: float) -> list[tuple[str, str]]:
        window = self.window.window_seconds
        return [
            ("RateLimit-Limit", str(self.window.limit)),
            ("RateLimit-Remaining", str(remaining)),
            ("RateLimit-Reset", str(math.floor(reset_at))),
            ("RateLimit-Policy", f"{self.window.limit};w={window:g}"),
        ]

    def too_many_requests(self) -> Answer:
        return xrpc_error("RateLimitExceeded", "Rate Limit Exceeded", 429)

    def unavailable(self) -> Answer:
        return xrpc_error("NotEnoughResources", "Not Enough Resources", 503)

    # The methods.

    def _resolve_handle(self, args: Any) -> Answer:
        if not args.get("handle"):
            return _missing("handle")
        person = self.person(args["handle"])
        if person is None or args["handle"].startswith("did:"):
            return xrpc_error("InvalidRequest", "Unable to resolve handle")
        return Answer(200, {"did": self.did(person)})

    def _get_profile(self, args: Any) -> Answer:
        if not args.get("actor"):
            return _missing("actor")
        person = self.person(args["actor"])
        if person is None:
            return xrpc_error("InvalidRequest", "Profile not found")
        return Answer(200, self.profile_detailed(person))

    def _get_author_feed(self, args: Any) -> Answer:
        if not args.get("actor"):
            return _missing("actor")
        limit = _integer_param(args, "limit", DEFAULT_FEED_LIMIT, 1, MAX_FEED_LIMIT)
        if isinstance(limit, Answer):
            return limit
        person = self.person(args["actor"])
        if person is None:
            return xrpc_error("InvalidRequest", "Profile not found")
        items = self._feeds.get(person.number, [])
        feed_filter = args.get("filter", "posts_with_replies")
        if feed_filter == "posts_no_replies":
            items = [post for post in items if post.parent is None]
        elif feed_filter == "posts_with_media":
            items = [post for post in items if post.reposted is None and post.images]
        elif feed_filter == "posts_and_author_threads":
            items = [post for post in items if post.parent is None or _is_self_thread(post)]
        if cursor := args.get("cursor"):
            try:
                before = datetime.fromisoformat(cursor.replace("Z", "+00:00"))
            except ValueError:
                return Answer(200, {"feed": []})
            if before.tzinfo is None:
                return Answer(200, {"feed": []})
            items = [post for post in items if post.created_at < before]
        page = items[:limit]
        body: dict[str, Any] = {"feed": [self.feed_view_post(post) for post in page]}
        if page:
            body["cursor"] = format_datetime(page[-1].created_at)
        return Answer(200, body)

    def _get_post_thread(self, args: Any) -> Answer:
        uri = args.get("uri")
        if not uri:
            return _missing("uri")
        depth = _integer_param(args, "depth", DEFAULT_DEPTH, 0, MAX_DEPTH)
        if isinstance(depth, Answer):
            return depth
        height = _integer_param(args, "parentHeight", DEFAULT_PARENT_HEIGHT, 0, MAX_DEPTH)
        if isinstance(height, Answer):
            return height
        post = self._posts.get(uri)
        if post is None or post.is_deleted:
            return xrpc_error("NotFound", f"Post not found: {uri}")
        return Answer(200, {"thread": self._thread_node(post, depth, height)})

    # Views.

    def _thread_node(self, post: Post, depth: int, height: int) -> dict[str, Any]:
        node: dict[str, Any] = {"$type": THREAD_VIEW_POST, "post": self.post_view(post)}
        if post.parent is not None and height > 0:
            node["parent"] = self._parent_node(post.parent, height)
        if depth > 0:
            node["replies"] = [
                self._reply_node(reply, depth - 1)
                for reply in post.replies
                if not reply.is_deleted or _has_visible_descendants(reply)
            ]
        node["threadContext"] = {}
        return node

    def _parent_node(self, post: Post, height: int) -> dict[str, Any]:
        if post.is_deleted or post.is_blocked:
            return self.missing_view(post)
        node: dict[str, Any] = {"$type": THREAD_VIEW_POST, "post": self.post_view(post)}
        if post.parent is not None and height > 1:
            node["parent"] = self._parent_node(post.parent, height - 1)
        node["threadContext"] = {}
        return node

    def _reply_node(self, post: Post, depth: int) -> dict[str, Any]:
        if post.is_deleted or post.is_blocked:
            return self.missing_view(post)
        return self._thread_node(post, depth, 0)

    def missing_view(self, post: Post) -> dict[str, Any]:
        """``#notFoundPost`` for a deleted post, ``#blockedPost`` for one whose author blocks the viewer."""
        if post.is_deleted:
            return {"$type": NOT_FOUND_POST, "uri": self.uri(post), "notFound": True}
        return {
            "$type": BLOCKED_POST,
            "uri": self.uri(post),
            "blocked": True,
            "author": {"did": self.did(post.author), "viewer": {"blockedBy": True}},
        }

    def feed_view_post(self, post: Post) -> dict[str, Any]:
        """A feedViewPost: the post (or the reposted one, with a reason) and its reply context."""
        subject = post.reposted if post.reposted is not None else post
        item: dict[str, Any] = {"post": self.post_view(subject)}
        if subject.parent is not None:
            parent, root = subject.parent, subject.root
            reply: dict[str, Any] = {"root": self._ref_view(root), "parent": self._ref_view(parent)}
            if parent.parent is not None and not parent.is_deleted:
                reply["grandparentAuthor"] = self.profile_basic(parent.parent.author)
            item["reply"] = reply
        if post.reposted is not None:
            item["reason"] = {
                "$type": REASON_REPOST,
                "by": self.profile_basic(post.author),
                "uri": self.uri(post),
                "cid": self.cid(post),
                "indexedAt": format_datetime(_indexed_at(post)),
            }
        return item

    def _ref_view(self, post: Post) -> dict[str, Any]:
        if post.is_deleted or post.is_blocked:
            return self.missing_view(post)
        return {"$type": POST_VIEW, **self.post_view(post)}

    def post_view(self, post: Post) -> dict[str, Any]:
        view: dict[str, Any] = {
            "uri": self.uri(post),
            "cid": self.cid(post),
            "author": self.profile_basic(post.author),
            "record": self.record(post),
        }
        if (embed := self._embed_view(post)) is not None:
            view["embed"] = embed
        view.update(
            {
                "bookmarkCount": 0,
                "replyCount": post.reply_count,
                "repostCount": post.repost_count,
                "likeCount": post.like_count,
                "quoteCount": post.quote_count,
                "indexedAt": format_datetime(_indexed_at(post)),
                "viewer": {"bookmarked": False, "threadMuted": False, "embeddingDisabled": False},
                "labels": [],
            }
        )
        return view

    def record(self, post: Post) -> dict[str, Any]:
        """The app.bsky.feed.post record: text, facets (UTF-8 byte ranges), langs, reply refs, embed."""
        text, facets = self._text_and_facets(post)
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "createdAt": format_datetime(post.created_at),
        }
        if (embed := self._embed_record(post)) is not None:
            record["embed"] = embed
        if facets:
            record["facets"] = facets
        if post.language:
            record["langs"] = [post.language]
        if post.parent is not None:
            record["reply"] = {"parent": self._strong_ref(post.parent), "root": self._strong_ref(post.root)}
        record["text"] = text
        return record

    def _strong_ref(self, post: Post) -> dict[str, str]:
        return {"cid": self.cid(post), "uri": self.uri(post)}

    def _text_and_facets(self, post: Post) -> tuple[str, list[dict[str, Any]]]:
        text, facets = "", []
        for segment in post.segments:
            if segment.kind == "text":
                text += segment.value
                continue
            if segment.kind == "mention" and segment.person is not None:
                shown = "@" + self.handle(segment.person)
                feature = {"$type": "app.bsky.richtext.facet#mention", "did": self.did(segment.person)}
            elif segment.kind == "link":
                shown = short_link(segment.value)
                feature = {"$type": "app.bsky.richtext.facet#link", "uri": segment.value}
            else:
                shown = "#" + segment.value
                feature = {"$type": "app.bsky.richtext.facet#tag", "tag": segment.value}
            start = len(text.encode("utf-8"))
            text += shown
            facets.append(
                {
                    "$type": "app.bsky.richtext.facet",
                    "features": [feature],
                    "index": {"byteEnd": len(text.encode("utf-8")), "byteStart": start},
                }
            )
        return text, facets

    def _images_record(self, post: Post) -> dict[str, Any]:
        return {
            "$type": "app.bsky.embed.images",
            "images": [
                {
                    "alt": image.alt or "",
                    "aspectRatio": {"height": image.height, "width": image.width},
                    "image": {
                        "$type": "blob",
                        "ref": {"$link": self._blob(image)},
                        "mimeType": "image/jpeg",
                        "size": image.size,
                    },
                }
                for image in post.images
            ],
        }

    def _embed_record(self, post: Post) -> dict[str, Any] | None:
        if post.quoted is not None:
            quote = {"$type": "app.bsky.embed.record", "record": self._strong_ref(post.quoted)}
            if post.images:
                return {
                    "$type": "app.bsky.embed.recordWithMedia",
                    "media": self._images_record(post),
                    "record": quote,
                }
            return quote
        if post.images:
            return self._images_record(post)
        if post.card is not None:
            return {
                "$type": "app.bsky.embed.external",
                "external": {
                    "uri": post.card.url,
                    "title": post.card.title,
                    "description": post.card.description,
                },
            }
        return None

    def _images_view(self, post: Post) -> dict[str, Any]:
        did = self.did(post.author)
        return {
            "$type": "app.bsky.embed.images#view",
            "images": [
                {
                    "thumb": f"{CDN}/feed_thumbnail/plain/{did}/{self._blob(image)}@jpeg",
                    "fullsize": f"{CDN}/feed_fullsize/plain/{did}/{self._blob(image)}@jpeg",
                    "alt": image.alt or "",
                    "aspectRatio": {"height": image.height, "width": image.width},
                }
                for image in post.images
            ],
        }

    def _embed_view(self, post: Post) -> dict[str, Any] | None:
        if post.quoted is not None:
            quoted = self._quoted_view(post.quoted)
            if post.images:
                return {
                    "$type": "app.bsky.embed.recordWithMedia#view",
                    "media": self._images_view(post),
                    "record": {"record": quoted},
                }
            return {"$type": "app.bsky.embed.record#view", "record": quoted}
        if post.images:
            return self._images_view(post)
        if post.card is not None:
            return {
                "$type": "app.bsky.embed.external#view",
                "external": {
                    "uri": post.card.url,
                    "title": post.card.title,
                    "description": post.card.description,
                },
            }
        return None

    def _quoted_view(self, quoted: Post) -> dict[str, Any]:
        if quoted.is_deleted:
            return {"$type": "app.bsky.embed.record#viewNotFound", "uri": self.uri(quoted), "notFound": True}
        embed = self._embed_view(quoted)
        return {
            "$type": "app.bsky.embed.record#viewRecord",
            "uri": self.uri(quoted),
            "cid": self.cid(quoted),
            "author": self.profile_basic(quoted.author),
            "value": self.record(quoted),
            "labels": [],
            "likeCount": quoted.like_count,
            "replyCount": quoted.reply_count,
            "repostCount": quoted.repost_count,
            "quoteCount": quoted.quote_count,
            "indexedAt": format_datetime(_indexed_at(quoted)),
            "embeds": [embed] if embed is not None else [],
        }

    def _blob(self, image: Image) -> str:
        return cid(f"{self.world.seed}:blob:{image.number}", raw=True)

    def profile_basic(self, person: Person) -> dict[str, Any]:
        did = self.did(person)
        return {
            "did": did,
            "handle": self.handle(person),
            "displayName": person.display_name,
            "avatar": f"{CDN}/avatar/plain/{did}/{cid(f'avatar:{did}', raw=True)}@jpeg",
            "associated": {
                "chat": {"allowIncoming": "following"},
                "activitySubscription": {"allowSubscriptions": "followers"},
            },
            "viewer": {"muted": False, "blockedBy": False},
            "labels": [],
            "createdAt": format_datetime(person.created_at),
        }

    def profile_detailed(self, person: Person) -> dict[str, Any]:
        basic = self.profile_basic(person)
        return {
            "did": basic["did"],
            "handle": basic["handle"],
            "displayName": basic["displayName"],
            "avatar": basic["avatar"],
            "description": person.bio,
            "associated": {
                "lists": 0,
                "feedgens": 0,
                "starterPacks": 0,
                "labeler": False,
                **basic["associated"],
            },
            "indexedAt": format_datetime(person.created_at + timedelta(days=1)),
            "createdAt": basic["createdAt"],
            "viewer": basic["viewer"],
            "labels": [],
            "followersCount": person.followers_count,
            "followsCount": person.following_count,
            "postsCount": sum(1 for post in self._feeds.get(person.number, []) if post.reposted is None),
        }


@dataclass
class _Token:
    kind: str  # "access" or "refresh"
    identifier: str
    expires_at: float
    revoked: bool = False


class LocalPds:
    """The login account's PDS: sign-ins, refreshes and the tokens reads must carry (see the module docstring)."""

    def __init__(
        self,
        app_passwords: Mapping[str, str],
        clock: Callable[[], float],
        access_seconds: float,
        refresh_seconds: float,
        sign_in_limit: int,
        sign_in_window: float,
    ) -> None:
        self.app_passwords = {key.lower(): value for key, value in app_passwords.items()}
        self.clock = clock
        self.access_seconds = access_seconds
        self.refresh_seconds = refresh_seconds
        self.sign_in_limit = sign_in_limit
        self.sign_in_window = sign_in_window
        self.sign_ins: list[str] = []
        """The identifier of every createSession answered 200, in order."""
        self.refreshes = 0
        """refreshSession calls answered 200."""
        self.issued: list[str] = []
        """Every token handed out, to look for in what the client wrote."""
        self._tokens: dict[str, _Token] = {}
        self._windows: dict[str, RateLimitWindow] = {}
        self._lock = threading.Lock()

    def did(self, identifier: str) -> str:
        digest = hashlib.sha256(f"login:{identifier}".encode()).digest()
        return "did:plc:" + base64.b32encode(digest).decode().lower()[:24]

    def expire_access_tokens(self) -> None:
        with self._lock:
            for token in self._tokens.values():
                if token.kind == "access":
                    token.expires_at = min(token.expires_at, self.clock() - 1)

    def answer(self, request: Any, method: str) -> Answer:
        if request.method != "POST":
            return xrpc_error("InvalidRequest", f"Incorrect HTTP method ({request.method}) expected POST")
        if method == CREATE_SESSION:
            return self._create_session(request)
        return self._refresh_session(request)

    def check_access(self, request: Any) -> Answer | None:
        """The refusal of a read whose token is missing, unknown or expired; ``None`` when it may go on."""
        return self._bearer(request, "access")[1]

    def _create_session(self, request: Any) -> Answer:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("identifier"), str):
            return xrpc_error("InvalidRequest", 'Input must have the property "identifier"')
        identifier = body["identifier"].lower()
        with self._lock:
            window = self._windows.setdefault(
                identifier,
                RateLimitWindow(self.sign_in_limit, self.sign_in_window, self.clock, aligned=False),
            )
            allowed, remaining, reset_at, _ = window.consume()
        headers = (
            ("RateLimit-Limit", str(self.sign_in_limit)),
            ("RateLimit-Remaining", str(remaining)),
            ("RateLimit-Reset", str(math.floor(reset_at))),
            ("RateLimit-Policy", f"{self.sign_in_limit};w={self.sign_in_window:g}"),
        )
        if not allowed:
            return Answer(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, headers)
        if self.app_passwords.get(identifier) != body.get("password"):
            return Answer(
                401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, headers
            )
        with self._lock:
            self.sign_ins.append(identifier)
        return Answer(200, self._session(identifier), headers)

    def _refresh_session(self, request: Any) -> Answer:
        if request.get_data():
            return xrpc_error("InvalidRequest", "A request body was provided when none was expected")
        token, refused = self._bearer(request, "refresh")
        if refused is not None:
            return refused
        assert token is not None
        with self._lock:
            self._tokens[token].revoked = True
            self.refreshes += 1
        return Answer(200, self._session(self._tokens[token].identifier))

    def _bearer(self, request: Any, kind: str) -> tuple[str | None, Answer | None]:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None, xrpc_error("AuthMissing", "Authentication Required", 401)
        value = header.removeprefix("Bearer ")
        with self._lock:
            token = self._tokens.get(value)
        if token is None or token.kind != kind:
            return None, xrpc_error("InvalidToken", "Token could not be verified")
        if token.revoked:
            return None, xrpc_error("InvalidToken", "Token has been revoked")
        if self.clock() >= token.expires_at:
            return None, xrpc_error("ExpiredToken", "Token has expired")
        return value, None

    def _session(self, identifier: str) -> dict[str, Any]:
        did = self.did(identifier)
        now = self.clock()
        access = self._issue("access", identifier, did, now + self.access_seconds)
        refresh = self._issue("refresh", identifier, did, now + self.refresh_seconds)
        return {
            "did": did,
            "handle": identifier,
            "email": f"{identifier.split('.')[0]}@example.invalid",
            "emailConfirmed": True,
            "emailAuthFactor": False,
            "accessJwt": access,
            "refreshJwt": refresh,
            "active": True,
        }

    def _issue(self, kind: str, identifier: str, did: str, expires_at: float) -> str:
        """A token shaped like the PDS's JWTs (header.payload.signature), unique and unguessable."""
        header = {"typ": "at+jwt" if kind == "access" else "refresh+jwt", "alg": "ES256K"}
        scope = "com.atproto.appPass" if kind == "access" else "com.atproto.refresh"
        claims = {"scope": scope, "sub": did, "exp": int(expires_at), "jti": secrets.token_hex(8)}
        token = ".".join(
            (
                _base64url(json.dumps(header).encode()),
                _base64url(json.dumps(claims).encode()),
                _base64url(secrets.token_bytes(48)),
            )
        )
        with self._lock:
            self._tokens[token] = _Token(kind, identifier, expires_at)
            self.issued.append(token)
        return token


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _indexed_at(post: Post) -> datetime:
    # The AppView indexes a record a moment after its creation.
    return post.created_at + timedelta(milliseconds=200 + post.number % 700)


def _is_self_thread(post: Post) -> bool:
    while post.parent is not None:
        if post.parent.author is not post.author:
            return False
        post = post.parent
    return True


def _has_visible_descendants(post: Post) -> bool:
    return any(not reply.is_deleted or _has_visible_descendants(reply) for reply in post.replies)


def _missing(name: str) -> Answer:
    return xrpc_error("InvalidRequest", f'Error: Params must have the property "{name}"')


def _integer_param(args: Any, name: str, default: int, minimum: int, maximum: int) -> int | Answer:
    """Decode an integer parameter as the lexicon validator does, or the 400 it answers."""
    value = args.get(name)
    if value is None:
        return default
    if not re.fullmatch(r"-?\d+", value.strip()):
        return xrpc_error("InvalidRequest", f"Error: Params/{name} must be an integer")
    number = int(value)
    if number < minimum:
        return xrpc_error("InvalidRequest", f"Error: Params/{name} can not be less than {minimum}")
    if number > maximum:
        return xrpc_error("InvalidRequest", f"Error: Params/{name} can not be greater than {maximum}")
    return number


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a generated world as a local Bluesky AppView.")
    add_server_arguments(parser, port=8002, rate_limit=DEFAULT_RATE_LIMIT, window=DEFAULT_WINDOW_SECONDS)
    parser.add_argument("--handle-domain", default=HANDLE_DOMAIN)
    args = parser.parse_args(argv)
    world, until = world_from_arguments(args)
    server = BlueskyServer(
        world,
        rate_limit=args.rate_limit,
        window_seconds=args.window,
        failing=args.failing,
        handle_domain=args.handle_domain,
        host=args.host,
        port=args.port,
    )
    server.start()
    print(
        f"Bluesky AppView on {server.url}: {len(world.accounts)} accounts (org001.{args.handle_domain}..), "
        f"{args.weeks} weeks to {until:%Y-%m-%d}, {args.rate_limit} requests per {args.window:g} s. "
        f"Try {server.url}/xrpc/{RESOLVE_HANDLE}?handle=org001.{args.handle_domain}",
        flush=True,
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
