"""The shared Graph API client against the local Graph server: cursors, usage, Graph's errors, the token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from rapport.settings import SettingsError
from rapport.sources import DeferredError, SourceError
from rapport.sources.graph import (
    DEFAULT_VERSION,
    GraphClient,
    GraphStats,
    ObjectMissingError,
    PermissionMissingError,
    TokenError,
    UsageCapError,
    base_url,
    read_token,
    read_usage,
    read_version,
    scrub,
    token_connection,
    token_variable,
)
from rapport.sources.http import ClientError, StalledCursorError
from tests.platforms.graph_server import (
    Comment,
    FacebookPage,
    FacebookPost,
    GraphServer,
    Token,
)

TOKEN = "EAAGtestPageToken0123456789abcdef"
PAGE_ID = "100000000000042"


class FakeClock:
    """A clock the client's sleep advances and the server reads: a test waits no real second."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def example_page(posts: int = 7, comments: int = 0) -> FacebookPage:
    page = FacebookPage(PAGE_ID, "examplepage", "Example Page", followers_count=10, fan_count=9)
    for number in range(posts):
        post = FacebookPost(
            f"{PAGE_ID}_{number}", f"2026-11-{20 - number:02d}T10:00:00+0000", f"Post {number}"
        )
        post.comments = [
            Comment(f"{number}_{n}", f"9{n:014d}", f"Person {n}", "Hi", "2026-11-21T10:00:00+0000")
            for n in range(comments)
        ]
        page.posts.append(post)
    return page


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[GraphServer]:
    with GraphServer([example_page()], tokens={TOKEN: Token(PAGE_ID)}, clock=clock) as running:
        yield running


def client_for(server: GraphServer, clock: FakeClock, token: str = TOKEN, **options: Any) -> GraphClient:
    return GraphClient(
        f"{server.url}/{DEFAULT_VERSION}",
        token=token,
        platform="meta-test",
        account="meta-test:examplepage",
        organization_id="city-library",
        stats=GraphStats(),
        sleep=clock.sleep,
        clock=clock,
        **options,
    )


def test_pages_follow_the_after_cursor_until_no_next_and_send_the_token_only_as_a_bearer(
    server: GraphServer, clock: FakeClock
) -> None:
    with client_for(server, clock) as client:
        answers = list(client.pages(f"{PAGE_ID}/published_posts", {"fields": "id,message", "limit": 3}))
    ids = [item["id"] for answer in answers for item in json.loads(answer.body)["data"]]
    assert ids == [f"{PAGE_ID}_{n}" for n in range(7)]
    assert [call.query.get("after") is None for call in server.log] == [True, False, False]
    assert all(call.token == TOKEN and not call.token_in_url for call in server.log)
    assert all("access_token" not in answer.url for answer in answers)


def test_next_urls_echoing_the_token_are_landed_without_it(server: GraphServer, clock: FakeClock) -> None:
    with client_for(server, clock) as client:
        first = next(client.pages(f"{PAGE_ID}/published_posts", {"limit": 2}))
    paging = json.loads(first.body)["paging"]
    assert "access_token=***" in paging["next"]
    assert TOKEN.encode() not in first.body
    assert first.redacted and first.page("published_posts").redacted


def test_scrub_blanks_access_token_fields_and_url_parameters_of_any_token() -> None:
    body = json.dumps(
        {
            "data": [{"access_token": "OTHERPAGETOKEN", "id": "1"}],
            "paging": {"next": "https://x/?a=1&access_token=ZZZ9&b=2"},
        }
    ).encode()
    scrubbed, changed = scrub(body)
    assert changed
    assert b"OTHERPAGETOKEN" not in scrubbed and b"ZZZ9" not in scrubbed
    assert json.loads(scrubbed)["paging"]["next"] == "https://x/?a=1&access_token=***&b=2"


def test_a_cursor_that_does_not_move_is_refused(server: GraphServer, clock: FakeClock) -> None:
    server.override = lambda path, query: (
        200,
        {"data": [{"id": "1"}], "paging": {"cursors": {"after": "SAME"}, "next": "x"}},
    )
    with client_for(server, clock) as client, pytest.raises(StalledCursorError, match="already given"):
        list(client.pages("1/posts"))


def test_usage_nearing_the_budget_is_paced_then_deferred_before_graph_throttles(clock: FakeClock) -> None:
    # 40 calls a window; 200 pages asked: from 80 % the client sleeps before each call, and it stops
    # (deferred) before the call that would reach 100 %. Graph never answers a throttling code.
    with GraphServer(
        [example_page(posts=200)], tokens={TOKEN: Token(PAGE_ID)}, budget=40, clock=clock
    ) as server:
        with client_for(server, clock) as client, pytest.raises(UsageCapError, match=r"97\.5 %") as caught:
            for _ in client.pages(f"{PAGE_ID}/posts", {"limit": 1, "fields": "id"}):
                pass
        assert isinstance(caught.value, DeferredError)
        assert len(server.log) == 39
        assert server.answered(4, 17, 32, 613, 80001) == []
        assert client.stats.paced == 6 and client.stats.slept_seconds > 0  # calls 34 to 39 (82.5 % up)
        assert client.stats.throttled == 0 and client.stats.usage_percent == 97.5


def test_usage_at_95_percent_is_paced_and_never_receives_a_throttling_code(
    server: GraphServer, clock: FakeClock
) -> None:
    server.budget = 100
    server.spend(TOKEN, 94)
    with client_for(server, clock) as client, pytest.raises(UsageCapError, match="99 %"):
        for _ in client.pages(f"{PAGE_ID}/posts", {"limit": 1, "fields": "id"}):
            pass
    assert len(server.log) == 5  # 95 % to 99 %
    assert len(clock.slept) == 4 and all(0 < seconds <= 30 for seconds in clock.slept)
    assert server.answered(4, 17, 32, 613, 80001) == []


def test_a_throttled_call_waits_the_business_use_case_estimate_when_short(clock: FakeClock) -> None:
    with GraphServer(
        [example_page()], tokens={TOKEN: Token(PAGE_ID)}, budget=10, window=600, clock=clock
    ) as server:
        server.spend(TOKEN, 10)
        with client_for(server, clock, max_wait=900) as client:
            answer = client.get(PAGE_ID, {"fields": "id,name"})
    assert json.loads(answer.body)["name"] == "Example Page"
    assert [call.code for call in server.log] == [80001, None]
    assert clock.slept == [600.0]
    assert client.stats.throttled == 1


def test_a_throttled_call_whose_estimate_is_long_defers_the_account(clock: FakeClock) -> None:
    with GraphServer([example_page()], tokens={TOKEN: Token(PAGE_ID)}, budget=10, clock=clock) as server:
        server.spend(TOKEN, 10)
        with (
            client_for(server, clock, max_wait=900) as client,
            pytest.raises(UsageCapError, match="access returns in 1440 min"),
        ):
            client.get(PAGE_ID)
    assert len(server.log) == 1


def test_usage_headers_are_read_from_app_page_and_business_use_case_headers() -> None:
    usage = read_usage(
        {
            "X-App-Usage": '{"call_count": 12, "total_time": 3, "total_cputime": 2}',
            "X-Business-Use-Case-Usage": json.dumps(
                {
                    "1": [
                        {
                            "type": "pages",
                            "call_count": 30,
                            "total_cputime": 88,
                            "total_time": 5,
                            "estimated_time_to_regain_access": 7,
                        }
                    ]
                }
            ),
            "X-Page-Usage": "not json",
        }
    )
    assert usage is not None
    assert (usage.percent, usage.header, usage.regain_minutes) == (88.0, "X-Business-Use-Case-Usage", 7.0)
    assert read_usage({}) is None


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_a_throttling_code_is_waited_out_then_the_call_is_sent_again(
    server: GraphServer, clock: FakeClock, code: int
) -> None:
    server.throttle_next = [code]
    with client_for(server, clock) as client:
        answer = client.get(PAGE_ID, {"fields": "id,name"})
    assert json.loads(answer.body)["name"] == "Example Page"
    assert [call.code for call in server.log] == [code, None]
    assert client.stats.throttled == 1 and client.stats.retries == 1 and clock.slept


def test_throttling_that_lasts_defers_the_account(server: GraphServer, clock: FakeClock) -> None:
    server.throttle_next = [4, 4, 4, 4, 4]
    with client_for(server, clock) as client, pytest.raises(UsageCapError, match="still throttles after 4"):
        client.get(PAGE_ID)


def test_an_expired_token_names_the_organization_the_variable_and_the_connection_and_is_not_retried(
    server: GraphServer, clock: FakeClock
) -> None:
    server.tokens[TOKEN] = Token(PAGE_ID, expired=True)
    with client_for(server, clock) as client, pytest.raises(TokenError) as caught:
        client.get(PAGE_ID)
    message = str(caught.value)
    assert "organization city-library" in message and "it expired" in message
    assert "RAPPORT_META_TOKEN_CITY_LIBRARY" in message and "rapport_meta_city_library" in message
    assert "fbtrace_id" in message and TOKEN not in message
    assert "\n" not in message
    assert len(server.log) == 1


def test_a_permission_error_names_the_missing_permission(server: GraphServer, clock: FakeClock) -> None:
    server.tokens[TOKEN] = Token(PAGE_ID, missing=frozenset({"pages_read_user_content"}))
    with (
        client_for(server, clock) as client,
        pytest.raises(PermissionMissingError, match="pages_read_user_content"),
    ):
        client.get(f"{PAGE_ID}_0/comments")


def test_an_object_that_does_not_exist_is_left_to_the_caller(server: GraphServer, clock: FakeClock) -> None:
    with client_for(server, clock) as client, pytest.raises(ObjectMissingError, match="100/33") as caught:
        client.get("123_456/comments")
    assert caught.value.page("comments").status == 400


def test_other_errors_name_graphs_message_and_trace(server: GraphServer, clock: FakeClock) -> None:
    with (
        client_for(server, clock) as client,
        pytest.raises(ClientError, match=r"nonexisting field.*fbtrace_id"),
    ):
        client.get(f"{PAGE_ID}/nothing")


def test_a_token_echoed_in_an_error_body_is_redacted_from_message_and_page(
    server: GraphServer, clock: FakeClock
) -> None:
    server.override = lambda path, query: (
        400,
        {"error": {"message": f"bad token {TOKEN}", "type": "OAuthException", "code": 1, "fbtrace_id": "T"}},
    )
    with client_for(server, clock) as client, pytest.raises(ClientError) as caught:
        client.get(PAGE_ID)
    assert TOKEN not in str(caught.value)
    assert TOKEN.encode() not in caught.value.body


def test_the_token_comes_from_the_organizations_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert token_variable("city-library") == "RAPPORT_META_TOKEN_CITY_LIBRARY"
    assert token_connection("city-library") == "rapport_meta_city_library"
    monkeypatch.setenv("RAPPORT_META_TOKEN_CITY_LIBRARY", TOKEN)
    assert read_token("city-library", "meta-test:x") == TOKEN


def test_no_token_is_one_line_naming_the_organization_the_variable_and_the_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RAPPORT_META_TOKEN_CITY_LIBRARY", raising=False)
    with pytest.raises(SourceError) as caught:
        read_token("city-library", "meta-test:x")
    assert str(caught.value) == (
        "meta-test:x: no access token for organization city-library: set RAPPORT_META_TOKEN_CITY_LIBRARY "
        "or the password of the Airflow Connection rapport_meta_city_library"
    )


def test_the_version_is_pinned_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    assert read_version() == DEFAULT_VERSION
    monkeypatch.setenv("RAPPORT_GRAPH_BASE_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("RAPPORT_GRAPH_API_VERSION", "v25.0")
    assert base_url("https://graph.example.com") == "http://127.0.0.1:9/v25.0"
    monkeypatch.setenv("RAPPORT_GRAPH_API_VERSION", "latest")
    with pytest.raises(SettingsError, match="RAPPORT_GRAPH_API_VERSION"):
        read_version()


def test_the_server_serves_an_instagram_account_its_media_comments_and_replies(clock: FakeClock) -> None:
    from tests.platforms.graph_server import IgComment, IgMedia, IgUser

    page = example_page(posts=0)
    reply = IgComment("1780002", "17841400000000042", "examplepage", "Thanks!", "2026-11-21T11:00:00+0000")
    top = IgComment(
        "1780001", "17841400000000099", "ana", "When?", "2026-11-21T10:00:00+0000", replies=[reply]
    )
    carousel = IgMedia(
        "1790001", "2026-11-21T09:00:00+0000", "Hi", "CAROUSEL_ALBUM", 5, ["IMAGE", "VIDEO"], [top]
    )
    older = IgMedia("1790000", "2026-11-20T09:00:00+0000", "Old", "IMAGE", 1)
    page.instagram = IgUser("17841400000000042", "examplepage", "Example", 300, 12, [carousel, older])
    with (
        GraphServer([page], tokens={TOKEN: Token(PAGE_ID)}, clock=clock) as server,
        client_for(server, clock) as client,
    ):
        me = json.loads(client.get("me", {"fields": "id,name,instagram_business_account{id,username}"}).body)
        assert me["instagram_business_account"] == {"id": "17841400000000042", "username": "examplepage"}
        user = json.loads(
            client.get("17841400000000042", {"fields": "username,followers_count,media_count"}).body
        )
        assert user == {
            "id": "17841400000000042",
            "username": "examplepage",
            "followers_count": 300,
            "media_count": 2,
        }
        fields = "id,caption,media_type,timestamp,like_count,comments_count,permalink,children{media_type}"
        media = [
            item
            for answer in client.pages("17841400000000042/media", {"fields": fields, "limit": 1})
            for item in json.loads(answer.body)["data"]
        ]
        assert [item["id"] for item in media] == ["1790001", "1790000"]
        assert media[0]["comments_count"] == 2 and [
            c["media_type"] for c in media[0]["children"]["data"]
        ] == [
            "IMAGE",
            "VIDEO",
        ]
        comments = json.loads(
            client.get(
                "1790001/comments", {"fields": "id,text,username,timestamp,from,replies{id,text,username}"}
            ).body
        )["data"]
        assert comments[0]["from"] == {"id": "17841400000000099", "username": "ana"}
        assert comments[0]["replies"]["data"] == [
            {"id": "1780002", "text": "Thanks!", "username": "examplepage"}
        ]
        replies = json.loads(client.get("1780001/replies", {"fields": "id,username"}).body)["data"]
        assert replies == [{"id": "1780002", "username": "examplepage"}]
        assert server.log[-1].path.endswith("/1780001/replies")
