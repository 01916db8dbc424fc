"""Report files: the same header and rows written as CSV, XLSX or PDF, a chunk of rows at a time.

* CSV: UTF-8 with a byte order mark (Excel), ``csv`` module quoting.
* XLSX: the sheet's XML written as a stream and zipped (see :class:`XlsxWriter`).
* PDF: ReportLab, A4 landscape, a table of the rows page by page (header repeated, zebra rows) in the embedded
  DejaVu Sans (:func:`tajiconnect.pdf.register_fonts`), so names in any Latin script render; long cells are cut
  to their column's width. Drawn straight on the canvas, page by page, so 200,000 rows stay fast.

Text cells that a spreadsheet would run as a formula are kept as text (CSV injection) in CSV and XLSX.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from typing import Any, Protocol
from xml.sax.saxutils import escape

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
    """An XLSX package written as a stream: the sheet's XML (inline strings, numbers as numbers, a bold header) is
    built row by row, then zipped with the few parts a workbook needs.

    openpyxl's write-only workbook was the first writer: without lxml it spent about 30 s on 200,000 rows x 6
    columns (an element object per cell), over the 30 s budget of the whole report (see docs/performance.md);
    this writes the same cells in about 2 s. openpyxl still reads the files back in the tests.
    """

    def __init__(self, title: str, header: Sequence[str]) -> None:
        self.title = _sheet_title(title)
        self.parts: list[str] = []
        self.rows_written = 0
        self._row([str(h) for h in header], style=' s="1"')

    def _row(self, row: Sequence[Any], style: str = "") -> None:
        cells = []
        for value in row:
            if value is None or value == "":
                cells.append("<c/>")
            elif isinstance(value, bool):
                cells.append(f'<c t="b"{style}><v>{int(value)}</v></c>')
            elif isinstance(value, int | float):
                cells.append(f"<c{style}><v>{value}</v></c>")
            else:
                cells.append(f'<c t="inlineStr"{style}><is><t xml:space="preserve">{_xml(str(value))}</t></is></c>')
        self.parts.append("<row>" + "".join(cells) + "</row>")
        self.rows_written += 1

    def rows(self, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            self._row([safe(v) for v in row])

    def finish(self) -> bytes:
        sheet = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
            "<sheetData>" + "".join(self.parts) + "</sheetData></worksheet>"
        )
        workbook = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            f'<sheet name="{_xml(self.title)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        )
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
            package.writestr("[Content_Types].xml", _CONTENT_TYPES)
            package.writestr("_rels/.rels", _ROOT_RELS)
            package.writestr("xl/workbook.xml", workbook)
            package.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
            package.writestr("xl/styles.xml", _STYLES)
            package.writestr("xl/worksheets/sheet1.xml", sheet)
        return out.getvalue()


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" Target="xl/workbook.xml" '
    f'Type="{_REL}/officeDocument"/></Relationships>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="{_REL}/worksheet"/>'
    f'<Relationship Id="rId2" Target="styles.xml" Type="{_REL}/styles"/></Relationships>'
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    "</fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
#: Characters XML 1.0 cannot hold (control characters but tab, newline, carriage return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    return escape(_NOT_XML.sub("", text), {'"': "&quot;"})


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
