"""The connectors against servers that misbehave: no hang, no crash, nothing past the caps, nothing leaked.

Each test runs the real extraction (``extract_with_stats``) of a Mastodon account,
a Bluesky account and a YouTube channel against :class:`tests.platforms.hostile_server.HostileServer`
and lands it with :func:`rapport.landing.land_extraction`, under small bounds
(page cap 50, request deadline 2 s, extraction deadline 20 s, body cap 1 MiB).
The extraction must end in a ``SourceError`` naming the account, the URL and
the bound (or the header, the redirect), with what came before it landed, and no
credential (the YouTube API key included) in what was landed, logged or raised.
"""

from __future__ import annotations

import gzip
import json
import logging
import stat
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from rapport import zones
from rapport.accounts import Account
from rapport.landing import Extraction, land_extraction, read_extraction
from rapport.sources import SourceError, Window, bluesky, mastodon, youtube
from rapport.sources.http import (
    BodyTooLargeError,
    ClientError,
    DeadlineError,
    HeaderError,
    PageCapError,
    RedirectError,
    RetriesExhaustedError,
    StalledCursorError,
    UnexpectedStatusError,
)
from rapport.sources.mastodon.client import MastodonClient
from rapport.sources.youtube.client import ApiKeyError, MalformedResponseError, QuotaExceededError
from tests.platforms.hostile_server import YOUTUBE as YOUTUBE_PATH
from tests.platforms.hostile_server import HostileServer

PLATFORMS = ("mastodon", "bluesky", "youtube")
ACCOUNTS = {
    "mastodon": Account("hostile", "mastodon", "@org", instance="hostile.example"),
    "bluesky": Account("hostile", "bluesky", "org.bsky.social"),
    "youtube": Account("hostile", "youtube", "@org"),
}
ADDRESSES = {"mastodon": "@org@hostile.example", "bluesky": "org.bsky.social", "youtube": "@org"}
WINDOW = Window(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
RUN_DATE = date(2026, 11, 23)
PAGE_CAP = 50
REQUEST_DEADLINE = 2.0
BODY_CAP = 1024 * 1024
MASTODON_TOKEN = "mtok-hostile-LEAKCHECK-5e1f"
APP_PASSWORD = "bskypw-hostile-LEAKCHECK-77a0"
ACCESS_JWT = "hostile-access-jwt-0001"  # what the hostile PDS hands out
REFRESH_JWT = "hostile-refresh-jwt-0001"
YOUTUBE_KEY = "AIzaSy-hostile-LEAKCHECK-3c9d"
SECRETS = (MASTODON_TOKEN, APP_PASSWORD, ACCESS_JWT, REFRESH_JWT, YOUTUBE_KEY)


@pytest.fixture(autouse=True)
def small_bounds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable, value in {
        "RAPPORT_HOME": str(tmp_path),
        "RAPPORT_MAX_PAGES_PER_EXTRACTION": str(PAGE_CAP),
        "RAPPORT_REQUEST_DEADLINE_SECONDS": str(REQUEST_DEADLINE),
        "RAPPORT_EXTRACTION_DEADLINE_SECONDS": "20",
        "RAPPORT_MAX_BODY_BYTES": str(BODY_CAP),
        "RAPPORT_ALLOW_PRIVATE_INSTANCES": "true",
        "RAPPORT_YOUTUBE_API_KEY": YOUTUBE_KEY,  # YouTube reads nothing without its key
    }.items():
        monkeypatch.setenv(variable, value)
    for variable in ("RAPPORT_MASTODON_TOKEN", "RAPPORT_BLUESKY_HANDLE", "RAPPORT_BLUESKY_APP_PASSWORD"):
        monkeypatch.delenv(variable, raising=False)


def serve(server: HostileServer, monkeypatch: pytest.MonkeyPatch) -> HostileServer:
    """Point the three sources at ``server``."""
    for variable in ("RAPPORT_MASTODON_BASE_URL", "RAPPORT_BLUESKY_BASE_URL", "RAPPORT_BLUESKY_PDS_URL"):
        monkeypatch.setenv(variable, server.url)
    monkeypatch.setenv("RAPPORT_YOUTUBE_BASE_URL", server.url + YOUTUBE_PATH)
    return server


@pytest.fixture
def hostile(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileServer]:
    with HostileServer(**request.param) as server:
        yield serve(server, monkeypatch)


@pytest.fixture(autouse=True)
def nothing_leaks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """After every test: no secret in any file under the Rapport home, nor in a log line (DEBUG and up)."""
    caplog.set_level(logging.DEBUG)
    yield
    logged = [record.getMessage() for phase in ("setup", "call") for record in caplog.get_records(phase)]
    assert logged and leaks(tmp_path, *logged) == []


def extract(platform: str) -> tuple[Iterator, object]:
    """The pages and counters of one account's extraction, with quick retries."""
    account = ACCOUNTS[platform]
    if platform == "mastodon":
        client = MastodonClient.for_account(account, max_attempts=2, backoff_base=0.01)
        return mastodon.extract_with_stats(account, WINDOW, client=client)
    source = bluesky if platform == "bluesky" else youtube
    return source.extract_with_stats(account, WINDOW, max_attempts=2, backoff_base=0.01)


def land(platform: str, landing: Path) -> tuple[SourceError, Extraction, float]:
    """Extract and land one account; return the error it ended in, what was landed and the seconds it took.

    Neither the error nor what was landed holds a secret."""
    account = ACCOUNTS[platform]
    pages, stats = extract(platform)
    started = time.monotonic()
    with pytest.raises(SourceError) as raised:
        land_extraction(
            landing, account, RUN_DATE, WINDOW, WINDOW.until, pages, lambda: {"requests": stats.requests}
        )
    elapsed = time.monotonic() - started
    [folder] = list((landing / f"platform={platform}").glob("account=*/run_date=*/extraction=*"))
    extraction = read_extraction(folder)
    assert extraction.status == "failed"
    assert extraction.error is not None and type(raised.value).__name__ in extraction.error
    assert not leaks(landing, str(raised.value), repr(raised.value), extraction.error)
    return raised.value, extraction, elapsed


def assert_names(error: SourceError, platform: str, *words: str) -> None:
    message = str(error)
    assert ACCOUNTS[platform].account_id in message
    assert "http://127.0.0.1:" in message  # the URL
    for word in words:
        assert word in message
    assert "\n" not in message


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("hostile", [{"mode": "endless"}], indirect=True)
def test_endless_new_cursors_stop_at_the_page_cap_naming_it(hostile, platform, tmp_path):
    error, extraction, elapsed = land(platform, tmp_path / "landing")

    assert isinstance(error, PageCapError)
    assert_names(error, platform, "page cap", f"{PAGE_CAP} pages", "RAPPORT_MAX_PAGES_PER_EXTRACTION")
    assert len(extraction.pages) == PAGE_CAP  # everything received is landed, nothing past the cap
    assert len(hostile.requests) == PAGE_CAP
    assert elapsed < 20
    if platform == "youtube":  # the key was sent each time: there was something to leak
        assert hostile.api_keys == [YOUTUBE_KEY] * PAGE_CAP


@pytest.mark.parametrize(
    ("platform", "hostile", "received"),
    [
        # lookup, the first page, then a page linking to itself (or further up): not followed
        ("mastodon", {"mode": "stuck"}, 3),
        ("mastodon", {"mode": "rising"}, 3),
        ("bluesky", {"mode": "stuck"}, 4),  # resolveHandle, getProfile, a cursor, the same cursor again
        ("youtube", {"mode": "stuck"}, 3),  # channels, a nextPageToken, the same nextPageToken again
    ],
    indirect=["hostile"],
)
def test_a_cursor_that_does_not_move_is_refused_at_once(hostile, platform, received, tmp_path):
    error, extraction, _ = land(platform, tmp_path / "landing")

    assert isinstance(error, StalledCursorError)
    assert_names(error, platform, "never end")
    assert len(hostile.requests) == len(extraction.pages) == received


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("hostile", [{"mode": "slowloris"}], indirect=True)
def test_a_server_sending_a_byte_a_second_is_cut_at_the_request_deadline_whatever_the_read_timeout(
    hostile, platform, tmp_path
):
    error, extraction, elapsed = land(platform, tmp_path / "landing")  # read_timeout stays 30 s

    assert isinstance(error, DeadlineError)
    assert_names(error, platform, "request deadline", "RAPPORT_REQUEST_DEADLINE_SECONDS")
    assert REQUEST_DEADLINE <= elapsed < REQUEST_DEADLINE + 1.5
    assert [page["status"] for page in extraction.pages] == [200] * len(extraction.pages)
    # What came before is landed: the lookup (the channel), and Bluesky's profile.
    assert len(extraction.pages) == {"mastodon": 1, "bluesky": 2, "youtube": 1}[platform]


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("hostile", [{"mode": "huge"}], indirect=True)
def test_a_200_mb_body_is_cut_at_the_body_cap_without_being_held(hostile, platform, tmp_path):
    tracemalloc.start()
    try:
        error, extraction, _ = land(platform, tmp_path / "landing")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert isinstance(error, BodyTooLargeError)
    assert_names(error, platform, f"cap of {BODY_CAP} bytes", "RAPPORT_MAX_BODY_BYTES")
    assert peak < 8 * BODY_CAP  # the 200 MB were never held
    assert hostile.bytes_sent < 32 * BODY_CAP  # reading stopped: the server was cut off early
    assert all(page["bytes"] <= BODY_CAP for page in extraction.pages)  # nothing of it landed
    assert len(extraction.pages) == {"mastodon": 1, "bluesky": 2, "youtube": 1}[platform]


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(
    "hostile",
    [{"mode": "rate_headers", "header_value": value} for value in ("inf", "nan", "-5", "1e300", "soon")],
    indirect=True,
)
def test_unusable_rate_limit_and_retry_after_values_end_in_an_error_naming_the_header(
    hostile, platform, tmp_path, caplog
):
    caplog.set_level(logging.WARNING)
    error, extraction, _ = land(platform, tmp_path / "landing")

    assert isinstance(error, HeaderError)
    assert_names(error, platform, "Retry-After", repr(hostile.header_value))
    assert extraction.pages[-1]["status"] == 429  # the answer is landed
    # The pacing headers of the pages before were ignored, each named once.
    assert "RateLimit-Remaining" in caplog.text and "ignoring" in caplog.text


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("hostile", [{"mode": "rate_headers", "header_value": "inf"}], indirect=True)
def test_rapport_fetch_reports_an_unusable_header_in_one_line_without_a_traceback(hostile, platform):
    from typer.testing import CliRunner

    from rapport.cli import app

    result = CliRunner().invoke(app, ["fetch", platform, ADDRESSES[platform], "--until", "2026-11-23"])

    assert result.exit_code == 1
    assert "Retry-After" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_redirect_to_another_origin_is_not_followed_and_nothing_of_it_is_landed(
    platform, tmp_path, monkeypatch
):
    with (
        HostileServer("endless") as elsewhere,
        HostileServer("redirect", redirect_to=elsewhere.url) as server,
    ):
        serve(server, monkeypatch)
        if platform == "mastodon":
            monkeypatch.setenv("RAPPORT_MASTODON_TOKENS", json.dumps({"hostile.example": MASTODON_TOKEN}))
        error, extraction, _ = land(platform, tmp_path / "landing")
        other = elsewhere.url

    assert isinstance(error, RedirectError)
    assert_names(error, platform, other, "another origin")
    assert elsewhere.requests == []  # neither the token nor a request reached the other host
    assert all(page["status"] == 200 for page in extraction.pages)


def leaks(root: Path, *texts: str) -> list[str]:
    """Where a secret shows: the files under ``root`` (gzip opened) and ``texts``.

    The Bluesky session file is the one place the tokens are meant to be: private (0600), it is
    checked to hold no app password.
    """
    found = []
    session_file = zones.session_state_file(root / "data", "bluesky")
    for path in [path for path in root.rglob("*") if path.is_file()]:
        if path == session_file:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            if APP_PASSWORD.encode() in path.read_bytes():
                found.append(f"{path}: {APP_PASSWORD}")
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        found += [f"{path}: {secret}" for secret in SECRETS if secret.encode() in data]
    for text in texts:
        found += [f"text: {secret}" for secret in SECRETS if secret in text]
    return found


@pytest.mark.parametrize("status", [401, 403, 500])
@pytest.mark.parametrize(
    ("platform", "echo_sign_in"),
    [("mastodon", False), ("bluesky", True), ("bluesky", False), ("youtube", False)],
)
def test_a_server_echoing_a_secret_in_an_error_body_leaks_it_nowhere(
    platform, echo_sign_in, status, tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("RAPPORT_MASTODON_TOKENS", json.dumps({"hostile.example": MASTODON_TOKEN}))
    monkeypatch.setenv("RAPPORT_BLUESKY_HANDLE", "reader.bsky.social")
    monkeypatch.setenv("RAPPORT_BLUESKY_APP_PASSWORD", APP_PASSWORD)
    with HostileServer("echo", echo_status=status, echo_sign_in=echo_sign_in) as server:
        serve(server, monkeypatch)
        error, extraction, _ = land(platform, tmp_path / "landing")

    if status != 500:
        assert isinstance(error, ClientError)
    elif platform == "bluesky" and echo_sign_in:
        assert isinstance(error, UnexpectedStatusError)  # a sign-in is tried once
    else:
        assert isinstance(error, RetriesExhaustedError)
    assert "***" in str(error)  # the echo was there, redacted
    assert not leaks(tmp_path, str(error), repr(error), caplog.text, extraction.error or "")
    landed_errors = [page for page in extraction.pages if page["status"] == status]
    if platform == "bluesky" and echo_sign_in:
        assert extraction.pages == ()  # a sign-in's answer is never landed
    else:
        assert landed_errors and all(page.get("redacted") is True for page in landed_errors)
        assert b"***" in extraction.read_pages()[-1].body


def test_a_redacted_page_reads_back_as_redacted(tmp_path, monkeypatch):
    monkeypatch.setenv("RAPPORT_MASTODON_TOKENS", json.dumps({"hostile.example": MASTODON_TOKEN}))
    with HostileServer("echo") as server:
        serve(server, monkeypatch)
        _, extraction, _ = land("mastodon", tmp_path / "landing")

    [page] = extraction.read_pages()
    assert page.redacted and page.status == 401


# --------------------------------------------------------------------------- Google's odd answers


def test_a_google_400_key_invalid_quoting_the_key_names_the_setting_and_leaks_it_nowhere(
    tmp_path, monkeypatch
):
    with HostileServer("echo", echo_status=400) as server:
        serve(server, monkeypatch)
        error, extraction, _ = land("youtube", tmp_path / "landing")

    assert isinstance(error, ApiKeyError)
    assert_names(error, "youtube", "keyInvalid", "RAPPORT_YOUTUBE_API_KEY", "***")
    assert server.api_keys == [YOUTUBE_KEY]  # sent once, never retried
    [page] = extraction.pages
    assert page["status"] == 400 and page["redacted"] is True


def google_error_body(code: int, message: str, errors: list | None) -> dict:
    error: dict = {"code": code, "message": message}
    if errors is not None:
        error["errors"] = errors
    return {"error": error}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (google_error_body(403, "The request is forbidden.", None), "The request is forbidden."),
        (google_error_body(403, "Forbidden.", []), "Forbidden."),
        (google_error_body(403, "Forbidden.", [{"domain": "global"}]), "Forbidden."),
        (google_error_body(403, "Something new.", [{"reason": "somethingNew"}]), "somethingNew"),
        (google_error_body(403, "Odd.", [{"reason": {"not": "a string"}}]), "Odd."),
        ({"error": "a proxy's error, not Google's"}, "a proxy's error"),
        ([], "HTTP 403"),
    ],
    ids=["no-errors", "empty-errors", "no-reason", "unknown-reason", "reason-object", "not-google", "array"],
)
def test_a_403_without_a_known_reason_is_one_clear_error_naming_what_google_said(
    body, named, tmp_path, monkeypatch
):
    with HostileServer("canned", canned_status=403, canned_body=body) as server:
        serve(server, monkeypatch)
        error, extraction, elapsed = land("youtube", tmp_path / "landing")

    assert isinstance(error, ClientError) and not isinstance(error, ApiKeyError | QuotaExceededError)
    assert_names(error, "youtube", "403", named)
    assert [page["status"] for page in extraction.pages] == [200, 403]  # the channel, then the refusal
    assert len(server.requests) == 2 and elapsed < 5  # not retried, not waited out


@pytest.mark.parametrize(
    ("status", "body", "named"),
    [
        (
            200,
            google_error_body(403, "Quota?", [{"reason": "quotaExceeded", "domain": "youtube.quota"}]),
            "error",
        ),
        (
            200,
            {"kind": "youtube#playlistItemListResponse", "nextPageToken": {"a": 1}, "items": []},
            "nextPageToken",
        ),
        (200, {"kind": "youtube#playlistItemListResponse", "nextPageToken": 7, "items": []}, "nextPageToken"),
        (200, {"kind": "youtube#playlistItemListResponse", "items": {"not": "a list"}}, "items"),
    ],
    ids=["200-holding-an-error", "token-object", "token-number", "items-object"],
)
def test_a_200_that_is_no_list_response_is_a_malformed_response_naming_the_field(
    status, body, named, tmp_path, monkeypatch
):
    with HostileServer("canned", canned_status=status, canned_body=body) as server:
        serve(server, monkeypatch)
        error, extraction, _ = land("youtube", tmp_path / "landing")

    assert isinstance(error, MalformedResponseError)
    assert_names(error, "youtube", "cannot be read", named)
    assert [page["status"] for page in extraction.pages] == [200, 200]  # both landed, as received
    assert len(server.requests) == 2


def test_an_absurd_total_results_is_not_trusted_the_pages_decide(tmp_path, monkeypatch):
    body = {
        "kind": "youtube#playlistItemListResponse",
        "pageInfo": {"totalResults": 10**12, "resultsPerPage": 50},
        "items": [],
    }
    with HostileServer("canned", canned_body=body) as server:
        serve(server, monkeypatch)
        pages, stats = extract("youtube")
        started = time.monotonic()
        extraction = land_extraction(
            tmp_path / "landing",
            ACCOUNTS["youtube"],
            RUN_DATE,
            WINDOW,
            WINDOW.until,
            pages,
            lambda: {"requests": stats.requests},
        )
        elapsed = time.monotonic() - started

    assert extraction.status == "complete"
    # The channel and one page of its uploads: no page asked for the 10^12 results announced.
    assert [page["endpoint"] for page in extraction.pages] == ["channels", "playlistItems"]
    assert len(server.requests) == stats.requests == stats.units == 2 and elapsed < 5
