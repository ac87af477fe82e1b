"""The local platforms speak the documented shapes: the world, the Mastodon instance, the Bluesky AppView."""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.platforms.bluesky_server import (
    BLOCKED_POST,
    CREATE_SESSION,
    NOT_FOUND_POST,
    REASON_REPOST,
    REFRESH_SESSION,
    THREAD_VIEW_POST,
    BlueskyServer,
    short_link,
)
from tests.platforms.mastodon_server import MastodonServer, status_id
from tests.platforms.world import SPECIAL_TEXTS, UNKNOWN_HANDLE, Post, World, iter_tree

UNTIL = datetime(2026, 11, 23, tzinfo=UTC)
TIMEOUT = 5


class FakeClock:
    """A server clock that moves only when told."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(accounts=4, weeks=26, until=UNTIL, seed=7, failing=["org004"])


@pytest.fixture(scope="module")
def mastodon(world: World) -> Iterator[MastodonServer]:
    with MastodonServer(world, rate_limit=100_000) as server:
        yield server


@pytest.fixture(scope="module")
def bluesky(world: World) -> Iterator[BlueskyServer]:
    with BlueskyServer(world, rate_limit=100_000) as server:
        yield server


def working_posts(world: World) -> list[Post]:
    """The posts of the accounts the servers answer for (not the failing ones)."""
    return [post for post in world.posts.values() if post.account not in world.failing]


def get(url: str, **params: Any) -> requests.Response:
    return requests.get(url, params=params or None, timeout=TIMEOUT)


# --- the world -------------------------------------------------------------------------------


def test_world_generates_fifty_accounts_over_26_weeks_in_well_under_a_second() -> None:
    started = time.perf_counter()
    world = World.generate(accounts=50, weeks=26, until=UNTIL)
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0
    assert world.handles == [f"org{number:03d}" for number in range(1, 51)]
    assert world.account(UNKNOWN_HANDLE) is None


def test_world_is_the_same_for_a_handle_whatever_the_number_of_accounts() -> None:
    small = World.generate(accounts=2, weeks=4, until=UNTIL, seed=1)
    large = World.generate(accounts=6, weeks=4, until=UNTIL, seed=1)
    other_seed = World.generate(accounts=2, weeks=4, until=UNTIL, seed=2)

    def texts(world: World) -> list[tuple[str, str]]:
        return [(str(post.created_at), post.text) for post in world.accounts["org002"].posts]

    assert texts(small) == texts(large)
    assert texts(small) != texts(other_seed)


def test_world_holds_every_case_the_connectors_must_read(world: World) -> None:
    posts = [post for account in world.accounts.values() for post in account.posts]
    organizations = [
        post for post in posts if post.author.is_organization and post.author.handle in world.accounts
    ]

    assert {post.kind for post in organizations} == {"original", "reply", "self_reply", "repost", "quote"}
    assert any(post.is_question for post in posts if post.kind == "reply")
    images = [image for post in posts for image in post.images]
    assert any(image.has_alt_text for image in images)
    assert any(image.alt is None for image in images)
    assert any(post.edited_at is not None and post.edited_at > post.created_at for post in organizations)
    deleted_in_thread = [
        post for post in posts if post.is_deleted and post.parent is not None and post.replies
    ]
    assert deleted_in_thread, "a deleted post inside a thread, with a reply below it"
    assert any(post.is_blocked for post in posts)
    assert any(post.quoted is not None and post.quoted.is_deleted for post in posts)
    assert any(post.mentions for post in organizations) and any(post.links for post in organizations)
    for special in SPECIAL_TEXTS:
        assert any(post.text == special for post in organizations)
    assert all(world.since <= post.created_at < world.until for post in organizations)
    assert all(post.created_at < world.until for post in posts)


def test_world_rejects_arguments_it_cannot_honour() -> None:
    with pytest.raises(ValueError, match="accounts"):
        World.generate(accounts=1000)
    with pytest.raises(ValueError, match="timezone"):
        World.generate(accounts=1, until=datetime(2026, 11, 23))


# --- Mastodon -------------------------------------------------------------------------------


def lookup(server: MastodonServer, acct: str) -> requests.Response:
    return get(f"{server.url}/api/v1/accounts/lookup", acct=acct)


def all_statuses(server: MastodonServer, account_id: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Follow rel="next" to the end; return the statuses and the number of pages."""
    url = f"{server.url}/api/v1/accounts/{account_id}/statuses"
    response = get(url, **params)
    statuses, pages = [], 0
    while True:
        assert response.status_code == 200
        pages += 1
        statuses += response.json()
        if "next" not in response.links:
            return statuses, pages
        assert pages < 100, "pagination does not terminate"
        response = get(response.links["next"]["url"])


def test_lookup_answers_the_account_and_404_for_an_unknown_handle(mastodon: MastodonServer) -> None:
    account = lookup(mastodon, "org001").json()
    host = urlsplit(mastodon.url).netloc

    assert {
        "id",
        "username",
        "acct",
        "display_name",
        "url",
        "created_at",
        "followers_count",
    } <= account.keys()
    assert (account["username"], account["acct"]) == ("org001", "org001")
    assert account["created_at"].endswith("T00:00:00.000Z")
    assert lookup(mastodon, "@org001").json()["id"] == account["id"]
    assert lookup(mastodon, f"org001@{host}").json()["id"] == account["id"]
    missing = lookup(mastodon, UNKNOWN_HANDLE)
    assert missing.status_code == 404
    assert missing.json() == {"error": "Record not found"}


def test_statuses_pagination_covers_every_status_exactly_once_newest_first(
    mastodon: MastodonServer, world: World
) -> None:
    account_id = lookup(mastodon, "org001").json()["id"]
    statuses, pages = all_statuses(
        mastodon, account_id, limit=40, exclude_replies="false", exclude_reblogs="false"
    )
    ids = [status["id"] for status in statuses]
    expected = [status_id(post) for post in world.accounts["org001"].timeline()]

    assert ids == expected
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids, key=int, reverse=True)
    assert pages == len(ids) // 40 + 1
    assert any(status["reblog"] for status in statuses)
    assert any(status["in_reply_to_id"] for status in statuses)


def test_link_header_is_written_as_mastodon_writes_it(mastodon: MastodonServer) -> None:
    account_id = lookup(mastodon, "org001").json()["id"]
    url = f"{mastodon.url}/api/v1/accounts/{account_id}/statuses"
    response = get(url, limit=5, exclude_replies="false", exclude_reblogs="false")
    page = response.json()

    match = re.fullmatch(r'<([^>]+)>; rel="next", <([^>]+)>; rel="prev"', response.headers["Link"])
    assert match is not None
    next_url, prev_url = match.groups()
    assert next_url == f"{url}?exclude_reblogs=false&exclude_replies=false&limit=5&max_id={page[-1]['id']}"
    assert prev_url == f"{url}?exclude_reblogs=false&exclude_replies=false&limit=5&min_id={page[0]['id']}"


def test_min_id_and_since_id_bound_the_page_from_below(mastodon: MastodonServer, world: World) -> None:
    account_id = lookup(mastodon, "org001").json()["id"]
    url = f"{mastodon.url}/api/v1/accounts/{account_id}/statuses"
    ids = [status_id(post) for post in world.accounts["org001"].timeline()]
    pivot = ids[20]

    after_min = [status["id"] for status in get(url, limit=5, min_id=pivot).json()]
    after_since = [status["id"] for status in get(url, limit=5, since_id=pivot).json()]
    between = [status["id"] for status in get(url, max_id=ids[2], min_id=ids[6]).json()]

    assert after_min == ids[15:20]
    assert after_since == ids[:5]
    assert between == ids[3:6]
    last_page = get(url, max_id=ids[-1])
    assert last_page.json() == []
    assert "Link" not in last_page.headers


def test_limit_defaults_to_20_and_is_capped_at_40(mastodon: MastodonServer) -> None:
    account_id = lookup(mastodon, "org001").json()["id"]
    url = f"{mastodon.url}/api/v1/accounts/{account_id}/statuses"

    assert len(get(url).json()) == 20
    assert len(get(url, limit=500).json()) == 40


def test_exclude_replies_keeps_self_replies_and_exclude_reblogs_drops_boosts(
    mastodon: MastodonServer,
) -> None:
    account_id = lookup(mastodon, "org001").json()["id"]
    statuses, _ = all_statuses(mastodon, account_id, limit=40, exclude_replies="true", exclude_reblogs="1")

    assert statuses
    assert all(status["reblog"] is None for status in statuses)
    assert all(
        status["in_reply_to_id"] is None or status["in_reply_to_account_id"] == account_id
        for status in statuses
    )


def test_statuses_carry_reblogs_quotes_media_edits_and_escaped_html(
    mastodon: MastodonServer, world: World
) -> None:
    statuses = []
    for handle in ("org001", "org002", "org003"):
        account_id = lookup(mastodon, handle).json()["id"]
        statuses += all_statuses(mastodon, account_id, limit=40)[0]

    reblog = next(status for status in statuses if status["reblog"])
    assert (reblog["content"], reblog["url"], reblog["uri"].endswith("/activity")) == ("", None, True)
    assert reblog["reblog"]["account"]["acct"].count("@") == 1
    quotes = [status for status in statuses if status["quote"]]
    assert {quote["quote"]["state"] for quote in quotes} == {"accepted", "deleted"}
    accepted = next(quote for quote in quotes if quote["quote"]["state"] == "accepted")
    assert accepted["content"].startswith('<p class="quote-inline">RE: <a href="')
    assert accepted["quote"]["quoted_status"]["id"]
    media = [attachment for status in statuses for attachment in status["media_attachments"]]
    assert {attachment["type"] for attachment in media} == {"image"}
    assert any(attachment["description"] is None for attachment in media)
    assert any(attachment["description"] and attachment["description"].strip() for attachment in media)
    assert any(status["edited_at"] for status in statuses)
    script = next(status for status in statuses if "script" in status["content"])
    assert "<script>" not in script["content"]
    assert (
        "&lt;script&gt;alert(&#39;rapport&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;" in script["content"]
    )
    answer = next(
        status
        for status in statuses
        if status["in_reply_to_account_id"] not in (None, status["account"]["id"]) and not status["reblog"]
    )
    assert '<span class="h-card" translate="no"><a href="' in answer["content"]
    assert answer["mentions"][0]["id"] == answer["in_reply_to_account_id"]
    tagged = next(status for status in statuses if status["tags"])
    assert 'class="mention hashtag" rel="tag">#<span>' in tagged["content"]


def test_context_lists_ancestors_oldest_first_and_leaves_out_a_deleted_post(
    mastodon: MastodonServer, world: World
) -> None:
    deleted = next(post for post in working_posts(world) if post.is_deleted and post.parent and post.replies)
    root = deleted.root
    context = get(f"{mastodon.url}/api/v1/statuses/{status_id(root)}/context").json()
    descendant_ids = [status["id"] for status in context["descendants"]]
    expected = [
        status_id(node)
        for node, _ in iter_tree(root)
        if node is not root and not any(item.is_deleted for item in chain_to(node, root))
    ]

    assert context["ancestors"] == []
    assert descendant_ids == expected
    assert status_id(deleted) not in descendant_ids
    assert all(status_id(reply) not in descendant_ids for reply in deleted.replies)
    leaf = next(node for node, depth in iter_tree(root) if depth == 2 and not any(chain_to(node, root)))
    assert leaf.parent is not None
    ancestors = get(f"{mastodon.url}/api/v1/statuses/{status_id(leaf)}/context").json()["ancestors"]
    assert [status["id"] for status in ancestors] == [status_id(root), status_id(leaf.parent)]
    assert get(f"{mastodon.url}/api/v1/statuses/{status_id(deleted)}/context").status_code == 404
    assert get(f"{mastodon.url}/api/v1/statuses/123/context").json() == {"error": "Record not found"}


def chain_to(node: Post, top: Post) -> list[Post]:
    """The deleted posts among ``node`` and its ancestors below ``top``."""
    chain = []
    current: Post | None = node
    while current is not None and current is not top:
        if current.is_deleted:
            chain.append(current)
        current = current.parent
    return chain


def test_mastodon_counts_a_budget_per_window_and_answers_429_past_it(world: World) -> None:
    clock = FakeClock(1_795_000_000.25)
    with MastodonServer(world, rate_limit=3, window_seconds=60, clock=clock) as server:
        answers = [lookup(server, "org001") for _ in range(4)]
        early = lookup(server, "org002")
        clock.now += 60
        after_reset = lookup(server, "org001")

        assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
        assert [answer.headers["X-RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0"]
        assert all(answer.headers["X-RateLimit-Limit"] == "3" for answer in answers)
        window_end = datetime.fromtimestamp((clock.now - 60) // 60 * 60 + 60, UTC)
        assert answers[3].headers["X-RateLimit-Reset"] == window_end.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert answers[3].json() == {"error": "Too many requests"}
        assert "Retry-After" not in answers[3].headers
        assert early.status_code == 429
        assert after_reset.status_code == 200
        assert after_reset.headers["X-RateLimit-Remaining"] == "2"
        assert len(server.rate_limited) == 2
        assert server.ignored_rate_limits() == [server.requests[4]]
        assert [request.account for request in server.requests] == ["org001"] * 4 + ["org002", "org001"]


def test_mastodon_answers_503_forever_for_a_failing_account(mastodon: MastodonServer) -> None:
    answers = [lookup(mastodon, "org004") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [503, 503, 503]
    assert "X-RateLimit-Remaining" in answers[0].headers


def test_mastodon_records_every_request_and_forgets_them_on_reset(mastodon: MastodonServer) -> None:
    mastodon.reset()
    account_id = lookup(mastodon, "org002").json()["id"]
    get(f"{mastodon.url}/api/v1/accounts/{account_id}/statuses", limit=40, exclude_replies="false")
    lookup(mastodon, UNKNOWN_HANDLE)

    recorded = mastodon.requests
    assert [(request.endpoint, request.account, request.status) for request in recorded] == [
        ("lookup", "org002", 200),
        ("statuses", "org002", 200),
        ("lookup", UNKNOWN_HANDLE, 404),
    ]
    assert recorded[1].query == {"limit": "40", "exclude_replies": "false"}
    assert len(mastodon.requests_for("org002")) == 2
    mastodon.reset()
    assert mastodon.requests == []


# --- Bluesky --------------------------------------------------------------------------------


def xrpc(server: BlueskyServer, method: str, **params: Any) -> requests.Response:
    return get(f"{server.url}/xrpc/{method}", **params)


def whole_feed(server: BlueskyServer, actor: str, limit: int = 100) -> tuple[list[dict[str, Any]], int]:
    feed, cursor, pages = [], None, 0
    while True:
        params: dict[str, object] = {"actor": actor, "filter": "posts_with_replies", "limit": limit}
        if cursor:
            params["cursor"] = cursor
        body = xrpc(server, "app.bsky.feed.getAuthorFeed", **params).json()
        pages += 1
        feed += body["feed"]
        cursor = body.get("cursor")
        if not body["feed"] or not cursor:
            return feed, pages
        assert pages < 100, "pagination does not terminate"


def test_resolve_handle_and_profile_answer_dids_and_400_for_unknown_handles(bluesky: BlueskyServer) -> None:
    resolved = xrpc(bluesky, "com.atproto.identity.resolveHandle", handle="org001.bsky.social")
    did = resolved.json()["did"]
    profile = xrpc(bluesky, "app.bsky.actor.getProfile", actor=did).json()
    unknown = xrpc(bluesky, "com.atproto.identity.resolveHandle", handle="unknown.bsky.social")
    no_profile = xrpc(bluesky, "app.bsky.actor.getProfile", actor="unknown.bsky.social")
    missing = xrpc(bluesky, "app.bsky.actor.getProfile")

    assert re.fullmatch(r"did:plc:[a-z2-7]{24}", did)
    assert profile["handle"] == "org001.bsky.social"
    assert xrpc(bluesky, "app.bsky.actor.getProfile", actor="org001.bsky.social").json()["did"] == did
    assert {"followersCount", "followsCount", "postsCount", "createdAt", "indexedAt"} <= profile.keys()
    assert (unknown.status_code, unknown.json()) == (
        400,
        {"error": "InvalidRequest", "message": "Unable to resolve handle"},
    )
    assert (no_profile.status_code, no_profile.json()) == (
        400,
        {"error": "InvalidRequest", "message": "Profile not found"},
    )
    assert missing.json() == {
        "error": "InvalidRequest",
        "message": 'Error: Params must have the property "actor"',
    }


def test_author_feed_cursor_covers_every_item_exactly_once(bluesky: BlueskyServer, world: World) -> None:
    feed, pages = whole_feed(bluesky, "org001.bsky.social", limit=37)
    timeline = world.accounts["org001"].timeline()
    keys = [(item["reason"]["uri"] if "reason" in item else item["post"]["uri"]) for item in feed]

    assert keys == [bluesky.uri(post) for post in timeline]
    assert len(set(keys)) == len(keys)
    assert pages == math.ceil(len(timeline) / 37) + 1
    assert xrpc(
        bluesky, "app.bsky.feed.getAuthorFeed", actor="org001.bsky.social", cursor="not-a-time"
    ).json() == {"feed": []}


def test_author_feed_limit_is_validated_like_the_lexicon(bluesky: BlueskyServer) -> None:
    too_many = xrpc(bluesky, "app.bsky.feed.getAuthorFeed", actor="org001.bsky.social", limit=101)
    too_few = xrpc(bluesky, "app.bsky.feed.getAuthorFeed", actor="org001.bsky.social", limit=0)
    default = xrpc(bluesky, "app.bsky.feed.getAuthorFeed", actor="org001.bsky.social")

    assert too_many.status_code == 400
    assert too_many.json()["message"] == "Error: Params/limit can not be greater than 100"
    assert too_few.json()["message"] == "Error: Params/limit can not be less than 1"
    assert len(default.json()["feed"]) == 50


def test_feed_items_carry_reply_views_and_repost_reasons(bluesky: BlueskyServer) -> None:
    feed = [
        item
        for handle in ("org001", "org002", "org003")
        for item in whole_feed(bluesky, f"{handle}.bsky.social")[0]
    ]

    repost = next(item for item in feed if "reason" in item)
    assert repost["reason"]["$type"] == REASON_REPOST
    assert repost["reason"]["uri"].split("/")[3] == "app.bsky.feed.repost"
    assert repost["post"]["author"]["did"] != repost["reason"]["by"]["did"]
    replies = [item for item in feed if "reply" in item]
    assert replies and all({"root", "parent"} <= item["reply"].keys() for item in replies)
    assert all(
        item["reply"]["parent"]["uri"] == item["post"]["record"]["reply"]["parent"]["uri"] for item in replies
    )
    assert any(item["reply"]["parent"]["$type"] == "app.bsky.feed.defs#postView" for item in replies)
    assert any(item["reply"]["parent"]["$type"] == NOT_FOUND_POST for item in replies)


def test_records_carry_facets_on_utf8_byte_ranges_and_embed_views(bluesky: BlueskyServer) -> None:
    posts = [
        item["post"]
        for handle in ("org001", "org002", "org003")
        for item in whole_feed(bluesky, f"{handle}.bsky.social")[0]
    ]

    facets = 0
    for post in posts:
        text = post["record"]["text"].encode("utf-8")
        for facet in post["record"].get("facets", []):
            shown = text[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode("utf-8")
            feature = facet["features"][0]
            if feature["$type"] == "app.bsky.richtext.facet#link":
                assert shown == short_link(feature["uri"])
            elif feature["$type"] == "app.bsky.richtext.facet#tag":
                assert shown == "#" + feature["tag"]
            else:
                assert feature["$type"] == "app.bsky.richtext.facet#mention"
                mentioned = bluesky.person(feature["did"])
                assert mentioned is not None
                assert shown == "@" + bluesky.handle(mentioned)
            facets += 1
    assert facets
    embeds = Counter(post["embed"]["$type"] for post in posts if "embed" in post)
    assert {"app.bsky.embed.images#view", "app.bsky.embed.record#view"} <= embeds.keys()
    assert embeds.keys() <= {
        "app.bsky.embed.images#view",
        "app.bsky.embed.external#view",
        "app.bsky.embed.record#view",
        "app.bsky.embed.recordWithMedia#view",
    }
    alts = [image["alt"] for post in posts for image in post["record"].get("embed", {}).get("images", [])]
    assert "" in alts and any(alt.strip() for alt in alts)
    quoted = [
        post["embed"]["record"]["$type"]
        for post in posts
        if post.get("embed", {}).get("$type", "").startswith("app.bsky.embed.record#")
    ]
    assert set(quoted) == {"app.bsky.embed.record#viewRecord", "app.bsky.embed.record#viewNotFound"}
    assert any(any(special in post["record"]["text"] for special in SPECIAL_TEXTS) for post in posts)


def test_post_thread_nests_replies_with_not_found_and_blocked_nodes(
    bluesky: BlueskyServer, world: World
) -> None:
    types: Counter[str] = Counter()

    def walk(node: dict[str, Any], depth: int) -> int:
        types[node["$type"]] += 1
        deepest = depth
        for reply in node.get("replies", []):
            deepest = max(deepest, walk(reply, depth + 1))
        return deepest

    hidden = [post for post in working_posts(world) if (post.is_deleted and post.replies) or post.is_blocked]
    roots = {post.root for post in hidden} | set(world.accounts["org001"].threads()[:5])
    deepest = 0
    for root in roots:
        thread = xrpc(bluesky, "app.bsky.feed.getPostThread", uri=bluesky.uri(root), depth=6).json()["thread"]
        assert thread["$type"] == THREAD_VIEW_POST
        assert thread["post"]["uri"] == bluesky.uri(root)
        deepest = max(deepest, walk(thread, 0))

    assert types[NOT_FOUND_POST] >= 1
    assert types[BLOCKED_POST] >= 1
    assert deepest >= 2
    blocked = next(post for post in working_posts(world) if post.is_blocked)
    view = bluesky.missing_view(blocked)
    assert view["blocked"] is True and view["author"]["did"] == bluesky.did(blocked.author)


def test_post_thread_honours_depth_and_answers_not_found_for_a_deleted_post(
    bluesky: BlueskyServer, world: World
) -> None:
    root = max(world.accounts["org001"].threads(), key=lambda post: len(list(iter_tree(post))))
    shallow = xrpc(bluesky, "app.bsky.feed.getPostThread", uri=bluesky.uri(root), depth=1).json()["thread"]
    deleted = next(post for post in working_posts(world) if post.is_deleted)
    gone = xrpc(bluesky, "app.bsky.feed.getPostThread", uri=bluesky.uri(deleted))

    assert shallow["replies"]
    assert all("replies" not in reply for reply in shallow["replies"] if reply["$type"] == THREAD_VIEW_POST)
    assert (gone.status_code, gone.json()) == (
        400,
        {"error": "NotFound", "message": f"Post not found: {bluesky.uri(deleted)}"},
    )


def test_bluesky_counts_a_budget_per_window_and_answers_429_past_it(world: World) -> None:
    clock = FakeClock(1_795_000_000.75)
    with BlueskyServer(world, rate_limit=2, window_seconds=30, clock=clock) as server:
        answers = [
            xrpc(server, "com.atproto.identity.resolveHandle", handle="org001.bsky.social") for _ in range(3)
        ]
        clock.now += 30
        after_reset = xrpc(server, "com.atproto.identity.resolveHandle", handle="org001.bsky.social")

        assert [answer.status_code for answer in answers] == [200, 200, 429]
        assert answers[2].json() == {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        assert [answer.headers["RateLimit-Remaining"] for answer in answers] == ["1", "0", "0"]
        assert all(answer.headers["RateLimit-Reset"] == "1795000030" for answer in answers)
        assert answers[2].headers["RateLimit-Policy"] == "2;w=30"
        assert after_reset.status_code == 200
        assert after_reset.headers["RateLimit-Reset"] == "1795000060"
        assert [request.status for request in server.rate_limited] == [429]
        assert server.ignored_rate_limits() == []
        assert len(server.requests_for("org001", "com.atproto.identity.resolveHandle")) == 4


def test_bluesky_answers_503_forever_for_a_failing_account_and_501_for_other_methods(
    bluesky: BlueskyServer,
) -> None:
    failing = [xrpc(bluesky, "app.bsky.feed.getAuthorFeed", actor="org004.bsky.social") for _ in range(2)]
    other = xrpc(bluesky, "app.bsky.feed.getTimeline")

    assert [answer.status_code for answer in failing] == [503, 503]
    assert "RateLimit-Remaining" in failing[0].headers
    assert other.status_code == 501
    assert other.json()["error"] == "MethodNotImplemented"


def test_bluesky_records_requests_with_the_account_they_are_about(
    bluesky: BlueskyServer, world: World
) -> None:
    bluesky.reset()
    post = world.accounts["org003"].threads()[0]
    xrpc(bluesky, "app.bsky.feed.getPostThread", uri=bluesky.uri(post))
    xrpc(bluesky, "app.bsky.actor.getProfile", actor=bluesky.did(world.accounts["org003"].person))

    assert [(request.endpoint, request.account) for request in bluesky.requests] == [
        ("app.bsky.feed.getPostThread", "org003"),
        ("app.bsky.actor.getProfile", "org003"),
    ]
    assert bluesky.requests[0].query == {"uri": bluesky.uri(post)}
    assert bluesky.requests_for("org003", "app.bsky.actor.getProfile") == bluesky.requests[1:]


def test_the_bluesky_pds_allows_30_sign_ins_per_5_minutes_then_answers_429_with_that_limit(
    world: World,
) -> None:
    clock = FakeClock(1_795_000_000.0)
    with BlueskyServer(world, app_passwords={"bot.bsky.social": "pw-1234"}, clock=clock) as pds:
        url = f"{pds.url}/xrpc/{CREATE_SESSION}"
        answers = [
            requests.post(url, json={"identifier": "bot.bsky.social", "password": "pw-1234"}, timeout=5)
            for _ in range(31)
        ]
        assert [answer.status_code for answer in answers] == [200] * 30 + [429]
        refused = answers[-1]
        assert refused.json() == {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        assert refused.headers["RateLimit-Limit"] == "30"
        assert refused.headers["RateLimit-Policy"] == "30;w=300"
        assert int(refused.headers["RateLimit-Reset"]) == math.floor(1_795_000_000.0 + 300)
        clock.now += 301
        again = requests.post(url, json={"identifier": "bot.bsky.social", "password": "pw-1234"}, timeout=5)
        assert again.status_code == 200


def test_the_bluesky_pds_refuses_an_expired_token_then_refreshes_the_session_once(world: World) -> None:
    clock = FakeClock(1_795_000_000.0)
    with BlueskyServer(world, app_passwords={"bot.bsky.social": "pw-1234"}, clock=clock) as pds:
        session = requests.post(
            f"{pds.url}/xrpc/{CREATE_SESSION}",
            json={"identifier": "bot.bsky.social", "password": "pw-1234"},
            timeout=5,
        ).json()
        read = f"{pds.url}/xrpc/com.atproto.identity.resolveHandle?handle=org001.bsky.social"
        bearer = {"Authorization": f"Bearer {session['accessJwt']}"}
        assert requests.get(read, headers=bearer, timeout=5).status_code == 200
        assert requests.get(read, timeout=5).json()["error"] == "AuthMissing"
        clock.now += 2 * 3600
        expired = requests.get(read, headers=bearer, timeout=5)
        assert (expired.status_code, expired.json()) == (
            400,
            {"error": "ExpiredToken", "message": "Token has expired"},
        )
        refresh = f"{pds.url}/xrpc/{REFRESH_SESSION}"
        by_refresh = {"Authorization": f"Bearer {session['refreshJwt']}"}
        assert (
            requests.post(refresh, headers=by_refresh, json={}, timeout=5).status_code == 400
        )  # no body expected
        renewed = requests.post(refresh, headers=by_refresh, timeout=5).json()
        assert requests.get(read, headers={"Authorization": f"Bearer {renewed['accessJwt']}"}, timeout=5).ok
        reused = requests.post(refresh, headers=by_refresh, timeout=5)
        assert reused.json()["error"] == "InvalidToken"  # the old refresh token was revoked
