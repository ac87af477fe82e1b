"""The shared reading of export files: each quirk the platforms' exports have, on its own."""

from __future__ import annotations

import codecs
import io
import zipfile
from datetime import date, datetime

import pytest

from rapport.sources.exports import ExportFileError
from rapport.sources.exports.parsing import (
    Table,
    count_mentions,
    csv_table,
    decode_text,
    find_header,
    kind_of,
    parse_count,
    parse_decimal,
    place_years,
    read_moment,
    workbook_sheets,
    zip_members,
)

TABLE = Table("export.csv", [])
TEXT = 'Date,Likes\n2026-11-30,"1,234"\n'


def test_utf8_with_a_byte_order_mark_is_read_without_it():
    assert decode_text("f.csv", codecs.BOM_UTF8 + TEXT.encode()) == TEXT


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_read_with_or_without_its_byte_order_mark(encoding: str):
    assert decode_text("f.csv", TEXT.encode(encoding)) == TEXT


def test_a_csv_saved_again_by_excel_in_windows_1252_is_read():
    assert decode_text("f.csv", "Réactions\n".encode("cp1252")) == "Réactions\n"


def test_binary_content_is_refused_naming_the_file():
    with pytest.raises(ExportFileError, match=r"^f.csv: not a text file, a workbook or a zip"):
        decode_text("f.csv", b"\x00\x01\x02\x03binary")


def test_a_sep_first_line_sets_the_delimiter_and_is_not_a_row_but_lines_keep_their_numbers():
    table = csv_table("page.csv", 'sep=;\n"Date";"Primary"\n"2026-11-30";"12,5"\n')
    assert table.rows == [(2, ["Date", "Primary"]), (3, ["2026-11-30", "12,5"])]


def test_the_delimiter_is_sniffed_outside_quotes():
    table = csv_table("f.csv", 'Title;Likes\n"Hello, world";3\n')
    assert table.rows[1] == (2, ["Hello, world", "3"])


def test_a_quoted_cell_over_several_lines_keeps_the_lines_of_the_rows_after_it():
    table = csv_table("f.csv", 'Title,Likes\n"one\ntwo",3\nthree,4\n')
    assert table.rows[1:] == [(2, ["one\ntwo", "3"]), (4, ["three", "4"])]


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("1,234", 1234),
        ("1 234", 1234),
        ("1\u00a0234", 1234),
        ("1\u202f234\u202f567", 1234567),
        ("1.234", 1234),
        ("1'234", 1234),
        ("12.0", 12),
        ("12", 12),
        ("-", None),
        ("", None),
    ],
)
def test_counts_are_read_in_the_exports_locale(text: str, count: int | None):
    assert parse_count(TABLE, 4, "Likes", text) == count


def test_a_count_that_is_no_count_names_the_file_line_column_and_text():
    with pytest.raises(ExportFileError, match=r"^export.csv, line 4: column 'Likes': '12,5' is not a count$"):
        parse_count(TABLE, 4, "Likes", "12,5")


@pytest.mark.parametrize(
    ("text", "decimal_comma", "value"),
    [
        ("4.5%", False, 0.045),
        ("4,5 %", True, 0.045),
        ("4,5\u00a0%", True, 0.045),
        ("1,234.5", False, 1234.5),
        ("1 234,5", True, 1234.5),
        ("1.234,5", True, 1234.5),
        ("-", False, None),
    ],
)
def test_decimals_and_percentages_are_read_in_the_exports_locale(text: str, decimal_comma: bool, value):
    assert parse_decimal(TABLE, 2, "Engagement rate", text, decimal_comma=decimal_comma) == pytest.approx(
        value
    )


@pytest.mark.parametrize(
    ("text", "day_first", "moment"),
    [
        ("2026-11-30", False, datetime(2026, 11, 30)),
        ("2026-11-30 14:05 +0100", False, datetime(2026, 11, 30, 13, 5)),
        ("11/30/2026 2:05 pm", False, datetime(2026, 11, 30, 14, 5)),
        ("30/11/2026 14:05", True, datetime(2026, 11, 30, 14, 5)),
        ("Nov 30, 2026", False, datetime(2026, 11, 30)),
        ("Mar 3, 2026", False, datetime(2026, 3, 3)),
        ("30 nov. 2026", True, datetime(2026, 11, 30)),
        ("1er décembre 2026", True, datetime(2026, 12, 1)),
        ("Mon, Nov 30, 2026", False, datetime(2026, 11, 30)),
        ("lun., 30 nov. 2026", True, datetime(2026, 11, 30)),
    ],
)
def test_dates_are_read_as_the_exports_write_them_in_english_and_french(text: str, day_first: bool, moment):
    found = read_moment(TABLE, 3, "Date", text, day_first=day_first)
    assert found.at(found.year or 0) == moment


def test_a_date_that_does_not_exist_names_the_line_and_text():
    with pytest.raises(ExportFileError, match=r"line 3: column 'Date': '2026-02-30' is not a date"):
        read_moment(TABLE, 3, "Date", "2026-02-30", day_first=False)


def test_dates_without_a_year_are_placed_before_the_run_date_across_the_new_year():
    days = [
        read_moment(TABLE, 2, "Date", text, day_first=False)
        for text in ("Dec 30", "December 31", "Jan 1", "January 2")
    ]
    placed = place_years(days, date(2027, 1, 5))
    assert [moment.date() for moment in placed] == [
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 1),
        date(2027, 1, 2),
    ]
    # Newest first, as some tabs list them; imported later, the same days.
    assert place_years(days[::-1], date(2027, 3, 1)) == placed[::-1]
    french = [read_moment(TABLE, 2, "Date", text, day_first=True) for text in ("30 novembre", "1 décembre")]
    assert [moment.date() for moment in place_years(french, date(2026, 12, 1))] == [
        date(2026, 11, 30),
        date(2026, 12, 1),
    ]


def test_a_day_after_the_run_date_goes_to_the_year_before():
    [moment] = place_years([read_moment(TABLE, 2, "Date", "December 24", day_first=False)], date(2026, 12, 5))
    assert moment == datetime(2025, 12, 24)


def test_workbooks_are_told_by_content_and_read_sheet_by_sheet():
    import openpyxl
    import xlwt

    book = xlwt.Workbook()
    book.add_sheet("Metrics").write(0, 0, "Date")
    second = book.add_sheet("All posts")
    second.write(0, 0, "a note above the header")
    second.write(1, 0, "Post title")
    stream = io.BytesIO()
    book.save(stream)
    xls = stream.getvalue()
    workbook = openpyxl.Workbook()
    workbook.active.title = "New followers"
    workbook.active.append(["Date", "Total followers"])
    workbook.active.append([datetime(2026, 11, 30), 1234])
    stream = io.BytesIO()
    workbook.save(stream)
    xlsx = stream.getvalue()
    assert (kind_of(xls), kind_of(xlsx), kind_of(b"Date,Likes")) == ("xls", "zip", "text")
    sheets = workbook_sheets("page.xls", xls)
    assert list(sheets) == ["Metrics", "All posts"]
    assert sheets["All posts"].rows == [(1, ["a note above the header"]), (2, ["Post title"])]
    assert workbook_sheets("page.xlsx", xlsx)["New followers"].rows == [
        (1, ["Date", "Total followers"]),
        (2, ["2026-11-30", "1234"]),
    ]
    with pytest.raises(ExportFileError, match=r"^page.xls: not a readable .xls workbook"):
        workbook_sheets("page.xls", xls[:600])


def test_headers_are_found_below_notes_in_english_or_french_and_a_missing_one_is_named():
    table = csv_table("f.csv", "Exported on 2026-11-30\nDate de création,Réactions\n2026-11-30,3\n")
    columns = {"created": ["Created date", "Date de création"], "likes": ["Reactions", "Réactions"]}
    assert find_header(table, columns, ["created", "likes"]) == (1, {"created": 0, "likes": 1})
    with pytest.raises(ExportFileError, match=r"^f.csv, line 2: missing column\(s\) 'Comments'"):
        find_header(table, columns | {"comments": ["Comments"]}, ["created", "comments"])


def test_a_zip_is_read_by_member_base_names_and_a_bomb_is_refused(monkeypatch: pytest.MonkeyPatch):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Content 2026/Table data.csv", "Content,Views\n")
        archive.writestr("../../Totals.csv", "Date,Views\n")
    members = zip_members("content.zip", stream.getvalue())
    assert sorted(members) == ["Table data.csv", "Totals.csv"]
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Table data.csv", b"0" * 2_000_000)
    monkeypatch.setattr("rapport.sources.exports.parsing._MAX_ZIP_MEMBER_BYTES", 1_000_000)
    with pytest.raises(ExportFileError, match=r"^content.zip: "):
        zip_members("content.zip", bomb.getvalue())


def test_mentions_are_counted_outside_links():
    assert count_mentions("Thanks @citymuseum and @Friends_1! https://example.org/@notamention") == 2
