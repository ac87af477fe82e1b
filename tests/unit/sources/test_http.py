"""The shared HTTP client: served by a local server, timed by a fake clock, so nothing really waits."""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request
from werkzeug import Response as ServerResponse

from rapport.sources import Page, SourceError
from rapport.sources.http import (
    RESET_MARGIN,
    ClientError,
    HttpClient,
    HttpError,
    NotFoundError,
    RetriesExhaustedError,
    WaitTooLongError,
    parse_link_header,
    parse_rate_limit,
    redact_url,
    user_agent,
)

TOKEN = "s3cr3t-t0ken-value"
LOOKUP = "/api/v1/accounts/lookup"
STATUSES = "/api/v1/accounts/109/statuses"


class FakeClock:
    """A clock that only moves when the client sleeps; records every sleep."""

    def __init__(self, now: float = 1_795_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class CeilingRandom(random.Random):
    """Always draws the top of the range, so backoff delays are their ceilings."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(httpserver: HTTPServer, clock: FakeClock) -> Iterator:
    clients: list[HttpClient] = []

    def make(base_url: str | None = None, **overrides) -> HttpClient:
        options = {
            "platform": "mastodon",
            "account": "@city@mastodon.example",
            "sleep": clock.sleep,
            "clock": clock.time,
            "rng": random.Random(7),
        }
        options.update(overrides)
        client = HttpClient(base_url or f"http://{httpserver.host}:{httpserver.port}", **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    # The default server answers one request at a time: a slow handler would stall the retry too.
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def json_response(
    payload: object, status: int = 200, headers: dict[str, str] | None = None
) -> ServerResponse:
    return ServerResponse(
        json.dumps(payload), status=status, headers=headers, content_type="application/json"
    )


def iso_utc(epoch: float) -> str:
    """A timestamp the way Mastodon writes X-RateLimit-Reset (Ruby's iso8601(6))."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- plain requests ---------------------------------------------------------------------------------


def test_get_returns_the_body_bytes_untouched_headers_case_insensitive_and_a_landable_page(
    httpserver, make_client
):
    body = '{"id": "109", "display_name": "Bibliothèque 🎉"}'.encode()
    httpserver.expect_request(LOOKUP).respond_with_data(
        body, content_type="application/json; charset=utf-8", headers={"X-Request-Id": "abc"}
    )
    client = make_client()

    response = client.get(
        LOOKUP,
        {
            "acct": "city",
            "limit": 40,
            "exclude_replies": True,
            "max_id": None,
            "types[]": ["mention", "reblog"],
        },
    )

    assert response.status == 200
    assert response.body == body
    assert response.headers["x-request-id"] == "abc"
    assert response.headers["CONTENT-TYPE"].startswith("application/json")
    assert response.json()["display_name"] == "Bibliothèque 🎉"
    sent = httpserver.log[0][0]
    assert sent.args.getlist("types[]") == ["mention", "reblog"]
    assert "max_id" not in sent.args
    assert response.page("accounts/lookup") == Page(
        "accounts/lookup",
        body,
        200,
        {"acct": "city", "limit": "40", "exclude_replies": "true", "types[]": "mention,reblog"},
    )


def test_requests_carry_a_user_agent_naming_rapport_its_version_and_url(httpserver, make_client):
    httpserver.expect_request(LOOKUP).respond_with_json({})
    make_client().get(LOOKUP)

    sent = httpserver.log[0][0].headers["User-Agent"]
    assert sent == user_agent()
    assert re.fullmatch(r"Rapport/\S+ \(\+https://github\.com/rapport-project/rapport\)", sent)
    assert f"Rapport/{metadata.version('rapport')} " in sent


# -- secrets ----------------------------------------------------------------------------------------


def test_the_bearer_token_travels_in_the_authorization_header_and_nowhere_else(httpserver, make_client):
    httpserver.expect_request(LOOKUP, headers={"Authorization": f"Bearer {TOKEN}"}).respond_with_json(
        {"id": "1"}
    )
    client = make_client(bearer_token=TOKEN)

    response = client.get(LOOKUP, {"acct": "city"})

    assert response.status == 200
    assert TOKEN not in httpserver.log[0][0].url
    assert response.page("accounts/lookup").params == {"acct": "city"}
    assert TOKEN not in response.url
    assert TOKEN not in repr(client)


def test_the_bearer_token_never_appears_in_error_messages_or_log_lines(httpserver, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    httpserver.expect_oneshot_request(LOOKUP).respond_with_json({"error": "busy"}, status=503)
    httpserver.expect_oneshot_request(LOOKUP).respond_with_json(
        {"error": "The access token is invalid"}, status=401
    )
    client = make_client(bearer_token=TOKEN)

    with pytest.raises(ClientError) as raised:
        client.get(LOOKUP, {"acct": "city"})

    assert TOKEN not in str(raised.value)
    assert TOKEN not in repr(raised.value)
    assert TOKEN not in raised.value.page("accounts/lookup").params.values()
    messages = [record.getMessage() for record in caplog.records]
    assert not [message for message in messages if TOKEN in message]
    retry_lines = [m for m in messages if "retrying" in m]
    assert retry_lines, "the retry after the 503 is logged"
    assert re.search(
        r"GET http://\S+/api/v1/accounts/lookup\?acct=city -> 503, attempt 1/5; retrying in", retry_lines[0]
    )


def test_credentials_in_query_parameters_are_refused_without_being_echoed(httpserver, make_client):
    client = make_client()

    with pytest.raises(ValueError, match="access_token") as raised:
        client.get(LOOKUP, {"acct": "city", "access_token": TOKEN})

    assert TOKEN not in str(raised.value)
    assert httpserver.log == []


def test_urls_shown_in_messages_drop_credentials_and_user_info():
    shown = redact_url(f"https://user:pw@mastodon.example/api/v1/x?access_token={TOKEN}&max_id=5&Token=t")
    assert shown == "https://mastodon.example/api/v1/x?max_id=5"


def test_absolute_urls_on_another_origin_are_refused_so_the_token_stays_home(httpserver, make_client):
    client = make_client(bearer_token=TOKEN)

    with pytest.raises(HttpError, match="not on http://") as raised:
        client.get("https://elsewhere.example/api/v1/accounts/1/statuses?max_id=1")

    assert isinstance(raised.value, SourceError)
    assert httpserver.log == []


# -- retries ----------------------------------------------------------------------------------------


def test_a_429_with_retry_after_seconds_waits_at_least_that_long_then_succeeds(
    httpserver, make_client, clock
):
    httpserver.expect_oneshot_request(LOOKUP).respond_with_json(
        {"error": "Too many requests"}, status=429, headers={"Retry-After": "2"}
    )
    httpserver.expect_oneshot_request(LOOKUP).respond_with_json({"id": "1"})
    client = make_client()

    response = client.get(LOOKUP, {"acct": "city"})

    assert response.json() == {"id": "1"}
    assert len(httpserver.log) == 2
    assert len(clock.sleeps) == 1
    assert clock.sleeps[0] >= 2


def test_a_retry_after_http_date_waits_until_that_date(httpserver, make_client, clock):
    until = clock.now + 120
    httpserver.expect_oneshot_request(LOOKUP).respond_with_data(
        "down for maintenance",
        status=503,
        headers={"Retry-After": email.utils.formatdate(until, usegmt=True)},
    )
    httpserver.expect_oneshot_request(LOOKUP).respond_with_json({"id": "1"})
    client = make_client()

    client.get(LOOKUP)

    assert clock.sleeps == [pytest.approx(120)]
    assert clock.now >= until


def test_a_mastodon_429_without_retry_after_waits_for_the_announced_rate_limit_reset(
    httpserver, make_client, clock
):
    # Mastodon's throttled responder sends X-RateLimit-* and no Retry-After.
    reset = clock.now + 40
    httpserver.expect_oneshot_request(LOOKUP).respond_with_json(
        {"error": "Too many requests"},
        status=429,
        headers={
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": iso_utc(reset),
        },
    )
    httpserver.expect_oneshot_request(LOOKUP).respond_with_json({"id": "1"})
    client = make_client()

    client.get(LOOKUP)

    assert len(clock.sleeps) == 1
    assert 40 <= clock.sleeps[0] <= 40 + RESET_MARGIN + 1e-6
    assert client.stats.rate_limited == 1


def test_a_wait_longer_than_max_wait_gives_up_at_once_instead_of_sleeping_for_hours(
    httpserver, make_client, clock
):
    httpserver.expect_request(LOOKUP).respond_with_json(
        {"error": "Too many requests"}, status=429, headers={"Retry-After": "7200"}
    )
    client = make_client(max_wait=900)

    with pytest.raises(
        WaitTooLongError, match=r"asks to wait 7200 s, longer than max_wait \(900 s\)"
    ) as raised:
        client.get(LOOKUP)

    assert clock.sleeps == []
    assert len(httpserver.log) == 1
    assert raised.value.status == 429


def test_503_until_the_attempts_run_out_raises_naming_platform_account_url_and_last_status(
    httpserver, make_client, clock
):
    httpserver.expect_request(STATUSES).respond_with_json({"error": "Service Unavailable"}, status=503)
    client = make_client()

    with pytest.raises(RetriesExhaustedError) as raised:
        client.get(STATUSES, {"limit": 40})

    message = str(raised.value)
    assert "mastodon" in message
    assert "@city@mastodon.example" in message
    assert f"http://{httpserver.host}:{httpserver.port}{STATUSES}?limit=40" in message
    assert "HTTP 503 Service Unavailable" in message
    assert "after 5 attempts" in message
    assert len(httpserver.log) == client.max_attempts == 5
    assert client.stats.requests == 5
    assert len(clock.sleeps) == 4
    assert raised.value.status == 503
    assert json.loads(raised.value.body) == {"error": "Service Unavailable"}


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_account_raises_not_found_at_once_and_keeps_the_body(httpserver, make_client, clock, status):
    body = b'{"error":"Record not found"}'
    httpserver.expect_request(LOOKUP).respond_with_data(body, status=status, content_type="application/json")
    client = make_client()

    with pytest.raises(NotFoundError) as raised:
        client.get(LOOKUP, {"acct": "gone"})

    assert len(httpserver.log) == 1
    assert clock.sleeps == []
    assert f"HTTP {status}" in str(raised.value)
    assert "Record not found" in str(raised.value)
    assert "@city@mastodon.example" in str(raised.value)
    assert raised.value.page("accounts/lookup") == Page("accounts/lookup", body, status, {"acct": "gone"})


def test_a_bluesky_400_naming_a_gone_account_raises_not_found_when_the_client_is_told_so(
    httpserver, make_client
):
    httpserver.expect_request("/xrpc/app.bsky.actor.getProfile").respond_with_json(
        {"error": "AccountTakedown", "message": "Account has been suspended"}, status=400
    )
    client = make_client(platform="bluesky", account="city.bsky.social", not_found_errors={"AccountTakedown"})

    with pytest.raises(NotFoundError, match="AccountTakedown: Account has been suspended") as raised:
        client.get("/xrpc/app.bsky.actor.getProfile", {"actor": "city.bsky.social"})

    assert raised.value.response is not None
    assert raised.value.response.error == "AccountTakedown"


@pytest.mark.parametrize("status", [400, 401, 403, 422])
def test_other_4xx_raise_a_client_error_without_retrying(httpserver, make_client, clock, status):
    httpserver.expect_request(LOOKUP).respond_with_json({"error": "nope"}, status=status)
    client = make_client()

    with pytest.raises(ClientError, match=f"HTTP {status}"):
        client.get(LOOKUP)

    assert len(httpserver.log) == 1
    assert client.stats.retries == 0
    assert clock.sleeps == []


def test_a_refused_connection_is_retried_then_fails_naming_the_cause(make_client, clock):
    url = closed_port_url()
    client = make_client(base_url=url, max_attempts=3)

    with pytest.raises(RetriesExhaustedError) as raised:
        client.get(LOOKUP, {"acct": "city"})

    message = str(raised.value)
    assert f"{url}{LOOKUP}?acct=city" in message
    assert "after 3 attempts" in message
    assert "ConnectionError" in message
    assert raised.value.status is None
    assert raised.value.body == b""
    assert client.stats.requests == 3
    assert client.stats.retries == 2
    assert len(clock.sleeps) == 2


def test_a_read_timeout_is_retried(threaded_server, clock):
    def slow(request: Request) -> ServerResponse:
        time.sleep(0.4)
        return json_response({"late": True})

    threaded_server.expect_oneshot_request(LOOKUP).respond_with_handler(slow)
    threaded_server.expect_oneshot_request(LOOKUP).respond_with_json({"id": "1"})
    with HttpClient(
        f"http://{threaded_server.host}:{threaded_server.port}",
        platform="mastodon",
        account="@city@mastodon.example",
        read_timeout=0.1,
        sleep=clock.sleep,
        clock=clock.time,
    ) as client:
        response = client.get(LOOKUP)

    assert response.json() == {"id": "1"}
    assert client.stats.requests == 2
    assert client.stats.retries == 1


# -- backoff ----------------------------------------------------------------------------------------


def test_backoff_delays_are_full_jitter_below_an_exponentially_growing_capped_ceiling(make_client):
    client = make_client(backoff_base=1.0, backoff_cap=20.0, rng=random.Random(42))

    for retry in range(8):
        ceiling = min(20.0, 1.0 * 2**retry)
        delays = [client.backoff_delay(retry) for _ in range(300)]
        assert all(0 <= delay <= ceiling for delay in delays)
        assert min(delays) < 0.1 * ceiling, "full jitter reaches down to zero"
        assert max(delays) > 0.9 * ceiling, "and up to the ceiling"


def test_successive_retries_wait_twice_as_long_up_to_the_cap(httpserver, make_client, clock):
    httpserver.expect_request(LOOKUP).respond_with_data("bad gateway", status=502)
    client = make_client(max_attempts=6, backoff_base=0.5, backoff_cap=4.0, rng=CeilingRandom())

    with pytest.raises(RetriesExhaustedError, match="HTTP 502 Bad Gateway"):
        client.get(LOOKUP)

    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0]


# -- rate-limit pacing ------------------------------------------------------------------------------


def rate_limited_server(clock: FakeClock, reset: float, first: dict[str, str], later: dict[str, str]):
    """Answer the first request with the ``first`` headers, then 429 any request before ``reset``."""

    served: list[float] = []

    def handle(request: Request) -> ServerResponse:
        if served and clock.now < reset:
            return json_response({"error": "Too many requests"}, status=429)
        served.append(clock.now)
        return json_response([], headers=first if len(served) == 1 else later)

    return handle


def test_a_spent_mastodon_rate_limit_makes_the_client_sleep_until_the_reset_and_never_earn_a_429(
    httpserver, make_client, clock
):
    reset = clock.now + 3
    httpserver.expect_request(STATUSES).respond_with_handler(
        rate_limited_server(
            clock,
            reset,
            {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": iso_utc(reset)},
            {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "299",
                "X-RateLimit-Reset": iso_utc(reset + 300),
            },
        )
    )
    client = make_client()

    started = clock.now
    for _ in range(3):
        client.get(STATUSES)

    assert [entry[1].status_code for entry in httpserver.log] == [200, 200, 200]
    assert len(clock.sleeps) == 1, "one sleep, before the second request only"
    assert 3 <= clock.now - started <= 3 + RESET_MARGIN + 1e-6
    assert client.stats.rate_limited == 0


def test_a_nearly_spent_bluesky_rate_limit_makes_the_client_sleep_until_the_reset(
    httpserver, make_client, clock
):
    reset = clock.now + 3
    bluesky = {"RateLimit-Limit": "3000", "RateLimit-Policy": "3000;w=300"}
    httpserver.expect_request("/xrpc/app.bsky.feed.getAuthorFeed").respond_with_handler(
        rate_limited_server(
            clock,
            reset,
            {**bluesky, "RateLimit-Remaining": "1", "RateLimit-Reset": str(int(reset))},
            {**bluesky, "RateLimit-Remaining": "2999", "RateLimit-Reset": str(int(reset) + 300)},
        )
    )
    client = make_client(platform="bluesky", account="city.bsky.social")

    client.get("/xrpc/app.bsky.feed.getAuthorFeed", {"actor": "city.bsky.social"})
    assert client.rate_limit is not None
    assert (client.rate_limit.remaining, client.rate_limit.reset_at) == (1, reset)
    assert client.rate_limit.policy == "3000;w=300"
    client.get("/xrpc/app.bsky.feed.getAuthorFeed", {"actor": "city.bsky.social"})

    assert [entry[1].status_code for entry in httpserver.log] == [200, 200]
    assert len(clock.sleeps) == 1
    assert 3 <= clock.sleeps[0] <= 3 + RESET_MARGIN + 1e-6


def test_rate_limit_headers_of_both_families_are_read():
    now = 1_795_000_000.0
    mastodon = parse_rate_limit(
        {"x-ratelimit-limit": "300", "x-ratelimit-remaining": "12", "x-ratelimit-reset": iso_utc(now + 60.5)},
        now,
    )
    bluesky = parse_rate_limit({"RateLimit-Remaining": "7", "RateLimit-Reset": str(int(now) + 30)}, now)

    assert mastodon is not None
    assert (mastodon.limit, mastodon.remaining, mastodon.reset_at) == (300, 12, pytest.approx(now + 60.5))
    assert bluesky is not None
    assert (bluesky.remaining, bluesky.reset_at) == (7, now + 30)
    assert parse_rate_limit({"Content-Type": "application/json"}, now) is None


# -- Link headers -----------------------------------------------------------------------------------


def test_link_headers_parse_into_next_and_prev_urls_with_their_paging_params():
    header = (
        '<https://mastodon.example/api/v1/accounts/109/statuses?limit=40&max_id=111>; rel="next", '
        '<https://mastodon.example/api/v1/accounts/109/statuses?limit=40&min_id=222>; rel="prev"'
    )

    links = parse_link_header(header)

    assert set(links) == {"next", "prev"}
    assert links["next"].url == "https://mastodon.example/api/v1/accounts/109/statuses?limit=40&max_id=111"
    assert links["next"].params == {"limit": "40", "max_id": "111"}
    assert links["prev"].params == {"limit": "40", "min_id": "222"}
    assert parse_link_header(None) == {}


def test_link_headers_tolerate_quoted_commas_several_rels_and_relative_targets():
    header = '</api/v1/x?max_id=5>; title="a, b"; rel="next last", <https://other.example/y>; rel=prev'

    links = parse_link_header(header, base_url="https://mastodon.example/api/v1/x")

    assert links["next"].url == "https://mastodon.example/api/v1/x?max_id=5"
    assert links["last"].url == links["next"].url
    assert links["prev"].url == "https://other.example/y"


def test_a_next_link_can_be_followed_with_get(httpserver, make_client):
    base = f"http://{httpserver.host}:{httpserver.port}"
    httpserver.expect_request(STATUSES, query_string="limit=40").respond_with_json(
        [{"id": "112"}], headers={"Link": f'<{base}{STATUSES}?limit=40&max_id=111>; rel="next"'}
    )
    httpserver.expect_request(STATUSES, query_string="limit=40&max_id=111").respond_with_json([])
    client = make_client()

    first = client.get(STATUSES, {"limit": 40})
    second = client.get(first.links["next"].url)

    assert second.json() == []
    assert second.page("accounts/statuses").params == {"limit": "40", "max_id": "111"}


# -- counters ---------------------------------------------------------------------------------------


def test_counters_add_up_requests_retries_429s_and_seconds_slept(httpserver, make_client, clock):
    httpserver.expect_oneshot_request(LOOKUP).respond_with_data("oops", status=500)
    httpserver.expect_oneshot_request(LOOKUP).respond_with_json({}, status=429, headers={"Retry-After": "1"})
    httpserver.expect_oneshot_request(LOOKUP).respond_with_json({"id": "1"})
    httpserver.expect_oneshot_request(LOOKUP).respond_with_json({"id": "1"})
    client = make_client()

    client.get(LOOKUP)
    client.get(LOOKUP)

    assert client.stats.requests == 4 == len(httpserver.log)
    assert client.stats.retries == 2
    assert client.stats.rate_limited == 1
    assert client.stats.slept_seconds == pytest.approx(sum(clock.sleeps))
    assert clock.sleeps[1] >= 1


# -- bounds, redirects, addresses, headers ------------------------------------------------------------


def test_a_redirect_within_the_origin_is_followed(httpserver, make_client):
    httpserver.expect_request("/old").respond_with_response(
        ServerResponse(status=301, headers={"Location": "/new"})
    )
    httpserver.expect_request("/new").respond_with_json({"id": "1"})

    assert make_client().get("/old").json() == {"id": "1"}


def test_a_local_instance_is_refused_naming_the_setting_unless_private_instances_are_allowed(
    httpserver, make_client, monkeypatch
):
    from rapport.sources.http import PrivateAddressError

    monkeypatch.setenv("RAPPORT_ALLOW_PRIVATE_INSTANCES", "false")
    httpserver.expect_request(LOOKUP).respond_with_json({"id": "1"})
    with pytest.raises(PrivateAddressError, match="RAPPORT_ALLOW_PRIVATE_INSTANCES") as raised:
        make_client(base_url=f"http://localhost:{httpserver.port}").get(LOOKUP)
    assert "localhost is at 127.0.0.1" in str(raised.value)
    assert httpserver.log == []


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "-5", "1e300", "garbage"])
def test_unusable_rate_limit_values_are_ignored_and_never_raise_overflow(value):
    now = 1_795_000_000.0
    headers = {"X-RateLimit-Limit": value, "X-RateLimit-Remaining": value, "X-RateLimit-Reset": value}

    announced = parse_rate_limit(headers, now)

    assert announced is not None
    assert (announced.limit, announced.remaining, announced.reset_at) == (None, None, None)
    assert [name for name, _ in announced.unusable] == [
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    ]


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e300", "soon"])
def test_a_429_with_an_unusable_retry_after_raises_a_header_error_naming_it(httpserver, make_client, value):
    from rapport.sources.http import HeaderError

    httpserver.expect_request(LOOKUP).respond_with_json(
        {"error": "Too many requests"}, status=429, headers={"Retry-After": value}
    )
    with pytest.raises(HeaderError, match="Retry-After") as raised:
        make_client().get(LOOKUP)
    assert raised.value.page("accounts/lookup").status == 429  # landable


def test_an_echoed_token_is_redacted_from_the_body_and_the_message(httpserver, make_client):
    httpserver.expect_request(LOOKUP).respond_with_json({"error": f"bad token {TOKEN}"}, status=401)
    with pytest.raises(ClientError) as raised:
        make_client(bearer_token=TOKEN).get(LOOKUP)
    page = raised.value.page("accounts/lookup")
    assert TOKEN not in str(raised.value) and "bad token ***" in str(raised.value)
    assert TOKEN.encode() not in page.body and page.redacted
