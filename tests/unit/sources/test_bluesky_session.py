"""One Bluesky sign-in per run: the session kept in the private state file, shared, refreshed, renewed.

The local Bluesky server plays the login account's PDS (tests/platforms/bluesky_server.py):
it signs in with the app password (30 sign-ins per 5 minutes), refreshes sessions
(revoking the old refresh token), and refuses reads whose access token expired with
400 ``ExpiredToken``, as a PDS does. It counts every sign-in and refresh.
"""

from __future__ import annotations

import gzip
import json
import logging
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rapport import zones
from rapport.accounts import Account
from rapport.landing import land_extraction
from rapport.settings import get_settings
from rapport.sources import Page, SourceError, Window, bluesky
from rapport.sources.bluesky.client import Credentials
from rapport.sources.bluesky.session import SharedSession, session_state_file
from rapport.sources.bluesky.settings import (
    APP_PASSWORD_VARIABLE,
    BASE_URL_VARIABLE,
    LOGIN_HANDLE_VARIABLE,
    PDS_URL_VARIABLE,
    THREAD_BUDGET_VARIABLE,
)
from rapport.sources.http import HttpStats, RetriesExhaustedError
from tests.platforms.bluesky_server import CREATE_SESSION, REFRESH_SESSION, BlueskyServer
from tests.platforms.world import World

UNTIL = datetime(2026, 11, 23, tzinfo=UTC)
WINDOW = Window(since=UNTIL - timedelta(days=14), until=UNTIL)
BOT = "rapport-bot.bsky.social"
PASSWORD = "abcd-efgh-ijkl-mnop"
NEW_PASSWORD = "qrst-uvwx-yz23-4567"


class ServerClock:
    """The PDS's clock: real time, plus the hours a test moves it on."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(accounts=4, weeks=2, until=UNTIL, seed=0)


@pytest.fixture
def server_clock() -> ServerClock:
    return ServerClock()


@pytest.fixture
def pds(world: World, server_clock: ServerClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[BlueskyServer]:
    """The server as the PDS the app password signs in on; the AppView URL is a closed port."""
    with BlueskyServer(
        world,
        app_passwords={BOT: PASSWORD},
        access_seconds=3600,
        refresh_seconds=7200,
        clock=server_clock.time,
    ) as server:
        monkeypatch.setenv(BASE_URL_VARIABLE, "http://127.0.0.1:9")
        monkeypatch.setenv(PDS_URL_VARIABLE, server.url)
        monkeypatch.setenv(LOGIN_HANDLE_VARIABLE, BOT)
        monkeypatch.setenv(APP_PASSWORD_VARIABLE, PASSWORD)
        monkeypatch.setenv(THREAD_BUDGET_VARIABLE, "3")
        monkeypatch.delenv("AIRFLOW_CONN_RAPPORT_BLUESKY", raising=False)
        yield server


def account(number: int) -> Account:
    return Account(
        organization_id=f"org{number:03d}", platform="bluesky", handle=f"org{number:03d}.bsky.social"
    )


def extract(number: int) -> tuple[list[Page], HttpStats]:
    pages, stats = bluesky.extract_with_stats(account(number), WINDOW, backoff_base=0.01)
    return list(pages), stats


def calls(server: BlueskyServer, method: str) -> list[int]:
    """The statuses the server answered to ``method``."""
    return [request.status for request in server.requests if request.endpoint == method]


def state() -> dict[str, object]:
    document: dict[str, object] = json.loads(session_state_file().read_text(encoding="utf-8"))
    return document


def test_the_extractions_of_a_run_sign_in_once_and_read_with_the_shared_session(pds: BlueskyServer) -> None:
    for number in (1, 2, 3, 4):
        pages, stats = extract(number)
        assert pages and all(page.status == 200 for page in pages)
        assert stats.requests == len(pages) + (1 if number == 1 else 0)  # the sign-in counts once
    assert pds.pds is not None and pds.pds.sign_ins == [BOT]
    assert calls(pds, CREATE_SESSION) == [200]
    reads = [request for request in pds.requests if request.endpoint != CREATE_SESSION]
    assert reads and {request.status for request in reads} == {200}


def test_the_session_is_kept_in_a_private_state_file_outside_the_landing_zone(pds: BlueskyServer) -> None:
    extract(1)
    path = session_state_file()
    settings = get_settings()
    assert path == zones.session_state_file(settings.data_dir, "bluesky")
    assert not path.is_relative_to(settings.landing_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    document = state()
    assert pds.pds is not None
    assert document["service"] == pds.url and document["identifier"] == BOT
    assert document["did"] == pds.pds.did(BOT)
    assert document["accessJwt"] in pds.pds.issued and document["refreshJwt"] in pds.pds.issued
    assert PASSWORD not in path.read_text(encoding="utf-8")  # only a fingerprint of it
    # Written atomically: no temporary file is left beside it.
    assert sorted(path.name for path in path.parent.iterdir()) == ["session.json", "session.json.lock"]


def test_an_expired_access_token_is_refreshed_with_refresh_session_not_a_new_sign_in(
    pds: BlueskyServer,
) -> None:
    extract(1)
    first = state()
    pds.expire_sessions()
    pages, _ = extract(2)
    assert all(page.status == 200 for page in pages)  # the refused read is sent again, not landed
    assert calls(pds, CREATE_SESSION) == [200]
    assert calls(pds, REFRESH_SESSION) == [200]
    assert 400 in calls(pds, "com.atproto.identity.resolveHandle")  # the ExpiredToken answer
    renewed = state()
    assert renewed["accessJwt"] != first["accessJwt"] and renewed["refreshJwt"] != first["refreshJwt"]
    extract(3)  # the next task reads the refreshed session
    assert calls(pds, CREATE_SESSION) == [200] and calls(pds, REFRESH_SESSION) == [200]


def test_a_token_expiring_in_the_middle_of_an_extraction_is_refreshed_and_the_read_sent_again(
    pds: BlueskyServer,
) -> None:
    pages = []
    for page in bluesky.extract(account(1), WINDOW):
        pages.append(page)
        if len(pages) == 2:
            pds.expire_sessions()
    assert len(pages) >= 3 and all(page.status == 200 for page in pages)
    assert calls(pds, CREATE_SESSION) == [200] and calls(pds, REFRESH_SESSION) == [200]


def test_a_task_whose_token_expired_takes_the_session_another_task_renewed(pds: BlueskyServer) -> None:
    # Two tasks started with the same session; the first renews it (revoking its refresh token).
    stats = HttpStats()
    first, second = (
        SharedSession(session_state_file(), pds.url, Credentials(BOT, PASSWORD), account_id=name, stats=stats)
        for name in ("task-1", "task-2")
    )
    assert first.current() == second.current()
    pds.expire_sessions()
    renewed = first.renew()
    assert second.renew() == renewed  # read from the state file: no refresh with a revoked token
    assert calls(pds, CREATE_SESSION) == [200] and calls(pds, REFRESH_SESSION) == [200]


def test_a_refused_refresh_signs_in_anew(pds: BlueskyServer, server_clock: ServerClock) -> None:
    extract(1)
    server_clock.offset += 3 * 3600  # both tokens expired (access 1 h, refresh 2 h)
    pages, _ = extract(2)
    assert all(page.status == 200 for page in pages)
    assert calls(pds, REFRESH_SESSION) == [400]  # ExpiredToken
    assert calls(pds, CREATE_SESSION) == [200, 200]


def test_a_changed_app_password_signs_in_anew_and_never_reuses_the_old_session(
    pds: BlueskyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    extract(1)
    old = state()
    assert pds.pds is not None
    pds.pds.app_passwords[BOT] = NEW_PASSWORD  # the operator replaced the app password
    monkeypatch.setenv(APP_PASSWORD_VARIABLE, NEW_PASSWORD)
    extract(2)
    assert calls(pds, CREATE_SESSION) == [200, 200] and calls(pds, REFRESH_SESSION) == []
    new = state()
    assert new["accessJwt"] != old["accessJwt"] and new["credentials"] != old["credentials"]
    reads = [request for request in pds.requests if request.account == "org002"]
    assert reads and {request.status for request in reads} == {200}


def test_another_login_account_signs_in_anew(pds: BlueskyServer, monkeypatch: pytest.MonkeyPatch) -> None:
    extract(1)
    assert pds.pds is not None
    pds.pds.app_passwords["other-bot.bsky.social"] = PASSWORD
    monkeypatch.setenv(LOGIN_HANDLE_VARIABLE, "other-bot.bsky.social")
    extract(2)
    assert pds.pds.sign_ins == [BOT, "other-bot.bsky.social"]
    assert state()["identifier"] == "other-bot.bsky.social"


@pytest.mark.parametrize(
    "damage",
    [b"{not json", b"[]", b'{"version": 1, "accessJwt": 3}', b"\xff\xfe garbage", b""],
    ids=["not-json", "not-an-object", "missing-fields", "not-utf8", "empty"],
)
def test_a_damaged_state_file_is_set_aside_with_a_warning_naming_it_and_a_fresh_sign_in(
    pds: BlueskyServer, damage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="rapport.sources.bluesky")
    path = session_state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(damage)
    pages, _ = extract(1)
    assert pages and all(page.status == 200 for page in pages)
    assert calls(pds, CREATE_SESSION) == [200]
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert str(path) in warning.getMessage() and "damaged" in warning.getMessage()
    [aside] = list(path.parent.glob("session.json.damaged-*"))
    assert aside.read_bytes() == damage and aside.name in warning.getMessage()
    assert state()["identifier"] == BOT  # a sound session replaced it


def test_a_session_file_inside_the_landing_zone_is_refused(
    pds: BlueskyServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RAPPORT_LANDING_DIR", str(tmp_path))
    with pytest.raises(SourceError, match="RAPPORT_LANDING_DIR"):
        extract(1)
    assert pds.requests == []


def test_the_tokens_never_appear_in_landed_pages_manifests_logs_or_errors(
    pds: BlueskyServer, world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    landing = tmp_path / "landing"
    messages: list[str] = []
    for number in (1, 2, 3):
        if number == 2:
            pds.expire_sessions()  # a refresh happens during this one
        if number == 3:
            pds.failing.add("org003")  # and this one fails, its error landed and raised
        pages, stats = bluesky.extract_with_stats(account(number), WINDOW, max_attempts=2, backoff_base=0.01)
        try:
            land_extraction(
                landing,
                account(number),
                UNTIL.date(),
                WINDOW,
                UNTIL,
                pages,
                lambda stats=stats: {"requests": stats.requests},
            )
        except RetriesExhaustedError as error:
            messages += [str(error), repr(error)]
    assert messages and calls(pds, REFRESH_SESSION) == [200]
    assert pds.pds is not None and len(pds.pds.issued) == 4  # two sessions: the sign-in, the refresh
    texts = [*messages, caplog.text]
    for path in landing.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            texts.append((gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", "replace"))
    assert any("manifest" in path.name for path in landing.rglob("*"))
    for token in pds.pds.issued:
        assert all(token not in text for text in texts)
    assert all(PASSWORD not in text for text in texts)
