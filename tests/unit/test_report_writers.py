"""The report writers: the same rows read back from CSV, XLSX and PDF, formulas kept as text, XML-unsafe text."""

from __future__ import annotations

import csv
import io

import openpyxl
import pypdfium2

from tajiconnect.domains.reports.writers import writer_for

HEADER = ["Learner", "Email", "Progress %"]
ROWS = [["Amélie Ñandú <&> \"x\"", "a@example.org", 100], ["=HYPERLINK(1)", "b\x01@example.org", 0],
        ["Wanjiru Kamau", "", None]]


def write(fmt: str) -> bytes:
    writer = writer_for(fmt, "Course completion: Test/1", HEADER)
    writer.rows(ROWS[:2])
    writer.rows(ROWS[2:])
    return writer.finish()


def test_csv_has_a_bom_and_keeps_formulas_as_text():
    data = write("csv")
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [HEADER, ["Amélie Ñandú <&> \"x\"", "a@example.org", "100"],
                    ["'=HYPERLINK(1)", "b\x01@example.org", "0"], ["Wanjiru Kamau", "", ""]]


def test_xlsx_reads_back_with_numbers_as_numbers():
    book = openpyxl.load_workbook(io.BytesIO(write("xlsx")))
    sheet = book.worksheets[0]
    assert sheet.title == "Course completion  Test 1"
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        HEADER, ["Amélie Ñandú <&> \"x\"", "a@example.org", 100], ["'=HYPERLINK(1)", "b@example.org", 0],
        ["Wanjiru Kamau", None, None]]
    assert sheet["A1"].font.b and not sheet["A2"].font.b


def test_pdf_holds_the_title_header_and_rows_in_an_embedded_font():
    data = write("pdf")
    pdf = pypdfium2.PdfDocument(data)
    text = pdf[0].get_textpage().get_text_range()
    assert "Course completion: Test/1" in text and "Progress %" in text
    assert "Amélie Ñandú" in text and "Wanjiru Kamau" in text
    assert b"DejaVuSans" in data and b"/FontFile2" in data


def test_a_long_pdf_goes_over_pages_and_cuts_long_cells():
    writer = writer_for("pdf", "Long", HEADER)
    writer.rows([[f"Learner {i} " + "x" * 300, f"l{i}@example.org", i] for i in range(120)])
    pdf = pypdfium2.PdfDocument(writer.finish())
    assert len(pdf) >= 3
    last = pdf[len(pdf) - 1].get_textpage().get_text_range()
    assert "Learner 119" in last and "…" in last and "x" * 300 not in last
