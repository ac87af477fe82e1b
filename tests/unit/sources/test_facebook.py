"""The Facebook Pages source: the real client against the local Graph API (tests/platforms/graph_server.py).

The Page, riviere.transit, over the week of 2026-11-16: a post whose question the Page answered
(and a visitor's reply after the answer), a post holding the Page's own comment that the public
answered, a post with comments turned off, a post whose one comment was deleted, and older posts
outside the window; and the public posts tagging the Page (a person's question, a partner Page's
post, the Page's own, older ones). The server's ``page_cap`` of 2 makes posts, tags and comments
several pages long.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from rapport.accounts import Account, parse_account
from rapport.records import RECORD_TYPES
from rapport.sources import DeferredError, NormalizationError, Page, SourceError, Window, facebook, get_source
from rapport.sources.graph import TokenError
from rapport.sources.payloads import records_frame, records_frames
from tests.platforms.graph_server import (
    Comment,
    FacebookPage,
    FacebookPost,
    FakeClock,
    GraphServer,
    TaggedPost,
    Token,
    missing_object_body,
)

TOKEN = "EAAGriviereTransitPageToken0123456789"
PAGE_ID = "100000000000314"
ACCOUNT = Account(organization_id="riviere-transit", platform="facebook", handle="riviere.transit")
BY_ID = Account(organization_id="riviere-transit", platform="facebook", handle=PAGE_ID)
SINCE = datetime(2026, 11, 16, tzinfo=UTC)
UNTIL = datetime(2026, 11, 23, tzinfo=UTC)
WINDOW = Window(SINCE, UNTIL)
OBSERVED_AT = datetime(2026, 11, 23)
ASKED_TAG, PARTNER_TAG = "900000000000011_1", "100000000000901_7"


def world() -> FacebookPage:
    page = FacebookPage(PAGE_ID, "riviere.transit", "Rivière Transit", "Transit", 18_400, 17_900)
    answered = FacebookPost(
        f"{PAGE_ID}_1", "2026-11-21T09:00:00+0000", "Night buses start Friday", reactions=31, shares=4
    )
    answered.comments = [
        Comment(
            "1_1",
            "900000000000001",
            "Ana",
            "When does the night bus run? https://x.example/?q",
            "2026-11-21T10:00:00+0000",
        ),
        Comment(
            "1_2",
            PAGE_ID,
            "Rivière Transit",
            "From 1 a.m., every 20 minutes.",
            "2026-11-21T10:30:00+0000",
            "1_1",
        ),
        Comment(
            "1_3", "900000000000002", "Ben", "Thanks! Also on Sundays?", "2026-11-21T11:00:00+0000", "1_1"
        ),
        Comment("1_4", "900000000000003", "Chloé", "Great news.", "2026-11-21T12:00:00+0000"),
        Comment("1_5", "900000000000004", "Dan", "Is it free?", "2026-11-21T13:00:00+0000"),
    ]
    own_thread = FacebookPost(f"{PAGE_ID}_2", "2026-11-19T09:00:00+0000", "Tell us", reactions=3)
    own_thread.comments = [
        Comment(
            "2_1", PAGE_ID, "Rivière Transit", "Which line should run later?", "2026-11-19T09:05:00+0000"
        ),
        Comment("2_2", "900000000000005", "Eve", "Line 4", "2026-11-19T10:00:00+0000", "2_1"),
    ]
    closed = FacebookPost(
        f"{PAGE_ID}_3", "2026-11-18T09:00:00+0000", "Works this weekend", comments_disabled=True
    )
    pruned = FacebookPost(f"{PAGE_ID}_4", "2026-11-17T09:00:00+0000", "Photos", reactions=2)
    pruned.comments = [
        Comment("4_1", "900000000000006", "Fay", "spam", "2026-11-17T10:00:00+0000", deleted=True),
        Comment("4_2", "900000000000007", "Gus", "Nice photos", "2026-11-17T11:00:00+0000"),
    ]
    from tests.platforms.graph_server import Attachment

    pruned.attachments = [Attachment("album", subattachments=3)]
    old = FacebookPost(f"{PAGE_ID}_5", "2026-11-10T09:00:00+0000", "Older", reactions=1)
    old.comments = [Comment("5_1", "900000000000008", "Hal", "Old?", "2026-11-10T10:00:00+0000")]
    page.posts = [answered, own_thread, closed, pruned, old]
    page.tagged = [
        TaggedPost(
            ASKED_TAG,
            "2026-11-22T08:00:00+0000",
            "Is the night bus free for students?",
            "900000000000011",
            "Ivy",
        ),
        TaggedPost(
            f"{PAGE_ID}_9",
            "2026-11-21T08:00:00+0000",
            "Us, tagged",
            PAGE_ID,
            "Rivière Transit",
            author_is_page=True,
        ),
        TaggedPost(
            PARTNER_TAG,
            "2026-11-20T08:00:00+0000",
            "Proud partner of Rivière Transit https://museum.example/?ride",
            "100000000000901",
            "Town Museum",
            author_is_page=True,
        ),
        TaggedPost("900000000000013_3", "2026-11-17T08:00:00+0000", "Great ride.", "900000000000013", "Jo"),
        TaggedPost("900000000000014_4", "2026-11-12T08:00:00+0000", "Last week", "900000000000014", "Kim"),
        TaggedPost("900000000000015_5", "2026-11-01T08:00:00+0000", "Before", "900000000000015", "Lou"),
        TaggedPost("900000000000016_6", "2026-10-20T08:00:00+0000", "Long before", "900000000000016", "Max"),
    ]
    return page


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(UNTIL)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> Iterator[GraphServer]:
    with GraphServer([world()], tokens={TOKEN: Token(PAGE_ID)}, page_cap=2, clock=clock.time) as served:
        monkeypatch.setenv("RAPPORT_GRAPH_BASE_URL", served.url)
        monkeypatch.setenv("RAPPORT_META_TOKEN_RIVIERE_TRANSIT", TOKEN)
        yield served


def run(
    account: Account = ACCOUNT, window: Window = WINDOW, clock: FakeClock | None = None, **kwargs: Any
) -> tuple[list[Page], Any]:
    clock = clock or FakeClock(UNTIL)
    pages, stats = facebook.extract_with_stats(
        account, window, sleep=clock.sleep, clock=clock.time, rng=random.Random(7), max_attempts=3, **kwargs
    )
    return list(pages), stats


@pytest.fixture
def frames(server: GraphServer, clock: FakeClock) -> dict[str, pd.DataFrame]:
    pages, _ = run(clock=clock)
    return records_frames(facebook.normalize(pages, ACCOUNT, OBSERVED_AT))


def row(frame: pd.DataFrame, column: str, value: str) -> dict[str, Any]:
    rows = frame[frame[column] == value]
    assert len(rows) == 1, f"{column}={value}: {len(rows)} rows"
    return rows.iloc[0].to_dict()


# -- extract ------------------------------------------------------------------------------------------


def test_posts_of_the_window_and_their_comments_are_read_page_by_page_with_filter_stream(server, clock):
    pages, stats = run(clock=clock)
    endpoints = [page.endpoint for page in pages]
    assert endpoints[0] == "page"
    assert endpoints.count("published_posts") == 2  # 4 posts of the window, 2 a page
    comment_calls = [call for call in server.log if call.path.endswith("/comments")]
    assert {call.path.split("/")[-2] for call in comment_calls} == {
        f"{PAGE_ID}_1",
        f"{PAGE_ID}_2",
        f"{PAGE_ID}_4",
    }
    assert all(call.query["filter"] == "stream" for call in comment_calls)
    assert len([call for call in comment_calls if call.path.endswith(f"{PAGE_ID}_1/comments")]) == 3
    assert stats.requests == len(server.log) and stats.posts_listed == 4
    assert sorted(stats.threads.read) == [f"{PAGE_ID}_1", f"{PAGE_ID}_2", f"{PAGE_ID}_4"]
    posts_call = next(call for call in server.log if call.path.endswith("/published_posts"))
    assert posts_call.query["since"] == str(int(SINCE.timestamp()))
    assert posts_call.query["until"] == str(int(UNTIL.timestamp()))


def test_a_page_by_numeric_id_reads_the_same_page(server, clock):
    pages, _ = run(BY_ID, clock=clock)
    assert json.loads(pages[0].body)["username"] == "riviere.transit"


def test_a_post_with_comments_turned_off_is_not_asked_for_comments(server, clock, frames):
    assert not [call for call in server.log if call.path.endswith(f"{PAGE_ID}_3/comments")]
    assert row(frames["posts"], "post_id", f"{PAGE_ID}_3")["reply_count"] == 0


def test_a_deleted_comment_is_neither_counted_nor_recorded(frames):
    assert "4_1" not in set(frames["interactions"]["interaction_id"])
    assert row(frames["posts"], "post_id", f"{PAGE_ID}_4")["reply_count"] == 1
    assert row(frames["thread_reads"], "post_id", f"{PAGE_ID}_4")["reply_count"] == 1


def test_a_post_deleted_before_its_comments_are_read_is_landed_and_passed_over(server, clock):
    server.override = lambda path, query: (
        (400, missing_object_body(f"{PAGE_ID}_1")) if path == f"{PAGE_ID}_1/comments" else None
    )
    pages, stats = run(clock=clock)
    failed = [page for page in pages if page.status == 400]
    assert len(failed) == 1 and failed[0].params["id"] == f"{PAGE_ID}_1"
    assert stats.posts_missing == 1 and f"{PAGE_ID}_1" in stats.threads.read
    records = facebook.normalize(pages, ACCOUNT, OBSERVED_AT)
    assert f"{PAGE_ID}_1" not in {read["post_id"] for read in records["thread_reads"]}


def test_an_expired_token_fails_the_account_naming_the_organization_and_the_connection(server, clock):
    server.tokens[TOKEN] = Token(PAGE_ID, expired=True)
    iterator, _ = facebook.extract_with_stats(ACCOUNT, WINDOW, sleep=clock.sleep, clock=clock.time)
    landed: list[Page] = []
    with pytest.raises(TokenError) as raised:
        landed.extend(iterator)
    message = str(raised.value)
    assert "organization riviere-transit" in message and "expired" in message
    assert "RAPPORT_META_TOKEN_RIVIERE_TRANSIT" in message and "rapport_meta_riviere_transit" in message
    assert TOKEN not in message and len(server.log) == 1


def test_without_a_token_the_extraction_fails_in_one_line(server, monkeypatch):
    monkeypatch.delenv("RAPPORT_META_TOKEN_RIVIERE_TRANSIT")
    with pytest.raises(SourceError, match=r"^facebook:riviere.transit: no access token for organization "):
        run()


def test_usage_at_95_percent_is_paced_and_deferred_without_ever_receiving_a_throttling_code(server, clock):
    server.budget = 100
    server.spend(TOKEN, 94)
    with pytest.raises(DeferredError, match=r"usage is at 99 %"):
        run(clock=clock)
    assert server.answered(4, 17, 32, 613, 80001) == []
    assert len(server.log) == 5 and len(clock.sleeps) == 4


def test_the_token_is_found_in_no_landed_file_log_or_error(server, clock, tmp_path, caplog):
    from rapport.landing import land_extraction

    caplog.set_level("DEBUG")
    pages, stats = run(clock=clock)
    assert any(b"access_token=***" in page.body for page in pages)  # the next URLs, scrubbed
    land_extraction(tmp_path, ACCOUNT, UNTIL.date(), WINDOW, UNTIL, pages, cost=stats.counters)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    assert TOKEN not in caplog.text
    assert all(TOKEN not in json.dumps(page.params) for page in pages)


def test_the_posts_tagging_the_page_are_read_page_by_page_down_to_the_first_one_older_than_the_window(
    server, frames
):
    calls = [call for call in server.log if call.path.endswith(f"{PAGE_ID}/tagged")]
    # 7 tagging posts, 2 a page: the third page holds the first older than SINCE; the fourth is never asked.
    assert len(calls) == 3 and calls[0].query["fields"] == "id,message,created_time,from,permalink_url"
    assert "after" not in calls[0].query and calls[1].query["after"] != calls[2].query["after"]
    mentions = frames["interactions"][frames["interactions"]["interaction_type"] == "mention"]
    assert "900000000000013_3" in set(mentions["interaction_id"])
    assert "900000000000016_6" not in set(mentions["interaction_id"])  # on the page never asked


def test_a_post_tagging_the_page_is_a_mention_and_a_question_when_it_asks(frames):
    asked = row(frames["interactions"], "interaction_id", ASKED_TAG)
    assert (asked["interaction_type"], asked["is_question"]) == ("mention", True)
    assert pd.isna(asked["in_reply_to_post_id"]) and asked["account_id"] == "facebook:riviere.transit"
    assert asked["author_native_id"] == f"unknown:{ASKED_TAG}"  # Graph hides a person's post's author
    partner = row(frames["interactions"], "interaction_id", PARTNER_TAG)
    assert (partner["author_native_id"], partner["author_handle"]) == ("100000000000901", "Town Museum")
    assert not partner["is_question"]  # its '?' is in a link
    assert f"{PAGE_ID}_9" not in set(frames["interactions"]["interaction_id"])  # the Page tagging itself


def test_a_token_without_pages_read_user_content_skips_the_tagged_edge_and_reads_the_page(server, clock):
    server.tokens[TOKEN] = Token(PAGE_ID, missing=frozenset({"pages_read_user_content"}))
    # The window of the post with comments turned off: no comments to read, which need it too.
    window = Window(datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 11, 19, tzinfo=UTC))
    pages, stats = run(window=window, clock=clock)
    assert [(page.endpoint, page.status) for page in pages] == [
        ("page", 200),
        ("published_posts", 200),
        ("tagged", 403),
    ]
    assert b"pages_read_user_content" in pages[-1].body  # Graph's answer is landed
    assert stats.skipped == ["tagged (pages_read_user_content)"]
    records = facebook.normalize(pages, ACCOUNT, OBSERVED_AT)
    assert [post["post_id"] for post in records["posts"]] == [f"{PAGE_ID}_3"] and records[
        "interactions"
    ] == []


# -- normalize ----------------------------------------------------------------------------------------


def test_normalize_gives_exactly_the_columns_and_dtypes_of_the_record_types(frames):
    assert set(frames) == {record_type.name for record_type in RECORD_TYPES}
    for record_type in RECORD_TYPES:
        frame = frames[record_type.name]
        assert list(frame.columns) == record_type.column_names
        assert frame.dtypes.to_dict() == records_frame(record_type, []).dtypes.to_dict()


@pytest.mark.slow
def test_the_records_pass_the_validation_suites(frames, tmp_path):
    from rapport.validation import BatchValidator

    assert BatchValidator(tmp_path / "gx").validate(frames, run_name="facebook") == []


def test_the_snapshot_has_followers_and_no_following_posts_count_or_creation(frames):
    snapshot = frames["account_snapshots"].iloc[0].to_dict()
    assert snapshot["account_native_id"] == PAGE_ID and snapshot["handle"] == "riviere.transit"
    assert snapshot["followers_count"] == 18_400
    assert pd.isna(snapshot["following_count"]) and pd.isna(snapshot["posts_count"])


def test_posts_are_originals_with_their_reactions_shares_comments_and_media(frames):
    post = row(frames["posts"], "post_id", f"{PAGE_ID}_1")
    assert (post["post_type"], post["like_count"], post["repost_count"], post["reply_count"]) == (
        "original",
        31,
        4,
        5,
    )
    assert row(frames["posts"], "post_id", f"{PAGE_ID}_4")["media_count"] == 3
    assert f"{PAGE_ID}_5" not in set(frames["posts"]["post_id"])  # before the window


def test_the_pages_reply_answers_the_publics_question(frames):
    reply = row(frames["posts"], "post_id", "1_2")
    assert (reply["post_type"], reply["in_reply_to_post_id"]) == ("reply", "1_1")
    assert reply["in_reply_to_account_native_id"] == "900000000000001" and not reply["is_reply_to_self"]
    question = row(frames["interactions"], "interaction_id", "1_1")
    assert question["is_question"] and question["in_reply_to_post_id"] == f"{PAGE_ID}_1"
    assert not row(frames["interactions"], "interaction_id", "1_3")["is_question"]  # a reply: no question
    assert row(frames["interactions"], "interaction_id", "1_5")["is_question"]


def test_a_nested_reply_to_the_pages_own_comment_replies_to_that_comment(frames):
    own = row(frames["posts"], "post_id", "2_1")
    assert own["in_reply_to_post_id"] == f"{PAGE_ID}_2" and own["is_reply_to_self"]
    assert row(frames["interactions"], "interaction_id", "2_2")["in_reply_to_post_id"] == "2_1"
    # a reply under a comment of the public replies to the post
    assert row(frames["interactions"], "interaction_id", "1_3")["in_reply_to_post_id"] == f"{PAGE_ID}_1"


def test_thread_reads_are_the_posts_whose_comments_were_read_to_the_end(frames):
    assert set(frames["thread_reads"]["post_id"]) == {f"{PAGE_ID}_1", f"{PAGE_ID}_2", f"{PAGE_ID}_4"}
    assert row(frames["thread_reads"], "post_id", f"{PAGE_ID}_1")["reply_count"] == 5


def test_hostile_json_raises_naming_the_page_and_the_field(server, clock):
    pages, _ = run(clock=clock)
    index = next(n for n, page in enumerate(pages) if page.endpoint == "comments")
    body = json.loads(pages[index].body)
    body["data"][0]["created_time"] = {"$gt": ""}
    pages[index] = Page("comments", json.dumps(body).encode(), params=pages[index].params)
    with pytest.raises(
        NormalizationError, match=rf"comments \(id={PAGE_ID}_1\) page 1: field \$\.data\[0\]\.created_time"
    ):
        facebook.normalize(pages, ACCOUNT, OBSERVED_AT)
    with pytest.raises(NormalizationError, match=r"page \(id=x\) page 1: body is not valid JSON"):
        facebook.normalize([Page("page", b"{not json", params={"id": "x"})], ACCOUNT, OBSERVED_AT)
    with pytest.raises(NormalizationError, match="none of the 0 pages is a page page"):
        facebook.normalize([], ACCOUNT, OBSERVED_AT)


# -- the platform -------------------------------------------------------------------------------------


def test_importing_the_platform_loads_no_http_client():
    import subprocess
    import sys

    code = "import sys, rapport.sources.facebook; print('requests' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_page_ids_and_usernames_are_accepted_and_the_source_is_found():
    assert get_source("facebook") is facebook
    assert parse_account("facebook", "riviere.transit").account_id == "facebook:riviere.transit"
    assert parse_account("facebook", PAGE_ID).handle == PAGE_ID
    with pytest.raises(Exception, match="expected the Page's numeric id or its username"):
        parse_account("facebook", "@x")


def test_rapport_fetch_facebook_prints_its_progress_and_cost(server, monkeypatch):
    from rapport.cli import app

    monkeypatch.setenv(
        "RAPPORT_META_TOKEN_ADHOC", TOKEN
    )  # `rapport fetch` reads for the organization "adhoc"
    result = CliRunner().invoke(
        app, ["fetch", "facebook", "riviere.transit", "--since", "2026-11-16", "--until", "2026-11-23"]
    )
    assert result.exit_code == 0, result.output
    assert "facebook:riviere.transit" in result.output
    assert "18400 followers" in result.output
    assert f"{len(server.log)} API calls" in result.output
    assert TOKEN not in result.output


def test_the_documented_cost_per_page_per_night_is_what_it_measures(server, tmp_path, clock):
    """The figures of README.md and PLATFORM.cost, measured on the README's example Page: the first
    run (26 weeks), a night with activity once the backlog is read, a night with nothing new."""
    from rapport.thread_ledger import read_ledger, record_extraction
    from tests.platforms.graph_server import add_facebook_activity, example_facebook_page

    page = example_facebook_page(UNTIL)
    account = Account(organization_id="riviere-transit", platform="facebook", handle="examplepage")
    server.pages, server.page_cap = [page], None
    server.tokens[TOKEN] = Token(page.page_id)
    ledger_file = tmp_path / "ledger.json"
    measured = []
    for night in range(5):
        until = UNTIL + timedelta(days=night)
        if night in (1, 2, 3):
            add_facebook_activity(page, until - timedelta(hours=3))
        since = until - (timedelta(weeks=26) if night == 0 else timedelta(days=15))
        ledger = read_ledger(ledger_file, until.date(), lambda day, extraction: False)
        _, stats = run(account, Window(since, until), clock=clock, ledger=ledger)
        record_extraction(ledger_file, stats.threads, until.date(), f"night-{night}")
        measured.append((stats.requests, len(stats.threads.read)))
    assert measured[0] == (facebook.PLATFORM.cost.first_run, 40)
    assert measured[3] == (facebook.PLATFORM.cost.nightly, 3)
    assert measured[4] == (facebook.PLATFORM.cost.nothing_new, 0)
    assert server.answered(4, 17, 32, 613, 80001) == []
