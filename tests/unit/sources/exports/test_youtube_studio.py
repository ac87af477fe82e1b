"""YouTube Studio's Content export (``rapport.sources.youtube.exports``): the zip Studio downloads,
its quirks (a ``Total`` first row, French headers, numbers and dates, optional metrics), malformed
and hostile zips, and the detector."""

from __future__ import annotations

import importlib
import io
import struct
import zipfile
from datetime import date, datetime

import pytest

from rapport.sources.contract import COMPONENTS
from rapport.sources.exports import ExportFileError
from rapport.sources.youtube import CONTENT_EXPORT, PLATFORM
from rapport.sources.youtube.exports import (
    DAYS_NOT_HOURS,
    NO_FOLLOWERS,
    is_content_export,
    read_content_export,
)
from tests.platforms.exports.youtube_studio import (
    CHART,
    TABLE,
    TOTALS,
    Video,
    chart_csv,
    studio_zip,
    studio_zip_name,
    table_csv,
    totals_csv,
    zip_of,
)

FIRST, LAST = date(2026, 9, 1), date(2026, 11, 30)
NAME = studio_zip_name(FIRST, LAST, "City Library")
RUN_DATE = date(2026, 12, 1)
VIDEOS = [
    Video("dQw4w9WgXcQ", "Story time: autumn tales", date(2026, 11, 30), likes=1234, comments=56, shares=7),
    Video("a1B2c3D4e5F", "New opening hours, from Monday", date(2026, 10, 2), likes=8, comments=0, shares=2),
    Video("Zz_9-8Yy7Xx", "Join our book club", date(2026, 9, 1), likes=30, comments=4, shares=0),
]
DAYS = [(date(2026, 9, 1), 300), (date(2026, 10, 15), 450), (date(2026, 11, 30), 900)]


def read(data: bytes, name: str = NAME):
    return read_content_export(name, data, RUN_DATE)


def error_of(data: bytes, name: str = NAME) -> str:
    with pytest.raises(ExportFileError) as raised:
        read(data, name)
    return str(raised.value)


# ------------------------------------------------------------------ reading


def test_each_video_of_the_table_is_a_post_with_its_title_counts_and_publish_day():
    rows = read(studio_zip(VIDEOS, DAYS))
    assert rows.format == "youtube_studio"
    assert [post.post_id for post in rows.posts] == ["dQw4w9WgXcQ", "a1B2c3D4e5F", "Zz_9-8Yy7Xx"]
    first = rows.posts[0]
    assert first.created_at == datetime(2026, 11, 30)
    assert first.text == "Story time: autumn tales"
    assert (first.likes, first.comments, first.shares) == (1234, 56, 7)
    assert first.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert first.post_type == "original"
    assert first.line == 3  # the header, the Total row, then the first video


def test_the_period_and_the_channels_name_come_from_the_zips_name():
    rows = read(studio_zip(VIDEOS, [(date(2026, 10, 1), 5)]))  # the days say less than the name
    assert (rows.first_day, rows.last_day) == (FIRST, LAST)
    assert rows.identities == {"name": "City Library"}


def test_a_second_download_named_with_a_browsers_suffix_keeps_the_channels_name():
    rows = read(studio_zip(VIDEOS, DAYS), "Content 2026-09-01_2026-11-30 City Library (1).zip")
    assert rows.identities == {"name": "City Library"}
    assert (rows.first_day, rows.last_day) == (FIRST, LAST)


def test_there_are_no_followers_and_the_notes_say_why_and_that_hours_are_not_known():
    rows = read(studio_zip(VIDEOS, DAYS))
    assert rows.followers == []
    assert NO_FOLLOWERS in rows.notes
    assert DAYS_NOT_HOURS in rows.notes


def test_the_total_row_at_the_top_of_the_table_is_no_video():
    data = zip_of({TABLE: table_csv(VIDEOS)})
    assert table_csv(VIDEOS).decode().splitlines()[1].startswith("Total,")
    rows = read(data)
    assert "Total" not in [post.post_id for post in rows.posts]
    assert len(rows.posts) == len(VIDEOS)


def test_french_headers_numbers_and_dates_are_read():
    videos = [
        Video("dQw4w9WgXcQ", "L'heure du conte", date(2026, 11, 30), likes=1234, comments=1056, shares=12),
        Video("a1B2c3D4e5F", "Nouveaux horaires", date(2026, 9, 3), likes=5, comments=0, shares=0),
    ]
    data = studio_zip(videos, DAYS, language="fr")
    text = table_csv(videos, language="fr").decode()
    assert "Contenu,Titre de la vidéo" in text and "30 nov. 2026" in text and "1\u202f234" in text
    rows = read(data, "Contenu 2026-09-01_2026-11-30 Médiathèque.zip")
    assert [(post.post_id, post.created_at, post.likes, post.comments) for post in rows.posts] == [
        ("dQw4w9WgXcQ", datetime(2026, 11, 30), 1234, 1056),
        ("a1B2c3D4e5F", datetime(2026, 9, 3), 5, 0),
    ]
    assert rows.identities == {"name": "Médiathèque"}


def test_french_month_abbreviations_with_accents_are_read():
    videos = [
        Video("dQw4w9WgXcQ", "Février", date(2026, 2, 14)),
        Video("a1B2c3D4e5F", "Décembre", date(2025, 12, 24)),
        Video("Zz_9-8Yy7Xx", "Août", date(2026, 8, 1)),
    ]
    rows = read(studio_zip(videos, language="fr"), studio_zip_name(date(2025, 12, 1), date(2026, 8, 31)))
    assert [post.created_at.date() for post in rows.posts] == [
        date(2026, 2, 14),
        date(2025, 12, 24),
        date(2026, 8, 1),
    ]


def test_a_table_exported_without_likes_comments_and_shares_gives_none_and_says_so():
    rows = read(studio_zip(VIDEOS, DAYS, engagement=()))
    assert {(post.likes, post.comments, post.shares) for post in rows.posts} == {(None, None, None)}
    assert any("'Comments added'" in note for note in rows.notes)
    assert any("'Likes'" in note for note in rows.notes)


def test_only_the_metrics_not_added_to_the_table_are_none():
    rows = read(studio_zip(VIDEOS, DAYS, engagement=("likes", "shares")))
    assert (rows.posts[0].likes, rows.posts[0].comments, rows.posts[0].shares) == (1234, None, 7)
    assert [note for note in rows.notes if note.startswith("no ")] == [
        "no 'Comments added' column: the table was exported without it, so the posts have no such counts"
    ]


def test_an_id_starting_with_a_dash_loses_the_space_studio_writes_before_it():
    data = studio_zip([Video("-xYz123abcD", "Dash", date(2026, 10, 1))], DAYS)
    assert b"\n -xYz123abcD," in zip_members_of(data)[TABLE]
    assert [post.post_id for post in read(data).posts] == ["-xYz123abcD"]


def test_a_publish_time_with_an_hour_keeps_it_and_the_notes_then_do_not_say_hours_are_unknown():
    data = zip_of({TABLE: table_csv([Video("dQw4w9WgXcQ", "Live", "2026-10-01 18:30:00")])})
    rows = read(data)
    assert rows.posts[0].created_at == datetime(2026, 10, 1, 18, 30)
    assert DAYS_NOT_HOURS not in rows.notes


def test_videos_published_before_the_period_are_left_out_with_a_note():
    videos = [*VIDEOS, Video("OldOldOld01", "A hit from 2019", date(2019, 5, 4))]
    rows = read(studio_zip(videos, DAYS))
    assert "OldOldOld01" not in [post.post_id for post in rows.posts]
    assert any(note.startswith("1 video(s) published outside 2026-09-01..2026-11-30") for note in rows.notes)


def test_a_video_without_a_publish_time_is_left_out_with_a_note():
    rows = read(studio_zip([*VIDEOS, Video("Gone0000000", "", "")], DAYS))
    assert "Gone0000000" not in [post.post_id for post in rows.posts]
    assert any(note.startswith("1 video(s) without a publish time") for note in rows.notes)


# ------------------------------------------------------------------ the period without a name


def test_a_renamed_zip_takes_its_period_from_the_first_and_last_day_of_totals():
    rows = read(studio_zip(VIDEOS, DAYS), "export.zip")
    assert (rows.first_day, rows.last_day) == (date(2026, 9, 1), date(2026, 11, 30))
    assert rows.identities == {}


def test_without_totals_the_period_comes_from_the_chart_data():
    days = [(date(2026, 9, 2), 10), (date(2026, 11, 29), 10)]
    rows = read(studio_zip(VIDEOS, days, totals=False), "export.zip")
    assert (rows.first_day, rows.last_day) == (date(2026, 9, 2), date(2026, 11, 29))


def test_without_days_the_period_comes_from_the_videos_publish_dates():
    rows = read(studio_zip(VIDEOS, chart=False, totals=False), "export.zip")
    assert (rows.first_day, rows.last_day) == (date(2026, 9, 1), date(2026, 11, 30))
    assert len(rows.posts) == 3


def test_a_bad_day_in_totals_names_the_member_and_its_line():
    data = zip_of({TABLE: table_csv(VIDEOS), TOTALS: b"Date,Views\n2026-09-01,3\nsoon,4\n"})
    message = error_of(data, "export.zip")
    assert message == "export.zip, sheet 'Totals.csv', line 3: column 'Date': 'soon' is not a date"


# ------------------------------------------------------------------ malformed files


def test_a_missing_required_column_names_the_zip_the_member_and_the_header_line():
    data = zip_of({TABLE: table_csv(VIDEOS, drop=("published",))})
    message = error_of(data)
    assert message.startswith(
        f"{NAME}, sheet 'Table data.csv', line 1: missing column(s) 'Video publish time'"
    )


def test_a_bad_publish_date_names_its_line():
    data = zip_of({TABLE: table_csv([VIDEOS[0], Video("a1B2c3D4e5F", "x", "Nov 31, 2026")])})
    assert error_of(data) == (
        f"{NAME}, sheet 'Table data.csv', line 4: column 'Video publish time': 'Nov 31, 2026' is not a date"
    )


def test_a_bad_count_names_its_line_and_column():
    text = table_csv(VIDEOS).decode().replace(",1,234,", ",lots,").replace('"1,234"', "lots")
    data = zip_of({TABLE: text.encode()})
    assert error_of(data) == f"{NAME}, sheet 'Table data.csv', line 3: column 'Likes': 'lots' is not a count"


def test_a_row_whose_content_is_no_video_id_is_refused_at_its_line():
    data = zip_of({TABLE: table_csv([Video("not a video", "x", date(2026, 10, 1))])})
    assert error_of(data) == (
        f"{NAME}, sheet 'Table data.csv', line 3: column 'Content': 'not a video' is not a video id"
    )


def test_a_zip_without_table_data_names_the_zip_and_what_is_missing():
    data = zip_of({CHART: chart_csv(VIDEOS, DAYS), TOTALS: totals_csv(DAYS)})
    message = error_of(data)
    assert message.startswith(f"{NAME}: no 'Table data.csv' in the zip")


def test_an_empty_table_without_dates_anywhere_is_refused():
    data = zip_of({TABLE: table_csv([], total_row=False)})
    assert error_of(data, "export.zip") == (
        "export.zip, sheet 'Table data.csv': no dates: no period in the zip's name, no days, no videos"
    )


# ------------------------------------------------------------------ hostile input


def test_a_non_zip_with_a_zip_extension_is_refused_as_an_unreadable_zip():
    assert error_of(b"<html><body>Sign in</body></html>").startswith(f"{NAME}: not a readable zip")


def test_a_truncated_zip_is_refused_as_an_unreadable_zip():
    data = studio_zip(VIDEOS, DAYS)
    assert error_of(data[: len(data) // 2]).startswith(f"{NAME}: not a readable zip")


def test_a_zip_bomb_member_is_refused_before_it_is_inflated():
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(TABLE, "w", force_zip64=True) as member,
    ):
        chunk = b"\0" * (1024 * 1024)
        for _ in range(101):
            member.write(chunk)
    message = error_of(buffer.getvalue())
    assert message == f"{NAME}: Table data.csv: {101 * 1024 * 1024} bytes once unzipped, too large"


def test_members_that_together_inflate_beyond_an_exports_size_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in (TABLE, CHART, TOTALS):
            with archive.open(name, "w", force_zip64=True) as member:
                chunk = b"\0" * (1024 * 1024)
                for _ in range(70):
                    member.write(chunk)
    assert "once unzipped, more than the" in error_of(buffer.getvalue())


def test_a_member_that_inflates_beyond_the_size_its_header_declares_is_refused():
    data = bytearray(zip_of({TABLE: table_csv(VIDEOS)}))
    declared = 10  # the local header and the central directory both understate the member's size
    struct.pack_into("<I", data, 22, declared)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)
    assert error_of(bytes(data)).startswith(f"{NAME}: not a readable zip")


@pytest.mark.parametrize("slip", ["../../Table data.csv", "..\\..\\Table data.csv", "/abs/Table data.csv"])
def test_a_zip_slip_member_name_is_read_by_its_base_name_and_never_written(
    slip: str, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    data = zip_of({slip: table_csv(VIDEOS), "../../../evil.csv": b"x"})
    rows = read(data)
    assert len(rows.posts) == 3
    assert list(tmp_path.iterdir()) == []
    assert not (tmp_path.parent.parent / "Table data.csv").exists()


def test_a_huge_cell_is_refused_at_its_line():
    data = zip_of({TABLE: table_csv([Video("dQw4w9WgXcQ", "x" * 200_000, date(2026, 10, 1))])})
    message = error_of(data)
    assert message.startswith(f"{NAME}, sheet 'Table data.csv', line 3: not readable as CSV")


# ------------------------------------------------------------------ the detector


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_detector_says_yes_to_studios_content_zips(language: str):
    assert is_content_export(NAME, studio_zip(VIDEOS, DAYS, language=language))
    assert is_content_export("renamed.zip", studio_zip(VIDEOS, engagement=(), chart=False, totals=False))


def test_the_detector_says_yes_to_a_zip_unzipped_and_zipped_again_in_a_folder():
    assert is_content_export(
        NAME, zip_of({"Content 2026-09-01_2026-11-30/Table data.csv": table_csv(VIDEOS)})
    )


def test_the_detector_says_no_to_an_xlsx_workbook_which_is_a_zip_too():
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Content", "Video title", "Video publish time"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert buffer.getvalue().startswith(b"PK\x03\x04")
    assert not is_content_export("Table data.xlsx", buffer.getvalue())


def test_the_detector_says_no_to_another_tab_of_studio():
    traffic = b"Traffic source,Views,Watch time (hours)\nTotal,100,3.2\nYouTube search,60,2.0\n"
    assert not is_content_export(
        "Traffic source 2026-09-01_2026-11-30 City Library.zip", zip_of({TABLE: traffic})
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"PK\x03\x04 not really a zip",
        bytes(range(256)) * 16,
        table_csv(VIDEOS),  # the table itself, not zipped
        b"<html><body>Sign in</body></html>",
    ],
    ids=["empty", "zip-magic-junk", "random-bytes", "bare-csv", "html"],
)
def test_the_detector_says_no_to_junk_and_never_raises(data: bytes):
    assert not is_content_export(NAME, data)


def test_the_detector_says_no_to_an_encrypted_or_empty_member():
    data = bytearray(zip_of({TABLE: table_csv(VIDEOS)}))
    struct.pack_into("<H", data, 6, 1)  # the encrypted flag in the local header
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 8, 1)
    assert not is_content_export(NAME, bytes(data))
    assert not is_content_export(NAME, zip_of({TABLE: b""}))


# ------------------------------------------------------------------ the contract


def test_the_contract_declares_the_format_its_reader_its_detector_and_a_feed_per_component():
    assert PLATFORM.exports == (CONTENT_EXPORT,)
    assert [feed.component for feed in CONTENT_EXPORT.feeds] == list(COMPONENTS)
    module, _, function = CONTENT_EXPORT.reader.partition(":")
    assert getattr(importlib.import_module(module), function) is read_content_export
    module, _, function = CONTENT_EXPORT.detector.partition(":")
    assert getattr(importlib.import_module(module), function) is is_content_export
    assert not CONTENT_EXPORT.fed("followers")
    assert not PLATFORM.shows("account_snapshots", "posts_count")


def zip_members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_readme_has_a_row_per_component_saying_what_the_contract_says_it_feeds():
    from pathlib import Path

    import rapport.sources.youtube as package

    text = (Path(package.__file__).parent / "README.md").read_text(encoding="utf-8")
    section = text.split("### What the YouTube Studio Content export feeds", 1)[1]
    rows = {
        cells[0]: cells[1]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| component")
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    assert rows == {feed.component: "yes" if feed.fed else "no" for feed in CONTENT_EXPORT.feeds}
