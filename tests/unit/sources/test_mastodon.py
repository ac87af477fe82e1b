"""The Mastodon source: the real client against a local server replaying recorded API responses.

The fixtures in tests/fixtures/mastodon/ are responses in the shapes of
docs.joinmastodon.org (Account, Status, Context, MediaAttachment, Quote) for one
organization, @riviere_transit on mastodon.example, over the week of
2026-11-16. Pages hold four statuses (the ``limit`` their Link headers carry),
so three pages are a short fixture. A fake clock stands in for time, so retries
and rate-limit waits take no time.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request

from rapport.accounts import Account
from rapport.landing import find_extractions, land_extraction, read_extraction
from rapport.records import INTERACTIONS, POSTS, RECORD_TYPES
from rapport.sources import NormalizationError, Page, SourceError, Window, get_source, mastodon
from rapport.sources.http import RESET_MARGIN, HttpStats, NotFoundError, RetriesExhaustedError
from rapport.sources.mastodon import ExtractionStats
from rapport.sources.mastodon.client import MalformedResponseError, MastodonClient
from rapport.sources.payloads import records_frame, records_frames
from rapport.thread_ledger import ThreadLedger, ThreadState

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mastodon"
ACCOUNT = Account(
    organization_id="riviere-transit",
    platform="mastodon",
    handle="@riviere_transit",
    instance="mastodon.example",
)
TOKEN = "m4st0d0n-s3cr3t-t0ken"
PAGE_SIZE = 4
SINCE = datetime(2026, 11, 16, tzinfo=UTC)
UNTIL = datetime(2026, 11, 23, tzinfo=UTC)
WINDOW = Window(SINCE, UNTIL)
OBSERVED_AT = datetime(2026, 11, 23, 3, 0)

OWN_ID = "109318455327462819"
STATUSES_PATH = f"/api/v1/accounts/{OWN_ID}/statuses"
STATUSES = f"accounts/{OWN_ID}/statuses"
LOOKUP_PATH = "/api/v1/accounts/lookup"
# The organization's statuses, newest first: page 1, page 2, page 3 (see the fixtures).
A1 = "117661519086354449"  # reply to Camille's question P1 (an answer)
S1 = "117661415004241938"  # original: HTML, emoji, Arabic and Hebrew, 3 media, 2 replies
S2 = "117659389132800019"  # reply to its own S3 (a thread)
S4 = "117656015536193556"  # reblog of R1, a reply of @ville_de_riviere
S3 = "117655260364800021"  # original, edited, 4 replies
S5 = "117643472470016022"  # quote of Q1 (@musee_riviere)
S6 = "117636916838400023"  # reply to Youssef's question P0 (an answer), 1 reply
S7 = "117631667404800024"  # direct message
S8 = "117625002393600025"  # quote of a deleted post
S9 = "117622230220800026"  # before the window, 4 replies
S11 = "117608074444800028"
O0 = "117591087513600039"  # older original, found only in S6's thread
R1 = "117655963186626602"
Q1 = "117642756096000044"
# The public, in the threads of S1, S3 and S6.
P1, P1B, P1C = "117661473374208029", "117661571481600030", "117661638328320031"
P3A, P3B, P3C, P3D, P3E = (
    "117655417651200032",
    "117655771545600034",
    "117655496294400036",
    "117655476633600037",
    "117655614259200038",
)
A3 = "117655515955200033"  # the organization's deleted answer to P3a
P0, P6 = "117633908736000040", "117637015142400041"
VILLE, CAMILLE, YOUSSEF = "109318455327400001", "109402338815544120", "110561927384651002"
MUSEE = "110222333444555666"

EXPECTED_DTYPES = {
    "VARCHAR": "str",
    "BIGINT": "int64",
    "INTEGER": "int64",
    "BOOLEAN": "bool",
    "TIMESTAMP": "datetime64[us]",
}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def iso_utc(epoch: float) -> str:
    """A timestamp the way Mastodon writes X-RateLimit-Reset."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeClock:
    """A clock that only moves when the client sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC).timestamp()
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class MastodonApi:
    """The local server playing mastodon.example, and what it was asked."""

    server: HTTPServer
    clock: FakeClock

    def url(self, suffix: str = "") -> str:
        return self.server.url_for(suffix).rstrip("/")

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "287",
            "X-RateLimit-Reset": iso_utc(self.clock.now + 240),
            **extra,
        }

    def respond(self, path: str, body: bytes, *, query: dict[str, str] | None = None, **headers: str) -> None:
        self.server.expect_request(path, query_string=query).respond_with_data(
            body, content_type="application/json; charset=utf-8", headers=self.headers(**headers)
        )

    def fail_once(self, path: str, status: int, body: bytes, *, query: dict[str, str] | None = None) -> None:
        self.server.expect_oneshot_request(path, query_string=query).respond_with_data(
            body, status=status, content_type="application/json; charset=utf-8", headers=self.headers()
        )

    @property
    def requests(self) -> list[Request]:
        return [request for request, _ in self.server.log]

    def statuses_queries(self) -> list[dict[str, str]]:
        return [dict(request.args) for request in self.requests if request.path == STATUSES_PATH]

    def context_ids(self) -> list[str]:
        return [request.path.split("/")[4] for request in self.requests if request.path.endswith("/context")]


def page_query(number: int) -> dict[str, str]:
    """The query of statuses page ``number``: the first one is Rapport's, the next ones the Link header's."""
    if number == 1:
        return {"limit": str(PAGE_SIZE), "exclude_replies": "false", "exclude_reblogs": "false"}
    previous = json.loads(fixture(f"account_statuses_page_{number - 1}.json"))
    return {"limit": str(PAGE_SIZE), "exclude_replies": "false", "max_id": previous[-1]["id"]}


def link_header(api: MastodonApi, statuses: list[dict[str, Any]]) -> str:
    """The Link header Mastodon sends with a full page: next (older) by max_id, prev (newer) by min_id."""
    base = f"{api.url(STATUSES_PATH)}?limit={PAGE_SIZE}&exclude_replies=false"
    return (
        f'<{base}&max_id={statuses[-1]["id"]}>; rel="next", <{base}&min_id={statuses[0]["id"]}>; rel="prev"'
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(httpserver: HTTPServer, clock: FakeClock) -> Iterator[MastodonApi]:
    """The recorded week of @riviere_transit: lookup, three statuses pages, three threads.

    At teardown, fails the test if the client asked for anything the server does not serve.
    """
    served = MastodonApi(httpserver, clock)
    served.respond(LOOKUP_PATH, fixture("accounts_lookup.json"), query={"acct": "riviere_transit"})
    for number in (1, 2, 3):
        body = fixture(f"account_statuses_page_{number}.json")
        served.respond(
            STATUSES_PATH, body, query=page_query(number), Link=link_header(served, json.loads(body))
        )
    # Page 4 is there only so that fetching it by mistake shows in the log rather than as a retry.
    served.respond(STATUSES_PATH, b"[]", query=page_query(4))
    for status_id, name in ((S1, "s1"), (S3, "s3"), (S6, "s6")):
        served.respond(f"/api/v1/statuses/{status_id}/context", fixture(f"status_context_{name}.json"))
    yield served
    httpserver.check_assertions()


@pytest.fixture
def make_client(api: MastodonApi, clock: FakeClock) -> Iterator[Any]:
    clients: list[MastodonClient] = []

    def make(*, from_environment: bool = False, **overrides: Any) -> MastodonClient:
        options: dict[str, Any] = {
            "page_size": PAGE_SIZE,
            "sleep": clock.sleep,
            "clock": clock.time,
            "rng": random.Random(7),
            "max_attempts": 3,
            **overrides,
        }
        if from_environment:
            client = MastodonClient.for_account(ACCOUNT, base_url=api.url(), **options)
        else:
            client = MastodonClient(api.url(), account=ACCOUNT.account_id, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def extract_all(client: MastodonClient, window: Window = WINDOW, **kwargs: Any) -> list[Page]:
    return list(mastodon.extract(ACCOUNT, window, client=client, **kwargs))


def extract_until_error(client: MastodonClient, **kwargs: Any) -> tuple[list[Page], SourceError]:
    pages: list[Page] = []
    with pytest.raises(SourceError) as raised:
        for page in mastodon.extract(ACCOUNT, WINDOW, client=client, **kwargs):
            pages.append(page)
    return pages, raised.value


@pytest.fixture
def frames(api: MastodonApi, make_client: Any) -> dict[str, pd.DataFrame]:
    """The recorded week, extracted by the real client and normalized."""
    return records_frames(mastodon.normalize(extract_all(make_client()), ACCOUNT, OBSERVED_AT))


def post(frames: dict[str, pd.DataFrame], post_id: str) -> dict[str, Any]:
    rows = frames["posts"][frames["posts"]["post_id"] == post_id]
    assert len(rows) == 1, f"post {post_id}: {len(rows)} rows"
    return rows.iloc[0].to_dict()


def interaction(frames: dict[str, pd.DataFrame], interaction_id: str) -> dict[str, Any]:
    rows = frames["interactions"][frames["interactions"]["interaction_id"] == interaction_id]
    assert len(rows) == 1, f"interaction {interaction_id}: {len(rows)} rows"
    return rows.iloc[0].to_dict()


# -- extract: calls, paging, threads, budget ---------------------------------------------------------


def test_extract_looks_up_the_account_then_follows_the_link_header_and_stops_at_the_first_page_older_than_since(
    api, make_client
):
    pages = extract_all(make_client())

    assert api.requests[0].path == LOOKUP_PATH
    assert dict(api.requests[0].args) == {"acct": "riviere_transit"}
    assert api.statuses_queries() == [page_query(1), page_query(2), page_query(3)]
    assert [query.get("max_id") for query in api.statuses_queries()] == [None, S4, S7]
    # Page 3 reaches back before since (S9, 2026-11-15): its next link (max_id=S11) is never followed.
    assert S11 not in [query.get("max_id") for query in api.statuses_queries()]
    assert [page.endpoint for page in pages[:4]] == ["accounts/lookup", STATUSES, STATUSES, STATUSES]
    assert pages[0].body == fixture("accounts_lookup.json")
    assert [page.body for page in pages[1:4]] == [
        fixture(f"account_statuses_page_{n}.json") for n in (1, 2, 3)
    ]
    assert pages[2].params == page_query(2)
    assert all(page.status == 200 for page in pages)


def test_extract_reads_the_threads_of_its_own_posts_in_the_window_with_replies_newest_first(api, make_client):
    pages = extract_all(make_client())

    # Not A1 (no reply), S4 (a reblog), S7 (direct) nor S9 (4 replies, but before since).
    assert api.context_ids() == [S1, S3, S6]
    assert [page.endpoint for page in pages[4:]] == [
        f"statuses/{S1}/context",
        f"statuses/{S3}/context",
        f"statuses/{S6}/context",
    ]
    assert pages[4].body == fixture("status_context_s1.json")


def test_the_context_budget_keeps_the_newest_threads_and_counts_those_left_out(api, make_client):
    pages, stats = mastodon.extract_with_stats(ACCOUNT, WINDOW, context_budget=2, client=make_client())
    list(pages)

    assert api.context_ids() == [S1, S3]
    assert (stats.contexts_fetched, stats.contexts_skipped) == (2, 1)


def test_the_context_budget_comes_from_the_environment_unless_given(api, make_client, monkeypatch):
    monkeypatch.setenv("RAPPORT_MASTODON_CONTEXT_BUDGET", "1")
    extract_all(make_client())
    assert api.context_ids() == [S1]

    api.server.clear_log()
    extract_all(make_client(), context_budget=0)
    assert api.context_ids() == []

    monkeypatch.setenv("RAPPORT_MASTODON_CONTEXT_BUDGET", "forty")
    with pytest.raises(ValueError, match="RAPPORT_MASTODON_CONTEXT_BUDGET"):
        mastodon.extract(ACCOUNT, WINDOW, client=make_client())


def test_extract_with_stats_counts_every_request_the_extraction_cost(api, make_client):
    pages, stats = mastodon.extract_with_stats(ACCOUNT, WINDOW, client=make_client())
    assert isinstance(stats, ExtractionStats)
    assert stats.requests == 0  # nothing is sent before the pages are consumed

    landed = list(pages)

    assert stats.requests == len(api.requests) == len(landed) == 1 + 3 + 3
    assert (stats.statuses_pages, stats.contexts_fetched, stats.contexts_skipped) == (3, 3, 0)
    assert (stats.retries, stats.rate_limited) == (0, 0)
    # Both ways a caller may read the request counters.
    assert stats.counters() == {"requests": 7, "retries": 0, "rate_limited": 0, "slept_seconds": 0.0}
    assert isinstance(stats, HttpStats) and asdict(stats)["requests"] == 7


def test_a_night_with_nothing_new_costs_exactly_one_lookup_and_one_statuses_page(api, make_client):
    # The newest status (A1) is older than this window: the first page is also the last.
    window = Window(datetime(2026, 11, 22, 20, 0, tzinfo=UTC), UNTIL)

    pages, stats = mastodon.extract_with_stats(ACCOUNT, window, client=make_client())
    endpoints = [page.endpoint for page in pages]

    assert endpoints == ["accounts/lookup", STATUSES]
    assert stats.requests == len(api.requests) == 2
    assert api.context_ids() == []


def test_naive_window_bounds_are_taken_as_utc(api, make_client):
    window = Window(SINCE.replace(tzinfo=None), UNTIL.replace(tzinfo=None))

    extract_all(make_client(), window)

    assert api.context_ids() == [S1, S3, S6]


# -- extract: rate limits, failures, secrets ----------------------------------------------------------


def test_a_429_is_waited_out_until_the_announced_reset_then_retried_and_never_landed(api, make_client, clock):
    reset = clock.now + 120
    api.server.expect_oneshot_request(LOOKUP_PATH).respond_with_data(
        fixture("error_too_many_requests.json"),
        status=429,
        content_type="application/json",
        headers={
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": iso_utc(reset),
        },
    )

    pages, stats = mastodon.extract_with_stats(ACCOUNT, WINDOW, client=make_client())
    landed = list(pages)

    assert [response.status_code for _, response in api.server.log[:2]] == [429, 200]
    assert clock.sleeps[0] == pytest.approx(120 + RESET_MARGIN)
    assert (stats.rate_limited, stats.retries) == (1, 1)
    assert all(page.status == 200 for page in landed)
    assert landed[0].body == fixture("accounts_lookup.json")


def test_a_spent_rate_limit_is_waited_out_before_the_next_call_instead_of_earning_a_429(
    api, make_client, clock
):
    reset = clock.now + 60
    api.server.expect_oneshot_request(LOOKUP_PATH).respond_with_data(
        fixture("accounts_lookup.json"),
        content_type="application/json",
        headers={
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "1",
            "X-RateLimit-Reset": iso_utc(reset),
        },
    )

    pages, stats = mastodon.extract_with_stats(ACCOUNT, WINDOW, client=make_client())
    list(pages)

    assert clock.sleeps == [pytest.approx(60 + RESET_MARGIN)]
    assert stats.rate_limited == 0
    assert all(response.status_code == 200 for _, response in api.server.log)


def test_a_server_failing_until_retries_run_out_raises_naming_account_and_url_and_earlier_pages_are_landed(
    api, make_client, tmp_path
):
    for _ in range(3):
        api.fail_once(STATUSES_PATH, 503, b'{"error":"Service Unavailable"}', query=page_query(2))

    with pytest.raises(RetriesExhaustedError) as raised:
        land_extraction(
            tmp_path,
            ACCOUNT,
            date(2026, 11, 23),
            WINDOW,
            datetime(2026, 11, 23, 3, tzinfo=UTC),
            mastodon.extract(ACCOUNT, WINDOW, client=make_client()),
        )

    message = str(raised.value)
    assert ACCOUNT.account_id in message
    assert f"{STATUSES_PATH}?limit=4&exclude_replies=false&max_id={S4}" in message
    assert "after 3 attempts" in message and "503" in message
    (path,) = find_extractions(tmp_path)
    landed = read_extraction(path)
    assert landed.status == "failed" and "RetriesExhaustedError" in (landed.error or "")
    pages = landed.read_pages()
    assert [(page.endpoint, page.status) for page in pages] == [
        ("accounts/lookup", 200),
        (STATUSES, 200),
        (STATUSES, 503),
    ]
    assert pages[-1].body == b'{"error":"Service Unavailable"}'


@pytest.mark.parametrize(("status", "meaning"), [(404, "unknown"), (410, "suspended")])
def test_an_unknown_or_suspended_account_raises_not_found_naming_account_and_url_and_keeps_the_body(
    api, make_client, status, meaning
):
    api.fail_once(LOOKUP_PATH, status, fixture("error_record_not_found.json"))

    pages, error = extract_until_error(make_client())

    assert isinstance(error, NotFoundError)
    assert ACCOUNT.account_id in str(error)
    assert f"{LOOKUP_PATH}?acct=riviere_transit" in str(error)
    assert f"HTTP {status}" in str(error) and "Record not found" in str(error)
    assert pages == [
        Page("accounts/lookup", fixture("error_record_not_found.json"), status, {"acct": "riviere_transit"})
    ]
    assert len(api.requests) == 1, f"a {meaning} account is not retried"


def test_a_suspended_account_lands_its_lookup_and_asks_nothing_more(api, make_client):
    """Since Mastodon 3.3 a suspended account answers 200 with ``"suspended": true``, 0 counts, no fields."""
    api.fail_once(
        LOOKUP_PATH, 200, fixture("accounts_lookup_suspended.json"), query={"acct": "riviere_transit"}
    )

    pages, stats = mastodon.extract_with_stats(ACCOUNT, WINDOW, client=make_client())
    landed = list(pages)

    assert landed == [
        Page("accounts/lookup", fixture("accounts_lookup_suspended.json"), 200, {"acct": "riviere_transit"})
    ]
    assert [request.path for request in api.requests] == [LOOKUP_PATH]
    assert stats.requests == 1 and stats.statuses_pages == 0


def test_a_suspended_account_is_a_snapshot_in_state_suspended_with_null_counts_not_zeros(api, make_client):
    api.fail_once(
        LOOKUP_PATH, 200, fixture("accounts_lookup_suspended.json"), query={"acct": "riviere_transit"}
    )

    records = mastodon.normalize(extract_all(make_client()), ACCOUNT, OBSERVED_AT)

    (snapshot,) = records["account_snapshots"]
    assert snapshot["account_state"] == "suspended"
    assert snapshot["account_native_id"] == OWN_ID
    assert (snapshot["followers_count"], snapshot["following_count"], snapshot["posts_count"]) == (None,) * 3
    assert snapshot["display_name"] is None and snapshot["moved_to_handle"] is None
    assert records["posts"] == [] and records["interactions"] == []
    frames = records_frames(records)
    assert frames["account_snapshots"]["followers_count"].isna().all()
    assert str(frames["account_snapshots"]["followers_count"].dtype) == "Int64"


def test_a_moved_account_is_still_read_and_flagged_with_the_account_it_moved_to(api, make_client):
    api.fail_once(LOOKUP_PATH, 200, fixture("accounts_lookup_moved.json"), query={"acct": "riviere_transit"})

    pages = extract_all(make_client())
    records = mastodon.normalize(pages, ACCOUNT, OBSERVED_AT)

    assert len(pages) == 7, "its old statuses and threads are read as before"
    (snapshot,) = records["account_snapshots"]
    assert snapshot["account_state"] == "moved"
    assert snapshot["moved_to_handle"] == "@riviere_transit@transports.example"
    assert snapshot["followers_count"] == 1893, "a moved account still shows its counts"
    assert {row["post_id"] for row in records["posts"]} >= {S1, S3, S6}


def test_a_thread_deleted_before_its_context_call_is_kept_as_a_page_and_skipped(api, make_client):
    api.fail_once(f"/api/v1/statuses/{S3}/context", 404, fixture("error_record_not_found.json"))

    pages, stats = mastodon.extract_with_stats(ACCOUNT, WINDOW, client=make_client())
    landed = list(pages)
    frames = records_frames(mastodon.normalize(landed, ACCOUNT, OBSERVED_AT))

    assert [(page.endpoint, page.status) for page in landed[4:]] == [
        (f"statuses/{S1}/context", 200),
        (f"statuses/{S3}/context", 404),
        (f"statuses/{S6}/context", 200),
    ]
    assert (stats.contexts_fetched, stats.contexts_missing) == (2, 1)
    assert P3A not in set(frames["interactions"]["interaction_id"])


def test_a_malformed_statuses_body_fails_extraction_and_normalize_names_the_page(api, make_client):
    truncated = fixture("account_statuses_page_2.json")[:5000]
    api.fail_once(STATUSES_PATH, 200, truncated, query=page_query(2))

    pages, error = extract_until_error(make_client())

    assert isinstance(error, MalformedResponseError)
    assert ACCOUNT.account_id in str(error) and f"max_id={S4}" in str(error)
    assert pages[-1] == Page(STATUSES, truncated, 200, page_query(2))
    with pytest.raises(
        NormalizationError, match=rf"^{STATUSES} page 2 \(max_id={S4}\): body is not valid JSON"
    ):
        mastodon.normalize(pages, ACCOUNT, OBSERVED_AT)


def test_the_token_travels_only_in_the_authorization_header(api, make_client, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("RAPPORT_MASTODON_TOKENS", json.dumps({"Mastodon.Example": TOKEN}))
    api.fail_once(STATUSES_PATH, 503, b'{"error":"Service Unavailable"}', query=page_query(1))
    client = make_client(from_environment=True)

    pages = extract_all(client)
    api.fail_once(LOOKUP_PATH, 404, fixture("error_record_not_found.json"))
    error_pages, error = extract_until_error(make_client(from_environment=True))

    assert {request.headers.get("Authorization") for request in api.requests} == {f"Bearer {TOKEN}"}
    assert not any(TOKEN in request.url for request in api.requests)
    for page in pages + error_pages:
        assert TOKEN not in json.dumps(page.params) and TOKEN not in page.endpoint
        assert TOKEN.encode() not in page.body
    assert TOKEN not in str(error) and TOKEN not in repr(error)
    assert TOKEN not in repr(client)
    assert "retrying" in caplog.text  # the 503 was logged...
    assert TOKEN not in caplog.text  # ...without the token


def test_without_a_token_no_authorization_header_is_sent(api, make_client, monkeypatch):
    monkeypatch.delenv("RAPPORT_MASTODON_TOKEN", raising=False)

    extract_all(make_client(from_environment=True))

    assert not any("Authorization" in request.headers for request in api.requests)


def test_the_default_client_calls_the_accounts_instance_over_https():
    with MastodonClient.for_account(ACCOUNT) as client:
        assert client.base_url == "https://mastodon.example"


def test_the_source_is_found_by_platform_and_refuses_other_platforms_accounts():
    assert get_source("mastodon") is mastodon
    with pytest.raises(SourceError, match="not a mastodon account"):
        mastodon.extract(Account("city", "demo", "@city"), WINDOW)


# -- normalize ----------------------------------------------------------------------------------------


def test_normalize_gives_exactly_the_columns_and_dtypes_of_the_record_types(frames):
    assert set(frames) == {record_type.name for record_type in RECORD_TYPES}
    for record_type in RECORD_TYPES:
        frame = frames[record_type.name]
        empty = records_frame(record_type, [])
        assert list(frame.columns) == record_type.column_names
        assert frame.dtypes.to_dict() == empty.dtypes.to_dict()
        assert {column.name: str(frame[column.name].dtype) for column in record_type.columns} == {
            column.name: "Int64"
            if column.nullable and column.sql_type == "BIGINT"
            else EXPECTED_DTYPES[column.sql_type]
            for column in record_type.columns
        }
        for column in record_type.required_columns:
            assert frame[column].notna().all(), f"{record_type.name}.{column} has nulls"
    assert (frames["posts"]["observed_at"] == pd.Timestamp(OBSERVED_AT)).all()


def test_the_snapshot_comes_from_the_lookup(frames):
    (snapshot,) = (
        frames["account_snapshots"]
        .astype(object)
        .where(frames["account_snapshots"].notna(), None)
        .to_dict("records")
    )

    assert snapshot == {
        "platform": "mastodon",
        "account_id": "mastodon:@riviere_transit@mastodon.example",
        "account_native_id": OWN_ID,
        "handle": "@riviere_transit@mastodon.example",
        "display_name": "Rivière Transit 🚍",
        "followers_count": 12843,
        "following_count": 211,
        "posts_count": 4821,
        "account_created_at": pd.Timestamp("2022-11-12"),
        "account_state": "active",
        "moved_to_handle": None,
        "observed_at": pd.Timestamp(OBSERVED_AT),
    }


def test_posts_are_its_own_statuses_from_the_pages_and_the_threads_each_kept_once_as_last_seen(frames):
    posts = frames["posts"]

    # 12 listed, less the direct message S7, plus O0 found only in S6's thread.
    assert len(posts) == 12 and posts["post_id"].is_unique
    assert S7 not in set(posts["post_id"])
    assert post(frames, O0)["post_type"] == "original"
    # A1 is on page 1 with no reply yet and in S1's thread, fetched later, with one.
    assert (post(frames, A1)["reply_count"], post(frames, A1)["like_count"]) == (1, 4)
    assert post(frames, S1)["created_at"] == pd.Timestamp("2026-11-22 18:05:12.345")
    assert (
        post(frames, S1)["reply_count"],
        post(frames, S1)["repost_count"],
        post(frames, S1)["like_count"],
    ) == (
        2,
        5,
        14,
    )
    assert not posts["is_deleted"].any()


def test_post_types_and_reply_links(frames):
    types = dict(zip(frames["posts"]["post_id"], frames["posts"]["post_type"], strict=True))

    assert types[S1] == types[S3] == types[O0] == "original"
    assert types[A1] == types[S2] == types[S6] == "reply"
    assert types[S4] == "repost"
    assert types[S5] == types[S8] == "quote"
    thread = post(frames, S2)
    assert (thread["in_reply_to_post_id"], thread["in_reply_to_account_native_id"]) == (S3, OWN_ID)
    assert thread["is_reply_to_self"]
    answer = post(frames, A1)
    assert (answer["in_reply_to_post_id"], answer["in_reply_to_account_native_id"]) == (P1, CAMILLE)
    assert not answer["is_reply_to_self"]
    assert pd.isna(post(frames, S1)["in_reply_to_post_id"])


def test_html_emoji_right_to_left_text_and_escaped_script_survive_as_text(frames):
    original = post(frames, S1)

    assert original["text"] == (
        "Travaux ⚠️\n\n"
        "🚧 Travaux sur la ligne B ce week-end\xa0: bus de remplacement entre Gare & Musée. Détails\xa0: "
        "https://riviere-transit.example/travaux?ligne=B&date=2026-11-28\n\n"
        "العربية: أعمال على الخط ب 🚌\nעברית: עבודות בקו B\n\n"
        "Merci @ville_de_riviere #travaux (non, pas de <script>alert(1)</script> ici 😉)"
    )
    assert (original["mention_count"], original["link_count"]) == (1, 1)  # the hashtag is no link
    assert (original["media_count"], original["media_with_alt_text_count"]) == (
        3,
        1,
    )  # null and blank are no alt
    assert original["language"] == "fr"
    hebrew = interaction(frames, P1C)
    assert hebrew["text"] == "@camille @riviere_transit גם אני רוצה לדעת! האם יש מעלית בתחנה?"
    assert hebrew["language"] == "he" and hebrew["is_question"]


def test_a_reblog_of_a_reply_is_a_repost_of_that_reply(frames):
    repost = post(frames, S4)

    assert repost["post_type"] == "repost"
    assert (repost["reposted_post_id"], repost["reposted_account_native_id"]) == (R1, VILLE)
    assert pd.isna(repost["in_reply_to_post_id"]) and pd.isna(repost["text"])
    assert (repost["mention_count"], repost["link_count"], repost["media_count"]) == (0, 0, 0)


def test_an_edited_post_keeps_the_time_of_its_last_edit(frames):
    assert post(frames, S3)["edited_at"] == pd.Timestamp("2026-11-21 16:20:05.118")
    assert pd.isna(post(frames, S1)["edited_at"])


def test_a_quote_points_to_the_quoted_post_and_its_re_fallback_link_is_left_out(frames):
    quote = post(frames, S5)

    assert (quote["reposted_post_id"], quote["reposted_account_native_id"]) == (Q1, MUSEE)
    assert quote["text"] == "Bravo au musée ! Accès direct par le tram A, arrêt Musée."
    assert quote["link_count"] == 0
    # Quoting a post since deleted: still a quote, of nothing the API shows.
    gone = post(frames, S8)
    assert gone["post_type"] == "quote" and pd.isna(gone["reposted_post_id"])


def test_interactions_are_the_publics_replies_and_mentions_in_the_threads(frames):
    rows = frames["interactions"].set_index("interaction_id")

    assert rows["interaction_type"].to_dict() == {
        P1: "reply",  # to S1
        P1B: "reply",  # to the answer A1
        P1C: "mention",  # replies to Camille, names the account
        P3A: "reply",
        P3C: "mention",
        P3B: "reply",
        P0: "reply",  # in S6's ancestors: the question S6 answers, on the older O0
        P6: "reply",
    }
    assert rows["in_reply_to_post_id"].dropna().to_dict() == {
        P1: S1,
        P1B: A1,
        P3A: S3,
        P3B: A3,
        P0: O0,
        P6: S6,
    }
    # P3d answers Marc without naming the account; P3e is a direct message.
    assert P3D not in rows.index and P3E not in rows.index
    camille = rows.loc[P1]
    assert camille["author_native_id"] == CAMILLE and camille["author_handle"] == "@camille@piaille.example"
    assert rows.loc[P0, "author_handle"] == "@youssef_b@mastodon.example"
    assert rows.loc[P1, "is_question"] and not rows.loc[P1B, "is_question"]


def test_a_thread_read_covers_its_status_and_its_own_statuses_below_it_not_those_above(frames):
    reads = frames["thread_reads"].set_index("post_id")["reply_count"].to_dict()

    # S1's, S3's and S6's threads were read, with the counts listed; A1 and S2 are the account's
    # statuses below S1 and S3, read with them; O0, above S6, had replies the context leaves out.
    assert reads == {S1: 2, A1: 1, S3: 4, S2: 0, S6: 1}
    assert (frames["thread_reads"]["observed_at"] == pd.Timestamp(OBSERVED_AT)).all()


def test_a_thread_read_from_the_backlog_without_its_listing_counts_the_replies_it_shows():
    pages = [
        Page("accounts/lookup", fixture("accounts_lookup.json")),
        Page(f"statuses/{S6}/context", fixture("status_context_s6.json")),
    ]
    records = mastodon.normalize(pages, ACCOUNT, OBSERVED_AT)

    # S6 is not listed: its count is the one reply under it in the context, P6.
    assert [(row["post_id"], row["reply_count"]) for row in records["thread_reads"]] == [(S6, 1)]


def test_a_reply_whose_parent_was_deleted_is_still_read(frames):
    # A3, the account's answer to P3a, was deleted: the thread leaves it out, Marc's thanks stay.
    thanks = interaction(frames, P3B)
    assert (thanks["interaction_type"], thanks["in_reply_to_post_id"]) == ("reply", A3)
    assert A3 not in set(frames["posts"]["post_id"])
    # Youssef answers a deleted status of Noa's and names the account: a mention.
    assert interaction(frames, P3C)["interaction_type"] == "mention"


def test_statuses_published_after_the_observation_are_left_for_the_next_run(api, make_client):
    pages = extract_all(make_client())

    frames = records_frames(mastodon.normalize(pages, ACCOUNT, datetime(2026, 11, 22, 18, 30, tzinfo=UTC)))

    assert A1 not in set(frames["posts"]["post_id"])  # 18:31:40
    assert S1 in set(frames["posts"]["post_id"])
    assert not {P1B, P1C} & set(frames["interactions"]["interaction_id"])


def test_a_status_dated_long_after_the_observation_is_kept_for_validation_to_quarantine():
    statuses = json.loads(fixture("account_statuses_page_1.json"))
    assert statuses[0]["id"] == A1
    statuses[0]["created_at"] = "2099-11-22T18:31:40.512Z"  # no race: a wrong date
    pages = [
        Page("accounts/lookup", fixture("accounts_lookup.json")),
        Page(STATUSES, json.dumps(statuses).encode()),
    ]

    posts = records_frames(mastodon.normalize(pages, ACCOUNT, OBSERVED_AT))["posts"]

    assert posts.loc[posts["post_id"] == A1, "created_at"].tolist() == [
        pd.Timestamp("2099-11-22 18:31:40.512")
    ]


def test_missing_optional_fields_and_unknown_fields_are_tolerated():
    statuses = json.loads(fixture("account_statuses_page_3.json"))
    for field in ("language", "edited_at", "quote", "spoiler_text", "visibility", "card", "application"):
        statuses[2].pop(field, None)
    statuses[2]["emoji_reactions"] = [{"name": "🚋", "count": 3}]
    pages = [
        Page("accounts/lookup", fixture("accounts_lookup.json")),
        Page(STATUSES, json.dumps(statuses).encode()),
    ]

    posts = records_frames(mastodon.normalize(pages, ACCOUNT, OBSERVED_AT))["posts"]

    row = posts[posts["post_id"] == statuses[2]["id"]].iloc[0]
    assert row["post_type"] == "original" and pd.isna(row["language"]) and pd.isna(row["edited_at"])


def test_a_missing_required_field_raises_naming_the_page_and_the_field_path():
    statuses = json.loads(fixture("account_statuses_page_1.json"))
    del statuses[2]["replies_count"]
    pages = [
        Page("accounts/lookup", fixture("accounts_lookup.json"), 200, {"acct": "riviere_transit"}),
        Page(STATUSES, fixture("account_statuses_page_1.json"), 200, page_query(1)),
        Page(STATUSES, json.dumps(statuses).encode(), 200, page_query(2)),
    ]

    with pytest.raises(NormalizationError) as raised:
        mastodon.normalize(pages, ACCOUNT, OBSERVED_AT)

    assert str(raised.value) == (
        f"{STATUSES} page 2 (max_id={S4}): field $[2].replies_count: required field is missing"
    )


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        (
            [Page(STATUSES, fixture("account_statuses_page_1.json"))],
            "none of the 1 pages is an accounts/lookup page",
        ),
        ([Page("accounts/lookup", b'{"id": "1", "acct": "someone_else"}')], "describes 'someone_else'"),
        (
            [Page("accounts/lookup", fixture("error_record_not_found.json"), 404)],
            "HTTP status 404, expected 200",
        ),
        ([Page("notifications", b"[]")], "unknown mastodon endpoint 'notifications'"),
    ],
)
def test_normalize_refuses_pages_it_cannot_read_and_says_why(pages, message):
    with pytest.raises(NormalizationError, match=message):
        mastodon.normalize(pages, ACCOUNT, OBSERVED_AT)


def test_normalize_reads_the_landed_pages_alone(api, make_client, tmp_path):
    fetched_at = datetime(2026, 11, 23, 3, tzinfo=UTC)
    extraction = land_extraction(
        tmp_path,
        ACCOUNT,
        date(2026, 11, 23),
        WINDOW,
        fetched_at,
        mastodon.extract(ACCOUNT, WINDOW, client=make_client()),
    )

    frames = records_frames(mastodon.normalize(extraction.read_pages(), ACCOUNT, fetched_at))

    assert (len(frames["posts"]), len(frames["interactions"])) == (12, 8)
    assert frames["posts"]["observed_at"].iloc[0] == pd.Timestamp(fetched_at.replace(tzinfo=None))
    assert set(frames[POSTS.name].columns) == set(POSTS.column_names)
    assert set(frames[INTERACTIONS.name].columns) == set(INTERACTIONS.column_names)


def test_a_question_mark_inside_a_link_is_no_question_whatever_the_link_shows():
    pages = [
        Page("accounts/lookup", fixture("accounts_lookup.json")),
        Page(STATUSES, fixture("account_statuses_page_1.json")),
        Page(f"statuses/{S1}/context", fixture("status_context_links.json"), 200, {}),
    ]

    rows = records_frames(mastodon.normalize(pages, ACCOUNT, OBSERVED_AT))["interactions"].set_index(
        "interaction_id"
    )

    assert not rows.loc["117661480000000001", "is_question"]  # a link labelled "Quels horaires pour 2027 ?"
    assert not rows.loc["117661480000000002", "is_question"]  # ville.québec/agenda/evenements, query hidden
    assert rows.loc["117661480000000003", "is_question"]  # "passe-t-il encore ?" beside a link with a query


# -- the thread ledger ------------------------------------------------------------------------------


def naive(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).replace(tzinfo=None)


OLD = "117400000000000000"  # a post of the backlog, months old: only the ledger knows it


def ledger_of(**read_counts: tuple[int, int | None]) -> ThreadLedger:
    """A ledger view: post id -> (count when last listed, count when its thread was last read)."""
    created = {S1: "2026-11-22T18:05:12Z", S3: "2026-11-21T16:00:00Z", S6: "2026-11-18T10:15:00Z"}
    created |= {S9: "2026-11-15T20:00:00Z", OLD: "2026-08-01T12:00:00Z"}
    return ThreadLedger(
        {
            post_id: ThreadState(naive(created[post_id]), listed, read)
            for post_id, (listed, read) in ((globals()[name], counts) for name, counts in read_counts.items())
        }
    )


def test_a_night_where_every_listed_reply_count_was_read_makes_no_context_call(api, make_client):
    ledger = ledger_of(S1=(2, 2), S3=(4, 4), S6=(1, 1))
    pages, stats = mastodon.extract_with_stats(ACCOUNT, WINDOW, client=make_client(), ledger=ledger)
    list(pages)

    assert api.context_ids() == []
    assert stats.requests == 1 + 3 and stats.contexts_fetched == 0
    assert stats.threads.read == [] and stats.threads.plan.left == 0
    # What was listed is reported all the same, for the ledger: the posts with replies of the window.
    assert [(thread.post_id, thread.reply_count) for thread in stats.threads.listed] == [
        (S1, 2),
        (S3, 4),
        (S6, 1),
    ]


def test_changed_threads_are_read_first_then_the_ledgers_backlog_newest_first(api, make_client):
    for status_id in (S9, OLD):
        api.respond(f"/api/v1/statuses/{status_id}/context", b'{"ancestors": [], "descendants": []}')
    # S3 got a reply since it was read; S9 (older than the window, on the last page) and OLD were never read.
    ledger = ledger_of(S1=(2, 2), S3=(3, 3), S6=(1, 1), S9=(4, None), OLD=(2, None))
    pages, stats = mastodon.extract_with_stats(
        ACCOUNT, WINDOW, client=make_client(), ledger=ledger, context_budget=2
    )
    list(pages)

    # S9 is listed tonight (the page that crosses since) with a count it was never read at: a change.
    assert api.context_ids() == [S3, S9]
    assert (stats.threads.plan.changed, stats.threads.plan.backlog, stats.contexts_skipped) == (2, 1, 1)

    api.server.clear_log()
    list(mastodon.extract(ACCOUNT, WINDOW, client=make_client(), ledger=ledger, context_budget=40))
    assert api.context_ids() == [S3, S9, OLD]


def test_a_thread_read_reports_the_posts_it_covers_and_the_oldest_one_read(api, make_client):
    pages, stats = mastodon.extract_with_stats(ACCOUNT, WINDOW, client=make_client())
    landed = list(pages)
    assert stats.threads.read == [S1, S3, S6]
    # What each context covered, as normalize's thread_reads say: the account's statuses below
    # S1 and S3 (A1, S2) with them, not O0 above S6 (its other replies are not in S6's context).
    assert stats.threads.reads() == [S1, A1, S3, S2, S6]
    thread_reads = mastodon.normalize(landed, ACCOUNT, OBSERVED_AT)["thread_reads"]
    assert {row["post_id"] for row in thread_reads} == set(stats.threads.reads())
    assert stats.threads.earliest_read() == naive("2026-11-18T10:15:00Z")
