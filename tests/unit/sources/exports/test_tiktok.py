"""TikTok Studio's exports: Content, Followers and Overview tabs, as CSV, .xlsx or the zips Studio downloads."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, timedelta

import pytest

from rapport.sources.exports import ExportFileError
from rapport.sources.tiktok.exports import (
    detect_content,
    detect_followers,
    detect_overview,
    read_content,
    read_followers,
    read_overview,
)
from tests.platforms.exports.tiktok import TikTokVideo, content_file, followers_file, overview_file, video_id
from tests.platforms.exports.x import XPost, content_csv

NEW_YEAR = [(date(2026, 12, 30) + timedelta(days=offset), 1000 + offset) for offset in range(4)]
"""Dec 30 .. Jan 2: a file spanning the new year."""
SPANNED = [day for day, _ in NEW_YEAR]


def test_days_without_a_year_spanning_the_new_year_are_placed_before_the_run_date():
    rows = read_followers(*followers_file("citylibrary", NEW_YEAR, kind="csv"), date(2027, 1, 5))
    assert [day for day, _ in rows.followers] == SPANNED
    assert (rows.first_day, rows.last_day) == (date(2026, 12, 30), date(2027, 1, 2))


def test_the_same_file_imported_later_keeps_its_dates():
    rows = read_followers(*followers_file("citylibrary", NEW_YEAR, kind="csv"), date(2027, 3, 1))
    assert [day for day, _ in rows.followers] == SPANNED


def test_the_run_date_is_the_only_clock():
    file = followers_file("citylibrary", NEW_YEAR, kind="csv")
    assert read_followers(*file, date(2028, 1, 5)).followers[0][0] == date(2027, 12, 30)


def test_french_months_and_headers_are_read():
    rows = read_followers(
        *followers_file("citylibrary", NEW_YEAR, language="fr", kind="csv"), date(2027, 1, 5)
    )
    assert b"30 d\xc3\xa9cembre" in followers_file("citylibrary", NEW_YEAR, language="fr", kind="csv")[1]
    assert rows.followers == NEW_YEAR


def test_followers_are_the_totals_not_the_daily_difference():
    rows = read_followers(*followers_file("citylibrary", NEW_YEAR), date(2027, 1, 5))
    assert [total for _, total in rows.followers] == [1000, 1001, 1002, 1003]


@pytest.mark.parametrize("kind", ["zip", "csv", "xlsx"])
def test_each_tab_is_read_by_its_content_as_zip_csv_or_xlsx(kind: str):
    rows = read_followers(*followers_file("citylibrary", NEW_YEAR, kind=kind), date(2027, 1, 5))
    assert rows.followers == NEW_YEAR


def test_only_the_zip_name_says_whose_followers_file_it_is():
    zipped = read_followers(*followers_file("citylibrary", NEW_YEAR), date(2027, 1, 5))
    alone = read_followers(*followers_file("citylibrary", NEW_YEAR, kind="csv"), date(2027, 1, 5))
    assert (zipped.identities, alone.identities) == ({"handle": "@citylibrary"}, {})


def test_content_gives_videos_with_their_id_time_and_handle_from_the_links():
    videos = [
        TikTokVideo(
            "Story time at the library", datetime(2026, 12, 30, 17, 45), likes=40, comments=3, shares=2
        ),
        TikTokVideo("Happy new year!", datetime(2027, 1, 1, 11, 0), likes=1234),
    ]
    rows = read_content(*content_file("citylibrary", videos, date(2027, 1, 3), kind="csv"), date(2027, 1, 5))
    newest, oldest = rows.posts
    assert (oldest.post_id, oldest.created_at) == (
        video_id(datetime(2026, 12, 30, 17, 45), 0),
        datetime(2026, 12, 30, 17, 45),
    )
    assert (oldest.likes, oldest.comments, oldest.shares, oldest.text) == (
        40,
        3,
        2,
        "Story time at the library",
    )
    assert newest.created_at == datetime(2027, 1, 1, 11, 0)
    assert rows.identities == {"handle": "@citylibrary"}
    assert (rows.first_day, rows.last_day) == (date(2026, 12, 30), date(2027, 1, 3))  # to the export day


def test_content_post_days_are_placed_before_the_export_day_when_the_id_holds_no_time():
    video = TikTokVideo("Old", datetime(2026, 12, 30, 9, 0), video_id="12345")
    rows = read_content(*content_file("citylibrary", [video], date(2027, 1, 3), kind="csv"), date(2027, 3, 1))
    assert rows.posts[0].created_at == datetime(2026, 12, 30)


def test_content_of_two_accounts_is_refused_naming_the_line():
    name, data = content_file(
        "citylibrary",
        [TikTokVideo("a", datetime(2026, 12, 30)), TikTokVideo("b", datetime(2026, 12, 31))],
        date(2027, 1, 3),
        kind="csv",
    )
    data = data.replace(
        b"@citylibrary/video/" + video_id(datetime(2026, 12, 30), 0).encode(), b"@townhall/video/1"
    )
    with pytest.raises(ExportFileError, match="videos of several accounts") as error:
        read_content(name, data, date(2027, 1, 5))
    assert error.value.line == 3


def test_thousands_separators_in_counts():
    name, data = overview_file("citylibrary", [(date(2026, 12, 30), 1, 2, 3)], kind="csv")
    data = data.replace(b'"1","0"', b'"12,345","0"')
    read_overview(name, data, date(2027, 1, 5))
    with pytest.raises(ExportFileError, match=r"line 2: column 'Video Views': '12,34' is not a count"):
        read_overview(name, data.replace(b"12,345", b"12,34"), date(2027, 1, 5))


def test_overview_gives_its_days_only():
    rows = read_overview(*overview_file("citylibrary", [(day, 5, 1, 0) for day in SPANNED]), date(2027, 1, 5))
    assert (rows.first_day, rows.last_day, rows.posts, rows.followers) == (
        date(2026, 12, 30),
        date(2027, 1, 2),
        [],
        [],
    )
    assert rows.identities == {"handle": "@citylibrary"}


def test_a_bad_date_names_the_file_member_and_line():
    name, data = followers_file("citylibrary", NEW_YEAR, kind="csv")
    with pytest.raises(ExportFileError) as error:
        read_followers(name, data.replace(b"December 31", b"Smarch 31"), date(2027, 1, 5))
    assert str(error.value) == "FollowerHistory.csv, line 3: column 'Date': 'Smarch 31' is not a date"


def test_a_missing_column_is_named():
    name, data = followers_file("citylibrary", NEW_YEAR, kind="csv")
    with pytest.raises(ExportFileError, match=r"missing column\(s\) 'Followers'"):
        read_followers(name, data.replace(b'"Followers"', b'"Fans"'), date(2027, 1, 5))


def test_a_formula_title_stays_text_in_a_csv_is_never_run_in_a_workbook_and_a_huge_cell_gives_one_line():
    video = TikTokVideo("=cmd|' /C calc'!A0", datetime(2026, 12, 30))
    csv_rows = read_content(
        *content_file("citylibrary", [video], date(2027, 1, 3), kind="csv"), date(2027, 1, 5)
    )
    assert csv_rows.posts[0].text == "=cmd|' /C calc'!A0"
    xlsx_rows = read_content(
        *content_file("citylibrary", [video], date(2027, 1, 3), kind="xlsx"), date(2027, 1, 5)
    )
    assert xlsx_rows.posts[0].text == ""  # a workbook's formula is read as its stored value: none, never run
    name, data = followers_file("citylibrary", NEW_YEAR, kind="csv")
    with pytest.raises(ExportFileError) as error:
        read_followers(name, data.replace(b"1001", b"7" * 1_000_000), date(2027, 1, 5))
    assert str(error.value).startswith("FollowerHistory.csv, line ") and len(str(error.value)) < 300


def test_a_zip_bomb_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("FollowerHistory.csv", b"0" * (101 * 1024 * 1024))
    with pytest.raises(ExportFileError, match="too large"):
        read_followers("Followers_citylibrary.zip", out.getvalue(), date(2027, 1, 5))


def test_detectors_say_yes_to_their_own_files_only():
    content = content_file("citylibrary", [TikTokVideo("a", datetime(2026, 12, 30))], date(2027, 1, 3))
    followers = followers_file("citylibrary", NEW_YEAR, kind="xlsx")
    overview = overview_file("citylibrary", [(date(2026, 12, 30), 1, 2, 3)], kind="csv")
    x_file = content_csv(
        "citylibrary", [XPost("hi", datetime(2026, 12, 30))], date(2026, 12, 1), date(2026, 12, 31)
    )
    junk = ("junk.zip", b"PK\x03\x04" + bytes(range(256)) * 8)
    files = (content, followers, overview, x_file, junk)
    assert [detect_content(*f) for f in files] == [True, False, False, False, False]
    assert [detect_followers(*f) for f in files] == [False, True, False, False, False]
    assert [detect_overview(*f) for f in files] == [False, False, True, False, False]
