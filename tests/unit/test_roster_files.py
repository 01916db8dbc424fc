"""Roster uploads -> tables: encodings, delimiters, XLSX by content, line numbers and every refusal.

Each test writes a real file the way the tool in question writes it (Excel's French CSV, Windows-1252, a
workbook saved by openpyxl...) and reads the bytes back from disk, as an upload would deliver them.
"""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tajiconnect.domains.roster import files
from tajiconnect.domains.roster.files import MAX_ROWS, RosterFileError, Table, read_table


def write_csv(path: Path, rows: list[list[str]], *, encoding: str, delimiter: str = ",", crlf: bool = False) -> bytes:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n").writerows(rows)
    return path.read_bytes()


def refused(data: bytes, filename: str = "upload.csv") -> str:
    with pytest.raises(RosterFileError) as caught:
        read_table(data, filename)
    assert caught.value.message == str(caught.value)
    return caught.value.message


ROSTER = [
    ["email", "first_name", "last_name", "groups"],
    ["eloise.ndongo@example.org", "Éloïse", "Ndongo", "Form 2 East"],
    ["jerome.mutua@example.org", "Jérôme", "Mutua", "Form 3; Chess"],
]


# --- encodings ------------------------------------------------------------------------------------------------


def test_utf8_without_bom(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "roster.csv", ROSTER, encoding="utf-8")
    assert not data.startswith(b"\xef\xbb\xbf")
    table = read_table(data, "roster.csv")
    assert (table.kind, table.encoding, table.delimiter) == ("csv", "utf-8", ",")
    assert table.headers == ROSTER[0]
    assert table.rows == ROSTER[1:]
    assert table.lines == [2, 3]


def test_utf8_with_bom_does_not_leak_into_the_first_header(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "roster.csv", ROSTER, encoding="utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    table = read_table(data, "roster.csv")
    assert table.encoding == "utf-8-sig"
    assert table.headers[0] == "email"
    assert table.rows[0][1] == "Éloïse"


def test_windows_1252_with_accents_curly_quotes_and_euro(tmp_path: Path) -> None:
    curly = ["Amani \u201cAmi\u201d", "N\u2019Dri \u2013 Kouassi", "Club \u20ac"]  # Excel's smart punctuation
    rows = [*ROSTER, ["amani@example.org", *curly]]
    data = write_csv(tmp_path / "roster.csv", rows, encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    table = read_table(data, "roster.csv")
    assert table.encoding == "cp1252"
    assert table.rows[0][1:3] == ["Éloïse", "Ndongo"]
    assert table.rows[2][1:] == curly


def test_a_long_windows_1252_file_is_not_taken_for_another_code_page(tmp_path: Path) -> None:
    rows = [["email", "name"]] + [[f"l{i}@example.org", f"Éloïse Ndongo {i}"] for i in range(3000)]
    table = read_table(write_csv(tmp_path / "long.csv", rows, encoding="cp1252"), "long.csv")
    assert table.encoding == "cp1252"
    assert table.rows[-1] == ["l2999@example.org", "Éloïse Ndongo 2999"]


def test_latin1_bytes_that_windows_1252_leaves_undefined(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    text = "email,name\n" + "".join(f"l{i}@example.org,Gaël Ndongo {i}\n" for i in range(50))
    path.write_bytes((text + "x@example.org,Zoë\x81\n").encode("latin-1"))  # 0x81: undefined in cp1252
    table = read_table(path.read_bytes(), "roster.csv")
    assert table.encoding == "latin_1"
    assert table.rows[0] == ["l0@example.org", "Gaël Ndongo 0"]
    assert table.rows[-1] == ["x@example.org", "Zoë\x81"]


def test_excel_unicode_text_is_utf16_tab_separated(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "roster.txt", ROSTER, encoding="utf-16", delimiter="\t", crlf=True)
    table = read_table(data, "roster.txt")
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")
    assert table.rows[1][1] == "Jérôme"


# --- delimiters ------------------------------------------------------------------------------------------------


def test_semicolons_as_french_excel_writes_them(tmp_path: Path) -> None:
    rows = [
        ["email", "nom complet", "classe", "moyenne"],
        ["eloise@example.org", "Ndongo, Éloïse", "6e A", "12,5"],
        ["jerome@example.org", "Mutua, Jérôme", "6e B", "14,25"],
    ]
    data = write_csv(tmp_path / "classe.csv", rows, encoding="cp1252", delimiter=";", crlf=True)
    assert b";Ndongo, \xc9lo\xefse;" in data  # commas need no quotes with this delimiter
    table = read_table(data, "classe.csv")
    assert (table.encoding, table.delimiter) == ("cp1252", ";")
    assert table.rows == rows[1:]


def test_tab_delimited(tmp_path: Path) -> None:
    table = read_table(write_csv(tmp_path / "r.tsv", ROSTER, encoding="utf-8", delimiter="\t"), "r.tsv")
    assert table.delimiter == "\t"
    assert table.rows[1] == ROSTER[2]


def test_pipe_delimited(tmp_path: Path) -> None:
    table = read_table(write_csv(tmp_path / "r.csv", ROSTER, encoding="utf-8", delimiter="|"), "r.csv")
    assert table.delimiter == "|"
    assert table.headers == ROSTER[0]


def test_a_single_column_falls_back_to_comma(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "r.csv", [["email"], ["a@example.org"], ["b@example.org"]], encoding="utf-8")
    table = read_table(data, "r.csv")
    assert table.delimiter == ","
    assert table.headers == ["email"]
    assert table.rows == [["a@example.org"], ["b@example.org"]]


def test_the_header_line_overrides_a_sniffer_guess_it_does_not_contain() -> None:
    data = b'email;name\n"a@example.org","Doe, Jane"\n'
    assert csv.Sniffer().sniff(data.decode(), delimiters=",;\t|").delimiter == ","  # misled by the quotes
    assert read_table(data, "r.csv").delimiter == ";"
    assert read_table(b"email;name\na@example.org;Doe, Jane\n", "r.csv").delimiter == ";"


def test_excel_sep_hint_line(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("sep=;\r\nemail;name\r\na@example.org;Jane, Doe\r\n", encoding="utf-8")
    table = read_table(path.read_bytes(), "r.csv")
    assert table.delimiter == ";"
    assert table.headers == ["email", "name"]
    assert table.rows == [["a@example.org", "Jane, Doe"]]
    assert table.lines == [3]


# --- shape of the table -------------------------------------------------------------------------------------------


def test_blank_rows_are_dropped_but_line_numbers_kept(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("email,name\n\na@example.org,A\n , \n,,\nb@example.org,B\n\n", encoding="utf-8")
    table = read_table(path.read_bytes(), "r.csv")
    assert table.rows == [["a@example.org", "A"], ["b@example.org", "B"]]
    assert table.lines == [3, 6]


def test_line_numbers_are_physical_lines_with_multiline_cells() -> None:
    data = b'email,name,notes\na@example.org,A,"one\ntwo\nthree"\nb@example.org,B,\n'
    table = read_table(data, "r.csv")
    assert table.rows[0][2] == "one\ntwo\nthree"
    assert table.lines == [2, 5]


def test_rows_are_padded_truncated_and_stripped() -> None:
    data = b"email , name,  role ,,\n  a@example.org  ,A\nb@example.org,B,teacher,extra,more,even more\n"
    table = read_table(data, "r.csv")
    assert table.headers == ["email", "name", "role"]  # stripped, trailing empty header cells dropped
    assert table.rows == [["a@example.org", "A", ""], ["b@example.org", "B", "teacher"]]
    assert all(len(row) == len(table.headers) for row in table.rows)


def test_an_empty_header_cell_between_named_ones_gets_a_placeholder() -> None:
    table = read_table(b"email,,name\na@example.org,x,A\n", "r.csv")
    assert table.headers == ["email", "column_2", "name"]


def test_table_is_frozen() -> None:
    table = read_table(b"email\na@example.org\n", "r.csv")
    assert isinstance(table, Table)
    with pytest.raises(AttributeError):
        table.kind = "xlsx"  # type: ignore[misc]


# --- XLSX -----------------------------------------------------------------------------------------------------------


def write_workbook(path: Path) -> bytes:
    workbook = openpyxl.Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title = "Notes"  # the first sheet is empty: the roster is on the second one
    hidden = workbook.create_sheet("Lookup")
    hidden["A1"] = "not the roster"
    hidden.sheet_state = "hidden"
    sheet = workbook.create_sheet("Roster")
    sheet["B3"], sheet["C3"], sheet["D3"], sheet["E3"], sheet["F3"] = "email", "name", "id", "born", "score"
    sheet.append([])
    sheet["B4"], sheet["C4"], sheet["D4"] = "eloise@example.org", "Éloïse Ndongo", 12345
    sheet["E4"], sheet["F4"] = datetime.date(2011, 3, 9), 12.5
    # row 5 left blank
    sheet["B6"], sheet["C6"], sheet["D6"] = "jerome@example.org", "  Jérôme Mutua ", 67890.0
    sheet["E6"], sheet["F6"], sheet["G6"] = datetime.datetime(2011, 4, 1, 8, 30), True, "beyond the header"
    workbook.save(path)
    return path.read_bytes()


def test_xlsx_first_visible_non_empty_sheet_with_cells_as_text(tmp_path: Path) -> None:
    data = write_workbook(tmp_path / "roster.xlsx")
    assert data.startswith(b"PK\x03\x04")
    table = read_table(data, "roster.xlsx")
    assert (table.kind, table.encoding, table.delimiter) == ("xlsx", None, None)
    assert table.headers == ["email", "name", "id", "born", "score"]
    assert table.rows == [
        ["eloise@example.org", "Éloïse Ndongo", "12345", "2011-03-09", "12.5"],
        ["jerome@example.org", "Jérôme Mutua", "67890", "2011-04-01T08:30:00", "TRUE"],
    ]
    assert table.lines == [4, 6]  # the sheet's row numbers


def test_xlsx_is_recognized_by_content_not_by_name(tmp_path: Path) -> None:
    data = write_workbook(tmp_path / "roster.xlsx")
    assert read_table(data, "roster.csv").kind == "xlsx"
    assert read_table(b"email\na@example.org\n", "roster.xlsx").kind == "csv"


def test_xlsx_refusals(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([f"c{i}" for i in range(101)])
    sheet.append(["x"] * 101)
    workbook.save(tmp_path / "wide.xlsx")
    assert "100 columns" in refused((tmp_path / "wide.xlsx").read_bytes(), "wide.xlsx")

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["email", "notes"])
    sheet.append(["a@example.org", "x" * 1001])
    workbook.save(tmp_path / "long.xlsx")
    message = refused((tmp_path / "long.xlsx").read_bytes(), "long.xlsx")
    assert "Row 2" in message and '"notes"' in message and "1000" in message

    workbook = openpyxl.Workbook()
    workbook.save(tmp_path / "empty.xlsx")
    assert refused((tmp_path / "empty.xlsx").read_bytes(), "empty.xlsx") == "The file is empty."


def test_a_zip_that_is_not_a_workbook_and_a_damaged_workbook(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    assert "neither a CSV" in refused(buffer.getvalue(), "roster.ods")

    data = write_workbook(tmp_path / "roster.xlsx")
    assert "could not be read" in refused(data[: len(data) // 2], "roster.xlsx")


def test_old_xls_asks_for_xlsx_or_csv(tmp_path: Path) -> None:
    path = tmp_path / "roster.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))  # an OLE2 compound file, as .xls are
    message = refused(path.read_bytes(), "roster.xls")
    assert ".xls" in message and ".xlsx" in message and "CSV" in message


# --- refusals --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\n\r\n  \n", b"\xef\xbb\xbf", b",,,\n,,\n"])
def test_empty_files(data: bytes) -> None:
    assert refused(data) == "The file is empty."


def test_header_without_rows() -> None:
    assert "no rows" in refused(b"email,first_name,last_name\n\n")


def test_no_header_row() -> None:
    assert "first row must name the columns" in refused(b"a@example.org,Amina,Wanjiru\nb@example.org,B,C\n")


def test_binary_junk(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(bytes(range(1, 32)) * 40 + bytes(range(128, 256)) * 20)
    assert "neither a CSV" in refused(path.read_bytes(), "roster.csv")


def test_nul_bytes_in_text() -> None:
    assert "NUL" in refused(b"email,name\na@example.org,A\x00B\n")


def test_too_many_rows(tmp_path: Path) -> None:
    rows = [["email"]] + [[f"l{i}@example.org"] for i in range(MAX_ROWS + 1)]
    data = write_csv(tmp_path / "big.csv", rows, encoding="utf-8")
    assert str(MAX_ROWS) in refused(data)
    assert len(read_table(write_csv(tmp_path / "ok.csv", rows[:-1], encoding="utf-8"), "ok.csv").rows) == MAX_ROWS


def test_too_many_columns() -> None:
    header = ",".join(f"c{i}" for i in range(101))
    assert "100 columns" in refused(f"{header}\n{'x,' * 100}x\n".encode())
    header = ",".join(f"c{i}" for i in range(100))
    assert len(read_table(f"{header}\n{'x,' * 99}x\n".encode(), "r.csv").headers) == 100


def test_a_cell_longer_than_1000_characters() -> None:
    assert len(read_table(f"email,notes\na@example.org,{'x' * 1000}\n".encode(), "r.csv").rows[0][1]) == 1000
    message = refused(f"email,notes\na@example.org,A\nb@example.org,{'x' * 1001}\n".encode())
    assert "Line 3" in message and '"notes"' in message


def test_an_unclosed_quote_is_reported_at_its_line() -> None:
    rows = "".join(f"l{i}@example.org,Learner {i}\n" for i in range(60))
    message = refused(f'email,name\na@example.org,"Amina\n{rows}'.encode())
    assert "Line 2" in message and "quotation mark" in message


def test_duplicated_header_names() -> None:
    assert '"Email"' in refused(b"email,name,Email\na@example.org,A,b@example.org\n")


def test_file_over_the_size_limit() -> None:
    data = b"email\n" + b"a@example.org\n" * (files.MAX_BYTES // 14 + 1)
    assert len(data) > files.MAX_BYTES
    assert "10 MiB" in refused(data)
