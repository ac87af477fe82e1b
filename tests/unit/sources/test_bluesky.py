"""The Bluesky source: the real client against recorded AppView responses served by a local server.

The fixtures in tests/fixtures/bluesky/ follow the lexicons of docs.bsky.app
(app.bsky.feed.defs, app.bsky.feed.post, app.bsky.embed.*, app.bsky.richtext.facet):
Lakeside Library's author feed over three pages, four threads, the profile and
the error bodies the AppView and the PDS answer with. Sleeps go to a fake clock.
"""

from __future__ import annotations

import copy
import json
import logging
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pytest_httpserver import HTTPServer

from rapport.accounts import Account
from rapport.records import RECORD_TYPES
from rapport.sources import NormalizationError, Page, SourceError, Window, bluesky, get_source
from rapport.sources.bluesky.client import xrpc_path
from rapport.sources.bluesky.settings import (
    APP_PASSWORD_VARIABLE,
    AUTHOR_FEED_ENDPOINT,
    BASE_URL_VARIABLE,
    BLOCKED_POST,
    CREATE_SESSION_ENDPOINT,
    LOGIN_HANDLE_VARIABLE,
    PDS_URL_VARIABLE,
    POST_THREAD_ENDPOINT,
    PROFILE_ENDPOINT,
    RESOLVE_HANDLE_ENDPOINT,
    THREAD_BUDGET_VARIABLE,
    THREAD_VIEW_POST,
)
from rapport.sources.http import ClientError, HttpError, HttpStats, NotFoundError, RetriesExhaustedError
from rapport.sources.payloads import records_frames
from rapport.thread_ledger import (
    ListedThread,
    ThreadLedger,
    ThreadReport,
    ThreadState,
    plan_thread_reads,
    read_ledger,
    record_extraction,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bluesky"
ACCOUNT = Account(
    organization_id="lakeside-library", platform="bluesky", handle="lakesidelibrary.bsky.social"
)
WINDOW = Window(since=datetime(2026, 11, 9, tzinfo=UTC), until=datetime(2026, 11, 23, tzinfo=UTC))
OBSERVED_AT = datetime(2026, 11, 23, 2, 0)
EXPECTED_DTYPES = {
    "VARCHAR": "str",
    "BIGINT": "int64",
    "INTEGER": "int64",
    "BOOLEAN": "bool",
    "TIMESTAMP": "datetime64[us]",
}
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
RaisedError = TypeVar("RaisedError", bound=Exception)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


PROFILE = fixture("getProfile.json")
DID = PROFILE["did"]
FEED_PAGES = [fixture(f"getAuthorFeed-page{number}.json") for number in (1, 2, 3)]
THREADS = {
    name: fixture(f"getPostThread-{name}.json") for name in ("garden", "archives-quote", "atelier", "report")
}
SESSION = fixture("createSession.json")


def feed_post(text_start: str) -> dict[str, Any]:
    """A post of the feed fixtures, found by the start of its text."""
    for page in FEED_PAGES:
        for item in page["feed"]:
            post: dict[str, Any] = item["post"]
            if post["record"]["text"].startswith(text_start):
                return post
    raise KeyError(text_start)


def thread_posts(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "post" in node:
        yield node["post"]
    for child in node.get("replies", []):
        yield from thread_posts(child)


def thread_post(text_start: str) -> dict[str, Any]:
    for thread in THREADS.values():
        for post in thread_posts(thread["thread"]):
            if post["record"]["text"].startswith(text_start):
                return post
    raise KeyError(text_start)


GARDEN = feed_post("Our new reading garden")
HOURS_ANSWER = feed_post("Yes! From Dec 1")
ARCHIVES_QUOTE = feed_post("Proud to have helped")
ATELIER = feed_post("Atelier d'écriture")
ATELIER_EN = feed_post("In English")
BOOKCLUB_QUOTE = feed_post("This month's book club pick")
REPORT = feed_post("Our 2026 annual report")
STORYTIME = feed_post("Storytime is back")
CLOSED = feed_post("We're closed on Wednesday")
GARDEN_ANSWER = feed_post("Yes — level paths")
PARK_REPOST = FEED_PAGES[0]["feed"][2]
BOOKCLUB_ANSWER = thread_post("Yes! Two evening book clubs")
EVENTS_QUESTION = thread_post("Congrats on a great year")["record"]["text"]


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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def appview(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    """The local server stands in for the public AppView; no credentials and no budget in the environment."""
    monkeypatch.setenv(BASE_URL_VARIABLE, httpserver.url_for("").rstrip("/"))
    for variable in (
        PDS_URL_VARIABLE,
        LOGIN_HANDLE_VARIABLE,
        APP_PASSWORD_VARIABLE,
        THREAD_BUDGET_VARIABLE,
        "AIRFLOW_CONN_RAPPORT_BLUESKY",
    ):
        monkeypatch.delenv(variable, raising=False)
    return httpserver


def serve_account(server: HTTPServer, *, skip: tuple[str, ...] = ()) -> None:
    """Serve Lakeside Library as the AppView would: handle, profile, three feed pages, five threads."""
    if RESOLVE_HANDLE_ENDPOINT not in skip:
        server.expect_request(
            xrpc_path(RESOLVE_HANDLE_ENDPOINT), query_string={"handle": ACCOUNT.handle}
        ).respond_with_json(fixture("resolveHandle.json"))
    if PROFILE_ENDPOINT not in skip:
        server.expect_request(xrpc_path(PROFILE_ENDPOINT), query_string={"actor": DID}).respond_with_json(
            PROFILE
        )
    if AUTHOR_FEED_ENDPOINT not in skip:
        cursors = [None, FEED_PAGES[0]["cursor"], FEED_PAGES[1]["cursor"], FEED_PAGES[2]["cursor"]]
        for cursor, page in zip(cursors, [*FEED_PAGES, {"feed": []}], strict=True):
            query = {"actor": DID, "filter": "posts_with_replies", "limit": "100"}
            if cursor is not None:
                query["cursor"] = cursor
            server.expect_request(xrpc_path(AUTHOR_FEED_ENDPOINT), query_string=query).respond_with_json(page)
    for thread in THREADS.values():
        serve_thread(server, thread["thread"]["post"]["uri"], thread)
    serve_thread(server, STORYTIME["uri"], fixture("getPostThread-deleted.json"), status=400)


def serve_thread(server: HTTPServer, uri: str, body: Any, status: int = 200) -> None:
    server.expect_request(
        xrpc_path(POST_THREAD_ENDPOINT), query_string={"uri": uri, "depth": "6", "parentHeight": "0"}
    ).respond_with_json(body, status=status)


def extract(clock: FakeClock, window: Window = WINDOW, **options: Any) -> tuple[list[Page], HttpStats]:
    pages, stats = bluesky.extract_with_stats(
        ACCOUNT, window, sleep=clock.sleep, clock=clock.time, rng=random.Random(7), **options
    )
    return list(pages), stats


def extract_until_error(
    clock: FakeClock, error: type[RaisedError], **options: Any
) -> tuple[list[Page], RaisedError]:
    pages: list[Page] = []
    with pytest.raises(error) as raised:
        for page in bluesky.extract(
            ACCOUNT, WINDOW, sleep=clock.sleep, clock=clock.time, rng=random.Random(7), **options
        ):
            pages.append(page)
    return pages, raised.value


def requests_to(server: HTTPServer, endpoint: str) -> list[dict[str, str]]:
    return [dict(request.args) for request, _ in server.log if request.path == xrpc_path(endpoint)]


@pytest.fixture
def landed(appview: HTTPServer, clock: FakeClock) -> list[Page]:
    serve_account(appview)
    pages, _ = extract(clock)
    return pages


@pytest.fixture
def records(landed: list[Page]) -> dict[str, Any]:
    return records_frames(bluesky.normalize(landed, ACCOUNT, OBSERVED_AT))


def row(frame: Any, key: str, value: str) -> dict[str, Any]:
    matches = frame[frame[key] == value]
    assert len(matches) == 1, f"{len(matches)} rows with {key} = {value}"
    found: dict[str, Any] = matches.iloc[0].to_dict()
    return found


# -- extraction -------------------------------------------------------------------------------------


def test_the_bluesky_source_is_found_by_platform_name() -> None:
    assert get_source("bluesky") is bluesky


def test_extract_resolves_the_handle_then_reads_the_profile_by_its_did(
    landed: list[Page], appview: HTTPServer
) -> None:
    assert [page.endpoint for page in landed[:2]] == [RESOLVE_HANDLE_ENDPOINT, PROFILE_ENDPOINT]
    assert landed[0].params == {"handle": "lakesidelibrary.bsky.social"}
    assert landed[1].params == {"actor": DID}
    assert json.loads(landed[1].body) == PROFILE  # the raw body, untouched
    assert requests_to(appview, PROFILE_ENDPOINT) == [{"actor": DID}]


def test_extract_pages_the_author_feed_with_its_cursors_and_stops_at_the_first_page_older_than_since(
    landed: list[Page], appview: HTTPServer
) -> None:
    feed_requests = requests_to(appview, AUTHOR_FEED_ENDPOINT)
    base = {"actor": DID, "filter": "posts_with_replies", "limit": "100"}
    # Page 3 still has a cursor, but its oldest post (2026-11-05) is older than since: no page 4.
    assert feed_requests == [
        base,
        {**base, "cursor": FEED_PAGES[0]["cursor"]},
        {**base, "cursor": FEED_PAGES[1]["cursor"]},
    ]
    feed_pages = [page for page in landed if page.endpoint == AUTHOR_FEED_ENDPOINT]
    assert [json.loads(page.body) for page in feed_pages] == FEED_PAGES
    assert [page.params.get("cursor") for page in feed_pages] == [
        None,
        FEED_PAGES[0]["cursor"],
        FEED_PAGES[1]["cursor"],
    ]


def test_extract_fetches_threads_only_for_the_accounts_window_posts_with_replies_newest_first(
    landed: list[Page], appview: HTTPServer
) -> None:
    fetched = [request["uri"] for request in requests_to(appview, POST_THREAD_ENDPOINT)]
    # Not: the reposted park post (not the account's), the answer to Maya and the reply to the atelier
    # (inside the garden's and the atelier's threads), the hours answer and the book-club quote
    # (no replies), the closure notice (before since, although it has replies).
    assert fetched == [GARDEN["uri"], ARCHIVES_QUOTE["uri"], ATELIER["uri"], REPORT["uri"], STORYTIME["uri"]]
    assert PARK_REPOST["post"]["replyCount"] > 0 and PARK_REPOST["post"]["uri"] not in fetched
    assert GARDEN_ANSWER["replyCount"] > 0 and ATELIER_EN["replyCount"] > 0
    assert CLOSED["replyCount"] > 0 and CLOSED["uri"] not in fetched
    assert all(
        request["depth"] == "6" and request["parentHeight"] == "0"
        for request in requests_to(appview, POST_THREAD_ENDPOINT)
    )
    assert [page.endpoint for page in landed][-5:] == [POST_THREAD_ENDPOINT] * 5


@pytest.mark.parametrize(
    ("keyword", "variable", "expected"),
    [(2, None, 2), (None, "1", 1), (0, "3", 0), (None, None, 5)],
    ids=["keyword", "environment", "keyword-wins", "default-40"],
)
def test_extract_fetches_no_more_threads_than_the_budget(
    appview: HTTPServer,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    keyword: int | None,
    variable: str | None,
    expected: int,
) -> None:
    if variable is not None:
        monkeypatch.setenv(THREAD_BUDGET_VARIABLE, variable)
    serve_account(appview)
    extract(clock, thread_budget=keyword)
    fetched = [request["uri"] for request in requests_to(appview, POST_THREAD_ENDPOINT)]
    newest_first = [GARDEN["uri"], ARCHIVES_QUOTE["uri"], ATELIER["uri"], REPORT["uri"], STORYTIME["uri"]]
    assert fetched == newest_first[:expected]


def test_a_thread_budget_that_is_not_a_number_is_a_settings_error_naming_the_variable(
    appview: HTTPServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rapport.settings import SettingsError

    monkeypatch.setenv(THREAD_BUDGET_VARIABLE, "forty")
    pages, error = extract_until_error(clock, SettingsError)
    assert pages == []
    assert str(error).startswith(f"{THREAD_BUDGET_VARIABLE}='forty': expected a whole number")


def test_a_window_with_nothing_new_costs_resolve_handle_profile_and_one_feed_page(
    appview: HTTPServer, clock: FakeClock
) -> None:
    serve_account(appview)
    quiet = Window(since=datetime(2026, 11, 23, tzinfo=UTC), until=datetime(2026, 11, 24, tzinfo=UTC))
    pages, stats = extract(clock, quiet)
    assert [page.endpoint for page in pages] == [
        RESOLVE_HANDLE_ENDPOINT,
        PROFILE_ENDPOINT,
        AUTHOR_FEED_ENDPOINT,
    ]
    assert stats.requests == 3
    assert (stats.retries, stats.rate_limited, stats.slept_seconds) == (0, 0, 0.0)


def test_extract_with_stats_counts_every_request_of_the_night(appview: HTTPServer, clock: FakeClock) -> None:
    serve_account(appview)
    pages, stats = extract(clock)
    # resolveHandle + getProfile + 3 feed pages + 5 threads (one of them a deleted post's 400).
    assert stats.requests == len(pages) == 10
    assert len(appview.log) == 10


def test_a_deleted_posts_thread_is_landed_and_the_extraction_goes_on(landed: list[Page]) -> None:
    deleted = [page for page in landed if page.status != 200]
    assert len(deleted) == 1
    assert deleted[0].endpoint == POST_THREAD_ENDPOINT
    assert deleted[0].params["uri"] == STORYTIME["uri"]
    assert json.loads(deleted[0].body)["error"] == "NotFound"
    records = records_frames(
        bluesky.normalize(landed, ACCOUNT, OBSERVED_AT)
    )  # the 400 thread is skipped, not an error
    assert STORYTIME["uri"] in set(records["posts"]["post_id"])


def test_a_429_with_ratelimit_headers_is_waited_out_then_retried(
    appview: HTTPServer, clock: FakeClock
) -> None:
    reset = int(clock.now) + 42
    appview.expect_oneshot_request(xrpc_path(PROFILE_ENDPOINT)).respond_with_json(
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        status=429,
        headers={
            "RateLimit-Limit": "3000",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": "3000;w=300",
        },
    )
    serve_account(appview)
    pages, stats = extract(clock)
    profile_pages = [page for page in pages if page.endpoint == PROFILE_ENDPOINT]
    assert [page.status for page in profile_pages] == [200]
    assert (stats.rate_limited, stats.retries, stats.requests) == (1, 1, 11)
    assert clock.sleeps and clock.sleeps[0] >= 42  # until the announced reset, not a short backoff
    assert clock.now >= reset


def test_server_errors_until_retries_run_out_raise_naming_the_account_and_the_url(
    appview: HTTPServer, clock: FakeClock
) -> None:
    appview.expect_request(xrpc_path(AUTHOR_FEED_ENDPOINT)).respond_with_json(
        {"error": "InternalServerError", "message": "Internal Server Error"}, status=502
    )
    serve_account(appview, skip=(AUTHOR_FEED_ENDPOINT,))
    pages, error = extract_until_error(clock, RetriesExhaustedError, max_attempts=3)
    message = str(error)
    assert ACCOUNT.account_id in message
    assert f"/xrpc/{AUTHOR_FEED_ENDPOINT}?actor={DID.replace(':', '%3A')}" in message
    assert "after 3 attempts" in message and "502" in message
    assert [page.endpoint for page in pages] == [
        RESOLVE_HANDLE_ENDPOINT,
        PROFILE_ENDPOINT,
        AUTHOR_FEED_ENDPOINT,
    ]
    assert pages[-1].status == 502  # the failed body is landed before the error
    assert json.loads(pages[-1].body)["error"] == "InternalServerError"
    assert len(requests_to(appview, AUTHOR_FEED_ENDPOINT)) == 3


def test_an_unknown_handle_raises_not_found_and_lands_the_error_body(
    appview: HTTPServer, clock: FakeClock
) -> None:
    appview.expect_request(xrpc_path(RESOLVE_HANDLE_ENDPOINT)).respond_with_json(
        fixture("error-unable-to-resolve-handle.json"), status=400
    )
    pages, error = extract_until_error(clock, NotFoundError)
    assert "Unable to resolve handle" in str(error)
    assert ACCOUNT.account_id in str(error)
    assert f"handle={ACCOUNT.handle}" in str(error)
    assert [(page.endpoint, page.status) for page in pages] == [(RESOLVE_HANDLE_ENDPOINT, 400)]
    assert len(appview.log) == 1  # a 400 is not retried


def test_a_did_without_profile_raises_not_found(appview: HTTPServer, clock: FakeClock) -> None:
    appview.expect_request(xrpc_path(PROFILE_ENDPOINT)).respond_with_json(
        fixture("error-profile-not-found.json"), status=400
    )
    serve_account(appview, skip=(PROFILE_ENDPOINT,))
    pages, error = extract_until_error(clock, NotFoundError)
    assert "InvalidRequest: Profile not found" in str(error)
    assert ACCOUNT.account_id in str(error)
    assert [(page.endpoint, page.status) for page in pages] == [
        (RESOLVE_HANDLE_ENDPOINT, 200),
        (PROFILE_ENDPOINT, 400),
    ]


@pytest.mark.parametrize(
    ("body", "state"),
    [("error-account-takedown.json", "taken_down"), ("error-account-deactivated.json", "deactivated")],
    ids=["taken-down", "deactivated"],
)
def test_an_account_taken_down_or_deactivated_lands_the_error_and_is_a_snapshot_of_its_state(
    appview: HTTPServer, clock: FakeClock, body: str, state: str
) -> None:
    """Issue 15: the AppView's getProfile answers 400 AccountTakedown / AccountDeactivated; the
    extraction lands it and stops (no feed to read), normalize gives the state with NULL counts."""
    appview.expect_request(xrpc_path(PROFILE_ENDPOINT)).respond_with_json(fixture(body), status=400)
    serve_account(appview, skip=(PROFILE_ENDPOINT,))
    pages, _ = extract(clock)
    assert [(page.endpoint, page.status) for page in pages] == [
        (RESOLVE_HANDLE_ENDPOINT, 200),
        (PROFILE_ENDPOINT, 400),
    ]
    assert len(appview.log) == 2, "no feed or thread is asked for"
    records = bluesky.normalize(pages, ACCOUNT, OBSERVED_AT)
    (snapshot,) = records["account_snapshots"]
    assert snapshot["account_state"] == state
    assert snapshot["account_native_id"] == fixture("resolveHandle.json")["did"]
    assert (snapshot["followers_count"], snapshot["following_count"], snapshot["posts_count"]) == (None,) * 3
    assert records["posts"] == [] and records["interactions"] == []
    assert records_frames(records)["account_snapshots"]["followers_count"].isna().all()


def test_a_handle_a_pds_refuses_to_resolve_for_a_takedown_is_a_snapshot_named_by_the_handle(
    appview: HTTPServer, clock: FakeClock
) -> None:
    appview.expect_request(xrpc_path(RESOLVE_HANDLE_ENDPOINT)).respond_with_json(
        fixture("error-account-takedown.json"), status=400
    )
    pages, _ = extract(clock)
    assert [(page.endpoint, page.status) for page in pages] == [(RESOLVE_HANDLE_ENDPOINT, 400)]
    (snapshot,) = bluesky.normalize(pages, ACCOUNT, OBSERVED_AT)["account_snapshots"]
    assert (snapshot["account_state"], snapshot["account_native_id"]) == (
        "taken_down",
        ACCOUNT.handle.lstrip("@"),
    )


@pytest.mark.parametrize(("negated", "state"), [(False, "taken_down"), (True, "active")])
def test_a_profile_labelled_takedown_is_taken_down_unless_the_label_is_negated(
    landed: list[Page], negated: bool, state: str
) -> None:
    profile = fixture("getProfile.json")
    label = {
        "src": "did:plc:ar7c4by46qjdydhdevvrndac",
        "uri": profile["did"],
        "val": "!takedown",
        "neg": negated,
        "cts": "2026-11-18T09:12:00.000Z",
    }
    pages = [
        landed[0],
        Page(PROFILE_ENDPOINT, json.dumps(profile | {"labels": [label]}).encode(), 200, landed[1].params),
        *landed[2:],
    ]
    (snapshot,) = bluesky.normalize(pages, ACCOUNT, OBSERVED_AT)["account_snapshots"]
    assert snapshot["account_state"] == state


def test_a_feed_page_that_is_not_json_raises_a_source_error_after_landing_it(
    appview: HTTPServer, clock: FakeClock
) -> None:
    appview.expect_request(xrpc_path(AUTHOR_FEED_ENDPOINT)).respond_with_data(
        "<html><body>Bad gateway</body></html>", content_type="text/html"
    )
    serve_account(appview, skip=(AUTHOR_FEED_ENDPOINT,))
    pages, error = extract_until_error(clock, HttpError)
    assert isinstance(error, SourceError)
    assert ACCOUNT.account_id in str(error)
    assert f"/xrpc/{AUTHOR_FEED_ENDPOINT}" in str(error)
    assert "not valid JSON" in str(error)
    assert pages[-1].body == b"<html><body>Bad gateway</body></html>"


def test_a_base_url_without_a_scheme_is_a_source_error_naming_the_variable(
    appview: HTTPServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BASE_URL_VARIABLE, "public.api.bsky.app")
    pages, error = extract_until_error(clock, SourceError)
    assert pages == []
    assert BASE_URL_VARIABLE in str(error) and ACCOUNT.account_id in str(error)


def test_extract_refuses_an_account_of_another_platform(clock: FakeClock) -> None:
    demo_account = Account(organization_id="x", platform="demo", handle="@riviere_transit")
    with pytest.raises(SourceError, match="not a bluesky account"):
        list(bluesky.extract(demo_account, WINDOW))


# -- credentials ------------------------------------------------------------------------------------


@pytest.fixture
def signed_in(appview: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    """The local server is now the PDS; the AppView URL points at a closed port, so reads must go to the PDS."""
    monkeypatch.setenv(BASE_URL_VARIABLE, "http://127.0.0.1:9")
    monkeypatch.setenv(PDS_URL_VARIABLE, appview.url_for("").rstrip("/"))
    monkeypatch.setenv(LOGIN_HANDLE_VARIABLE, "rapport-bot.bsky.social")
    monkeypatch.setenv(APP_PASSWORD_VARIABLE, APP_PASSWORD)
    return appview


def secrets() -> list[str]:
    return [APP_PASSWORD, SESSION["accessJwt"], SESSION["refreshJwt"]]


def test_an_app_password_signs_in_on_the_pds_and_reads_with_the_session_token(
    signed_in: HTTPServer, clock: FakeClock
) -> None:
    signed_in.expect_request(
        xrpc_path(CREATE_SESSION_ENDPOINT),
        method="POST",
        json={"identifier": "rapport-bot.bsky.social", "password": APP_PASSWORD},
    ).respond_with_json(SESSION)
    serve_account(signed_in)
    pages, stats = extract(clock)
    assert stats.requests == 11  # the sign-in counts
    reads = [request for request, _ in signed_in.log if request.path != xrpc_path(CREATE_SESSION_ENDPOINT)]
    assert len(reads) == len(pages) == 10
    assert {request.headers.get("Authorization") for request in reads} == {f"Bearer {SESSION['accessJwt']}"}


def test_a_rate_limited_sign_in_is_waited_out_and_sent_again(signed_in: HTTPServer, clock: FakeClock) -> None:
    signed_in.expect_oneshot_request(xrpc_path(CREATE_SESSION_ENDPOINT), method="POST").respond_with_json(
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        status=429,
        headers={"Retry-After": "0"},
    )
    signed_in.expect_request(xrpc_path(CREATE_SESSION_ENDPOINT), method="POST").respond_with_json(SESSION)
    serve_account(signed_in)
    pages, stats = extract(clock)
    sign_ins = [request for request, _ in signed_in.log if request.path == xrpc_path(CREATE_SESSION_ENDPOINT)]
    assert len(sign_ins) == 2 and len(pages) == 10
    assert stats.retries >= 1


def test_a_sign_in_still_rate_limited_is_named_as_such_not_as_wrong_credentials(
    signed_in: HTTPServer, clock: FakeClock
) -> None:
    signed_in.expect_request(xrpc_path(CREATE_SESSION_ENDPOINT), method="POST").respond_with_json(
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        status=429,
        headers={"Retry-After": "0"},
    )
    pages, error = extract_until_error(clock, ClientError)
    assert pages == []
    message = str(error)
    assert "HTTP 429 (rate-limited) 3 times" in message and "credentials were not checked" in message
    assert LOGIN_HANDLE_VARIABLE not in message and APP_PASSWORD not in message
    sign_ins = [request for request, _ in signed_in.log if request.path == xrpc_path(CREATE_SESSION_ENDPOINT)]
    assert len(sign_ins) == 3


def test_credentials_never_appear_in_pages_params_errors_or_logs(
    signed_in: HTTPServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    signed_in.expect_request(xrpc_path(CREATE_SESSION_ENDPOINT), method="POST").respond_with_json(SESSION)
    signed_in.expect_request(xrpc_path(AUTHOR_FEED_ENDPOINT)).respond_with_json(
        {"error": "InternalServerError", "message": "Internal Server Error"}, status=500
    )
    serve_account(signed_in, skip=(AUTHOR_FEED_ENDPOINT,))
    pages, error = extract_until_error(clock, RetriesExhaustedError, max_attempts=2)
    assert len(pages) == 3
    texts = [
        *(page.body.decode() for page in pages),
        *(json.dumps(page.params) for page in pages),
        str(error),
        repr(error),
        str(error.url),
        caplog.text,
    ]
    for secret in secrets():
        assert all(secret not in text for text in texts)
    assert caplog.text  # the retries were logged, without the secrets


def test_the_app_password_may_come_from_the_airflow_connection(
    appview: HTTPServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = {"conn_type": "http", "login": "rapport-bot.bsky.social", "password": APP_PASSWORD}
    monkeypatch.setenv("AIRFLOW_CONN_RAPPORT_BLUESKY", json.dumps(connection))
    monkeypatch.setenv(PDS_URL_VARIABLE, appview.url_for("").rstrip("/"))
    appview.expect_request(
        xrpc_path(CREATE_SESSION_ENDPOINT),
        method="POST",
        json={"identifier": "rapport-bot.bsky.social", "password": APP_PASSWORD},
    ).respond_with_json(SESSION)
    serve_account(appview)
    pages, stats = extract(clock)
    assert stats.requests == len(pages) + 1
    assert appview.log[0][0].path == xrpc_path(CREATE_SESSION_ENDPOINT)


def test_a_refused_app_password_raises_a_client_error_that_names_no_secret(
    signed_in: HTTPServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    signed_in.expect_request(xrpc_path(CREATE_SESSION_ENDPOINT), method="POST").respond_with_json(
        fixture("error-invalid-identifier-or-password.json"), status=401
    )
    pages, error = extract_until_error(clock, ClientError)
    assert pages == []  # nothing of the sign-in is ever landed
    assert "Invalid identifier or password" in str(error)
    assert ACCOUNT.account_id in str(error) and CREATE_SESSION_ENDPOINT in str(error)
    assert APP_PASSWORD not in str(error) + repr(error) + caplog.text
    assert len(signed_in.log) == 1  # a refused sign-in is not retried


def test_a_handle_without_an_app_password_is_a_source_error(
    appview: HTTPServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOGIN_HANDLE_VARIABLE, "rapport-bot.bsky.social")
    _, error = extract_until_error(clock, SourceError)
    assert APP_PASSWORD_VARIABLE in str(error)
    assert appview.log == []


# -- normalization ----------------------------------------------------------------------------------


def test_normalize_reads_the_snapshot_from_the_profile(records: dict[str, Any]) -> None:
    snapshots = records["account_snapshots"]
    assert len(snapshots) == 1
    assert snapshots.astype(object).where(snapshots.notna(), None).iloc[0].to_dict() == {
        "platform": "bluesky",
        "account_id": "bluesky:lakesidelibrary.bsky.social",
        "account_native_id": DID,
        "handle": "lakesidelibrary.bsky.social",
        "display_name": "Lakeside Library",
        "followers_count": 4812,
        "following_count": 287,
        "posts_count": 1364,
        "account_created_at": datetime(2023, 4, 18, 9, 12, 44, 201000),
        "account_state": "active",
        "moved_to_handle": None,
        "observed_at": OBSERVED_AT,
    }


def test_normalize_tells_originals_replies_reposts_and_quotes_apart(records: dict[str, Any]) -> None:
    posts = records["posts"]
    types = dict(zip(posts["post_id"], posts["post_type"], strict=True))
    assert types[GARDEN["uri"]] == "original"
    assert types[REPORT["uri"]] == "original"
    assert types[HOURS_ANSWER["uri"]] == "reply"
    assert types[ATELIER_EN["uri"]] == "reply"
    assert types[ARCHIVES_QUOTE["uri"]] == "quote"
    assert types[BOOKCLUB_QUOTE["uri"]] == "quote"  # recordWithMedia
    assert types[PARK_REPOST["reason"]["uri"]] == "repost"

    answer = row(posts, "post_id", HOURS_ANSWER["uri"])
    parent = HOURS_ANSWER["record"]["reply"]["parent"]["uri"]
    assert answer["in_reply_to_post_id"] == parent
    assert answer["in_reply_to_account_native_id"] == parent.split("/")[2]  # Maya's DID, from reply.parent
    assert answer["is_reply_to_self"] is False
    assert row(posts, "post_id", ATELIER_EN["uri"])["is_reply_to_self"] is True  # a thread of its own

    quote = row(posts, "post_id", ARCHIVES_QUOTE["uri"])
    assert quote["reposted_post_id"] == ARCHIVES_QUOTE["record"]["embed"]["record"]["uri"]
    assert quote["reposted_account_native_id"] == ARCHIVES_QUOTE["embed"]["record"]["author"]["did"]
    assert pd_isna(quote["in_reply_to_post_id"])

    repost = row(posts, "post_id", PARK_REPOST["reason"]["uri"])
    assert repost["created_at"] == datetime(2026, 11, 21, 18, 40, 2, 114000)  # reason.indexedAt
    assert repost["reposted_post_id"] == PARK_REPOST["post"]["uri"]
    assert repost["reposted_account_native_id"] == PARK_REPOST["post"]["author"]["did"]
    assert pd_isna(repost["text"])
    assert (repost["reply_count"], repost["repost_count"], repost["like_count"]) == (0, 0, 0)


def test_a_repost_without_its_own_uri_gets_a_stable_id_from_the_reposted_post(landed: list[Page]) -> None:
    body = json.loads(landed[2].body)
    del body["feed"][2]["reason"]["uri"]
    del body["feed"][2]["reason"]["cid"]
    pages = [*landed[:2], Page(AUTHOR_FEED_ENDPOINT, json.dumps(body).encode(), 200, landed[2].params)]
    posts = records_frames(bluesky.normalize(pages, ACCOUNT, OBSERVED_AT))["posts"]
    assert f"{DID}/repost/{PARK_REPOST['post']['cid']}" in set(posts["post_id"])


def test_normalize_counts_images_and_their_alt_texts_also_inside_record_with_media(
    records: dict[str, Any],
) -> None:
    posts = records["posts"]
    media = {
        post_id: (media_count, described)
        for post_id, media_count, described in zip(
            posts["post_id"], posts["media_count"], posts["media_with_alt_text_count"], strict=True
        )
    }
    assert media[GARDEN["uri"]] == (2, 1)  # one image described, one with an empty alt
    assert media[BOOKCLUB_QUOTE["uri"]] == (1, 1)
    assert media[REPORT["uri"]] == (0, 0)  # a link card is not media


def test_normalize_counts_mentioned_accounts_and_distinct_links_from_facets_and_link_cards(
    records: dict[str, Any],
) -> None:
    posts = records["posts"]
    atelier = row(posts, "post_id", ATELIER["uri"])
    assert atelier["mention_count"] == 2
    assert atelier["link_count"] == 1  # the link in the text and its card are one link
    assert row(posts, "post_id", GARDEN["uri"])["link_count"] == 1
    assert row(posts, "post_id", REPORT["uri"])["link_count"] == 1  # a card without a link in the text
    hours = row(posts, "post_id", HOURS_ANSWER["uri"])
    assert (hours["mention_count"], hours["link_count"]) == (0, 0)


def test_normalize_takes_the_primary_subtag_of_the_first_language(records: dict[str, Any]) -> None:
    posts, interactions = records["posts"], records["interactions"]
    assert row(posts, "post_id", ATELIER["uri"])["language"] == "fr"  # langs: ["fr-CA"]
    assert row(posts, "post_id", GARDEN["uri"])["language"] == "en"
    assert row(interactions, "text", "האם הגן פתוח גם בימי ראשון?")["language"] == "he"
    assert row(interactions, "text", "مبروك! 🌷 نراكم يوم السبت")["language"] == "ar"


def test_normalize_keeps_emoji_and_right_to_left_text_as_written(records: dict[str, Any]) -> None:
    texts = set(records["interactions"]["text"]) | set(records["posts"]["text"].dropna())
    assert "האם הגן פתוח גם בימי ראשון?" in texts
    assert "مبروك! 🌷 نراكم يوم السبت" in texts
    assert GARDEN["record"]["text"] in texts
    assert "🌿📚" in GARDEN["record"]["text"]


def test_normalize_reads_replies_quotes_and_mentions_of_the_public_from_the_threads(
    records: dict[str, Any],
) -> None:
    interactions = records["interactions"]
    found = {
        text: (kind, None if pd_isna(target) else target, question)
        for text, kind, target, question in zip(
            interactions["text"],
            interactions["interaction_type"],
            interactions["in_reply_to_post_id"],
            interactions["is_question"],
            strict=True,
        )
    }
    assert found == {
        "Will the garden be wheelchair accessible?": ("reply", GARDEN["uri"], True),
        "Perfect, thank you! 🙏": ("reply", GARDEN_ANSWER["uri"], False),
        "האם הגן פתוח גם בימי ראשון?": ("reply", GARDEN["uri"], True),
        "مبروك! 🌷 نراكم يوم السبت": ("reply", GARDEN["uri"], False),
        # Labelled spam by a labeler: labels are not read, the reply counts like any other.
        "Great news!!! Grow your audience fast: link in bio": ("reply", GARDEN["uri"], False),
        # Replies to Noa, not to the account, but names it: a mention.
        "@lakesidelibrary.bsky.social is open Sundays 1–5 pm, I think the garden too": (
            "mention",
            None,
            False,
        ),
        "Thank you for helping us share these! 📷": ("reply", ARCHIVES_QUOTE["uri"], False),
        "Est-ce que l'atelier est gratuit ?": ("reply", ATELIER["uri"], True),
        # Replies to Amélie and quotes the garden post: a quote.
        "It is, and so is the garden opening: see you there": ("quote", None, False),
        "Is registration required?": ("reply", ATELIER_EN["uri"], True),
        EVENTS_QUESTION: ("reply", REPORT["uri"], True),
    }
    maya = row(interactions, "text", "Will the garden be wheelchair accessible?")
    assert maya["author_handle"] == "maya-reads.bsky.social"
    assert maya["author_native_id"].startswith("did:plc:")
    assert maya["interaction_id"].startswith(f"at://{maya['author_native_id']}/app.bsky.feed.post/")
    assert maya["created_at"] == datetime(2026, 11, 22, 15, 10, 8, 455000)


def test_every_own_post_whose_replies_a_thread_holds_has_its_thread_read_with_its_reply_count(
    records: dict[str, Any],
) -> None:
    reads = {
        row["post_id"].rsplit("/", 1)[-1]: row["reply_count"]
        for row in records["thread_reads"].to_dict("records")
    }

    # The four threads' roots and the account's own replies inside them; no post of the public.
    assert reads == {
        "3n2il66jxqxl4": 3,
        "3n2ilaq24pf57": 1,
        "3n2vrvnvtodrg": 6,
        "3n2vwsexqkyul": 1,
        "3n22eduv5pwxi": 2,
        "3n244737sj6nt": 0,
        "3n2nr4s5abgji": 1,
    }


def test_an_own_post_cut_off_at_the_servers_depth_limit_has_no_thread_read(landed: list[Page]) -> None:
    pages = []
    for page in landed:
        body = (
            json.loads(page.body) if page.endpoint.endswith("getPostThread") and page.status == 200 else None
        )
        if body is not None and body["thread"]["post"]["uri"].endswith("3n2vrvnvtodrg"):
            # The account's reply 3n2vwsexqkyul sits at the depth limit: its replies are left out.
            del body["thread"]["replies"][0]["replies"][0]["replies"]
            page = Page(page.endpoint, json.dumps(body).encode(), page.status, page.params)
        pages.append(page)
    records = bluesky.normalize(pages, ACCOUNT, OBSERVED_AT)

    read = {row["post_id"].rsplit("/", 1)[-1] for row in records["thread_reads"]}
    assert "3n2vrvnvtodrg" in read and "3n2vwsexqkyul" not in read


def test_normalize_skips_not_found_and_blocked_thread_nodes(records: dict[str, Any]) -> None:
    skipped = [node["uri"] for node in THREADS["garden"]["thread"]["replies"] if "post" not in node]
    assert len(skipped) == 2
    ids = set(records["interactions"]["interaction_id"]) | set(records["posts"]["post_id"])
    assert not ids & set(skipped)


def test_normalize_keeps_each_post_of_the_account_once_including_answers_found_only_in_threads(
    records: dict[str, Any],
) -> None:
    posts = records["posts"]
    assert posts["post_id"].is_unique
    # 11 feed items (10 posts and a repost) + the answer to the book club, seen in its thread only.
    assert len(posts) == 12
    assert list(posts["post_id"]).count(GARDEN_ANSWER["uri"]) == 1  # in the feed and in the garden thread
    answer = row(posts, "post_id", BOOKCLUB_ANSWER["uri"])
    assert answer["post_type"] == "reply"
    assert answer["in_reply_to_post_id"] == BOOKCLUB_ANSWER["record"]["reply"]["parent"]["uri"]
    assert answer["in_reply_to_account_native_id"] == thread_post("Congrats on a great year")["author"]["did"]
    assert answer["reply_count"] == 0 and answer["like_count"] == 3


def test_normalize_takes_counts_from_the_post_view_and_ignores_quote_count(records: dict[str, Any]) -> None:
    garden = row(records["posts"], "post_id", GARDEN["uri"])
    assert (garden["reply_count"], garden["repost_count"], garden["like_count"]) == (6, 12, 57)
    assert GARDEN["quoteCount"] == 1  # not added to repost_count
    assert garden["created_at"] == datetime(2026, 11, 22, 14, 5, 12, 331000)
    assert pd_isna(garden["edited_at"]) and garden["is_deleted"] is False


def test_normalize_leaves_what_was_published_after_the_observation_for_the_next_run(
    landed: list[Page],
) -> None:
    observed = datetime(2026, 11, 22, 16, 0)
    records = records_frames(bluesky.normalize(landed, ACCOUNT, observed))
    assert (records["posts"]["created_at"] <= observed).all()
    assert (records["interactions"]["created_at"] <= observed).all()
    assert GARDEN_ANSWER["uri"] in set(records["posts"]["post_id"])  # 15:32
    assert "Perfect, thank you! 🙏" in set(records["interactions"]["text"])  # 15:40
    assert "مبروك! 🌷 نراكم يوم السبت" not in set(records["interactions"]["text"])  # 17:45


def test_normalize_keeps_a_post_dated_long_after_the_observation_for_validation_to_quarantine(
    landed: list[Page],
) -> None:
    feed = copy.deepcopy(FEED_PAGES[0])
    post = feed["feed"][1]["post"]
    post["indexedAt"] = post["record"]["createdAt"] = "2099-01-01T00:00:00.000Z"  # no race: a wrong date
    pages = [*landed[:2], Page(AUTHOR_FEED_ENDPOINT, json.dumps(feed).encode(), 200, landed[2].params)]
    posts = records_frames(bluesky.normalize(pages, ACCOUNT, OBSERVED_AT))["posts"]
    assert posts.loc[posts["post_id"] == post["uri"], "created_at"].tolist() == [datetime(2099, 1, 1)]


def test_normalize_output_columns_and_dtypes_equal_the_record_types(records: dict[str, Any]) -> None:
    assert set(records) == {record_type.name for record_type in RECORD_TYPES}
    for record_type in RECORD_TYPES:
        frame = records[record_type.name]
        assert list(frame.columns) == record_type.column_names
        for column in record_type.columns:
            nullable_count = column.nullable and column.sql_type == "BIGINT"  # NULL when the account is gone
            expected = "Int64" if nullable_count else EXPECTED_DTYPES[column.sql_type]
            assert str(frame[column.name].dtype) == expected, column.name
            if not column.nullable:
                assert frame[column.name].notna().all(), column.name


def test_malformed_json_raises_normalization_error_naming_the_page(landed: list[Page]) -> None:
    feed_pages = [index for index, page in enumerate(landed) if page.endpoint == AUTHOR_FEED_ENDPOINT]
    broken = list(landed)
    second = broken[feed_pages[1]]
    broken[feed_pages[1]] = Page(second.endpoint, second.body[:500], second.status, second.params)
    with pytest.raises(
        NormalizationError, match=r"^app\.bsky\.feed\.getAuthorFeed page 2: body is not valid JSON"
    ):
        bluesky.normalize(broken, ACCOUNT, OBSERVED_AT)


def test_a_missing_required_field_raises_normalization_error_naming_the_page_and_field(
    landed: list[Page],
) -> None:
    body = json.loads(landed[2].body)
    del body["feed"][1]["post"]["uri"]
    pages = [*landed[:2], Page(AUTHOR_FEED_ENDPOINT, json.dumps(body).encode(), 200, landed[2].params)]
    with pytest.raises(NormalizationError) as raised:
        bluesky.normalize(pages, ACCOUNT, OBSERVED_AT)
    assert str(raised.value) == (
        "app.bsky.feed.getAuthorFeed page 1: field $.feed[1].post.uri: required field is missing"
    )


def test_a_missing_field_in_a_thread_names_the_thread_page_and_its_post(landed: list[Page]) -> None:
    index = next(i for i, page in enumerate(landed) if page.endpoint == POST_THREAD_ENDPOINT)
    body = json.loads(landed[index].body)
    del body["thread"]["replies"][0]["post"]["record"]["createdAt"]
    broken = list(landed)
    broken[index] = Page(POST_THREAD_ENDPOINT, json.dumps(body).encode(), 200, landed[index].params)
    with pytest.raises(NormalizationError) as raised:
        bluesky.normalize(broken, ACCOUNT, OBSERVED_AT)
    assert str(raised.value) == (
        f"app.bsky.feed.getPostThread page 1 ({GARDEN['uri']}): "
        "field $.thread.replies[0].post.record.createdAt: required field is missing"
    )


def test_unknown_fields_are_ignored_and_missing_optional_fields_tolerated(landed: list[Page]) -> None:
    profile = copy.deepcopy(PROFILE)
    for optional in ("displayName", "createdAt", "description", "avatar", "pinnedPost"):
        del profile[optional]
    profile["verification"] = {"verifications": [], "verifiedStatus": "none", "trustedVerifierStatus": "none"}
    feed = copy.deepcopy(FEED_PAGES[0])
    garden = feed["feed"][1]["post"]
    for optional in ("replyCount", "repostCount", "likeCount", "quoteCount", "labels", "viewer", "embed"):
        del garden[optional]
    for optional in ("langs", "facets", "embed"):
        del garden["record"][optional]
    garden["record"]["tags"] = ["libraries"]
    garden["someFutureField"] = {"nested": [1, 2, 3]}
    feed["feed"].append({"post": garden, "reason": {"$type": "app.bsky.feed.defs#reasonPin"}})
    pages = [
        landed[0],
        Page(PROFILE_ENDPOINT, json.dumps(profile).encode(), 200, landed[1].params),
        Page(AUTHOR_FEED_ENDPOINT, json.dumps(feed).encode(), 200, landed[2].params),
    ]
    records = records_frames(bluesky.normalize(pages, ACCOUNT, OBSERVED_AT))
    snapshot = records["account_snapshots"].iloc[0]
    assert pd_isna(snapshot["display_name"]) and pd_isna(snapshot["account_created_at"])
    post = row(records["posts"], "post_id", GARDEN["uri"])  # the pinned copy is the same post, kept once
    assert post["post_type"] == "original" and pd_isna(post["language"])
    assert (post["reply_count"], post["media_count"], post["link_count"]) == (0, 0, 0)


def test_normalize_needs_the_profile_page(landed: list[Page]) -> None:
    without_profile = [page for page in landed if page.endpoint != PROFILE_ENDPOINT]
    with pytest.raises(NormalizationError, match="getProfile"):
        bluesky.normalize(without_profile, ACCOUNT, OBSERVED_AT)


def test_normalize_refuses_a_profile_of_another_did_than_the_handle_resolved_to(landed: list[Page]) -> None:
    profile = json.loads(landed[1].body)
    profile["did"] = "did:plc:someoneelse0000000000000"
    pages = [
        landed[0],
        Page(PROFILE_ENDPOINT, json.dumps(profile).encode(), 200, landed[1].params),
        *landed[2:],
    ]
    with pytest.raises(
        NormalizationError,
        match=r"app\.bsky\.actor\.getProfile page 1: field \$\.did: the profile is of 'did:plc:someoneelse.*"
        r"com\.atproto\.identity\.resolveHandle page 1 resolved",
    ):
        bluesky.normalize(pages, ACCOUNT, OBSERVED_AT)


def test_normalize_refuses_an_error_page_other_than_a_deleted_thread(landed: list[Page]) -> None:
    failed = Page(PROFILE_ENDPOINT, json.dumps(fixture("error-profile-not-found.json")).encode(), 400, {})
    with pytest.raises(NormalizationError, match=r"app\.bsky\.actor\.getProfile page 2: HTTP status 400"):
        bluesky.normalize([*landed, failed], ACCOUNT, OBSERVED_AT)


def pd_isna(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_a_question_mark_inside_a_link_facet_is_no_question_also_when_the_link_is_shortened(
    landed: list[Page],
) -> None:
    # Facets index the UTF-8 bytes of record.text; the replies carry é, — and 🎉 before their links.
    thread = fixture("getPostThread-links.json")
    page = Page(
        POST_THREAD_ENDPOINT, json.dumps(thread).encode(), 200, {"uri": thread["thread"]["post"]["uri"]}
    )
    interactions = records_frames(bluesky.normalize([*landed, page], ACCOUNT, OBSERVED_AT))["interactions"]
    asked = dict(zip(interactions["text"], interactions["is_question"], strict=True))
    assert asked["Bravo 🎉 ! Notre compte rendu : Quels horaires pour 2027 ?"] is False  # a link's words
    assert asked["Très beau rapport — la carte : ville.québec/bibliotheques?q..."] is False  # shortened link
    assert asked["Ouvert le dimanche ? youtu.be/dQw4w9WgXcQ?si=abc123"] is True


# -- the thread ledger ------------------------------------------------------------------------------

OLD_POST = f"at://{DID}/app.bsky.feed.post/3lxoldpostzzzz"  # months old: only the ledger knows it


def read_at(post: dict[str, Any], read: int | None, root: dict[str, Any] | None = None) -> ThreadState:
    """The ledger's state of a feed post listed with its fixture's count, last read at ``read``."""
    created = datetime.fromisoformat(post["record"]["createdAt"].replace("Z", "+00:00")).replace(tzinfo=None)
    return ThreadState(created, post["replyCount"], read, root["uri"] if root else None)


def all_read() -> dict[str, ThreadState]:
    """Every thread of the window read at the count the feed shows."""
    states = {post["uri"]: read_at(post, post["replyCount"]) for post in (GARDEN, ARCHIVES_QUOTE, ATELIER)}
    states |= {post["uri"]: read_at(post, post["replyCount"]) for post in (REPORT, STORYTIME)}
    states[GARDEN_ANSWER["uri"]] = read_at(GARDEN_ANSWER, 1, root=GARDEN)
    states[ATELIER_EN["uri"]] = read_at(ATELIER_EN, 1, root=ATELIER)
    return states


def test_a_night_where_every_listed_reply_count_was_read_makes_no_get_post_thread_call(
    appview: HTTPServer, clock: FakeClock
) -> None:
    serve_account(appview)
    pages, stats = extract(clock, ledger=ThreadLedger(all_read()))
    assert requests_to(appview, POST_THREAD_ENDPOINT) == []
    assert stats.requests == len(pages) == 2 + 3
    assert stats.threads.read == [] and stats.threads.plan.left == 0
    assert {thread.post_id for thread in stats.threads.listed} == set(all_read())


def test_a_changed_answer_rereads_its_root_thread_once_then_the_backlog_is_read_newest_first(
    appview: HTTPServer, clock: FakeClock
) -> None:
    serve_account(appview)
    for uri in (CLOSED["uri"], OLD_POST):
        serve_thread(appview, uri, {"thread": {"$type": THREAD_VIEW_POST, "post": CLOSED}})
    states = all_read()
    states[GARDEN_ANSWER["uri"]] = read_at(GARDEN_ANSWER, 0, root=GARDEN)  # a reply came under the answer
    states[CLOSED["uri"]] = read_at(CLOSED, None)  # before the window, listed on the last page, never read
    states[OLD_POST] = ThreadState(datetime(2026, 8, 1), 3, 1)  # read, then listed with more replies
    _, stats = extract(clock, ledger=ThreadLedger(states))

    fetched = [request["uri"] for request in requests_to(appview, POST_THREAD_ENDPOINT)]
    assert fetched == [GARDEN["uri"], CLOSED["uri"], OLD_POST]
    assert (stats.threads.plan.changed, stats.threads.plan.backlog) == (2, 1)
    # The garden's thread holds the answer (its replies too): both are recorded as read.
    assert {GARDEN_ANSWER["uri"], GARDEN["uri"]} <= set(stats.threads.reads())
    assert stats.threads.earliest_read() == datetime(2026, 8, 1)


# -- a post its root's thread does not reach (issue 15) ---------------------------------------------

NIGHT = date(2026, 11, 23)


def seed_ledger(path: Path, states: dict[str, ThreadState]) -> None:
    """A ledger file where a night before ``NIGHT`` listed and read each post at its ``read_count``."""
    listed = [
        ListedThread(uri, state.created_at, state.read_count or 0, state.root_id)
        for uri, state in states.items()
    ]
    report = ThreadReport(listed=listed, plan=plan_thread_reads(listed, ThreadLedger(), budget=len(listed)))
    assert report.plan is not None
    for thread in report.threads_to_read():
        report.add_read(thread, [post_id for post_id, _ in report.plan.covers[thread]])
    record_extraction(path, report, NIGHT - timedelta(days=1), "seed")


def night(
    appview: HTTPServer, clock: FakeClock, path: Path, number: int, budget: int
) -> tuple[list[str], Any]:
    """Run night ``number`` (0: NIGHT) through the ledger file; the threads it asked for, and its stats."""
    run_date = NIGHT + timedelta(days=number)
    appview.clear_log()
    ledger = read_ledger(path, run_date, lambda run_date, extraction_id: False)
    pages, stats = extract(clock, ledger=ledger, thread_budget=budget)
    record_extraction(path, stats.threads, run_date, f"night-{number}")
    return [request["uri"] for request in requests_to(appview, POST_THREAD_ENDPOINT)], (pages, stats)


def answer_thread(with_replies: bool = True) -> dict[str, Any]:
    """The garden answer's own thread: the answer and Maya's thanks below it."""
    garden = copy.deepcopy(THREADS["garden"]["thread"])
    node = garden["replies"][0]["replies"][0]
    assert node["post"]["uri"] == GARDEN_ANSWER["uri"]
    return {
        "thread": node if with_replies else {key: value for key, value in node.items() if key != "replies"}
    }


def test_an_answer_below_a_blocked_post_is_read_on_its_own_the_same_night_then_not_again(
    appview: HTTPServer, clock: FakeClock, tmp_path: Path
) -> None:
    garden = copy.deepcopy(THREADS["garden"])
    question = garden["thread"]["replies"][0]  # Maya's question, above the account's answer
    garden["thread"]["replies"][0] = {
        "$type": BLOCKED_POST,
        "uri": question["post"]["uri"],
        "blocked": True,
        "author": {"did": question["post"]["author"]["did"], "viewer": {"blockedBy": True}},
    }
    serve_thread(appview, GARDEN["uri"], garden)  # served before serve_account's: it is the one answered
    serve_thread(appview, GARDEN_ANSWER["uri"], answer_thread())
    serve_account(appview)
    path = tmp_path / "thread-ledger.json"
    states = all_read()
    states[GARDEN_ANSWER["uri"]] = read_at(GARDEN_ANSWER, 0, root=GARDEN)  # a reply came under the answer
    seed_ledger(path, states)

    fetched, (pages, stats) = night(appview, clock, path, 0, budget=40)
    assert fetched == [GARDEN["uri"], GARDEN_ANSWER["uri"]]
    assert stats.threads.missed(GARDEN["uri"]) == [GARDEN_ANSWER["uri"]]
    # The ledger and normalize agree on what was read: the answer, by its own thread.
    thread_reads = bluesky.normalize(pages, ACCOUNT, OBSERVED_AT)["thread_reads"]
    assert {row["post_id"] for row in thread_reads} == set(stats.threads.reads())
    assert GARDEN_ANSWER["uri"] in set(stats.threads.reads())

    assert night(appview, clock, path, 1, budget=40)[0] == []


def test_an_answer_cut_at_the_depth_limit_is_read_on_its_own_the_next_night_when_the_budget_is_spent(
    appview: HTTPServer, clock: FakeClock, tmp_path: Path
) -> None:
    garden = copy.deepcopy(THREADS["garden"])
    del garden["thread"]["replies"][0]["replies"][0]["replies"]  # the answer sits at the depth limit
    serve_thread(appview, GARDEN["uri"], garden)
    serve_thread(appview, GARDEN_ANSWER["uri"], answer_thread())
    serve_account(appview)
    path = tmp_path / "thread-ledger.json"
    states = all_read()
    states[GARDEN_ANSWER["uri"]] = read_at(GARDEN_ANSWER, 0, root=GARDEN)
    seed_ledger(path, states)

    fetched, (_, stats) = night(appview, clock, path, 0, budget=1)
    assert fetched == [GARDEN["uri"]] and GARDEN_ANSWER["uri"] not in stats.threads.reads()
    # The next night: the answer alone, not its root (read, up to date) once more.
    assert night(appview, clock, path, 1, budget=1)[0] == [GARDEN_ANSWER["uri"]]
    assert night(appview, clock, path, 2, budget=1)[0] == []
