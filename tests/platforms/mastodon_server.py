"""A local Mastodon instance serving the generated world through REST API v1.

Endpoints (docs.joinmastodon.org, methods/accounts and methods/statuses):

- ``GET /api/v1/accounts/lookup?acct=`` -> Account, or 404 ``{"error": "Record not found"}``;
- ``GET /api/v1/accounts/:id/statuses`` -> Array of Status, newest first, replies
  and reblogs included unless ``exclude_replies`` / ``exclude_reblogs``; ``limit``
  (default 20, at most 40), ``max_id``, ``since_id``, ``min_id``; the ``Link``
  header carries ``rel="next"`` (``max_id`` of the last status) when the page is
  full and ``rel="prev"`` (``min_id`` of the first) when it is not empty, with
  the request's ``limit`` and filters, keys sorted, as Rails writes them;
- ``GET /api/v1/statuses/:id/context`` -> Context: ancestors oldest first,
  descendants depth first; a deleted status is absent, and so are the replies
  below it (their chain to the root is broken). Without an ``Authorization``
  header, at most 40 ancestors and 60 descendants 20 levels deep.

Every answer carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (ISO 8601 with microseconds, the end of the current
window; windows are aligned to multiples of their length, as Rack::Attack
counts). Past the budget: 429 ``{"error": "Too many requests"}`` with the same
headers and no ``Retry-After``. Accounts in ``failing`` are answered 503.

Ids follow Mastodon's snowflakes: a status id is its creation time in
milliseconds shifted left 16 bits, so ids sort as times do.

Run it by hand: ``python -m tests.platforms.mastodon_server --port 8001 --accounts 50``.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, urlsplit

from tests.platforms.world import (
    Account,
    Answer,
    Image,
    LocalPlatformServer,
    Person,
    Post,
    World,
    add_server_arguments,
    format_datetime,
    iter_tree,
    world_from_arguments,
)

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
ANCESTORS_LIMIT = 40
DESCENDANTS_LIMIT = 60
DESCENDANTS_DEPTH_LIMIT = 20
AUTHENTICATED_CONTEXT_LIMIT = 4096
DEFAULT_RATE_LIMIT = 300
DEFAULT_WINDOW_SECONDS = 300.0
"""300 requests per 5 minutes per IP address (docs: api/rate-limits)."""

PAGINATION_KEYS = ("limit", "only_media", "exclude_replies", "exclude_reblogs", "pinned", "tagged")
"""The request parameters a Link header repeats (AccountStatusesFilter::KEYS and limit)."""
FALSE_VALUES = {"", "0", "f", "false", "off", "F", "FALSE", "OFF", "False"}
"""Rails' boolean cast: these are false, anything else true."""
BLURHASH = "UKE:?o~q4nIU-;IURjt7?bM{xuRjRjt7WBof"
NOT_FOUND = {"error": "Record not found"}
QUOTE_APPROVAL = {"automatic": ["public"], "manual": [], "current_user": "automatic"}

_STATUSES_PATH = re.compile(r"^/api/v1/accounts/(?P<id>[^/]+)/statuses/?$")
_CONTEXT_PATH = re.compile(r"^/api/v1/statuses/(?P<id>[^/]+)/context/?$")
_LOOKUP_PATH = "/api/v1/accounts/lookup"


def status_id(post: Post) -> str:
    """The Mastodon id of a post: milliseconds << 16, the account number in the low bits."""
    return str(post.created_ms << 16 | post.account_number << 6)


def account_id(person: Person) -> str:
    return str(109_000_000_000_000_000 + person.number)


def media_id(image: Image) -> str:
    return str(115_600_000_000_000_000 + image.number)


def escape(text: str) -> str:
    """Escape as Rails' ``h`` does (``'`` as ``&#39;``)."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def link_html(url: str) -> str:
    """A link as Mastodon shortens it visually: invisible scheme, 30 visible characters, the rest invisible."""
    match = re.match(r"^(https?://(?:www\.)?)(.*)$", url)
    prefix, rest = (match.group(1), match.group(2)) if match else ("", url)
    visible, hidden = rest[:30], rest[30:]
    visible_class = "ellipsis" if hidden else ""
    return (
        f'<a href="{escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{escape(prefix)}</span>'
        f'<span class="{visible_class}">{escape(visible)}</span>'
        f'<span class="invisible">{escape(hidden)}</span></a>'
    )


class MastodonServer(LocalPlatformServer):
    """The world as a Mastodon instance on 127.0.0.1 (see the module docstring for what it answers).

    Arguments:
        world: the world to serve (default: ``World.generate()``, 50 accounts over 26 weeks).
        rate_limit: requests allowed per window (all clients together).
        window_seconds: length of a rate-limit window.
        clock: the server's time (epoch seconds), for the rate-limit window and the request log.
        failing: handles answered 503 forever (default: the world's).
        public_url: the scheme and host the instance writes in entities and Link headers
            (``https://mastodon.example``); by default, the address it was reached at.
    """

    platform = "mastodon"
    aligned_windows = True

    def __init__(
        self,
        world: World | None = None,
        *,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
        failing: Iterable[str] | None = None,
        public_url: str | None = None,
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
        self.public_url = public_url.rstrip("/") if public_url else None
        self._posts = {status_id(post): post for post in self.world.posts.values()}
        self._accounts = {account_id(account.person): account for account in self.world.accounts.values()}
        self._timelines = {account.handle: account.timeline() for account in self.world.accounts.values()}
        self.suspended: set[str] = set()
        """Handles the instance's moderators suspended: answered as Mastodon 3.3+ does (see _lookup)."""

    # What a request is about.

    def identify(self, method: str, path: str, query: dict[str, str]) -> tuple[str, str | None]:
        if path.rstrip("/") == _LOOKUP_PATH:
            username = query.get("acct", "").strip().removeprefix("@").split("@")[0].lower()
            return "lookup", username or None
        if match := _STATUSES_PATH.match(path):
            account = self._accounts.get(match["id"])
            return "statuses", account.handle if account else None
        if match := _CONTEXT_PATH.match(path):
            post = self._posts.get(match["id"])
            return "context", post.account if post else None
        return "unknown", None

    def dispatch(self, request: Any, endpoint: str) -> Answer:
        base = self.public_url or request.host_url.rstrip("/")
        if request.method != "GET":
            return Answer(404, NOT_FOUND)
        if endpoint == "lookup":
            return self._lookup(request.args.get("acct", ""), base)
        if endpoint == "statuses":
            match = _STATUSES_PATH.match(request.path)
            return self._statuses(match["id"] if match else "", request.args, base)
        if endpoint == "context":
            match = _CONTEXT_PATH.match(request.path)
            authenticated = bool(request.headers.get("Authorization"))
            return self._context(match["id"] if match else "", base, authenticated)
        return Answer(404, NOT_FOUND)

    def rate_limit_headers(self, remaining: int, reset_at: float) -> list[tuple[str, str]]:
        reset = datetime.fromtimestamp(reset_at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return [
            ("X-RateLimit-Limit", str(self.window.limit)),
            ("X-RateLimit-Remaining", str(remaining)),
            ("X-RateLimit-Reset", reset),
        ]

    def too_many_requests(self) -> Answer:
        return Answer(429, {"error": "Too many requests"})

    def unavailable(self) -> Answer:
        return Answer(503, {"error": "The page could not be served due to a temporary server failure."})

    # The endpoints.

    def _lookup(self, acct: str, base: str) -> Answer:
        username, _, domain = acct.strip().removeprefix("@").partition("@")
        if domain and domain.lower() != urlsplit(base).netloc.lower():
            return Answer(404, NOT_FOUND)
        account = self.world.account(username)
        if account is None:
            return Answer(404, NOT_FOUND)
        if account.handle in self.suspended:
            return Answer(200, self.suspended_account_json(account.person, base))
        return Answer(200, self.account_json(account.person, base, account))

    def suspended_account_json(self, person: Person, base: str) -> dict[str, Any]:
        """A suspended account as Mastodon 3.3+ shows it (docs.joinmastodon.org, methods/accounts,
        "Suspended user"): 200, ``"suspended": true``, 0 counts, empty profile, no fields."""
        return self.account_json(person, base) | {
            "display_name": "",
            "note": "",
            "discoverable": False,
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": 0,
            "last_status_at": None,
            "suspended": True,
            "fields": [],
        }

    def _statuses(self, native_id: str, args: Any, base: str) -> Answer:
        account = self._accounts.get(native_id)
        if account is None:
            return Answer(404, NOT_FOUND)
        if account.handle in self.suspended:  # Mastodon 3.3+ lists no status of a suspended account
            return Answer(200, [])
        limit = _limit(args.get("limit"))
        posts = self._filtered_timeline(account, args)
        max_id, since_id, min_id = (_int(args.get(key)) for key in ("max_id", "since_id", "min_id"))
        ids = [(int(status_id(post)), post) for post in posts]
        if max_id is not None:
            ids = [item for item in ids if item[0] < max_id]
        if since_id is not None:
            ids = [item for item in ids if item[0] > since_id]
        # min_id asks for the statuses immediately newer than it: the oldest ones above it, newest first.
        ids = [item for item in ids if item[0] > min_id][-limit:] if min_id is not None else ids[:limit]
        page = [post for _, post in ids]
        headers: tuple[tuple[str, str], ...] = ()
        links = []
        kept = {key: args.get(key) for key in PAGINATION_KEYS if args.get(key) is not None}
        path = f"{base}/api/v1/accounts/{native_id}/statuses"
        if page and len(page) == limit:
            links.append(f'<{path}?{_to_query({**kept, "max_id": status_id(page[-1])})}>; rel="next"')
        if page:
            links.append(f'<{path}?{_to_query({**kept, "min_id": status_id(page[0])})}>; rel="prev"')
        if links:
            headers = (("Link", ", ".join(links)),)
        return Answer(200, [self.status_json(post, base) for post in page], headers)

    def _filtered_timeline(self, account: Account, args: Any) -> list[Post]:
        posts = self._timelines[account.handle]
        if _truthy(args.get("pinned")):
            return []
        if _truthy(args.get("exclude_replies")):
            posts = [post for post in posts if post.parent is None or post.parent.author is post.author]
        if _truthy(args.get("exclude_reblogs")):
            posts = [post for post in posts if post.reposted is None]
        if _truthy(args.get("only_media")):
            posts = [post for post in posts if post.images]
        if tagged := args.get("tagged"):
            posts = [post for post in posts if tagged.lower() in {tag.lower() for tag in post.tags}]
        return posts

    def _context(self, native_id: str, base: str, authenticated: bool) -> Answer:
        post = self._posts.get(native_id)
        if post is None or post.is_deleted:
            return Answer(404, NOT_FOUND)
        ancestors_limit = AUTHENTICATED_CONTEXT_LIMIT if authenticated else ANCESTORS_LIMIT
        descendants_limit = AUTHENTICATED_CONTEXT_LIMIT if authenticated else DESCENDANTS_LIMIT
        depth_limit = AUTHENTICATED_CONTEXT_LIMIT if authenticated else DESCENDANTS_DEPTH_LIMIT
        ancestors: list[Post] = []
        parent = post.parent
        while parent is not None and not parent.is_deleted and len(ancestors) < ancestors_limit:
            ancestors.append(parent)
            parent = parent.parent
        ancestors.reverse()
        descendants: list[Post] = []
        for reply in post.replies:
            for node, depth in iter_tree(reply, 1):
                if node.is_deleted or any(ancestor.is_deleted for ancestor in _chain(node, post)):
                    continue
                if depth <= depth_limit and len(descendants) < descendants_limit:
                    descendants.append(node)
        return Answer(
            200,
            {
                "ancestors": [self.status_json(item, base) for item in ancestors],
                "descendants": [self.status_json(item, base) for item in descendants],
            },
        )

    # Entities.

    def account_json(self, person: Person, base: str, account: Account | None = None) -> dict[str, Any]:
        """The Account entity of a person (an organization's carries its real counts)."""
        profile, uri = _profile_urls(person, base)
        files = f"{base}/system"
        if account is not None:
            timeline = self._timelines[account.handle]
            statuses_count = len(timeline)
            last_status_at = timeline[0].created_at.date().isoformat() if timeline else None
        else:
            statuses_count = person.number % 500 + 10
            last_status_at = None
        created = person.created_at.replace(hour=0, minute=0, second=0, microsecond=0)
        return {
            "id": account_id(person),
            "username": person.handle,
            "acct": person.handle if person.domain is None else f"{person.handle}@{person.domain}",
            "display_name": person.display_name,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "indexable": True,
            "group": False,
            "created_at": format_datetime(created),
            "note": f"<p>{escape(person.bio)}</p>" if person.bio else "",
            "url": profile,
            "uri": uri,
            "avatar": f"{files}/accounts/avatars/{person.number}/original/avatar.png",
            "avatar_static": f"{files}/accounts/avatars/{person.number}/original/avatar.png",
            "header": f"{base}/headers/original/missing.png",
            "header_static": f"{base}/headers/original/missing.png",
            "followers_count": person.followers_count,
            "following_count": person.following_count,
            "statuses_count": statuses_count,
            "last_status_at": last_status_at,
            "hide_collections": False,
            "noindex": False,
            "emojis": [],
            "roles": [],
            "fields": [],
        }

    def status_json(self, post: Post, base: str) -> dict[str, Any]:
        """The Status entity of a post, a reply, a reblog or a quote."""
        native_id = status_id(post)
        profile, uri = _profile_urls(post.author, base)
        author = self.world.accounts.get(post.author.handle) if post.author.is_organization else None
        if author is not None and author.person is not post.author:
            author = None
        status: dict[str, Any] = {
            "id": native_id,
            "created_at": format_datetime(post.created_at),
            "in_reply_to_id": status_id(post.parent) if post.parent else None,
            "in_reply_to_account_id": account_id(post.parent.author) if post.parent else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": post.language,
            "uri": f"{uri}/statuses/{native_id}",
            "url": f"{profile}/{native_id}",
            "replies_count": post.reply_count,
            "reblogs_count": post.repost_count,
            "favourites_count": post.like_count,
            "quotes_count": post.quote_count,
            "edited_at": format_datetime(post.edited_at) if post.edited_at else None,
            "content": self._content(post, base),
            "reblog": None,
            "account": self.account_json(post.author, base, author),
            "media_attachments": [self._media_json(image, base) for image in post.images],
            "mentions": [self._mention_json(person, base) for person in _mentioned(post)],
            "tags": [{"name": tag, "url": f"{base}/tags/{tag}"} for tag in dict.fromkeys(post.tags)],
            "emojis": [],
            "quote": None,
            "quote_approval": QUOTE_APPROVAL,
            "card": self._card_json(post) if post.card else None,
            "poll": None,
        }
        if post.author.domain is None:
            status["application"] = {"name": "Web", "website": None}
        if post.reposted is not None:
            status.update(
                {
                    "language": None,
                    "uri": f"{uri}/statuses/{native_id}/activity",
                    "url": None,
                    "replies_count": 0,
                    "reblogs_count": 0,
                    "favourites_count": 0,
                    "quotes_count": 0,
                    "content": "",
                    "reblog": self.status_json(post.reposted, base),
                }
            )
        if post.quoted is not None:
            if post.quoted.is_deleted:
                status["quote"] = {"state": "deleted", "quoted_status": None}
            else:
                status["quote"] = {"state": "accepted", "quoted_status": self.status_json(post.quoted, base)}
        return status

    def _content(self, post: Post, base: str) -> str:
        if post.reposted is not None:
            return ""
        html = []
        if post.parent is not None and post.parent.author is not post.author:
            html.append(self._mention_html(post.parent.author, base) + " ")
        for segment in post.segments:
            if segment.kind == "mention" and segment.person is not None:
                html.append(self._mention_html(segment.person, base))
            elif segment.kind == "link":
                html.append(link_html(segment.value))
            elif segment.kind == "tag":
                html.append(
                    f'<a href="{base}/tags/{escape(segment.value)}" class="mention hashtag" rel="tag">'
                    f"#<span>{escape(segment.value)}</span></a>"
                )
            else:
                html.append(escape(segment.value).replace("\n", "<br />"))
        paragraph = "<p>" + "".join(html) + "</p>"
        if post.quoted is not None:
            quoted_profile, _ = _profile_urls(post.quoted.author, base)
            quoted_url = f"{quoted_profile}/{status_id(post.quoted)}"
            paragraph = f'<p class="quote-inline">RE: {link_html(quoted_url)}</p>' + paragraph
        return paragraph

    def _mention_html(self, person: Person, base: str) -> str:
        profile, _ = _profile_urls(person, base)
        return (
            f'<span class="h-card" translate="no"><a href="{escape(profile)}" class="u-url mention">'
            f"@<span>{escape(person.handle)}</span></a></span>"
        )

    def _mention_json(self, person: Person, base: str) -> dict[str, Any]:
        profile, _ = _profile_urls(person, base)
        return {
            "id": account_id(person),
            "username": person.handle,
            "url": profile,
            "acct": person.handle if person.domain is None else f"{person.handle}@{person.domain}",
        }

    def _media_json(self, image: Image, base: str) -> dict[str, Any]:
        native_id = media_id(image)
        scale = min(1.0, (230_400 / (image.width * image.height)) ** 0.5)
        small_width, small_height = round(image.width * scale), round(image.height * scale)
        folder = f"{base}/system/media_attachments/files/{native_id[:3]}/{native_id[3:6]}/{native_id[6:9]}"
        return {
            "id": native_id,
            "type": "image",
            "url": f"{folder}/original/{native_id}.jpg",
            "preview_url": f"{folder}/small/{native_id}.jpg",
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": {
                "original": {
                    "width": image.width,
                    "height": image.height,
                    "size": f"{image.width}x{image.height}",
                    "aspect": image.width / image.height,
                },
                "small": {
                    "width": small_width,
                    "height": small_height,
                    "size": f"{small_width}x{small_height}",
                    "aspect": small_width / small_height,
                },
            },
            "description": image.alt,
            "blurhash": BLURHASH,
        }

    def _card_json(self, post: Post) -> dict[str, Any]:
        assert post.card is not None
        return {
            "url": post.card.url,
            "title": post.card.title,
            "description": post.card.description,
            "language": post.language,
            "type": "link",
            "author_name": "",
            "author_url": "",
            "provider_name": "",
            "provider_url": "",
            "html": "",
            "width": 400,
            "height": 210,
            "image": None,
            "image_description": "",
            "embed_url": "",
            "blurhash": None,
            "published_at": None,
            "authors": [],
        }


def _profile_urls(person: Person, base: str) -> tuple[str, str]:
    """(profile page, ActivityPub actor URI) of a person, local or remote."""
    home = base if person.domain is None else f"https://{person.domain}"
    return f"{home}/@{person.handle}", f"{home}/users/{person.handle}"


def _mentioned(post: Post) -> list[Person]:
    people = []
    if post.parent is not None and post.parent.author is not post.author:
        people.append(post.parent.author)
    people += post.mentions
    return list({person.number: person for person in people}.values())


def _chain(node: Post, top: Post) -> Iterable[Post]:
    """The posts between ``node`` and ``top``, both excluded."""
    parent = node.parent
    while parent is not None and parent is not top:
        yield parent
        parent = parent.parent


def _limit(value: str | None) -> int:
    # limit_param: the default when absent, else |limit| capped at twice the default; 0 or junk: the default.
    number = _int(value)
    if number is None or number == 0:
        return DEFAULT_LIMIT
    return min(abs(number), MAX_LIMIT)


def _int(value: str | None) -> int | None:
    if value is None or not value.strip().lstrip("-").isdigit():
        return None
    return int(value)


def _truthy(value: str | None) -> bool:
    return value is not None and value not in FALSE_VALUES


def _to_query(params: dict[str, Any]) -> str:
    """Rails' ``to_query``: ``key=value`` pairs, escaped, sorted."""
    return "&".join(sorted(f"{quote_plus(key)}={quote_plus(str(value))}" for key, value in params.items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a generated world as a local Mastodon instance.")
    add_server_arguments(parser, port=8001, rate_limit=DEFAULT_RATE_LIMIT, window=DEFAULT_WINDOW_SECONDS)
    parser.add_argument("--public-url", default=None)
    args = parser.parse_args(argv)
    world, until = world_from_arguments(args)
    server = MastodonServer(
        world,
        rate_limit=args.rate_limit,
        window_seconds=args.window,
        failing=args.failing,
        public_url=args.public_url,
        host=args.host,
        port=args.port,
    )
    server.start()
    print(
        f"Mastodon on {server.url}: {len(world.accounts)} accounts (org001..), {args.weeks} weeks to "
        f"{until:%Y-%m-%d}, {args.rate_limit} requests per {args.window:g} s. "
        f"Try {server.url}/api/v1/accounts/lookup?acct=org001",
        flush=True,
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
