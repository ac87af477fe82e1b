"""The YouTube source: the real client against a local YouTube Data API v3 (tests/platforms/youtube_server.py).

The world (tests/fixtures/youtube/channel_world.json) is one channel, @riviere_transit, over
the week of 2026-11-16: a video with a question the channel answered, one with comments off,
a private one, one whose thread holds more replies than commentThreads shows, a Short, and
two older videos. The server's ``page_cap`` of 2 makes the uploads several pages long.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from rapport.accounts import Account, load_registry, parse_account
from rapport.landing import land_extraction
from rapport.records import RECORD_TYPES
from rapport.sources import NormalizationError, Page, SourceError, Window, get_source, youtube
from rapport.sources.payloads import records_frame, records_frames
from rapport.thread_ledger import ThreadLedger, ThreadState
from tests.conftest import write_registry
from tests.platforms.youtube_server import Comment, YouTubeServer, load_world

KEY = "AIzaSyTest-k3y-n0t-r34l-0000000000000"
OWN = "UCbT9Tv7y3nR2dWq8kZf0xAa"
ACCOUNT = Account(organization_id="riviere-transit", platform="youtube", handle="@riviere_transit")
BY_ID = Account(organization_id="riviere-transit", platform="youtube", handle=OWN)
SINCE = datetime(2026, 11, 16, tzinfo=UTC)
UNTIL = datetime(2026, 11, 23, tzinfo=UTC)
WINDOW = Window(SINCE, UNTIL)
OBSERVED_AT = datetime(2026, 11, 23)


class FakeClock:
    def __init__(self) -> None:
        self.now = UNTIL.timestamp()
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
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[YouTubeServer]:
    with YouTubeServer(load_world(), keys=[KEY], page_cap=2) as served:
        monkeypatch.setenv("RAPPORT_YOUTUBE_BASE_URL", served.url)
        monkeypatch.setenv("RAPPORT_YOUTUBE_API_KEY", KEY)
        yield served


def run(
    account: Account = ACCOUNT, window: Window = WINDOW, clock: FakeClock | None = None, **kwargs: Any
) -> tuple[list[Page], Any]:
    clock = clock or FakeClock()
    pages, stats = youtube.extract_with_stats(
        account, window, sleep=clock.sleep, clock=clock.time, rng=random.Random(7), max_attempts=3, **kwargs
    )
    return list(pages), stats


def run_until_error(**kwargs: Any) -> tuple[list[Page], SourceError]:
    pages: list[Page] = []
    clock = FakeClock()
    iterator, _ = youtube.extract_with_stats(ACCOUNT, WINDOW, sleep=clock.sleep, clock=clock.time, **kwargs)
    with pytest.raises(SourceError) as raised:
        for page in iterator:
            pages.append(page)
    return pages, raised.value


@pytest.fixture
def frames(server: YouTubeServer) -> dict[str, pd.DataFrame]:
    pages, _ = run()
    return records_frames(youtube.normalize(pages, ACCOUNT, OBSERVED_AT))


def row(frame: pd.DataFrame, column: str, value: str) -> dict[str, Any]:
    rows = frame[frame[column] == value]
    assert len(rows) == 1, f"{column}={value}: {len(rows)} rows"
    return rows.iloc[0].to_dict()


# -- extract ------------------------------------------------------------------------------------------


def test_a_channel_with_several_pages_of_uploads_is_paged_by_token_until_the_first_video_older_than_since(
    server,
):
    pages, stats = run()

    listing = server.calls("playlistItems")
    assert [call.query.get("pageToken") is None for call in listing] == [True, False, False]
    assert all(call.query["maxResults"] == "50" for call in listing)
    assert stats.playlist_pages == 3  # [V1 V2] [V3 V4] [V5 V6]: V6 is older than since, V7 never listed
    (batch,) = server.calls("videos")
    assert batch.query["id"].split(",") == [
        "Rt1NightBus",
        "Rt2Strike00",
        "Rt3Private0",
        "Rt4TramRamp",
        "Rt5Short000",
    ]
    assert not server.calls("search")
    assert [page.endpoint for page in pages][:2] == ["channels", "playlistItems"]


def test_comment_threads_are_read_per_video_newest_first_and_each_call_costs_one_unit(server):
    pages, stats = run()

    assert [call.query["videoId"] for call in server.calls("commentThreads")] == [
        "Rt1NightBus",
        "Rt4TramRamp",
    ]
    assert all(call.query["textFormat"] == "plainText" for call in server.calls("commentThreads"))
    assert stats.units == stats.requests == len(server.log) == server.units[KEY] == len(pages)
    assert stats.counters()["units"] == stats.units
    assert stats.threads.read == ["Rt1NightBus", "Rt4TramRamp"]


def test_a_thread_holding_more_replies_than_it_shows_is_completed_with_comments_list(server, frames):
    calls = server.calls("comments")
    assert {call.query["parentId"] for call in calls} == {"UgzAna00001"}
    assert len(calls) == 3  # six replies, two a page (page_cap): paged by nextPageToken
    replies = frames["interactions"][frames["interactions"]["interaction_id"].str.startswith("UgzAna00001.")]
    assert len(replies) == 5  # six replies, five shown inline, one of them the channel's own
    answer = row(frames["posts"], "post_id", "UgzAna00001.r3")
    assert answer["in_reply_to_post_id"] == "UgzAna00001"


def test_the_key_travels_only_in_the_x_goog_api_key_header_and_is_never_landed(server, tmp_path, caplog):
    caplog.set_level("DEBUG")
    extraction = land_extraction(
        tmp_path, ACCOUNT, date(2026, 11, 23), WINDOW, datetime(2026, 11, 23, 3, tzinfo=UTC), run()[0]
    )

    assert all(call.key == KEY and "key" not in call.query for call in server.log)
    landed = [path for path in Path(extraction.path).rglob("*") if path.is_file()]
    assert landed
    for path in landed:
        assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in caplog.text


def test_without_a_key_the_extraction_fails_in_one_line_naming_the_variable_and_the_connection(
    server, monkeypatch
):
    monkeypatch.delenv("RAPPORT_YOUTUBE_API_KEY")

    pages, error = run_until_error()

    assert pages == [] and not server.log
    assert "\n" not in str(error)
    assert "RAPPORT_YOUTUBE_API_KEY" in str(error) and "rapport_youtube" in str(error)


def test_a_bad_key_fails_the_account_naming_the_setting_never_the_key(server, monkeypatch):
    monkeypatch.setenv("RAPPORT_YOUTUBE_API_KEY", "AIzaSyWrong-key-0000000000000000000000")

    pages, error = run_until_error()

    assert type(error).__name__ == "ApiKeyError"
    assert "RAPPORT_YOUTUBE_API_KEY" in str(error) and "API key not valid" in str(error)
    assert "AIzaSyWrong" not in str(error)
    assert [page.status for page in pages] == [400]  # Google's refusal is landed, for the record


def test_a_handle_and_a_channel_id_read_the_same_channel(server):
    by_handle = youtube.normalize(run()[0], ACCOUNT, OBSERVED_AT)
    server.log.clear()
    by_id = youtube.normalize(run(BY_ID)[0], BY_ID, OBSERVED_AT)

    assert server.calls("channels")[0].query["id"] == OWN
    assert by_handle["account_snapshots"][0]["account_native_id"] == OWN
    assert by_id["account_snapshots"][0]["account_native_id"] == OWN
    assert len(by_handle["posts"]) == len(by_id["posts"])


def test_an_unknown_handle_fails_the_account_clearly(server):
    unknown = Account(organization_id="x", platform="youtube", handle="@nobody_here")
    iterator, _ = youtube.extract_with_stats(unknown, WINDOW)
    with pytest.raises(SourceError, match="found no channel: the handle or channel id is unknown"):
        list(iterator)


def test_a_private_or_deleted_video_is_skipped_and_counted(server, frames):
    _, stats = run()

    assert stats.videos_unavailable == 1
    assert "Rt3Private0" not in set(frames["posts"]["post_id"])


def test_comments_off_on_a_video_are_a_coverage_fact_not_an_error(server):
    # Rt2 was listed with comments off (no commentCount): no thread to read. Rt6, in the ledger's
    # backlog, turned its comments off since: its 403 commentsDisabled is landed and passed over.
    server.channels[0].videos[5].comments_disabled = True
    ledger = ThreadLedger({"Rt6Older000": ThreadState(datetime(2026, 11, 10, 8), 1, None)})

    pages, stats = run(ledger=ledger)
    records = youtube.normalize(pages, ACCOUNT, OBSERVED_AT)

    assert "Rt2Strike00" not in [call.query["videoId"] for call in server.calls("commentThreads")]
    assert stats.comments_disabled == 1 and "Rt6Older000" in stats.threads.read
    assert [page.status for page in pages if page.status != 200] == [403]
    assert {r["post_id"]: r["reply_count"] for r in records["posts"]}["Rt2Strike00"] == 0
    assert "Rt6Older000" not in {read["post_id"] for read in records["thread_reads"]}


def test_a_video_deleted_before_its_threads_are_read_is_skipped(server):
    ledger = ThreadLedger({"RtGone00000": ThreadState(datetime(2026, 11, 1), 3, None)})

    pages, stats = run(ledger=ledger)
    youtube.normalize(pages, ACCOUNT, OBSERVED_AT)

    assert stats.videos_missing == 1 and "RtGone00000" in stats.threads.read


def test_a_rate_limit_403_is_waited_out_and_retried(server):
    server.rate_limited.add("videos")
    clock = FakeClock()

    pages, stats = run(clock=clock)

    assert [call.status for call in server.calls("videos")] == [403, 200]
    assert stats.rate_limited == 1 and stats.retries == 1 and clock.sleeps
    assert stats.units == server.units[KEY]
    assert all(page.status == 200 for page in pages)


def test_the_budget_stops_the_night_cleanly_and_the_next_night_resumes_from_the_ledger(
    server, monkeypatch, tmp_path
):
    from rapport.thread_ledger import read_ledger, record_extraction

    # 1 channels + 3 playlistItems + 1 videos + 1 commentThreads: Rt1's thread fits, Rt4's does not.
    monkeypatch.setenv("RAPPORT_YOUTUBE_DAILY_UNITS", "6")
    pages, stats = run()
    records = youtube.normalize(pages, ACCOUNT, OBSERVED_AT)

    assert stats.units == 6 and stats.stopped and "6 of its 6 units" in stats.stopped
    assert stats.threads.read == ["Rt1NightBus"]
    assert {read["post_id"] for read in records["thread_reads"]} == {"Rt1NightBus"}
    ledger_file = tmp_path / "ledger.json"
    record_extraction(ledger_file, stats.threads, date(2026, 11, 23), "night-1")

    server.log.clear()
    monkeypatch.setenv("RAPPORT_YOUTUBE_DAILY_UNITS", "20")  # the next run date has a budget of its own
    next_night = Window(datetime(2026, 11, 17, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC))
    ledger = read_ledger(ledger_file, date(2026, 11, 24), lambda day, extraction: False)
    _, stats = run(window=next_night, ledger=ledger)

    assert [call.query["videoId"] for call in server.calls("commentThreads")] == ["Rt4TramRamp"]
    assert stats.stopped is None


def test_a_channel_for_which_not_even_the_snapshot_fits_fails_naming_the_quota_and_date(server, monkeypatch):
    monkeypatch.setenv("RAPPORT_YOUTUBE_DAILY_UNITS", "1")

    pages, error = run_until_error()

    assert type(error).__name__ == "BudgetSpentError"
    assert "2026-11-23" in str(error) and "RAPPORT_YOUTUBE_DAILY_UNITS" in str(error)
    assert [page.endpoint for page in pages] == ["channels"]


def test_googles_quota_exceeded_marks_the_day_spent_for_every_task(server):
    server.quota = 7  # Google's own count ends after the first thread's page

    pages, stats = run()

    assert stats.stopped and "quotaExceeded" in stats.stopped
    assert pages[-1].status == 403
    youtube.normalize(pages, ACCOUNT, OBSERVED_AT)  # the quota's page is passed over
    sent = len(server.log)
    _, error = run_until_error()
    assert "quota of run date 2026-11-23 is spent" in str(error) and "quotaExceeded" in str(error)
    assert len(server.log) == sent  # the next task sends nothing


def test_an_incremental_window_lists_only_back_to_since_and_reads_changed_threads_only(server):
    night = Window(datetime(2026, 11, 19, tzinfo=UTC), UNTIL, replies_since=datetime(2026, 11, 22))
    ledger = ThreadLedger(
        {
            "Rt1NightBus": ThreadState(datetime(2026, 11, 22, 15), 4, 4),
            "Rt4TramRamp": ThreadState(datetime(2026, 11, 18, 11), 7, 7),
        }
    )

    _, stats = run(window=night, ledger=ledger)

    assert stats.playlist_pages == 2  # down to Rt4, the first video older than since
    assert [call.query["videoId"] for call in server.calls("commentThreads")] == ["Rt4TramRamp"]  # 7 -> 8


# -- normalize ----------------------------------------------------------------------------------------


def test_normalize_gives_exactly_the_columns_and_dtypes_of_the_record_types(frames):
    assert set(frames) == {record_type.name for record_type in RECORD_TYPES}
    for record_type in RECORD_TYPES:
        frame = frames[record_type.name]
        assert list(frame.columns) == record_type.column_names
        assert frame.dtypes.to_dict() == records_frame(record_type, []).dtypes.to_dict()
        for column in record_type.required_columns:
            assert frame[column].notna().all(), f"{record_type.name}.{column} has nulls"


@pytest.mark.slow
def test_the_records_pass_the_validation_suites(frames, tmp_path):
    from rapport.validation import BatchValidator

    assert BatchValidator(tmp_path / "gx").validate(frames, run_name="youtube") == []


def test_the_snapshot_has_subscribers_videos_and_creation_and_no_following_count(frames):
    (snapshot,) = (
        frames["account_snapshots"]
        .astype(object)
        .where(frames["account_snapshots"].notna(), None)
        .to_dict("records")
    )

    assert snapshot["account_native_id"] == OWN and snapshot["handle"] == "@riviere_transit"
    assert (snapshot["followers_count"], snapshot["following_count"], snapshot["posts_count"]) == (
        18400,
        None,
        6,
    )
    assert snapshot["account_created_at"] == pd.Timestamp("2019-03-04 10:00")
    assert youtube.PLATFORM.unavailable.keys() >= {
        "account_snapshots.following_count",
        "account_snapshots.followers_count",
    }


def test_videos_are_original_posts_with_their_counts_language_and_captions(frames):
    night = row(frames["posts"], "post_id", "Rt1NightBus")
    assert night["post_type"] == "original" and night["text"].startswith("Night buses from Monday\n\n")
    assert (night["language"], night["media_count"], night["media_with_alt_text_count"]) == ("fr", 1, 1)
    assert (night["reply_count"], night["like_count"], night["repost_count"], night["link_count"]) == (
        4,
        120,
        0,
        1,
    )
    tram = row(frames["posts"], "post_id", "Rt4TramRamp")
    assert (tram["like_count"], tram["media_with_alt_text_count"]) == (0, 0)  # likes hidden, no captions
    assert row(frames["posts"], "post_id", "Rt5Short000")["post_type"] == "original"  # a Short is a video


def test_the_channels_replies_answer_the_publics_questions_with_a_response_time(frames):
    question = row(frames["interactions"], "interaction_id", "UgzCamille1")
    assert (question["is_question"], question["in_reply_to_post_id"]) == (True, "Rt1NightBus")
    answer = row(frames["posts"], "post_id", "UgzCamille1.Own1")
    assert (answer["post_type"], answer["in_reply_to_post_id"]) == ("reply", "UgzCamille1")
    assert answer["created_at"] - question["created_at"] == pd.Timedelta(hours=1.5)
    # A ? inside a link is no question; a reply in a thread is not one either.
    assert not row(frames["interactions"], "interaction_id", "UgzYoussef1")["is_question"]
    thanks = row(frames["interactions"], "interaction_id", "UgzCamille1.Cam2")
    assert (thanks["is_question"], thanks["in_reply_to_post_id"]) == (False, "Rt1NightBus")
    pinned = row(frames["posts"], "post_id", "UgzOwnPin01")
    assert (pinned["in_reply_to_post_id"], pinned["is_reply_to_self"]) == ("Rt4TramRamp", True)
    edited = row(frames["posts"], "post_id", "UgzAna00001.r3")
    assert edited["edited_at"] == pd.Timestamp("2026-11-19 09:05")


def test_thread_reads_are_the_videos_read_in_full_at_their_comment_count(frames):
    reads = dict(zip(frames["thread_reads"]["post_id"], frames["thread_reads"]["reply_count"], strict=True))
    assert reads == {"Rt1NightBus": 4, "Rt4TramRamp": 8}


def test_the_channels_own_comment_with_replies_is_read_with_its_video(server: YouTubeServer):
    # A comment of the channel is one of its posts; once the public replies to it, its replies
    # must count as read too, or its weeks would carry an unread thread forever (coverage).
    video = next(
        video for channel in server.channels for video in channel.videos if video.video_id == "Rt4TramRamp"
    )
    pinned = next(thread for thread in video.threads if thread.top.comment_id == "UgzOwnPin01")
    pinned.replies.append(
        Comment(
            "UgzOwnPin01.q1",
            "UCq3Zr8Tn1VbXk0wYp5sLm2A",
            "@camille_r",
            "Is it step-free?",
            "2026-11-18T12:00:00Z",
        )
    )
    pages, _ = run()
    frames = records_frames(youtube.normalize(pages, ACCOUNT, OBSERVED_AT))
    assert row(frames["posts"], "post_id", "UgzOwnPin01")["reply_count"] == 1
    reads = dict(zip(frames["thread_reads"]["post_id"], frames["thread_reads"]["reply_count"], strict=True))
    assert reads == {"Rt1NightBus": 4, "Rt4TramRamp": 9, "UgzOwnPin01": 1}
    reply = row(frames["interactions"], "interaction_id", "UgzOwnPin01.q1")
    assert reply["in_reply_to_post_id"] == "UgzOwnPin01"


def test_a_channel_that_never_uploaded_is_read_complete_with_no_video(server: YouTubeServer):
    # Its uploads playlist does not exist yet: Google answers 404 playlistNotFound for it.
    channel = server.channels[0]
    channel.videos.clear()
    pages, stats = run()
    assert [(page.endpoint, page.status) for page in pages] == [("channels", 200), ("playlistItems", 404)]
    assert stats.units == 2
    frames = records_frames(youtube.normalize(pages, ACCOUNT, OBSERVED_AT))
    assert len(frames["posts"]) == len(frames["interactions"]) == 0
    assert frames["account_snapshots"]["posts_count"].tolist() == [0]


def test_malformed_json_raises_naming_the_page():
    with pytest.raises(NormalizationError, match=r"channels \(forHandle=@x\) page 1: body is not valid JSON"):
        youtube.normalize([Page("channels", b"{not json", params={"forHandle": "@x"})], ACCOUNT, OBSERVED_AT)


def test_a_missing_field_raises_naming_the_page_and_the_field(server):
    pages, _ = run()
    threads = next(n for n, page in enumerate(pages) if page.endpoint == "commentThreads")
    body = json.loads(pages[threads].body)
    del body["items"][0]["snippet"]["totalReplyCount"]
    pages[threads] = Page("commentThreads", json.dumps(body).encode(), params=pages[threads].params)

    with pytest.raises(
        NormalizationError,
        match=r"commentThreads \(videoId=Rt1NightBus\) page 1: field "
        r"\$\.items\[0\]\.snippet\.totalReplyCount: required field is missing",
    ):
        youtube.normalize(pages, ACCOUNT, OBSERVED_AT)


def test_normalize_refuses_an_error_page_it_does_not_know_and_pages_without_a_channel():
    with pytest.raises(NormalizationError, match="HTTP status 500"):
        youtube.normalize([Page("videos", b"{}", status=500)], ACCOUNT, OBSERVED_AT)
    with pytest.raises(NormalizationError, match="none of the 0 pages is a channels page"):
        youtube.normalize([], ACCOUNT, OBSERVED_AT)


# -- the platform ---------------------------------------------------------------------------------------


def test_importing_the_platform_loads_no_http_client():
    import subprocess
    import sys

    code = "import sys, rapport.sources.youtube; print('requests' in sys.modules)"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "False"
    )


def test_handles_and_channel_ids_are_accepted_and_the_source_is_found():
    assert get_source("youtube") is youtube
    assert parse_account("youtube", "@riviere_transit").handle == "@riviere_transit"
    assert parse_account("youtube", OWN).account_id == f"youtube:{OWN}"
    with pytest.raises(Exception, match="expected '@' then the channel's handle"):
        parse_account("youtube", "@x")


def test_rapport_fetch_youtube_prints_its_progress_and_cost_in_units(server):
    from rapport.cli import app

    result = CliRunner().invoke(
        app, ["fetch", "youtube", "@riviere_transit", "--since", "2026-11-16", "--until", "2026-11-23"]
    )

    assert result.exit_code == 0, result.output
    assert "youtube:@riviere_transit" in result.output
    # YouTube shows no subscriptions count: said so, not printed as 0 or <NA>.
    assert "18400 followers, following not shown, " in result.output
    assert f"{len(server.log)} API calls, {len(server.log)} quota units" in result.output


def test_the_documented_cost_per_channel_per_night_is_what_it_measures(server, monkeypatch, tmp_path):
    """The figures of README.md and PLATFORM.cost, measured on the README's example channel:
    the first run (26 weeks), a night with activity once the backlog is read, a night with nothing new."""
    from datetime import timedelta

    from rapport.thread_ledger import read_ledger, record_extraction
    from tests.platforms.youtube_server import add_activity, example_channel

    channel = example_channel()
    account = Account(organization_id="example", platform="youtube", handle="@example_channel")
    server.channels, server.page_cap = [channel], None
    ledger_file = tmp_path / "ledger.json"
    measured = []
    for night in range(5):
        until = UNTIL + timedelta(days=night)
        if night in (1, 2, 3):
            add_activity(channel, (until - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        since = until - (timedelta(weeks=26) if night == 0 else timedelta(days=15))
        ledger = read_ledger(ledger_file, until.date(), lambda day, extraction: False)
        _, stats = run(account, Window(since, until), ledger=ledger)
        record_extraction(ledger_file, stats.threads, until.date(), f"night-{night}")
        measured.append((stats.units, stats.requests, len(stats.threads.read)))

    # The first run reads 40 videos' threads (the budget) and leaves 38; the second night reads them.
    assert measured[0] == (youtube.PLATFORM.cost.first_run, 85, 40)
    assert measured[3] == (youtube.PLATFORM.cost.nightly, 6, 3)
    assert measured[4] == (youtube.PLATFORM.cost.nothing_new, 3, 0)


def test_a_channel_the_quota_leaves_unread_is_deferred_and_neither_the_batch_nor_the_run_fails(
    rapport_home: Path, monkeypatch: pytest.MonkeyPatch
):
    from rapport.landing import find_extractions, read_extraction
    from rapport.pipeline import extract_accounts, list_account_ids
    from rapport.settings import get_settings
    from rapport.summary import deferred_accounts, run_problems

    write_registry(
        rapport_home / "config" / "accounts.yml",
        "organizations:\n  - id: riviere\n    name: Riviere\n    peer_group: transit\n    size_band: medium\n"
        "    language: fr\n    accounts:\n      - platform: demo\n        handle: '@riviere_transit'\n"
        "      - platform: youtube\n        handle: '@riviere_transit'\n",
    )
    monkeypatch.setenv("RAPPORT_ALLOW_PRIVATE_INSTANCES", "true")
    with YouTubeServer(load_world(), keys=[KEY], quota=0) as served:
        monkeypatch.setenv("RAPPORT_YOUTUBE_BASE_URL", served.url)
        monkeypatch.setenv("RAPPORT_YOUTUBE_API_KEY", KEY)
        summaries = extract_accounts(list_account_ids(), UNTIL)  # raises nothing
        deferred = [summary for summary in summaries if "deferred" in summary]
        assert [summary["account_id"] for summary in deferred] == ["youtube:@riviere_transit"]
        statuses = {
            extraction.account_id: extraction.status
            for extraction in map(read_extraction, find_extractions(rapport_home / "data" / "landing"))
        }
        assert statuses == {"demo:@riviere_transit": "complete", "youtube:@riviere_transit": "deferred"}
        settings, registry = get_settings(), load_registry(rapport_home / "config" / "accounts.yml")
        assert run_problems(settings, registry, UNTIL.date()) == []
        [line] = deferred_accounts(settings, registry, UNTIL.date())
        assert line.startswith("youtube:@riviere_transit: ") and "quotaExceeded" in line and KEY not in line

        served.quota = 10_000  # the next night, Google's day has turned
        night = UNTIL + timedelta(days=1)
        [summary] = [
            s for s in extract_accounts(list_account_ids(), night) if s["account_id"].startswith("you")
        ]
        assert "deferred" not in summary and summary["requests"] > 3
        assert deferred_accounts(settings, registry, night.date()) == []
