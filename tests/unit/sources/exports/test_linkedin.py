"""LinkedIn Page analytics exports: each quirk of the workbooks LinkedIn writes, malformed and
hostile files, and the detectors."""

from __future__ import annotations

import importlib
import io
import random
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from rapport.sources import get_platform
from rapport.sources.contract import COMPONENTS
from rapport.sources.exports import ExportFileError, parsing
from rapport.sources.linkedin import exports, settings
from tests.platforms.exports.linkedin import (
    LinkedInPost,
    content_sheets,
    content_workbook,
    file_name,
    followers_workbook,
    page_workbook,
    visitors_workbook,
    workbook,
)

RUN_DATE = date(2026, 12, 1)
POSTS = [
    LinkedInPost("Our new opening hours", date(2026, 11, 3), likes=12, comments=2, reposts=1, activity=7101),
    LinkedInPost("Night of reading: the programme", date(2026, 11, 28), likes=1234, activity=7102),
]
CONTENT = file_name("city-library", "content")


def read(data: bytes, name: str = CONTENT):
    return exports.read_content(name, data, RUN_DATE)


def error_of(data: bytes, name: str = CONTENT, reader=exports.read_content) -> str:
    with pytest.raises(ExportFileError) as raised:
        reader(name, data, RUN_DATE)
    return str(raised.value)


# --------------------------------------------------------------------------- the content export


def test_reads_the_posts_of_a_legacy_xls_content_export_as_linkedin_writes_it():
    rows = read(content_workbook(POSTS, kind="xls"))
    assert rows.format == "linkedin_content"
    assert [
        (post.post_id, post.created_at, post.text, post.likes, post.comments, post.shares)
        for post in rows.posts
    ] == [
        ("urn:li:activity:7101", datetime(2026, 11, 3), "Our new opening hours", 12, 2, 1),
        ("urn:li:activity:7102", datetime(2026, 11, 28), "Night of reading: the programme", 1234, 0, 0),
    ]
    first = rows.posts[0]
    assert first.url == "https://www.linkedin.com/feed/update/urn:li:activity:7101"
    assert (first.post_type, first.media_count, first.mentions, first.language) == (
        "original",
        None,
        None,
        None,
    )
    assert (rows.first_day, rows.last_day) == (date(2026, 11, 3), date(2026, 11, 28))
    assert rows.followers == [] and rows.notes == []


def test_reads_the_export_saved_again_as_xlsx():
    assert read(
        content_workbook(POSTS, kind="xlsx"), file_name("city-library", "content", kind="xlsx")
    ) == read(content_workbook(POSTS, kind="xls"))


def test_tells_xls_from_xlsx_by_content_not_by_extension():
    saved_as_xlsx_kept_the_name = content_workbook(POSTS, kind="xlsx")
    assert [post.post_id for post in read(saved_as_xlsx_kept_the_name, CONTENT).posts] == [
        "urn:li:activity:7101",
        "urn:li:activity:7102",
    ]
    assert exports.detect_content(CONTENT, saved_as_xlsx_kept_the_name)


def test_finds_the_header_below_the_note_row_of_all_posts_and_names_lines_as_the_sheet_counts_them():
    sheets = content_sheets(POSTS)
    assert len(sheets["All posts"][0]) == 1  # the note row, above the header
    rows = read(workbook(sheets))
    assert [post.line for post in rows.posts] == [3, 4]


def test_the_days_covered_are_the_metrics_sheets_first_and_last_date_not_the_posts():
    days = [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 30)]
    rows = read(content_workbook(POSTS, days))
    assert (rows.first_day, rows.last_day) == (date(2026, 11, 1), date(2026, 11, 30))


def test_without_a_metrics_sheet_the_days_covered_are_the_posts_first_and_last():
    sheets = content_sheets(POSTS)
    del sheets["Metrics"]
    rows = read(workbook(sheets))
    assert (rows.first_day, rows.last_day) == (date(2026, 11, 3), date(2026, 11, 28))


def test_without_an_all_posts_sheet_a_content_export_says_so_in_its_notes():
    sheets = content_sheets(POSTS)
    del sheets["All posts"]
    rows = read(workbook(sheets))
    assert rows.posts == []
    assert rows.notes == ["no sheet 'All posts': the posts of these days are not in this file"]


def test_the_post_id_is_the_urn_in_the_post_link_else_the_link():
    sheets = content_sheets(POSTS)
    sheets["All posts"][2][1] = "https://www.linkedin.com/feed/update/urn:li:ugcPost:7199?utm=x"
    sheets["All posts"][3][1] = "https://lnkd.in/abc"
    ids = [(post.post_id, post.url) for post in read(workbook(sheets)).posts]
    assert ids == [
        ("urn:li:ugcPost:7199", "https://www.linkedin.com/feed/update/urn:li:ugcPost:7199?utm=x"),
        ("https://lnkd.in/abc", "https://lnkd.in/abc"),
    ]


def test_reads_a_workbook_holding_the_sheets_of_every_export_as_the_content_export():
    data = page_workbook(POSTS, [(date(2026, 10, 30), 3), (date(2026, 10, 31), 2)])
    assert exports.format_of("page.xls", data) == "linkedin_content"
    assert exports.detect_content("page.xls", data)
    assert not exports.detect_followers("page.xls", data) and not exports.detect_visitors("page.xls", data)
    rows = read(data, "page.xls")
    assert len(rows.posts) == 2
    assert (rows.first_day, rows.last_day) == (
        date(2026, 10, 30),
        date(2026, 11, 28),
    )  # New followers included
    assert rows.followers == []
    assert rows.notes[0].startswith("sheet 'New followers' gives the day's new followers (5 over its days")


# --------------------------------------------------------------------------- locale


def test_reads_french_headers_and_sheet_names():
    rows = read(content_workbook(POSTS, language="fr"))
    assert [(post.post_id, post.text, post.likes) for post in rows.posts] == [
        ("urn:li:activity:7101", "Our new opening hours", 12),
        ("urn:li:activity:7102", "Night of reading: the programme", 1234),
    ]


def test_reads_french_thousands_separators_and_leaves_percentages_aside():
    sheets = content_sheets(POSTS, language="fr")
    header = sheets["Tous les posts"][1]
    likes, comments = header.index("Réactions"), header.index("Commentaires")
    assert sheets["Tous les posts"][3][likes] == "1\u202f234"  # as the builder writes a French count
    sheets["Tous les posts"][2][likes] = "2\u00a0345"
    sheets["Tous les posts"][2][comments] = "1.002"
    assert sheets["Tous les posts"][2][header.index("Taux d'engagement")] == "5,0\u00a0%"
    rows = read(workbook(sheets))
    assert [(post.likes, post.comments) for post in rows.posts] == [(2345, 1002), (1234, 0)]


def test_reads_english_dates_month_first_and_french_dates_day_first():
    early = [
        LinkedInPost("A", date(2026, 11, 3), activity=1),
        LinkedInPost("B", date(2026, 12, 1), activity=2),
    ]
    english, french = content_sheets(early), content_sheets(early, language="fr")
    assert english["All posts"][2][5] == "11/03/2026" and french["Tous les posts"][2][5] == "03/11/2026"
    for sheets in (english, french):
        assert [post.created_at for post in read(workbook(sheets)).posts] == [
            datetime(2026, 11, 3),
            datetime(2026, 12, 1),
        ]


def test_a_day_above_12_in_the_column_settles_the_order_whatever_the_language():
    sheets = content_sheets(POSTS)  # English headers
    sheets["All posts"][2][5] = "03/11/2026"
    sheets["All posts"][3][5] = "28/11/2026"  # only a day-first column holds a 28th month
    assert [post.created_at for post in read(workbook(sheets)).posts] == [
        datetime(2026, 11, 3),
        datetime(2026, 11, 28),
    ]


@pytest.mark.parametrize("kind", ["xls", "xlsx"])
def test_reads_date_cells_as_well_as_date_text(kind: str):
    as_cells = content_workbook(POSTS, language="fr", kind=kind, date_cells=True)
    sheets = parsing.workbook_sheets("x", as_cells)
    assert sheets["Tous les posts"].rows[2][1][5] == "2026-11-03"  # a date cell, not LinkedIn's text
    assert [post.created_at for post in read(as_cells).posts] == [
        datetime(2026, 11, 3),
        datetime(2026, 11, 28),
    ]
    assert read(as_cells).first_day == date(2026, 11, 3)


def test_finds_sheets_renamed_in_excel_by_their_header_row():
    sheets = content_sheets(POSTS)
    renamed = {"Sheet1": sheets["Metrics"], "Posts 2026": sheets["All posts"]}
    rows = read(workbook(renamed, kind="xlsx"))
    assert [post.post_id for post in rows.posts] == ["urn:li:activity:7101", "urn:li:activity:7102"]


# --------------------------------------------------------------------------- followers and visitors


def test_new_followers_are_the_days_gains_not_a_total_so_no_followers_and_a_note():
    gains = [(date(2026, 11, 1), 3), (date(2026, 11, 2), 0), (date(2026, 11, 3), 4)]
    for language in ("en", "fr"):
        data = followers_workbook(gains, language=language)
        rows = exports.read_followers(file_name("city-library", "followers"), data, RUN_DATE)
        assert rows.format == "linkedin_followers"
        assert (rows.first_day, rows.last_day) == (date(2026, 11, 1), date(2026, 11, 3))
        assert rows.posts == [] and rows.followers == []
        assert len(rows.notes) == 1 and "gives the day's new followers (7 over its days" in rows.notes[0]
        assert "not the Page's follower count: no followers recorded" in rows.notes[0]


def test_a_visitors_export_lists_no_post_but_its_days_count():
    days = [date(2026, 11, 2), date(2026, 11, 9)]
    for language, kind in (("en", "xls"), ("fr", "xlsx")):
        data = visitors_workbook(days, language=language, kind=kind)
        rows = exports.read_visitors(file_name("city-library", "visitors", kind=kind), data, RUN_DATE)
        assert (rows.format, rows.first_day, rows.last_day, rows.posts) == (
            "linkedin_visitors",
            date(2026, 11, 2),
            date(2026, 11, 9),
            [],
        )


def test_a_file_of_another_export_is_refused_by_a_reader_naming_both():
    data = followers_workbook([(date(2026, 11, 1), 3)])
    message = error_of(data, "x.xls", exports.read_content)
    assert message == (
        "x.xls: a LinkedIn followers export (sheet 'New followers'), "
        "not a content export (sheets 'All posts', 'Metrics')"
    )


# --------------------------------------------------------------------------- whose file


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("city-library_content_1764460800000.xls", {"handle": "city-library"}),
        ("City-Library_followers_1764460800000 (1).xls", {"handle": "city-library"}),
        ("inbox/12345_visitors_1764460800000.xlsx", {"handle": "12345"}),
        ("City_Library_Lyon_updates_1764460800000.xls", {"name": "City_Library_Lyon"}),
        ("export.xls", {}),
    ],
)
def test_whose_file_it_is_comes_from_the_name_linkedin_gives_it(name: str, expected: dict[str, str]):
    assert exports.identities(name) == expected
    assert read(content_workbook(POSTS), name).identities == expected


# --------------------------------------------------------------------------- malformed files


def test_a_missing_column_names_the_file_the_sheet_and_the_header_line():
    sheets = content_sheets(POSTS)
    for row in sheets["All posts"][1:]:
        del row[1]  # Post link
    assert error_of(workbook(sheets)) == (
        f"{CONTENT}, sheet 'All posts', line 2: missing column(s) 'Post link': "
        "not a file of this format, or columns removed"
    )


def test_a_bad_date_names_the_file_the_sheet_the_line_and_the_text():
    sheets = content_sheets(POSTS)
    sheets["All posts"][3][5] = "13/13/2026"
    assert error_of(workbook(sheets)) == (
        f"{CONTENT}, sheet 'All posts', line 4: column 'Created date': '13/13/2026' is not a date"
    )


def test_a_bad_date_in_a_daily_sheet_names_its_line():
    sheets = content_sheets(POSTS, [date(2026, 11, 3), date(2026, 11, 4)], language="fr")
    sheets["Indicateurs"][2][0] = "hier"
    assert (
        error_of(workbook(sheets))
        == f"{CONTENT}, sheet 'Indicateurs', line 3: column 'Date': 'hier' is not a date"
    )


def test_a_bad_count_names_the_file_the_sheet_the_line_and_the_text():
    sheets = content_sheets(POSTS)
    sheets["All posts"][2][14] = "12 likes"
    assert (
        error_of(workbook(sheets))
        == f"{CONTENT}, sheet 'All posts', line 3: column 'Likes': '12 likes' is not a count"
    )


def test_a_post_without_a_link_is_refused_naming_its_line():
    sheets = content_sheets(POSTS)
    sheets["All posts"][3][1] = ""
    assert (
        error_of(workbook(sheets))
        == f"{CONTENT}, sheet 'All posts', line 4: column 'Post link' is empty: the post has no id"
    )


def test_a_workbook_without_a_linkedin_sheet_is_refused_naming_its_sheets():
    data = workbook({"Videos": [["Content", "Views"], ["Trailer", 10]]}, kind="xlsx")
    assert error_of(data, "x.xlsx") == (
        "x.xlsx: no sheet of a LinkedIn Page export (All posts, Metrics, New followers, Visitor metrics): "
        "sheets 'Videos'"
    )


def test_an_export_of_an_empty_date_range_is_refused():
    assert (
        error_of(content_workbook([], []))
        == f"{CONTENT}: no dated row: the export covers no day (an empty date range?)"
    )


# --------------------------------------------------------------------------- hostile input


def test_an_html_page_disguised_as_xls_is_refused_with_its_reason():
    page = b"\xef\xbb\xbf\r\n<html><body><table><tr><td>Post title</td></tr></table></body></html>"
    assert error_of(page).startswith(f"{CONTENT}: an HTML or XML page, not an .xls or .xlsx workbook")
    assert not exports.detect_content(CONTENT, page)


def test_a_huge_file_is_refused_before_it_is_read():
    huge = content_workbook(POSTS)[:8] + bytes(parsing.MAX_FILE_BYTES + 1)
    assert error_of(huge) == (
        f"{CONTENT}: {len(huge)} bytes, more than the {parsing.MAX_FILE_BYTES} an export can be"
    )
    assert not exports.detect_content(CONTENT, huge)


def test_an_xlsx_that_would_inflate_beyond_reason_is_refused_before_it_is_opened():
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(settings.MAX_UNZIPPED_BYTES))
    bomb = stream.getvalue()
    assert len(bomb) < 2 * 1024 * 1024
    assert error_of(bomb, "bomb.xlsx").startswith("bomb.xlsx: ")
    assert "bytes once unzipped, more than the 209715200 an export can be" in error_of(bomb, "bomb.xlsx")
    assert exports.format_of("bomb.xlsx", bomb) is None


def test_formulas_are_never_evaluated_and_a_title_starting_with_equals_stays_text():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "All posts"
    for row in content_sheets(POSTS)["All posts"]:
        sheet.append(row)
    sheet["O3"] = "=1000*1000"  # Likes of the first post: a formula with no cached value
    sheet["A4"] = "'=cmd|' /C calc'!A0"
    stream = io.BytesIO()
    book.save(stream)
    first, second = read(stream.getvalue()).posts
    assert first.likes is None  # unknown: never computed
    assert second.text == "'=cmd|' /C calc'!A0"


def test_a_huge_cell_is_read_whole():
    sheets = content_sheets([LinkedInPost("x" * 32_000, date(2026, 11, 3), activity=1)])
    assert read(workbook(sheets, kind="xlsx")).posts[0].text == "x" * 32_000


# --------------------------------------------------------------------------- the detectors


def test_each_detector_says_yes_on_its_exports_in_either_language_and_kind():
    for language in ("en", "fr"):
        for kind in ("xls", "xlsx"):
            content = content_workbook(POSTS, language=language, kind=kind)
            followers = followers_workbook([(date(2026, 11, 1), 1)], language=language, kind=kind)
            visitors = visitors_workbook([date(2026, 11, 1)], language=language, kind=kind)
            found = [
                [
                    detect("export", data)
                    for detect in (exports.detect_content, exports.detect_followers, exports.detect_visitors)
                ]
                for data in (content, followers, visitors)
            ]
            assert found == [[True, False, False], [False, True, False], [False, False, True]], (
                language,
                kind,
            )


def test_a_damaged_linkedin_workbook_is_detected_by_the_name_linkedin_gave_it_so_its_error_is_precise():
    sheets = content_sheets(POSTS)
    damaged = workbook({"Sheet1": [row[2:] for row in sheets["All posts"]]})
    assert exports.detect_content(CONTENT, damaged)
    assert not exports.detect_content("export.xls", damaged)


def test_the_detectors_say_no_to_other_formats_and_random_bytes():
    csv_export = "\ufeffDate,Tweet id,Tweet text,Impressions\n2026-11-30,1,hello,3\n".encode()
    youtube_zip = io.BytesIO()
    with zipfile.ZipFile(youtube_zip, "w") as archive:
        archive.writestr("Table data.csv", "Content,Video title,Views\nTotal,,10\n")
    tiktok_xlsx = workbook(
        {"Overview": [["Date", "Video Views", "Profile Views"], ["November 30", 3, 1]]}, kind="xlsx"
    )
    noise = random.Random(18).randbytes(4096)
    for data in (csv_export, youtube_zip.getvalue(), tiktok_xlsx, noise, parsing._OLE2 + noise, b""):
        for detect in (exports.detect_content, exports.detect_followers, exports.detect_visitors):
            assert detect("file.xls", data) is False


# --------------------------------------------------------------------------- the contract


def test_the_contract_declares_three_formats_whose_readers_and_detectors_exist_and_feed_every_component():
    platform = get_platform("linkedin")
    assert (platform.reads_api, platform.lowercase_handles) == (False, True)
    assert [export.name for export in platform.exports] == [
        "linkedin_content",
        "linkedin_followers",
        "linkedin_visitors",
    ]
    for export in platform.exports:
        for target in (export.reader, export.detector):
            module, _, function = target.partition(":")
            assert callable(getattr(importlib.import_module(module), function))
        assert [feed.component for feed in export.feeds] == list(COMPONENTS)
    content, followers, visitors = platform.exports
    assert [feed.component for feed in content.feeds if feed.fed] == [
        "trust_presence",
        "own_news_share",
        "non_promotional_share",
        "effort",
    ]
    assert not any(feed.fed for feed in (*followers.feeds, *visitors.feeds))
    assert platform.handle.fullmatch("city-library") and platform.handle.fullmatch("12345")
    assert not platform.handle.fullmatch("-city") and not platform.handle.fullmatch("city_library")
