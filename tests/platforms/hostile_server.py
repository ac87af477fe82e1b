"""A misbehaving Mastodon instance, Bluesky AppView/PDS and YouTube Data API on 127.0.0.1, one
misbehaviour at a time.

It speaks just enough of the three APIs for an extraction to reach its paging loop
(Mastodon ``accounts/lookup`` and ``accounts/:id/statuses``; Bluesky
``resolveHandle``, ``getProfile``, ``getAuthorFeed`` and ``createSession``; YouTube, under
``/youtube/v3``, ``channels`` then the uploads' ``playlistItems``), then misbehaves on the
paging call as its ``mode`` says:

``endless``       every page links to a new, older page (Mastodon: a smaller ``max_id``;
                  Bluesky: a new cursor; YouTube: a new ``nextPageToken``), for ever;
``stuck``         every page links to the same page again (the same ``max_id``, cursor or
                  ``nextPageToken``);
``rising``        (Mastodon) every next link carries a larger ``max_id`` than the last;
``slowloris``     the page is sent one byte a second (``Content-Length`` announced);
``huge``          the page is a body of ``huge_bytes`` (default 200 MB), streamed in 64 KiB
                  chunks without ``Content-Length`` and never built in memory;
                  ``bytes_sent`` tells how much went out before the client hung up;
``rate_headers``  every answer carries ``X-RateLimit-*`` and ``RateLimit-*`` headers of
                  ``header_value`` (``inf``, ``nan``, ``-5``, ``1e300``, ``soon``), and the
                  paging call is a 429 with ``Retry-After: <header_value>``;
``redirect``      the paging call is a 302 to ``redirect_to`` (another server, another port);
``echo``          a request carrying ``Authorization``, and every sign-in (unless not
                  ``echo_sign_in``), is answered ``echo_status`` with a JSON body quoting
                  the header and the sign-in body (the app password); a request carrying
                  ``X-goog-api-key`` with a Google error body quoting the key, its reason
                  ``echo_reason`` (else Google's for the status: ``keyInvalid`` for 400,
                  ``authError`` 401, ``forbidden`` 403, ``backendError`` otherwise);
``canned``        (YouTube) the paging call is answered ``canned_status`` with ``canned_body``
                  (Google's odd answers: an error without a reason, a 200 holding an error...).

Every body it streams stops when the client hangs up, and after ``max_seconds``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.platforms.world import BackgroundServer

MODES = ("endless", "stuck", "rising", "slowloris", "huge", "rate_headers", "redirect", "echo", "canned")
CHUNK = 64 * 1024
ACCOUNT_ID = "109000000000000001"
DID = "did:plc:hostilehostilehostile"
FIRST_MAX_ID = 117_000_000_000_000_000
YOUTUBE = "/youtube/v3"
CHANNEL_ID = "UChostilehostilehostile0"
UPLOADS = "UU" + CHANNEL_ID[2:]
GOOGLE_REASONS = {400: "keyInvalid", 401: "authError", 403: "forbidden"}


class HostileServer(BackgroundServer):
    """See the module docstring. Use as a context manager; ``url`` once started; ``requests`` logs paths."""

    def __init__(
        self,
        mode: str,
        *,
        created_at: str = "2026-11-22T23:00:00.000Z",
        header_value: str = "inf",
        echo_status: int = 401,
        echo_sign_in: bool = True,
        echo_reason: str | None = None,
        canned_status: int = 200,
        canned_body: Any = None,
        redirect_to: str = "",
        huge_bytes: int = 200 * 1024 * 1024,
        max_seconds: float = 30.0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; modes: {', '.join(MODES)}")
        self.mode = mode
        self.created_at = created_at
        self.header_value = header_value
        self.echo_status = echo_status
        self.echo_sign_in = echo_sign_in
        self.echo_reason = echo_reason or GOOGLE_REASONS.get(echo_status, "backendError")
        self.canned_status = canned_status
        self.canned_body = canned_body
        self.redirect_to = redirect_to
        self.huge_bytes = huge_bytes
        self.max_seconds = max_seconds
        self.requests: list[str] = []
        self.api_keys: list[str | None] = []
        """The ``X-goog-api-key`` of every YouTube request."""
        self.bytes_sent = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the hostile server is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> Self:
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                hostile._handle(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                hostile._handle(self, self.rfile.read(length))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self

    # -- answers ------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes | None) -> None:
        parts = urlsplit(handler.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        with self._lock:
            self.requests.append(handler.path)
        authorization = handler.headers.get("Authorization")
        api_key = handler.headers.get("X-goog-api-key")
        if parts.path.startswith(YOUTUBE):
            with self._lock:
                self.api_keys.append(api_key)
        if self.mode == "echo" and api_key:
            message = f"API key {api_key} is refused here; you sent X-goog-api-key: {api_key}"
            echoed = {
                "error": {
                    "code": self.echo_status,
                    "message": message,
                    "errors": [{"message": message, "domain": "global", "reason": self.echo_reason}],
                }
            }
            return self._send(handler, self.echo_status, json.dumps(echoed).encode())
        if self.mode == "echo" and (authorization or (body is not None and self.echo_sign_in)):
            echoed = {
                "error": "InvalidToken",
                "message": f"token {authorization} is not valid here; you sent {body!r}",
            }
            return self._send(handler, self.echo_status, json.dumps(echoed).encode())
        if parts.path.endswith("/com.atproto.server.createSession"):
            session = {"accessJwt": "hostile-access-jwt-0001", "refreshJwt": "hostile-refresh-jwt-0001"}
            return self._send(handler, 200, json.dumps(session).encode())
        if parts.path == "/api/v1/accounts/lookup":
            account = {
                "id": ACCOUNT_ID,
                "acct": query.get("acct", "org"),
                "username": query.get("acct", "org"),
            }
            return self._send(handler, 200, json.dumps(account).encode())
        if parts.path.endswith("/com.atproto.identity.resolveHandle"):
            return self._send(handler, 200, json.dumps({"did": DID}).encode())
        if parts.path.endswith("/app.bsky.actor.getProfile"):
            return self._send(handler, 200, json.dumps({"did": DID, "handle": "org.bsky.social"}).encode())
        if parts.path == f"/api/v1/accounts/{ACCOUNT_ID}/statuses":
            return self._page(handler, parts.path, query, mastodon=True)
        if parts.path.endswith("/app.bsky.feed.getAuthorFeed"):
            return self._page(handler, parts.path, query, mastodon=False)
        if parts.path == f"{YOUTUBE}/channels":
            return self._send(handler, 200, json.dumps(self._channel(query)).encode())
        if parts.path == f"{YOUTUBE}/playlistItems":
            return self._page(handler, parts.path, query, mastodon=False, youtube=True)
        return self._send(handler, 404, b'{"error":"Record not found"}')

    def _page(
        self,
        handler: BaseHTTPRequestHandler,
        path: str,
        query: dict[str, str],
        *,
        mastodon: bool,
        youtube: bool = False,
    ) -> None:
        if self.mode == "canned":
            return self._send(handler, self.canned_status, json.dumps(self.canned_body).encode())
        if self.mode == "slowloris":
            return self._drip(handler, self._listing(mastodon, 0, youtube=youtube))
        if self.mode == "huge":
            return self._flood(handler)
        if self.mode == "redirect":
            return self._send(handler, 302, b"", [("Location", self.redirect_to + handler.path)])
        if self.mode == "rate_headers":
            return self._send(
                handler, 429, b'{"error":"Too many requests"}', [("Retry-After", self.header_value)]
            )
        cursor = query.get("page" if mastodon else "pageToken" if youtube else "cursor", "")
        number = int(cursor.rsplit("-", 1)[-1]) if cursor.rsplit("-", 1)[-1].isdigit() else 0
        body = self._listing(mastodon, number, youtube=youtube)
        if mastodon:
            max_id = {
                "endless": FIRST_MAX_ID - number - 1,
                "stuck": FIRST_MAX_ID,
                "rising": FIRST_MAX_ID + number + 1,
            }[self.mode]
            link = f'<{self.url}{path}?{urlencode({"max_id": max_id, "page": number + 1})}>; rel="next"'
            return self._send(handler, 200, body, [("Link", link)])
        return self._send(handler, 200, body)

    def _channel(self, query: dict[str, str]) -> dict[str, Any]:
        """A ``youtube#channelListResponse`` of the one channel, whatever handle or id is asked."""
        channel = {
            "kind": "youtube#channel",
            "id": CHANNEL_ID,
            "snippet": {"title": query.get("forHandle", "org"), "publishedAt": "2020-01-01T00:00:00Z"},
            "contentDetails": {"relatedPlaylists": {"uploads": UPLOADS}},
            "statistics": {"viewCount": "1", "subscriberCount": "1", "videoCount": "1"},
        }
        return {
            "kind": "youtube#channelListResponse",
            "pageInfo": {"totalResults": 1, "resultsPerPage": 1},
            "items": [channel],
        }

    def _listing(self, mastodon: bool, number: int, *, youtube: bool = False) -> bytes:
        if youtube:
            item = {
                "kind": "youtube#playlistItem",
                "id": f"item-{number}",
                "snippet": {"publishedAt": self.created_at, "playlistId": UPLOADS},
                "contentDetails": {"videoId": f"video{number:07d}", "videoPublishedAt": self.created_at},
            }
            token = "same-token" if self.mode == "stuck" else f"token-{number + 1}"
            return json.dumps(
                {
                    "kind": "youtube#playlistItemListResponse",
                    "nextPageToken": token,
                    "pageInfo": {"totalResults": 1_000_000, "resultsPerPage": 1},
                    "items": [item],
                }
            ).encode()
        if mastodon:
            status = {
                "id": str(FIRST_MAX_ID - number),
                "account": {"id": ACCOUNT_ID},
                "created_at": self.created_at,
                "replies_count": 0,
                "reblog": None,
                "visibility": "public",
            }
            return json.dumps([status]).encode()
        cursor = "same-cursor" if self.mode == "stuck" else f"cursor-{number + 1}"
        post = {
            "uri": f"at://{DID}/app.bsky.feed.post/{number}",
            "author": {"did": DID},
            "record": {"createdAt": self.created_at},
            "indexedAt": self.created_at,
            "replyCount": 0,
        }
        return json.dumps({"feed": [{"post": post}], "cursor": cursor}).encode()

    def _headers(self) -> list[tuple[str, str]]:
        if self.mode != "rate_headers":
            return []
        value = self.header_value
        return [
            (name, value)
            for name in (
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
            )
        ]

    def _send(
        self, handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: list[tuple[str, str]] = ()
    ) -> None:
        handler.send_response(status)
        for name, value in [("Content-Type", "application/json"), *self._headers(), *headers]:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        self._write(handler, [body])

    def _drip(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        """One byte a second."""
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()

        def drops() -> Iterator[bytes]:
            for index in range(len(body)):
                yield body[index : index + 1]
                time.sleep(1.0)

        self._write(handler, drops())

    def _flood(self, handler: BaseHTTPRequestHandler) -> None:
        """``huge_bytes`` of a JSON array, one reused 64 KiB chunk at a time, until the client hangs up."""
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        chunk = b"[" + b" " * (CHUNK - 1)

        def chunks() -> Iterator[bytes]:
            for _ in range(self.huge_bytes // CHUNK):
                yield chunk

        self._write(handler, chunks())

    def _write(self, handler: BaseHTTPRequestHandler, parts: Any) -> None:
        stop = time.monotonic() + self.max_seconds
        try:
            for part in parts:
                if time.monotonic() > stop:
                    break
                handler.wfile.write(part)
                handler.wfile.flush()
                with self._lock:
                    self.bytes_sent += len(part)
        except OSError:
            handler.close_connection = True  # the client hung up
