"""Report files (purpose ``report``) are what the app wrote: CSV as UTF-8 text, XLSX or PDF; anything else refused."""

from __future__ import annotations

import pytest

from tajiconnect.domains.storage.errors import StorageError
from tajiconnect.domains.storage.sniff import HEAD_BYTES, sniff


def test_utf8_csv_is_a_report_file_even_cut_inside_a_character():
    assert sniff("\ufeffLearner,Email\r\nAmina,a@x.example\r\n".encode(), "report") == "text/csv"
    cut = ("x" * (HEAD_BYTES - 1) + "é").encode()  # the head ends in the middle of "é"
    assert sniff(cut[:HEAD_BYTES], "report") == "text/csv"


def test_pdf_and_xlsx_reports_are_report_files():
    from tajiconnect.domains.reports.writers import PdfWriter, XlsxWriter

    for writer, expected in ((PdfWriter, "application/pdf"),
                             (XlsxWriter, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")):
        made = writer("Completion", ["Learner", "Course"])
        made.rows([["Amina", "Solar"]])
        assert sniff(made.finish()[:HEAD_BYTES], "report") == expected


@pytest.mark.parametrize("data", [b"GIF89a\x01\x00", b"a,b\x00c\n", b"\xff\xfe\x00a", b"a,\x1b[31m\n"])
def test_binary_or_control_characters_are_refused(data):
    with pytest.raises(StorageError) as refused:
        sniff(data, "report")
    assert refused.value.status == 415


def test_text_is_not_accepted_for_other_purposes():
    with pytest.raises(StorageError):
        sniff(b"Learner,Email\n", "document")
