"""The Instagram source's contract and its normalization, from pages in the Graph API's shapes.

The pages (tests/fixtures/instagram/) are one extraction of @riviere_transit, an Instagram
professional account linked to the organization's Facebook Page, over the week of 2026-11-16,
built from the reference's example responses (IG User, IG Media, IG Comment, replies): an image
with a question the account answered, a carousel whose comments come in two pages and one of
whose comments holds more replies than field expansion showed, a reel without comments, an
older image the listing crossed, and the error page of a media deleted before its comments
were read. The extraction runs on the shared Graph client against the local Graph server
(tests/platforms/graph_server.py): the same account, linked to the organization's Page, over the same
week, with the server's ``page_cap`` of 2 making media, comments and replies several pages long.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from rapport.accounts import Account, parse_account
from rapport.records import RECORD_TYPES
from rapport.sources import (
    DeferredError,
    NormalizationError,
    Page,
    SourceError,
    Window,
    get_source,
    instagram,
)
from rapport.sources.graph import TokenError
from rapport.sources.instagram import settings
from rapport.sources.payloads import records_frame, records_frames
from tests.platforms.graph_server import FakeClock

FIXTURES = Path(__file__).parents[2] / "fixtures" / "instagram"
OWN = "17841405822304914"
NIGHT, RAMPS, REEL, OLDER = "17895695668004550", "17918920912340654", "17854360229135492", "17841000000000001"
ANA = "17860000000000001"
ACCOUNT = Account(organization_id="riviere-transit", platform="instagram", handle="riviere_transit")
OBSERVED_AT = datetime(2026, 11, 23)


def body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def landed() -> list[Page]:
    """The pages as the extraction lands them: the node of an edge's page under ``id``."""
    return [
        Page("me", body("me"), params={"fields": settings.ME_FIELDS}),
        Page("user", body("user"), params={"fields": settings.USER_FIELDS}),
        Page("media", body("media_1"), params={"fields": settings.MEDIA_FIELDS, "limit": "50"}),
        Page("media", body("media_2"), params={"limit": "50", "after": "QVFIUnpVbE"}),
        Page("comments", body("comments_night"), params={"id": NIGHT, "limit": "50"}),
        Page("comments", body("comments_ramps_1"), params={"id": RAMPS, "limit": "50"}),
        Page("replies", body("replies_ana"), params={"id": ANA, "limit": "50"}),
        Page("comments", body("comments_ramps_2"), params={"id": RAMPS, "after": "QVFIUkNtMU"}),
        Page("comments", body("error_deleted"), status=400, params={"id": "17800000000000099"}),
    ]


def normalized(pages: list[Page] | None = None) -> dict[str, pd.DataFrame]:
    return records_frames(instagram.normalize(landed() if pages is None else pages, ACCOUNT, OBSERVED_AT))


@pytest.fixture
def frames() -> dict[str, pd.DataFrame]:
    return normalized()


def row(frame: pd.DataFrame, column: str, value: str) -> dict[str, Any]:
    rows = frame[frame[column] == value]
    assert len(rows) == 1, f"{column}={value}: {len(rows)} rows"
    return rows.iloc[0].to_dict()


def edited(pages: list[Page], index: int, change) -> list[Page]:
    document = json.loads(pages[index].body)
    change(document)
    page = pages[index]
    pages[index] = Page(page.endpoint, json.dumps(document).encode(), page.status, page.params)
    return pages


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

    assert BatchValidator(tmp_path / "gx").validate(frames, run_name="instagram") == []


def test_the_snapshot_has_followers_follows_and_media_count_and_no_creation_date(frames):
    (snapshot,) = (
        frames["account_snapshots"]
        .astype(object)
        .where(frames["account_snapshots"].notna(), None)
        .to_dict("records")
    )
    assert (snapshot["account_native_id"], snapshot["handle"], snapshot["display_name"]) == (
        OWN,
        "riviere_transit",
        "Rivière Transit",
    )
    assert (snapshot["followers_count"], snapshot["following_count"], snapshot["posts_count"]) == (
        5120,
        87,
        212,
    )
    assert snapshot["account_created_at"] is None


def test_media_are_original_posts_a_carousel_counting_its_children_and_none_with_alt_text(frames):
    image = row(frames["posts"], "post_id", NIGHT)
    assert (image["post_type"], image["media_count"], image["media_with_alt_text_count"]) == (
        "original",
        1,
        0,
    )
    assert image["text"].startswith("Night buses from Monday.")
    assert (image["reply_count"], image["like_count"], image["link_count"], image["mention_count"]) == (
        4,
        120,
        1,
        1,
    )
    carousel = row(frames["posts"], "post_id", RAMPS)
    assert (carousel["media_count"], carousel["like_count"], carousel["reply_count"]) == (
        3,
        0,
        6,
    )  # likes hidden
    reel = row(frames["posts"], "post_id", REEL)
    assert (reel["post_type"], reel["media_count"], reel["like_count"]) == ("original", 1, 40)
    # The media the listing crossed below the window is a post too: its counts are refreshed.
    assert row(frames["posts"], "post_id", OLDER)["reply_count"] == 2


def test_the_accounts_reply_answers_the_publics_question_with_its_response_time(frames):
    question = row(frames["interactions"], "interaction_id", "17873440459141021")
    assert (question["is_question"], question["in_reply_to_post_id"]) == (True, NIGHT)
    answer = row(frames["posts"], "post_id", "17881770991003328")
    assert (answer["post_type"], answer["in_reply_to_post_id"]) == ("reply", "17873440459141021")
    assert (answer["in_reply_to_account_native_id"], answer["is_reply_to_self"]) == (
        "17841401111111111",
        False,
    )
    assert answer["created_at"] - question["created_at"] == pd.Timedelta(hours=1.5)


def test_a_public_reply_in_a_thread_is_an_interaction_and_no_question(frames):
    # Under the public's comment: it replies to the media; under the account's own, to that comment.
    thanks = row(frames["interactions"], "interaction_id", "17890000000000003")
    assert (thanks["is_question"], thanks["in_reply_to_post_id"]) == (False, NIGHT)
    under_own = row(frames["interactions"], "interaction_id", "17860000000000006")
    assert (under_own["is_question"], under_own["in_reply_to_post_id"]) == (False, "17860000000000005")


def test_a_question_mark_inside_a_link_is_no_question(frames):
    assert not row(frames["interactions"], "interaction_id", "17870913679156914")["is_question"]


def test_a_comment_without_from_is_known_by_its_username(frames):
    # `from` was added to IG Comments in October 2021: a comment may come without it.
    comment = row(frames["interactions"], "interaction_id", "17870913679156914")
    assert (comment["author_native_id"], comment["author_handle"]) == ("username:youssef.b", "youssef.b")


def test_the_accounts_comment_without_from_is_its_reply_by_its_username():
    def drop_from(document):
        del document["data"][0]["replies"]["data"][0]["from"]

    frames = normalized(edited(landed(), 4, drop_from))
    assert row(frames["posts"], "post_id", "17881770991003328")["post_type"] == "reply"
    assert "17881770991003328" not in set(frames["interactions"]["interaction_id"])


def test_the_accounts_own_top_level_comment_is_a_reply_to_its_own_media(frames):
    own = row(frames["posts"], "post_id", "17860000000000005")
    assert (own["post_type"], own["in_reply_to_post_id"], own["is_reply_to_self"]) == ("reply", RAMPS, True)
    assert (own["reply_count"], own["mention_count"]) == (1, 1)


def test_replies_beyond_the_expansion_are_read_from_the_replies_pages(frames):
    answer = row(frames["posts"], "post_id", "17860000000000003")
    assert answer["in_reply_to_post_id"] == ANA
    assert row(frames["interactions"], "interaction_id", ANA)["is_question"]
    assert not row(frames["interactions"], "interaction_id", "17860000000000002")["is_question"]
    assert len(frames["interactions"][frames["interactions"]["interaction_id"] == "17860000000000002"]) == 1


def test_thread_reads_are_the_media_read_in_full_at_their_comments_count(frames):
    reads = dict(zip(frames["thread_reads"]["post_id"], frames["thread_reads"]["reply_count"], strict=True))
    assert reads == {NIGHT: 4, RAMPS: 6, "17860000000000005": 1}


def test_a_media_whose_replies_were_not_all_read_is_not_read_in_full():
    pages = [page for page in landed() if page.endpoint != "replies"]
    # The carousel's comment of Ana shows one reply of three: the carousel, and the account's own
    # comment under it, wait for a night that reads them whole.
    assert set(normalized(pages)["thread_reads"]["post_id"]) == {NIGHT}


def test_the_error_page_of_a_deleted_media_is_skipped_and_another_error_page_refused():
    frames = normalized()  # the deleted media's 400 (code 100, subcode 33) is passed over
    assert len(frames["posts"]) == 4 + 3  # the media, and the account's three comments
    pages = landed()
    pages.append(Page("comments", b'{"error": {"code": 2, "type": "OAuthException"}}', 500, {"id": NIGHT}))
    with pytest.raises(NormalizationError, match=rf"comments \(id={NIGHT}\) page 2: HTTP status 500"):
        instagram.normalize(pages, ACCOUNT, OBSERVED_AT)


def test_malformed_json_raises_naming_the_page():
    pages = landed()
    pages[3] = Page("media", b"{not json", params=pages[3].params)
    with pytest.raises(NormalizationError, match=r"media page 2: body is not valid JSON"):
        instagram.normalize(pages, ACCOUNT, OBSERVED_AT)


def test_a_missing_field_raises_naming_the_page_and_the_field():
    def drop_timestamp(document):
        del document["data"][0]["replies"]["data"][0]["timestamp"]

    with pytest.raises(
        NormalizationError,
        match=rf"comments \(id={NIGHT}\) page 1: field \$\.data\[0\]\.replies\.data\[0\]\.timestamp: "
        "required field is missing",
    ):
        normalized(edited(landed(), 4, drop_timestamp))


def test_a_page_linked_to_another_instagram_account_is_refused_naming_both():
    def other(document):
        document["instagram_business_account"]["username"] = "someone_else"

    with pytest.raises(
        NormalizationError, match=r"me page 1: .*linked to 'someone_else', not 'riviere_transit'"
    ):
        normalized(edited(landed(), 0, other))

    def unlinked(document):
        del document["instagram_business_account"]

    with pytest.raises(NormalizationError, match="no linked Instagram professional account"):
        normalized(edited(landed(), 0, unlinked))


def test_normalize_refuses_pages_without_the_account():
    with pytest.raises(NormalizationError, match="none of the 0 pages is a me page"):
        instagram.normalize([], ACCOUNT, OBSERVED_AT)
    with pytest.raises(NormalizationError, match="none of the 1 pages is a user page"):
        instagram.normalize(landed()[:1], ACCOUNT, OBSERVED_AT)


def test_a_media_published_after_the_window_is_left_for_the_next_run_date():
    def later(document):
        document["data"][0]["timestamp"] = "2026-11-23T06:00:00+0000"

    frames = normalized(edited(landed(), 2, later))
    assert NIGHT not in set(frames["posts"]["post_id"])


# -- the platform ---------------------------------------------------------------------------------------


def test_importing_the_platform_loads_no_http_client():
    import subprocess
    import sys

    code = "import sys, rapport.sources.instagram; print('requests' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_usernames_are_accepted_lowercased_and_malformed_ones_refused_with_the_hint():
    assert get_source("instagram") is instagram
    assert parse_account("instagram", "Riviere.Transit_").handle == "riviere.transit_"
    for malformed in ("@riviere", ".riviere", "riviere.", "riv..iere", "a" * 31, "rivière"):
        with pytest.raises(ValueError, match="Instagram username without '@'"):
            parse_account("instagram", malformed)


def test_another_platforms_account_is_refused():
    with pytest.raises(SourceError, match="not an instagram account"):
        instagram.extract_with_stats(parse_account("youtube", "@riviere_transit"), None)  # type: ignore[arg-type]


# -- extract, against the local Graph server ------------------------------------------------------------

TOKEN = "EAAGriviereTransitPageToken0123456789"
PAGE_ID = "100000000000314"
IG_ID = "17841405822304914"
SINCE = datetime(2026, 11, 16, tzinfo=UTC)
UNTIL = datetime(2026, 11, 23, tzinfo=UTC)
WINDOW = Window(SINCE, UNTIL)
QUESTION, ANSWER = "17800000000000011", "17800000000000012"
LONG_THREAD = "17800000000000021"
ASKED_TAG, PARTNER_TAG = "17920000000000001", "17920000000000003"


def served_world():
    """@riviere_transit linked to its Page: a media whose question the account answered 90 minutes
    later, a carousel with a comment holding 5 replies (2 shown by the expansion), a reel with comments
    turned off, a media with comments, three older media (the listing stops at the first of them); and
    the media of others tagging it: a question, a partner's post, its own, older ones."""
    from tests.platforms.graph_server import FacebookPage, IgComment, IgMedia, IgUser, TaggedMedia

    page = FacebookPage(PAGE_ID, "riviere.transit", "Rivière Transit")
    night = IgMedia("17900000000000001", "2026-11-21T09:00:00+0000", "Night buses from Monday. Questions?")
    night.comments = [
        IgComment(
            QUESTION,
            "17841401111111111",
            "ana.b",
            "Does it run on Sundays?",
            "2026-11-21T10:00:00+0000",
            replies=[
                IgComment(ANSWER, IG_ID, "riviere_transit", "Yes, all week.", "2026-11-21T11:30:00+0000")
            ],
        ),
        IgComment("17800000000000013", "17841402222222222", "ben", "Great", "2026-11-21T12:00:00+0000"),
    ]
    carousel = IgMedia(
        "17900000000000002", "2026-11-20T09:00:00+0000", "Ramps", "CAROUSEL_ALBUM", 30, ["IMAGE"] * 3
    )
    carousel.comments = [
        IgComment(
            LONG_THREAD,
            "17841403333333333",
            "chloe",
            "Which stations?",
            "2026-11-20T10:00:00+0000",
            replies=[
                IgComment(
                    f"1780000000000003{n}",
                    f"1784140444444444{n}",
                    f"p{n}",
                    "+1",
                    f"2026-11-20T1{n}:10:00+0000",
                )
                for n in range(1, 6)
            ],
        )
    ]
    reel = IgMedia("17900000000000003", "2026-11-19T09:00:00+0000", "Reel", "VIDEO", comments_disabled=True)
    other = IgMedia("17900000000000004", "2026-11-18T09:00:00+0000", "Works")
    other.comments = [
        IgComment("17800000000000041", "17841405555555555", "dan", "ok", "2026-11-18T10:00:00+0000")
    ]
    older = [IgMedia(f"1790000000000009{n}", f"2026-11-0{n}T09:00:00+0000", "Old") for n in range(1, 4)]
    older[0].comments = [
        IgComment("17800000000000091", "17841406666666666", "eve", "?", "2026-11-09T10:00:00+0000")
    ]
    page.instagram = IgUser(
        IG_ID, "riviere_transit", "Rivière Transit", 5120, 87, [night, carousel, reel, other, *older]
    )
    page.instagram.tagged = [
        TaggedMedia(ASKED_TAG, "2026-11-22T08:00:00+0000", "Does line 4 run late now?", "ana.b"),
        TaggedMedia("17920000000000002", "2026-11-21T08:00:00+0000", "Us", "riviere_transit"),
        TaggedMedia(PARTNER_TAG, "2026-11-20T08:00:00+0000", "Riding https://museum.example/?ride", "museum"),
        TaggedMedia("17920000000000004", "2026-11-17T08:00:00+0000", "Ramps!", "chloe"),
        TaggedMedia("17920000000000005", "2026-11-12T08:00:00+0000", "Last week", "dan"),
        TaggedMedia("17920000000000006", "2026-11-01T08:00:00+0000", "Before", "eve"),
        TaggedMedia("17920000000000007", "2026-10-20T08:00:00+0000", "Long before", "fay"),
    ]
    return page


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(UNTIL)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> Iterator[Any]:
    from tests.platforms.graph_server import GraphServer, Token

    with GraphServer(
        [served_world()], tokens={TOKEN: Token(PAGE_ID)}, page_cap=2, clock=clock.time
    ) as served:
        monkeypatch.setenv("RAPPORT_GRAPH_BASE_URL", served.url)
        monkeypatch.setenv("RAPPORT_META_TOKEN_RIVIERE_TRANSIT", TOKEN)
        yield served


def run(
    account: Account = ACCOUNT, window: Window = WINDOW, clock: FakeClock | None = None, **kwargs: Any
) -> tuple[list[Page], Any]:
    clock = clock or FakeClock(UNTIL)
    pages, stats = instagram.extract_with_stats(
        account, window, sleep=clock.sleep, clock=clock.time, rng=random.Random(7), max_attempts=3, **kwargs
    )
    return list(pages), stats


@pytest.fixture
def served(server, clock) -> tuple[list[Page], Any, dict[str, pd.DataFrame]]:
    pages, stats = run(clock=clock)
    return pages, stats, records_frames(instagram.normalize(pages, ACCOUNT, OBSERVED_AT))


def paths(server, suffix: str) -> list[str]:
    return [call.path.split("/", 2)[-1] for call in server.log if call.path.endswith(suffix)]


def test_the_linked_account_is_found_through_me_with_the_pinned_version(server, served):
    first = server.log[0]
    assert first.path == "/v26.0/me" and first.query["fields"] == "instagram_business_account{id,username}"
    assert server.log[1].path == f"/v26.0/{IG_ID}"
    assert all(call.token == TOKEN and not call.token_in_url for call in server.log)


def test_a_page_linked_to_another_account_fails_naming_both_usernames(server, clock):
    other = Account(organization_id="riviere-transit", platform="instagram", handle="someone_else")
    with pytest.raises(SourceError, match=r"linked to 'riviere_transit', not 'someone_else'") as raised:
        run(other, clock=clock)
    assert "\n" not in str(raised.value) and len(server.log) == 1


def test_media_are_paged_by_cursors_down_to_the_first_media_older_than_the_window(server, served):
    _, stats, frames = served
    media_calls = [call for call in server.log if call.path.endswith(f"{IG_ID}/media")]
    # 7 media, 2 a page: the third page holds the first media older than SINCE; the fourth is never asked.
    assert len(media_calls) == 3 == stats.media_pages
    assert (
        "after" not in media_calls[0].query and media_calls[1].query["after"] != media_calls[2].query["after"]
    )
    assert "17900000000000091" in set(frames["posts"]["post_id"])  # crossed: its counts are refreshed
    assert "17900000000000093" not in set(frames["posts"]["post_id"])  # on the page never asked
    assert paths(server, "/comments") == [
        f"{m}/comments" for m in ("17900000000000001", "17900000000000002", "17900000000000004")
    ]


def test_a_comment_with_more_replies_than_shown_is_read_through_its_replies_edge(server, served):
    _, stats, frames = served
    assert paths(server, "/replies") == [f"{LONG_THREAD}/replies"] * 3  # 5 replies, 2 a page
    assert stats.reply_pages == 3
    replies = frames["interactions"][frames["interactions"]["in_reply_to_post_id"] == "17900000000000002"]
    assert len(replies) == 1 + 5
    assert "17900000000000002" in set(frames["thread_reads"]["post_id"])


def test_the_accounts_reply_answers_the_question_with_its_response_time(served):
    _, _, frames = served
    question = row(frames["interactions"], "interaction_id", QUESTION)
    answer = row(frames["posts"], "post_id", ANSWER)
    assert question["is_question"] and answer["in_reply_to_post_id"] == QUESTION
    assert answer["post_type"] == "reply" and not answer["is_reply_to_self"]
    assert answer["created_at"] - question["created_at"] == pd.Timedelta(hours=1.5)


def test_the_media_tagging_the_account_are_read_by_cursors_without_next_down_to_the_window(server, served):
    _, stats, frames = served
    calls = [call for call in server.log if call.path.endswith(f"{IG_ID}/tags")]
    # 7 tagging media, 2 a page, no paging.next (the edge gives none): the third page holds the first
    # older than SINCE; the fourth is never asked.
    assert len(calls) == 3 == stats.tag_pages
    assert calls[0].query["fields"] == "id,caption,timestamp,username,permalink"
    assert "after" not in calls[0].query and calls[1].query["after"] != calls[2].query["after"]
    mentions = frames["interactions"][frames["interactions"]["interaction_type"] == "mention"]
    assert "17920000000000004" in set(mentions["interaction_id"])
    assert "17920000000000007" not in set(mentions["interaction_id"])  # on the page never asked


def test_the_tags_end_at_their_empty_page_when_none_is_older_than_the_window(server, clock):
    server.pages[0].instagram.tagged = server.pages[0].instagram.tagged[:4]  # all in the window
    pages, stats = run(clock=clock)
    tags = [page for page in pages if page.endpoint == "tags"]
    assert stats.tag_pages == 3 and json.loads(tags[-1].body) == {"data": []}


def test_a_media_tagging_the_account_is_a_mention_and_a_question_when_it_asks(served):
    _, _, frames = served
    asked = row(frames["interactions"], "interaction_id", ASKED_TAG)
    assert (asked["interaction_type"], asked["is_question"]) == ("mention", True)
    assert (asked["author_native_id"], asked["author_handle"]) == ("username:ana.b", "ana.b")
    assert pd.isna(asked["in_reply_to_post_id"]) and asked["account_id"] == "instagram:riviere_transit"
    assert not row(frames["interactions"], "interaction_id", PARTNER_TAG)["is_question"]  # '?' in a link
    assert "17920000000000002" not in set(frames["interactions"]["interaction_id"])  # its own media


def test_a_token_without_instagram_manage_comments_skips_the_tags_edge_and_reads_the_account(server, clock):
    from tests.platforms.graph_server import Token

    server.tokens[TOKEN] = Token(PAGE_ID, missing=frozenset({"instagram_manage_comments"}))
    # The window of the reel with comments turned off: no comments nor replies to read.
    window = Window(datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC))
    pages, stats = run(window=window, clock=clock)
    assert [(page.endpoint, page.status) for page in pages] == [
        ("me", 200),
        ("user", 200),
        ("media", 200),
        ("media", 200),
        ("tags", 403),
    ]
    assert b"instagram_manage_comments" in pages[-1].body  # Graph's answer is landed
    assert stats.skipped == ["tags (instagram_manage_comments)"]
    records = instagram.normalize(pages, ACCOUNT, OBSERVED_AT)
    assert records["interactions"] == [] and "17900000000000003" in {
        post["post_id"] for post in records["posts"]
    }


def test_a_media_with_comments_disabled_is_not_asked_for_comments(server, served):
    _, _, frames = served
    assert not paths(server, "17900000000000003/comments")
    assert row(frames["posts"], "post_id", "17900000000000003")["reply_count"] == 0


def test_a_media_deleted_before_its_comments_are_read_is_landed_and_skipped(server, clock):
    from tests.platforms.graph_server import missing_object_body

    server.override = lambda path, query: (
        (400, missing_object_body("17900000000000001")) if path == "17900000000000001/comments" else None
    )
    pages, stats = run(clock=clock)
    failed = [page for page in pages if page.status == 400]
    assert len(failed) == 1 and failed[0].params["id"] == "17900000000000001"
    assert stats.media_missing == 1 and "17900000000000002" in stats.threads.read  # the next ones are read
    records = instagram.normalize(pages, ACCOUNT, OBSERVED_AT)
    assert "17900000000000001" not in {read["post_id"] for read in records["thread_reads"]}
    assert QUESTION not in {interaction["interaction_id"] for interaction in records["interactions"]}


def test_an_expired_token_fails_naming_the_organization_and_the_connection(server, clock):
    from tests.platforms.graph_server import Token

    server.tokens[TOKEN] = Token(PAGE_ID, expired=True)
    with pytest.raises(TokenError) as raised:
        run(clock=clock)
    message = str(raised.value)
    assert "organization riviere-transit" in message and "expired" in message
    assert "RAPPORT_META_TOKEN_RIVIERE_TRANSIT" in message and "rapport_meta_riviere_transit" in message
    assert TOKEN not in message and len(server.log) == 1


def test_without_a_token_the_extraction_fails_in_one_line_naming_the_variable_and_the_connection(
    server, monkeypatch
):
    monkeypatch.delenv("RAPPORT_META_TOKEN_RIVIERE_TRANSIT")
    with pytest.raises(
        SourceError,
        match=r"^instagram:riviere_transit: no access token for organization riviere-transit: set "
        r"RAPPORT_META_TOKEN_RIVIERE_TRANSIT or the password of the Airflow Connection rapport_meta_riviere_transit$",
    ):
        run()
    assert server.log == []


def test_usage_at_95_percent_is_paced_and_deferred_without_ever_receiving_a_throttling_code(server, clock):
    server.budget = 100
    server.spend(TOKEN, 94)
    with pytest.raises(DeferredError, match=r"usage is at 99 %"):
        run(clock=clock)
    assert server.answered(4, 17, 32, 613, 80001, 80002) == []
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
    server.tokens.clear()  # an unknown token: Graph's 190 error names no token, nor does Rapport's
    with pytest.raises(TokenError) as raised:
        run(clock=clock)
    assert TOKEN not in str(raised.value)


def test_the_next_night_reads_only_the_media_whose_comments_count_changed(server, clock, tmp_path):
    from rapport.thread_ledger import read_ledger, record_extraction
    from tests.platforms.graph_server import IgComment

    ledger_file = tmp_path / "ledger.json"
    ledger = read_ledger(ledger_file, UNTIL.date(), lambda day, extraction: False)
    _, first = run(clock=clock, ledger=ledger)
    record_extraction(ledger_file, first.threads, UNTIL.date(), "night-0")
    assert sorted(first.threads.read) == ["17900000000000001", "17900000000000002", "17900000000000004"]

    user = server.pages[0].instagram
    user.media[3].comments.append(
        IgComment("17800000000000042", "17841407777777777", "fay", "Sunday?", "2026-11-23T20:00:00+0000")
    )
    until = UNTIL + timedelta(days=1)
    ledger = read_ledger(ledger_file, until.date(), lambda day, extraction: False)
    server.log.clear()
    _, second = run(window=Window(SINCE + timedelta(days=1), until), clock=clock, ledger=ledger)
    assert second.threads.read == ["17900000000000004"]
    assert paths(server, "/comments") == ["17900000000000004/comments"] and not paths(server, "/replies")


def test_rapport_fetch_instagram_prints_its_progress_and_cost(server, monkeypatch):
    from rapport.cli import app

    monkeypatch.setenv(
        "RAPPORT_META_TOKEN_ADHOC", TOKEN
    )  # `rapport fetch` reads for the organization "adhoc"
    result = CliRunner().invoke(
        app, ["fetch", "instagram", "riviere_transit", "--since", "2026-11-16", "--until", "2026-11-23"]
    )
    assert result.exit_code == 0, result.output
    assert "instagram:riviere_transit" in result.output
    assert "5120 followers" in result.output
    assert f"{len(server.log)} API calls" in result.output
    assert TOKEN not in result.output


@pytest.mark.slow
def test_the_served_records_pass_the_validation_suites(served, tmp_path):
    from rapport.validation import BatchValidator

    _, _, frames = served
    assert BatchValidator(tmp_path / "gx").validate(frames, run_name="instagram-served") == []


def measure_nights(server, clock, tmp_path) -> list[tuple[int, int]]:
    """Requests and media read on five nights of the README's example account: the first run (26
    weeks), three nights with activity, one with nothing new (15-day windows after the first)."""
    from rapport.thread_ledger import read_ledger, record_extraction
    from tests.platforms.graph_server import Token, add_instagram_activity, example_instagram_account

    page = example_instagram_account(UNTIL)
    account = Account(organization_id="riviere-transit", platform="instagram", handle="exampleaccount")
    server.pages, server.page_cap = [page], None
    server.tokens[TOKEN] = Token(page.page_id)
    ledger_file = tmp_path / "ledger.json"
    measured = []
    for night in range(5):
        until = UNTIL + timedelta(days=night)
        if night in (1, 2, 3):
            add_instagram_activity(page.instagram, until - timedelta(hours=3))
        since = until - (timedelta(weeks=26) if night == 0 else timedelta(days=15))
        ledger = read_ledger(ledger_file, until.date(), lambda day, extraction: False)
        _, stats = run(account, Window(since, until), clock=clock, ledger=ledger)
        record_extraction(ledger_file, stats.threads, until.date(), f"night-{night}")
        measured.append((stats.requests, len(stats.threads.read)))
    assert server.answered(4, 17, 32, 613, 80001, 80002) == []
    return measured


def test_the_documented_cost_per_account_per_night_is_what_it_measures(server, tmp_path, clock):
    """The figures of README.md and PLATFORM.cost, measured on the README's example account."""
    import re

    measured = measure_nights(server, clock, tmp_path)
    cost = instagram.PLATFORM.cost
    assert measured[0] == (cost.first_run, 40)
    assert measured[1:4] == [(44, 40), (8, 4), (cost.nightly, 3)]  # the backlog, then a steady night
    assert measured[4] == (cost.nothing_new, 0)
    readme = (Path(instagram.__file__).parent / "README.md").read_text()
    figures = [int(n) for n in re.findall(r"^\| [^|]+ \| \*\*(\d+)\*\* \|", readme, re.MULTILINE)]
    assert figures == [cost.first_run, cost.nightly, cost.nothing_new]
