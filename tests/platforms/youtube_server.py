"""A local YouTube Data API v3 serving an in-memory model of channels, videos and comment threads.

Endpoints (developers.google.com/youtube/v3/docs, the five list methods Rapport calls), under
``/youtube/v3``:

- ``channels?part=&forHandle=`` or ``&id=`` -> ``youtube#channelListResponse`` (no ``items`` when
  nothing matches; ``statistics.hiddenSubscriberCount`` hides ``subscriberCount``);
- ``playlistItems?playlistId=<uploads>`` -> ``youtube#playlistItemListResponse``, newest first;
  a private or deleted video is still listed, without ``contentDetails.videoPublishedAt``;
- ``videos?id=a,b,...`` (at most 50) -> ``youtube#videoListResponse``; a private or deleted
  video is absent; ``commentCount`` is absent when comments are off, ``likeCount`` when hidden;
- ``commentThreads?videoId=`` -> ``youtube#commentThreadListResponse``, newest first, each thread
  with at most ``inline_replies`` of its replies; 403 ``commentsDisabled``, 404 ``videoNotFound``;
- ``comments?parentId=`` -> ``youtube#commentListResponse``, a thread's replies, oldest first.

Every list answer carries ``kind``, ``etag``, ``pageInfo`` and, when more follow,
``nextPageToken``; ``maxResults`` is honoured up to each method's maximum, or ``page_cap``.
Every request costs 1 unit to its key (``X-goog-api-key`` header, or ``key=``); errors are
Google's JSON: ``{"error": {"code", "message", "errors": [{"message", "domain", "reason"}],
"status"}}``: 400 "API key not valid" (reason ``badRequest``, detail ``API_KEY_INVALID``) for a key not in ``keys``, 403 ``quotaExceeded`` once a key
has spent ``quota`` units, 403 ``rateLimitExceeded`` for the next call of an endpoint in
``rate_limited`` (once each).

The model is plain data (:class:`Channel`, :class:`Video`, :class:`Thread`, :class:`Comment`),
read from a JSON world (tests/fixtures/youtube/) or built by a test; change it between two
runs to make a channel's next night.

Run it by hand: ``python -m tests.platforms.youtube_server --port 8003``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.platforms.world import Post as WorldPost
from tests.platforms.world import World, WsgiServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "youtube"
MAX_RESULTS = {"playlistItems": 50, "videos": 50, "commentThreads": 100, "comments": 100, "channels": 50}
DEFAULT_RESULTS = {"playlistItems": 5, "videos": 5, "commentThreads": 20, "comments": 20, "channels": 5}


@dataclass
class Comment:
    comment_id: str
    author_id: str
    author_name: str
    text: str
    published_at: str
    like_count: int = 0
    updated_at: str | None = None


@dataclass
class Thread:
    top: Comment
    replies: list[Comment] = field(default_factory=list)


@dataclass
class Video:
    video_id: str
    published_at: str
    title: str
    description: str = ""
    duration: str = "PT4M13S"
    language: str | None = None
    caption: bool = False
    views: int = 0
    likes: int | None = 0
    """``None``: the channel hides the likes."""
    comments_disabled: bool = False
    unavailable: bool = False
    """Private or deleted: listed in the uploads playlist, absent from ``videos.list``."""
    threads: list[Thread] = field(default_factory=list)

    @property
    def comment_count(self) -> int:
        return sum(1 + len(thread.replies) for thread in self.threads)


@dataclass
class Channel:
    channel_id: str
    handle: str
    title: str
    published_at: str
    subscribers: int
    hidden_subscribers: bool = False
    views: int = 0
    videos: list[Video] = field(default_factory=list)
    """Newest first, as the uploads playlist lists them."""

    @property
    def uploads(self) -> str:
        return "UU" + self.channel_id[2:]


def load_world(name: str = "channel_world.json") -> list[Channel]:
    """The channels of a JSON world in tests/fixtures/youtube."""
    document = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    channels = []
    for entry in document["channels"]:
        videos = [
            Video(
                **{key: value for key, value in video.items() if key != "threads"},
                threads=[
                    Thread(
                        Comment(**thread["top"]), [Comment(**reply) for reply in thread.get("replies", [])]
                    )
                    for thread in video.get("threads", [])
                ],
            )
            for video in entry["videos"]
        ]
        channels.append(
            Channel(**{key: value for key, value in entry.items() if key != "videos"}, videos=videos)
        )
    return channels


def error_body(code: int, reason: str, message: str, domain: str = "youtube.quota") -> dict[str, Any]:
    status = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}.get(code, "UNKNOWN")
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": status,
        }
    }


def key_invalid_body() -> dict[str, Any]:
    """What Google answers a key it does not know: a 400 whose ErrorInfo detail says ``API_KEY_INVALID``."""
    body = error_body(400, "badRequest", "API key not valid. Please pass a valid API key.", "global")
    body["error"]["details"] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "youtube.googleapis.com"},
        }
    ]
    return body


@dataclass
class Recorded:
    path: str
    query: dict[str, str]
    key: str | None
    status: int


class YouTubeServer(WsgiServer):
    """The model as the YouTube Data API v3 on 127.0.0.1 (see the module docstring)."""

    platform = "youtube"

    def __init__(
        self,
        channels: Iterable[Channel],
        *,
        keys: Iterable[str] = ("test-key",),
        quota: int = 10_000,
        page_cap: int | None = None,
        inline_replies: int = 5,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.channels = list(channels)
        self.keys = set(keys)
        self.quota = quota
        self.page_cap = page_cap
        self.inline_replies = inline_replies
        self.rate_limited: set[str] = set()
        self.units: Counter[str] = Counter()
        self.host, self.port = host, port
        self._lock = threading.Lock()
        self.log: list[Recorded] = []

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the youtube server is not started")
        return f"http://{self.host}:{self._server.server_port}/youtube/v3"

    def calls(self, endpoint: str) -> list[Recorded]:
        return [call for call in self.log if call.path.endswith("/" + endpoint)]

    # -- resources ----------------------------------------------------------------------------------

    def _videos(self) -> dict[str, tuple[Channel, Video]]:
        return {video.video_id: (channel, video) for channel in self.channels for video in channel.videos}

    def _channel_resource(self, channel: Channel) -> dict[str, Any]:
        statistics: dict[str, Any] = {
            "viewCount": str(channel.views),
            "hiddenSubscriberCount": channel.hidden_subscribers,
            "videoCount": str(sum(not video.unavailable for video in channel.videos)),
        }
        if not channel.hidden_subscribers:
            statistics["subscriberCount"] = str(channel.subscribers)
        return {
            "kind": "youtube#channel",
            "etag": _etag(channel.channel_id),
            "id": channel.channel_id,
            "snippet": {
                "title": channel.title,
                "description": "",
                "customUrl": channel.handle.lower(),
                "publishedAt": channel.published_at,
                "thumbnails": {
                    "default": {"url": "https://yt3.ggpht.example/a.jpg", "width": 88, "height": 88}
                },
                "localized": {"title": channel.title, "description": ""},
            },
            "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": channel.uploads}},
            "statistics": statistics,
        }

    def _playlist_item(self, channel: Channel, video: Video, position: int) -> dict[str, Any]:
        details: dict[str, Any] = {"videoId": video.video_id}
        if not video.unavailable:
            details["videoPublishedAt"] = video.published_at
        return {
            "kind": "youtube#playlistItem",
            "etag": _etag(f"{channel.uploads}/{video.video_id}"),
            "id": base64.b64encode(f"{channel.uploads}.{video.video_id}".encode()).decode(),
            "snippet": {
                "publishedAt": video.published_at,
                "channelId": channel.channel_id,
                "title": "Private video" if video.unavailable else video.title,
                "description": "This video is private." if video.unavailable else video.description,
                "channelTitle": channel.title,
                "playlistId": channel.uploads,
                "position": position,
                "resourceId": {"kind": "youtube#video", "videoId": video.video_id},
            },
            "contentDetails": details,
        }

    def _video_resource(self, channel: Channel, video: Video) -> dict[str, Any]:
        statistics: dict[str, Any] = {"viewCount": str(video.views), "favoriteCount": "0"}
        if video.likes is not None:
            statistics["likeCount"] = str(video.likes)
        if not video.comments_disabled:
            statistics["commentCount"] = str(video.comment_count)
        snippet: dict[str, Any] = {
            "publishedAt": video.published_at,
            "channelId": channel.channel_id,
            "title": video.title,
            "description": video.description,
            "channelTitle": channel.title,
            "categoryId": "22",
            "liveBroadcastContent": "none",
        }
        if video.language:
            snippet["defaultAudioLanguage"] = video.language
        return {
            "kind": "youtube#video",
            "etag": _etag(video.video_id),
            "id": video.video_id,
            "snippet": snippet,
            "contentDetails": {
                "duration": video.duration,
                "dimension": "2d",
                "definition": "hd",
                "caption": "true" if video.caption else "false",
                "licensedContent": False,
                "projection": "rectangular",
            },
            "statistics": statistics,
        }

    def _comment_resource(
        self, channel: Channel, video: Video, comment: Comment, parent: str | None
    ) -> dict[str, Any]:
        snippet: dict[str, Any] = {
            "channelId": channel.channel_id,
            "videoId": video.video_id,
            "textDisplay": comment.text,
            "textOriginal": comment.text,
            "authorDisplayName": comment.author_name,
            "authorProfileImageUrl": "https://yt3.ggpht.example/p.jpg",
            "authorChannelUrl": f"http://www.youtube.com/channel/{comment.author_id}",
            "authorChannelId": {"value": comment.author_id},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": comment.like_count,
            "publishedAt": comment.published_at,
            "updatedAt": comment.updated_at or comment.published_at,
        }
        if parent is not None:
            snippet["parentId"] = parent
        return {
            "kind": "youtube#comment",
            "etag": _etag(comment.comment_id),
            "id": comment.comment_id,
            "snippet": snippet,
        }

    def _thread_resource(self, channel: Channel, video: Video, thread: Thread) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "kind": "youtube#commentThread",
            "etag": _etag("thread" + thread.top.comment_id),
            "id": thread.top.comment_id,
            "snippet": {
                "channelId": channel.channel_id,
                "videoId": video.video_id,
                "topLevelComment": self._comment_resource(channel, video, thread.top, None),
                "canReply": True,
                "totalReplyCount": len(thread.replies),
                "isPublic": True,
            },
        }
        shown = thread.replies[-self.inline_replies :] if self.inline_replies else []
        if shown:
            resource["replies"] = {
                "comments": [
                    self._comment_resource(channel, video, reply, thread.top.comment_id)
                    for reply in reversed(shown)
                ]
            }
        return resource

    # -- answers ------------------------------------------------------------------------------------

    def _page(self, kind: str, endpoint: str, resources: list[Any], query: dict[str, str]) -> tuple[int, Any]:
        size = _int(query.get("maxResults"), DEFAULT_RESULTS[endpoint])
        size = max(1, min(size, MAX_RESULTS[endpoint], self.page_cap or MAX_RESULTS[endpoint]))
        token = query.get("pageToken")
        start = _offset(token) if token else 0
        if start is None or start > len(resources):
            return 400, error_body(
                400, "invalidPageToken", "The request specifies an invalid page token.", "youtube.parameter"
            )
        chunk = resources[start : start + size]
        body: dict[str, Any] = {"kind": kind, "etag": _etag(f"{endpoint}{query}")}
        if start + size < len(resources):
            body["nextPageToken"] = _token(start + size)
        if start:
            body["prevPageToken"] = _token(max(0, start - size))
        body["pageInfo"] = {"totalResults": len(resources), "resultsPerPage": size}
        body["items"] = chunk
        return 200, body

    def answer(self, endpoint: str, query: dict[str, str]) -> tuple[int, Any]:
        videos = self._videos()
        if endpoint == "channels":
            handle, ids = query.get("forHandle"), query.get("id")
            found = [
                channel
                for channel in self.channels
                if (handle and channel.handle.lower() == "@" + handle.lower().lstrip("@"))
                or (ids and channel.channel_id in ids.split(","))
            ]
            body: dict[str, Any] = {
                "kind": "youtube#channelListResponse",
                "etag": _etag(str(query)),
                "pageInfo": {"totalResults": len(found), "resultsPerPage": 5},
            }
            if found:
                body["items"] = [self._channel_resource(channel) for channel in found]
            return 200, body
        if endpoint == "playlistItems":
            channel = next((c for c in self.channels if c.uploads == query.get("playlistId")), None)
            # A channel that never uploaded has no uploads playlist yet, as on YouTube.
            if channel is None or not channel.videos:
                return 404, error_body(
                    404,
                    "playlistNotFound",
                    "The playlist identified with the request's playlistId parameter cannot be found.",
                    "youtube.playlistItem",
                )
            resources = [self._playlist_item(channel, video, n) for n, video in enumerate(channel.videos)]
            return self._page("youtube#playlistItemListResponse", endpoint, resources, query)
        if endpoint == "videos":
            ids = [video_id for video_id in query.get("id", "").split(",") if video_id]
            if len(ids) > 50:
                return 400, error_body(400, "invalidFilters", "Too many ids.", "youtube.parameter")
            resources = [
                self._video_resource(*videos[video_id])
                for video_id in ids
                if video_id in videos and not videos[video_id][1].unavailable
            ]
            return 200, {
                "kind": "youtube#videoListResponse",
                "etag": _etag(str(query)),
                "items": resources,
                "pageInfo": {"totalResults": len(resources), "resultsPerPage": len(resources)},
            }
        if endpoint == "commentThreads":
            video_id = query.get("videoId", "")
            if video_id not in videos or videos[video_id][1].unavailable:
                return 404, error_body(
                    404,
                    "videoNotFound",
                    "The video identified by the videoId parameter could not be found.",
                    "youtube.commentThread",
                )
            channel, video = videos[video_id]
            if video.comments_disabled:
                return 403, error_body(
                    403,
                    "commentsDisabled",
                    'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/list#videoId">videoId</a></code> parameter has disabled comments.',
                    "youtube.commentThread",
                )
            resources = [self._thread_resource(channel, video, thread) for thread in video.threads]
            return self._page("youtube#commentThreadListResponse", endpoint, resources, query)
        if endpoint == "comments":
            parent = query.get("parentId", "")
            for channel, video in videos.values():
                for thread in video.threads:
                    if thread.top.comment_id == parent:
                        resources = [
                            self._comment_resource(channel, video, reply, parent) for reply in thread.replies
                        ]
                        return self._page("youtube#commentListResponse", endpoint, resources, query)
            return 404, error_body(
                404,
                "commentNotFound",
                "One or more of the comments that the request is trying to retrieve cannot be found.",
                "youtube.comment",
            )
        return 404, error_body(404, "notFound", "Not Found", "global")

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from werkzeug.wrappers import Request

        request = Request(environ)
        query = dict(request.args.items())
        key = request.headers.get("X-goog-api-key") or query.pop("key", None)
        endpoint = request.path.removeprefix("/youtube/v3/").strip("/")
        with self._lock:
            if key not in self.keys:
                status, body = 400, key_invalid_body()
            else:
                self.units[key] += 1
                if self.units[key] > self.quota:
                    status, body = (
                        403,
                        error_body(
                            403,
                            "quotaExceeded",
                            'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.',
                        ),
                    )
                elif endpoint in self.rate_limited:
                    self.rate_limited.discard(endpoint)
                    status, body = (
                        403,
                        error_body(
                            403,
                            "rateLimitExceeded",
                            "The request cannot be completed because you have exceeded your quota.",
                            "usageLimits",
                        ),
                    )
                else:
                    status, body = self.answer(endpoint, query)
            self.log.append(Recorded(request.path, query, key, status))
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(status, "Error")
        start_response(
            f"{status} {reason}",
            [("Content-Type", "application/json; charset=UTF-8"), ("Content-Length", str(len(data)))],
        )
        return [data]


def _etag(seed: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha1(seed.encode()).digest()).decode().rstrip("=")


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"CAUQ:{offset}".encode()).decode()


def _offset(token: str) -> int | None:
    try:
        prefix, number = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        return int(number) if prefix == "CAUQ" else None
    except ValueError:
        return None


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


def main() -> None:
    parser = argparse.ArgumentParser(description="A local YouTube Data API v3 serving the fixture world.")
    parser.add_argument("--port", type=int, default=8003)
    parser.add_argument("--key", default="test-key")
    parser.add_argument("--quota", type=int, default=10_000)
    arguments = parser.parse_args()
    server = YouTubeServer(load_world(), keys=[arguments.key], quota=arguments.quota, port=arguments.port)
    server.start()
    print(f"serving {server.url} (key {arguments.key!r}); Ctrl-C to stop")
    try:
        while server._thread is not None and server._thread.is_alive():
            server._thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()


def example_channel(
    until: str = "2026-11-23T00:00:00+00:00",
    *,
    weeks: int = 52,
    per_week: int = 3,
    threads: int = 12,
    long_thread_replies: int = 7,
) -> Channel:
    """The README's example channel: ``per_week`` videos a week for ``weeks`` weeks before
    ``until``, each with ``threads`` top-level comments of the public (every third a question),
    one of them holding ``long_thread_replies`` replies (more than commentThreads shows: a
    comments.list call), the channel's answer among them."""
    from datetime import datetime, timedelta

    end = datetime.fromisoformat(until)
    own = "UCexAmpleChannel00000000"
    channel = Channel(own, "@example_channel", "Example Channel", "2015-01-01T00:00:00Z", 25_000)
    for number in range(weeks * per_week):
        published = end - timedelta(hours=56 * number + 20)
        video = Video(f"ExVid{number:06d}", _iso(published), f"Video {number}", "A description.")
        for thread in range(threads):
            at = published + timedelta(hours=1 + thread)
            text = "When is the next one?" if thread % 3 == 0 else "Nice."
            top = Comment(
                f"ExCom{number:06d}t{thread:03d}",
                f"UCpublic{thread:016d}",
                f"@viewer{thread}",
                text,
                _iso(at),
            )
            video.threads.append(Thread(top))
        long = video.threads[0]
        for reply in range(long_thread_replies):
            author = own if reply == 0 else f"UCpublic{reply + 50:016d}"
            long.replies.append(
                Comment(
                    f"{long.top.comment_id}.r{reply}",
                    author,
                    "@replier",
                    "Thanks",
                    _iso(published + timedelta(hours=2 + reply)),
                )
            )
        channel.videos.append(video)
    return channel


def add_activity(channel: Channel, at: str, *, new_videos: int = 1, commented: int = 2) -> None:
    """A night's activity: ``new_videos`` uploads at ``at`` with one comment each, and a new comment
    on each of the ``commented`` most recent older videos."""
    for number in range(new_videos):
        video = Video(f"ExNew{at[:10]}{number}", at, "New video", "")
        video.threads.append(
            Thread(Comment(f"ExNewCom{at[:10]}{number}", "UCpublic9999999999999999", "@viewer", "First?", at))
        )
        channel.videos.insert(0, video)
    for video in channel.videos[new_videos : new_videos + commented]:
        video.threads.insert(
            0,
            Thread(
                Comment(f"ExLate{video.video_id}{at[:10]}", "UCpublic8888888888888888", "@late", "Late.", at)
            ),
        )


def channel_id_of(number: int) -> str:
    """A person of the test world as a YouTube channel id: ``UC`` and 22 characters."""
    return f"UC{number:022d}"


def channels_from_world(world: World, handles: Iterable[str]) -> list[Channel]:
    """Accounts of the test world (tests/platforms/world.py) as YouTube channels, for a test
    that scores a channel beside the world's Mastodon and Bluesky accounts.

    A channel's videos are the account's originals (YouTube has no replies, reposts or quotes
    of its own outside comments); each direct reply to one is a top-level comment, and every
    post below it, the account's answers included, a reply in its thread (YouTube threads are
    one level deep), oldest first. A deleted post is no comment.
    """
    channels = []
    for handle in handles:
        account = world.accounts[handle]
        person = account.person
        channel = Channel(
            channel_id_of(person.number),
            f"@{handle}",
            person.display_name,
            _iso(person.created_at),
            person.followers_count,
        )
        for post in account.timeline():  # newest first, as the uploads playlist lists them
            if post.kind != "original":
                continue
            video = Video(
                f"w{post.number:010d}",
                _iso(post.created_at),
                post.text[:90] or f"Video {post.number}",
                post.text,
                language=post.language,
                caption=bool(post.images) and all(image.has_alt_text for image in post.images),
                likes=post.like_count,
            )
            for reply in post.visible_replies:
                below = sorted(_descendants(reply), key=lambda comment: comment.created_at)
                video.threads.append(
                    Thread(_world_comment(reply), [_world_comment(comment) for comment in below])
                )
            video.threads.reverse()  # newest first, as commentThreads lists them
            channel.videos.append(video)
        channels.append(channel)
    return channels


def _descendants(post: WorldPost) -> list[WorldPost]:
    found = []
    for reply in post.visible_replies:
        found += [reply, *_descendants(reply)]
    return found


def _world_comment(post: WorldPost) -> Comment:
    return Comment(
        f"wc{post.number:010d}",
        channel_id_of(post.author.number),
        f"@{post.author.handle}",
        post.text,
        _iso(post.created_at),
        like_count=post.like_count,
    )


def _iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
