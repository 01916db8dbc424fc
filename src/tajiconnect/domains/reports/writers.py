"""Report files: the same header and rows written as CSV, XLSX or PDF, a chunk of rows at a time.

* CSV: UTF-8 with a byte order mark (Excel), ``csv`` module quoting.
* XLSX: XlsxWriter's constant-memory mode (see :class:`XlsxWriter`).
* PDF: ReportLab, A4 landscape, a table of the rows page by page (header repeated, zebra rows) in the embedded
  DejaVu Sans (:func:`tajiconnect.pdf.register_fonts`), so names in any Latin script render; long cells are cut
  to their column's width. Drawn straight on the canvas, page by page, so 200,000 rows stay fast.

Text cells that a spreadsheet would run as a formula are kept as text (CSV injection) in CSV and XLSX.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any, Protocol

import xlsxwriter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from tajiconnect.pdf import register_fonts

FORMATS = ("csv", "xlsx", "pdf")
CONTENT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(value: Any) -> Any:
    """A cell as written: text that would start a formula gets a leading apostrophe; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class Writer(Protocol):
    def rows(self, rows: Sequence[Sequence[Any]]) -> None: ...

    def finish(self) -> bytes: ...


class CsvWriter:
    def __init__(self, title: str, header: Sequence[str]) -> None:
        self.buffer = io.StringIO()
        self.buffer.write("\ufeff")
        self.writer = csv.writer(self.buffer)
        self.writer.writerow(header)

    def rows(self, rows: Sequence[Sequence[Any]]) -> None:
        self.writer.writerows([safe(v) for v in row] for row in rows)

    def finish(self) -> bytes:
        return self.buffer.getvalue().encode()


class XlsxWriter:
    """An XLSX workbook written with XlsxWriter in its constant-memory mode (each row goes to a temporary file as
    it comes): one sheet, a bold frozen header, numbers as numbers, text never read as a formula, a URL or a
    number. (openpyxl's write-only mode, without lxml, took about 30 s on 200,000 rows; docs/performance.md.)"""

    def __init__(self, title: str, header: Sequence[str]) -> None:
        self.out = io.BytesIO()
        self.book = xlsxwriter.Workbook(self.out, {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False,
        })
        self.sheet = self.book.add_worksheet(_sheet_title(title))
        self.sheet.freeze_panes(1, 0)
        self.sheet.write_row(0, 0, [str(h) for h in header], self.book.add_format({"bold": True}))
        self.rows_written = 1

    def rows(self, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            self.sheet.write_row(self.rows_written, 0, [_cell(v) for v in row])
            self.rows_written += 1

    def finish(self) -> bytes:
        self.book.close()
        return self.out.getvalue()


#: Characters XML 1.0 cannot hold (control characters but tab, newline, carriage return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _cell(value: Any) -> Any:
    value = safe(value)
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    return value


def _sheet_title(title: str) -> str:
    cleaned = "".join(" " if c in "[]:*?/\\" else c for c in title).strip()
    return (cleaned or "Report")[:31]


class PdfWriter:
    """A table over as many pages as it takes (see the module)."""

    SIZE = 7.5
    LINE = 11.0
    MARGIN = 28.0

    def __init__(self, title: str, header: Sequence[str]) -> None:
        self.font, self.bold = register_fonts()[:2]
        self.out = io.BytesIO()
        self.canvas = Canvas(self.out, pagesize=landscape(A4), pageCompression=1)
        self.canvas.setTitle(title)
        self.width, self.height = landscape(A4)
        self.title, self.header = title, [str(h) for h in header]
        self.page = 0
        usable = self.width - 2 * self.MARGIN
        weights = [3.0 if i < 3 else 1.0 for i in range(len(self.header))]  # names, emails, titles are wide
        total = sum(weights)
        self.widths = [usable * w / total for w in weights]
        self.xs = [self.MARGIN + sum(self.widths[:i]) for i in range(len(self.widths))]
        self.y = 0.0
        self._clip_cache: dict[tuple[str, int], str] = {}
        self._shown: dict[tuple[str, int], str] = {}
        self._new_page()

    def _new_page(self) -> None:
        if self.page:
            self._end_page()
            self.canvas.showPage()
        self.page += 1
        c = self.canvas
        top = self.height - self.MARGIN
        c.setFont(self.bold, 11)
        c.drawString(self.MARGIN, top, self.title)
        c.setFont(self.font, self.SIZE)
        c.drawRightString(self.width - self.MARGIN, top, str(self.page))
        y = top - 2 * self.LINE
        c.setFillColor(colors.HexColor("#1f3b57"))
        c.rect(self.MARGIN, y - 3, self.width - 2 * self.MARGIN, self.LINE, stroke=0, fill=1)
        c.setFillColor(colors.white)
        c.setFont(self.bold, self.SIZE)
        for i, text in enumerate(self.header):
            c.drawString(self.xs[i] + 2, y, self._clip(text, i, self.bold))
        c.setFillColor(colors.black)
        self.y = y - self.LINE
        self.text = c.beginText()
        self.text.setFont(self.font, self.SIZE)

    def _end_page(self) -> None:
        self.canvas.drawText(self.text)

    def _clip(self, text: str, column: int, font: str | None = None) -> str:
        limit = self.widths[column] - 4
        if len(text) * self.SIZE * 0.45 <= limit:  # surely fits (no glyph of DejaVu Sans is that narrow on average)
            return text
        key = (text, column)
        cached = self._clip_cache.get(key)
        if cached is None:
            font = font or self.font
            cut = text
            if stringWidth(cut, font, self.SIZE) > limit:
                while cut and stringWidth(cut + "…", font, self.SIZE) > limit:
                    cut = cut[:-1]
                cut += "…"
            cached = cut
            if len(self._clip_cache) < 50_000:
                self._clip_cache[key] = cached
        return cached

    def rows(self, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            if self.y < self.MARGIN:
                self._new_page()
            code, y = self.text._code, self.y
            for i, value in enumerate(row):
                cell = "" if value is None else str(value)
                if cell:
                    code.append(f"1 0 0 1 {self.xs[i] + 2:.2f} {y:.2f} Tm {self._show(cell, i)}")
            self.y -= self.LINE

    def _show(self, cell: str, column: int) -> str:
        """The text-showing operators of a cell (ReportLab's own encoding of the subset font), cached for the
        values that repeat (titles, statuses, dates, numbers)."""
        key = (cell, column)
        shown = self._shown.get(key)
        if shown is None:
            shown = self.text._formatText(self._clip(cell, column))
            if column >= 2 and len(self._shown) < 50_000:
                self._shown[key] = shown
        return shown

    def finish(self) -> bytes:
        self._end_page()
        self.canvas.save()
        return self.out.getvalue()


def writer_for(fmt: str, title: str, header: Sequence[str]) -> Writer:
    if fmt == "xlsx":
        return XlsxWriter(title, header)
    if fmt == "pdf":
        return PdfWriter(title, header)
    return CsvWriter(title, header)
