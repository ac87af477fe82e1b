"""X's analytics exports: the tweet activity, content and overview CSVs, read as X writes them."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from rapport.sources.exports import ExportFileError
from rapport.sources.x.exports import (
    detect_content,
    detect_overview,
    detect_tweet_activity,
    read_content,
    read_overview,
    read_tweet_activity,
)
from tests.platforms.exports.tiktok import followers_file
from tests.platforms.exports.x import XPost, content_csv, overview_csv, snowflake, tweet_activity_csv

RUN = date(2026, 12, 5)
POSTS = [
    XPost(
        "New opening hours from Monday https://t.co/abc", datetime(2026, 11, 2, 9, 30), likes=12, reposts=3
    ),
    XPost("@reader_one @reader_two yes, the reading room is open", datetime(2026, 11, 30, 14, 5), replies=2),
]


def test_tweet_activity_export_gives_posts_with_times_counts_and_mentions():
    rows = read_tweet_activity(
        *tweet_activity_csv("CityLibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30)), RUN
    )
    assert rows.format == "x_tweet_activity"
    newest, oldest = rows.posts
    assert (oldest.created_at, oldest.likes, oldest.shares, oldest.comments) == (
        datetime(2026, 11, 2, 9, 30),
        12,
        3,
        0,
    )
    assert oldest.mentions == 0  # the link is no mention
    assert newest.post_type == "original"  # a reply in X's interface, but the file does not say to what
    assert newest.mentions == 2


def test_tweet_activity_period_comes_from_the_file_name_whose_end_date_is_the_day_after():
    rows = read_tweet_activity(
        *tweet_activity_csv("CityLibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30)), RUN
    )
    assert (rows.first_day, rows.last_day) == (date(2026, 11, 1), date(2026, 11, 30))


def test_tweet_activity_handle_comes_from_the_file_name_lowercased():
    rows = read_tweet_activity(
        *tweet_activity_csv("CityLibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30)), RUN
    )
    assert rows.identities == {"handle": "@citylibrary"}


def test_a_renamed_tweet_activity_file_gets_its_handle_from_the_links_and_its_period_from_the_posts():
    _, data = tweet_activity_csv("CityLibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30))
    rows = read_tweet_activity("november.csv", data, RUN)
    assert rows.identities == {"handle": "@citylibrary"}
    assert (rows.first_day, rows.last_day) == (date(2026, 11, 2), date(2026, 11, 30))


def test_a_tweet_activity_file_named_for_one_account_whose_links_are_anothers_is_refused():
    name, data = tweet_activity_csv("CityLibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30))
    other = name.replace("CityLibrary", "TownHall")
    with pytest.raises(
        ExportFileError, match=r"says @townhall, but this post's link is @citylibrary's"
    ) as error:
        read_tweet_activity(other, data, RUN)
    assert error.value.line == 2


def test_promoted_columns_holding_a_dash_and_counts_written_as_decimals_are_read():
    name, data = tweet_activity_csv("CityLibrary", POSTS[:1], date(2026, 11, 1), date(2026, 11, 30))
    assert b",12.0," in data and data.rstrip().endswith(b"-,-,-,-,-,-")
    assert read_tweet_activity(name, data, RUN).posts[0].likes == 12


def test_french_tweet_activity_headers_are_read():
    rows = read_tweet_activity(
        *tweet_activity_csv("CityLibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30), "fr"), RUN
    )
    assert [post.likes for post in rows.posts] == [0, 12]


def test_content_export_takes_the_time_from_the_snowflake_id_when_it_matches_the_written_day():
    rows = read_content(*content_csv("citylibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30)), RUN)
    assert [post.created_at for post in rows.posts] == [
        datetime(2026, 11, 30, 14, 5),
        datetime(2026, 11, 2, 9, 30),
    ]
    assert (rows.first_day, rows.last_day) == (date(2026, 11, 1), date(2026, 11, 30))
    assert rows.identities == {"handle": "@citylibrary"}


def test_content_export_keeps_the_written_day_when_the_id_is_no_snowflake_of_it():
    post = XPost("Hello", datetime(2026, 11, 27, 9, 0), post_id=snowflake(datetime(2025, 1, 1)))
    [read] = read_content(
        *content_csv("citylibrary", [post], date(2026, 11, 1), date(2026, 11, 30)), RUN
    ).posts
    assert read.created_at == datetime(2026, 11, 27)


def test_content_export_in_french_reads_its_days_with_weekdays():
    rows = read_content(*content_csv("citylibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30), "fr"), RUN)
    assert (
        b"lun. 2 nov. 2026"
        in content_csv("citylibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30), "fr")[1]
    )
    assert rows.posts[1].likes == 12


def test_thousands_separators_are_read_in_counts():
    name, data = content_csv(
        "citylibrary", [XPost("Hi", datetime(2026, 11, 2), likes=1234)], date(2026, 11, 1), date(2026, 11, 30)
    )
    data = data.replace(b",1234,", b',"1,234",')
    assert read_content(name, data, RUN).posts[0].likes == 1234


def test_a_file_listing_posts_of_two_accounts_is_refused_naming_the_line():
    name, data = content_csv("citylibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30))
    lines = data.decode().splitlines()
    lines[2] = lines[2].replace("x.com/citylibrary/", "x.com/townhall/")
    with pytest.raises(ExportFileError, match="posts of several accounts") as error:
        read_content(name, "\n".join(lines).encode(), RUN)
    assert error.value.line == 3


def test_a_bad_date_is_refused_naming_the_file_line_and_column():
    name, data = content_csv("citylibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30))
    data = data.replace(b"Mon, Nov 2, 2026", b"someday")
    with pytest.raises(ExportFileError) as error:
        read_content(name, data, RUN)
    assert str(error.value) == f"{name}, line 3: column 'Date': 'someday' is not a date"


def test_a_missing_column_is_named():
    name, data = content_csv("citylibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30))
    with pytest.raises(ExportFileError, match=r"missing column\(s\) 'Reposts'"):
        read_content(name, data.replace(b"Reposts", b"Something"), RUN)


def test_a_formula_cell_stays_text():
    post = XPost('=HYPERLINK("http://evil.example","x")', datetime(2026, 11, 2))
    [read] = read_content(
        *content_csv("citylibrary", [post], date(2026, 11, 1), date(2026, 11, 30)), RUN
    ).posts
    assert read.text == '=HYPERLINK("http://evil.example","x")'


def test_a_huge_cell_gives_one_line_naming_the_file_and_line():
    name, data = content_csv("citylibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30))
    data = data.replace(b"Mon, Nov 2, 2026", b"9" * 1_000_000)
    with pytest.raises(ExportFileError) as error:
        read_content(name, data, RUN)
    assert str(error.value).startswith(f"{name}, line 3") and len(str(error.value)) < 300


def test_overview_export_gives_its_days_and_no_followers_from_daily_gains():
    rows = read_overview(*overview_csv([(date(2026, 11, 29), 4, 1), (date(2026, 11, 30), 2, 0)]), RUN)
    assert (rows.first_day, rows.last_day, rows.posts, rows.followers) == (
        date(2026, 11, 29),
        date(2026, 11, 30),
        [],
        [],
    )
    assert "not a total of followers" in rows.notes[0]


def test_detectors_say_yes_to_their_own_files_only():
    activity = tweet_activity_csv("CityLibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30))
    content = content_csv("citylibrary", POSTS, date(2026, 11, 1), date(2026, 11, 30))
    overview = overview_csv([(date(2026, 11, 30), 1, 0)])
    tiktok = followers_file("citylibrary", [(date(2026, 11, 30), 10)], kind="csv")
    junk = ("junk.csv", bytes(range(256)) * 40)
    assert [detect_tweet_activity(*f) for f in (activity, content, overview, tiktok, junk)] == [
        True,
        False,
        False,
        False,
        False,
    ]
    assert [detect_content(*f) for f in (activity, content, overview, tiktok, junk)] == [
        False,
        True,
        False,
        False,
        False,
    ]
    assert [detect_overview(*f) for f in (activity, content, overview, tiktok, junk)] == [
        False,
        False,
        True,
        False,
        False,
    ]
