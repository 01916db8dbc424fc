"""Uploaded roster files -> a plain table of strings.

``read_table`` takes the uploaded bytes and recognizes the kind by content, never by the file name:

- an XLSX workbook (a zip archive holding ``[Content_Types].xml`` and ``xl/``) is read with python-calamine; the
  first visible, non-empty worksheet is used and cells become strings (``12345.0`` -> ``"12345"``, dates in ISO);
- anything else must be CSV text: the encoding comes from its byte-order mark, else UTF-8 when the bytes decode as
  UTF-8, else charset-normalizer restricted to the Western single-byte code pages Excel writes (Windows-1252,
  Latin-1); the delimiter comes from ``csv.Sniffer`` restricted to ``,`` ``;`` tab and ``|`` (with
  Excel's ``sep=`` first line honoured), checked against the header line.

Every refusal is a :class:`RosterFileError` whose message is translated and can be shown to the uploader as is.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from charset_normalizer import from_bytes

from tajiconnect.i18n import _

MAX_BYTES = 10 * 1024 * 1024  # upload size limit (10 MiB)
MAX_ROWS = 20_000  # data rows (blank rows not counted)
MAX_COLUMNS = 100
MAX_CELL_CHARS = 1000
MAX_XLSX_UNPACKED = 200 * 1024 * 1024  # declared uncompressed size of all parts of a workbook (zip bombs)

DELIMITERS = (",", ";", "\t", "|")
# Code pages tried when the bytes are not UTF-8: what Excel and older Windows tools write in English, French and
# Kiswahili. Left open, charset-normalizer guesses Big5 or Shift-JIS for short French text; with Mac Roman among
# the candidates it takes long Windows-1252 files for Mac Roman (both decode any byte), so that one is left out.
FALLBACK_ENCODINGS = ("cp1252", "latin_1")
_SNIFF_CHARS = 64 * 1024
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (BIFF) and password-protected workbooks
_ZIP_MAGIC = b"PK\x03\x04"
_EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_EXCEL_SEP_LINE = re.compile(r"sep=(.)[ \t]*(\r\n|\n|\r|$)", re.IGNORECASE)
# Control characters that have no business in CSV text (tab, line breaks, form feed and the DOS end-of-file mark
# \x1a some old tools append are fine).
_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f]")


class RosterFileError(ValueError):
    """The upload cannot be read as a roster table; ``message`` is translated and meant for the uploader."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Table:
    """The file as strings. ``lines[i]`` is the 1-based line (CSV) or row (XLSX) of ``rows[i]``; the header is
    line 1 unless blank lines precede it. Every row has exactly ``len(headers)`` stripped values."""

    headers: list[str]
    rows: list[list[str]]
    lines: list[int]
    encoding: str | None
    delimiter: str | None
    kind: Literal["csv", "xlsx"]


def read_table(data: bytes, filename: str = "") -> Table:
    """Read an uploaded CSV or XLSX file; raise :class:`RosterFileError` with a user-facing message if it cannot be.

    ``filename`` is accepted for the callers' convenience and not used: the kind of file is decided from its
    content (a CSV named ``.xlsx`` is read as CSV, a workbook named ``.csv`` as a workbook).
    """
    if len(data) > MAX_BYTES:
        raise RosterFileError(
            _("The file is larger than %(size)d MiB. Split it into several files.") % {"size": MAX_BYTES // 2**20}
        )
    if not data.strip(b" \t\r\n\x1a" + codecs.BOM_UTF8):
        raise RosterFileError(_("The file is empty."))
    if data.startswith(_OLE2_MAGIC):
        raise RosterFileError(
            _(
                "This is an old Excel 97-2003 (.xls) workbook or a password-protected one. Open it in Excel or "
                "LibreOffice, save it as an Excel workbook (.xlsx) or as CSV, then upload it again."
            )
        )
    if data.startswith(_ZIP_MAGIC):
        return _read_xlsx(data)
    text, encoding = _decode(data)
    return _read_csv(text, encoding)


# --- CSV -------------------------------------------------------------------------------------------------------


def _not_a_table() -> str:
    return _(
        "This file is neither a CSV text file nor an Excel workbook (.xlsx). Save it as CSV or .xlsx, then upload "
        "it again."
    )


def _damaged_workbook() -> str:
    return _(
        "This Excel workbook could not be read: it may be damaged or password-protected. Save it again as .xlsx "
        "or CSV, then upload it again."
    )


def _decode(data: bytes) -> tuple[str, str]:
    text: str | None = None
    encoding = ""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        encoding = "utf-16"
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            raise RosterFileError(_not_a_table()) from None
    elif data.startswith(codecs.BOM_UTF8):
        try:
            text, encoding = data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError:
            data = data[len(codecs.BOM_UTF8) :]  # a lying mark: detect below
    if text is None:
        if b"\x00" in data:
            raise RosterFileError(_nul_message())
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            matches = from_bytes(data, cp_isolation=list(FALLBACK_ENCODINGS))
            if not matches:  # no code page makes plausible text of it
                raise RosterFileError(_not_a_table()) from None
            # Windows-1252 when it fits: Latin-1 reads its curly quotes, dashes and euro sign as control codes.
            encodings = [match.encoding for match in matches]
            encoding = "cp1252" if "cp1252" in encodings else encodings[0]
            text = data.decode(encoding)
    if "\x00" in text:
        raise RosterFileError(_nul_message())
    controls = sum(1 for _match in _BINARY_CONTROLS.finditer(text))
    if controls > max(8, len(text) // 1000):  # binary junk that happens to decode
        raise RosterFileError(_not_a_table())
    return text, encoding


def _nul_message() -> str:
    return _(
        "The file contains NUL bytes, so it is not a plain CSV text file. Save it as CSV (UTF-8) or .xlsx, then "
        "upload it again."
    )


def _sniff_delimiter(text: str) -> str:
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    header = next((line for line in sample.splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in DELIMITERS}
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:  # e.g. a single column: nothing repeats consistently
        delimiter = ""
    if delimiter not in DELIMITERS or (counts[delimiter] == 0 and any(counts.values())):
        # The sniffer failed, or picked a character the header line does not contain: take the header's most
        # frequent candidate (ties go to the order of DELIMITERS), or a comma for a one-column file.
        delimiter = max(DELIMITERS, key=lambda d: counts[d]) if any(counts.values()) else ","
    return delimiter


def _read_csv(text: str, encoding: str) -> Table:
    text = text.removeprefix("\ufeff")
    offset = 0
    sep = _EXCEL_SEP_LINE.match(text)
    if sep and sep.group(1) in DELIMITERS:  # Excel's "sep=;" hint line
        delimiter = sep.group(1)
        text = text[sep.end() :]
        offset = 1
    else:
        delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True)

    def records() -> Iterator[tuple[int, list[str]]]:
        seen = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error:
                raise RosterFileError(
                    _("Line %(line)d could not be read as CSV.") % {"line": seen + 1 + offset}
                ) from None
            yield seen + 1 + offset, record  # the physical line where this record starts
            seen = reader.line_num

    return _build_table(records(), encoding=encoding, delimiter=delimiter, kind="csv")


# --- XLSX ------------------------------------------------------------------------------------------------------


def _read_xlsx(data: bytes) -> Table:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise RosterFileError(_damaged_workbook()) from None
    names = {part.filename for part in parts}
    if "[Content_Types].xml" not in names or not any(name.startswith("xl/") for name in names):
        raise RosterFileError(_not_a_table())  # a .docx, .ods, a plain zip...
    if sum(part.file_size for part in parts) > MAX_XLSX_UNPACKED:
        raise RosterFileError(
            _("This Excel workbook is too large once unpacked. Save it as CSV, or split it into several files.")
        )

    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        for meta in workbook.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet or meta.visible != SheetVisibleEnum.Visible:
                continue
            sheet = workbook.get_sheet_by_name(meta.name)
            if sheet.start is None or sheet.end is None:
                continue  # no cell holds a value
            (top, left), (bottom, right) = sheet.start, sheet.end
            if right - left + 1 > MAX_COLUMNS:
                raise RosterFileError(_too_many_columns())
            if bottom - top > 2 * MAX_ROWS:  # even with every other row blank, too many
                raise RosterFileError(_too_many_rows())
            cells = sheet.to_python(skip_empty_area=True)
            if any(any(value not in ("", None) for value in row) for row in cells):
                records = ((top + 1 + i, [_cell_text(value) for value in row]) for i, row in enumerate(cells))
                return _build_table(records, encoding=None, delimiter=None, kind="xlsx")
    except RosterFileError:
        raise
    except Exception:  # calamine raises several types for broken or encrypted parts
        raise RosterFileError(_damaged_workbook()) from None
    raise RosterFileError(_("The file is empty."))


def _cell_text(value: object) -> str:
    """A cell as the text a person sees: whole numbers without ``.0``, dates and times in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(timespec="seconds")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


# --- shared ----------------------------------------------------------------------------------------------------


def _too_many_rows() -> str:
    return _("The file has more than %(n)d rows. Split it into several files.") % {"n": MAX_ROWS}


def _too_many_columns() -> str:
    return _("The file has more than %(n)d columns.") % {"n": MAX_COLUMNS}


def _check_length(value: str, line: int, column: str, kind: str) -> None:
    if len(value) > MAX_CELL_CHARS:
        if kind == "csv":
            message = _(
                'Line %(line)d, column "%(column)s": a value is longer than %(n)d characters (a quotation mark '
                "that is never closed can cause this)."
            )
        else:
            message = _('Row %(line)d, column "%(column)s": a value is longer than %(n)d characters.')
        raise RosterFileError(message % {"line": line, "column": column, "n": MAX_CELL_CHARS})


def _build_table(
    records: Iterable[tuple[int, list[str]]],
    *,
    encoding: str | None,
    delimiter: str | None,
    kind: Literal["csv", "xlsx"],
) -> Table:
    iterator = iter(records)
    header_line = 0
    raw_headers: list[str] = []
    for line, record in iterator:
        if any(cell.strip() for cell in record):
            header_line, raw_headers = line, [cell.strip() for cell in record]
            break
    else:
        raise RosterFileError(_("The file is empty."))
    while raw_headers and not raw_headers[-1]:
        raw_headers.pop()  # trailing empty columns (spreadsheets often leave a few)
    if len(raw_headers) > MAX_COLUMNS:
        raise RosterFileError(_too_many_columns())
    if any(_EMAIL_LIKE.fullmatch(cell) for cell in raw_headers):
        raise RosterFileError(
            _("The first row must name the columns (for example: email, first_name, last_name), not hold a person.")
        )
    headers: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(raw_headers):
        name = cell or f"column_{index + 1}"
        _check_length(name, header_line, name[:40], kind)
        key = name.casefold()
        if key in seen:
            raise RosterFileError(
                _('The column "%(column)s" appears more than once: each column name must be unique.') % {"column": name}
            )
        seen.add(key)
        headers.append(name)

    width = len(headers)
    rows: list[list[str]] = []
    lines: list[int] = []
    for line, record in iterator:
        values = [cell.strip() for cell in record[:width]]
        if not any(values):
            continue
        if len(rows) == MAX_ROWS:
            raise RosterFileError(_too_many_rows())
        for column, value in zip(headers, values, strict=False):
            if len(value) > MAX_CELL_CHARS:
                _check_length(value, line, column, kind)
        if len(values) < width:
            values.extend([""] * (width - len(values)))
        rows.append(values)
        lines.append(line)
    if not rows:
        raise RosterFileError(_("The file has column names but no rows below them."))
    return Table(headers=headers, rows=rows, lines=lines, encoding=encoding, delimiter=delimiter, kind=kind)
