"""The Instagram source's contract and its normalization, from pages in the Graph API's shapes.

The pages (tests/fixtures/instagram/) are one extraction of @riviere_transit, an Instagram
professional account linked to the organization's Facebook Page, over the week of 2026-11-16,
built from the reference's example responses (IG User, IG Media, IG Comment, replies): an image
with a question the account answered, a carousel whose comments come in two pages and one of
whose comments holds more replies than field expansion showed, a reel without comments, an
older image the listing crossed, and the error page of a media deleted before its comments
were read. The extraction itself runs on the shared Graph client and its local server.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rapport.accounts import Account, parse_account
from rapport.records import RECORD_TYPES
from rapport.sources import NormalizationError, Page, SourceError, get_source, instagram
from rapport.sources.instagram import settings
from rapport.sources.payloads import records_frame, records_frames

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


def test_the_token_is_named_per_organization():
    assert settings.token_variable("city-library") == "RAPPORT_META_TOKEN_CITY_LIBRARY"
    assert settings.connection_id("city-library") == "rapport_meta_city-library"


def test_without_a_token_the_extraction_fails_in_one_line_naming_the_variable_and_the_connection(monkeypatch):
    from rapport.sources.instagram.extraction import read_token

    monkeypatch.delenv("RAPPORT_META_TOKEN_RIVIERE_TRANSIT", raising=False)
    with pytest.raises(
        SourceError,
        match="RAPPORT_META_TOKEN_RIVIERE_TRANSIT or the password of the Airflow "
        "Connection rapport_meta_riviere-transit",
    ) as raised:
        read_token(ACCOUNT)
    assert "\n" not in str(raised.value)


def test_another_platforms_account_is_refused():
    with pytest.raises(SourceError, match="not an instagram account"):
        instagram.extract_with_stats(parse_account("youtube", "@riviere_transit"), None)  # type: ignore[arg-type]
