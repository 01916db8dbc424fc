"""Drawing a certificate as a one-page PDF with ReportLab.

What it says comes from :class:`CertificateContent` (the certificate row's words, the organization's name,
branding and the absolute verification URL); how it looks from the layout:

* ``classic``: landscape A4, a double border in the primary colour, serif type, centred.
* ``modern``: landscape A4, a band of the primary colour down the left with an accent stripe, sans type, left-aligned.
* ``minimal``: portrait A4, no border, a thin accent rule, sans type.

Every text uses the embedded DejaVu faces (:func:`tajiconnect.pdf.register_fonts`), so names in any Latin script
with diacritics render. The QR code (segno) points to the verification page; the code is printed under it.
The fixed words are translated into ``locale`` (the organization's language), and so is the date's format.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from pathlib import Path

import segno
from babel.dates import format_date
from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from tajiconnect import i18n
from tajiconnect.domains.certificates.models import CERTIFICATE_LAYOUTS
from tajiconnect.i18n import gettext as _
from tajiconnect.pdf import register_fonts


@dataclass(frozen=True)
class CertificateContent:
    learner_name: str
    title: str
    completed_on: datetime.date
    organization: str
    code: str
    verify_url: str
    layout: str = "classic"
    primary: str = "#0b6e4f"
    accent: str = "#f2a541"
    logo: Path | None = None
    locale: str = "en"


def date_text(day: datetime.date, locale: str) -> str:
    """The date as the organization's language writes it in full (``30 novembre 2026``)."""
    try:
        return format_date(day, format="long", locale=locale)
    except Exception:  # an unknown locale: ISO is understood everywhere
        return day.isoformat()


def _fit(text: str, font: str, size: float, width: float, smallest: float = 10) -> float:
    """The largest size up to ``size`` at which ``text`` fits in ``width``."""
    while size > smallest and stringWidth(text, font, size) > width:
        size -= 1
    return size


def _qr(canvas: Canvas, url: str, x: float, y: float, side: float) -> None:
    """The QR code of ``url`` as filled squares, ``side`` points wide, lower-left corner at (x, y)."""
    code = segno.make(url, error="m")
    rows = list(code.matrix_iter(scale=1, border=2))
    cell = side / len(rows)
    canvas.setFillColor(white)
    canvas.rect(x, y, side, side, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(rows):
        for c, dark in enumerate(row):
            if dark:
                canvas.rect(x + c * cell, y + side - (r + 1) * cell, cell, cell, stroke=0, fill=1)


def _logo(canvas: Canvas, logo: Path | None, x: float, y: float, width: float, height: float) -> None:
    """The organization's logo scaled into the box, when there is one that reads as an image."""
    if logo is None or not logo.is_file():
        return
    try:
        image = ImageReader(str(logo))
        w, h = image.getSize()
    except Exception:  # not an image ReportLab reads (an SVG, say): the certificate goes without
        return
    scale = min(width / w, height / h)
    canvas.drawImage(image, x + (width - w * scale) / 2, y, w * scale, h * scale, mask="auto")


def _centred(canvas: Canvas, text: str, font: str, size: float, x: float, y: float, width: float) -> None:
    canvas.setFont(font, _fit(text, font, size, width))
    canvas.drawCentredString(x, y, text)


def render_certificate(content: CertificateContent) -> bytes:
    """The certificate as PDF bytes (see the module)."""
    sans, sans_bold, serif, serif_bold = register_fonts()
    layout = content.layout if content.layout in CERTIFICATE_LAYOUTS else "classic"
    primary, accent = HexColor(content.primary), HexColor(content.accent)
    size = A4 if layout == "minimal" else landscape(A4)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=size, pageCompression=0)
    with i18n.locale_context(content.locale):
        heading = _("Certificate of completion")
        certifies = _("This certifies that")
        completed = _("has completed")
        on = _("Completed on %(date)s") % {"date": date_text(content.completed_on, content.locale)}
        code_label = _("Verification code: %(code)s") % {"code": content.code}
        verify = _("Verify at %(url)s") % {"url": content.verify_url}
    canvas.setTitle(f"{heading}: {content.learner_name}")
    canvas.setAuthor(content.organization)
    width, height = size
    if layout == "classic":
        _classic(canvas, width, height, primary, accent, content, serif, serif_bold,
                 heading, certifies, completed, on)
    elif layout == "modern":
        _modern(canvas, width, height, primary, accent, content, sans, sans_bold,
                heading, certifies, completed, on)
    else:
        _minimal(canvas, width, height, primary, accent, content, sans, sans_bold,
                 heading, certifies, completed, on)
    qr_side = 90.0
    qr_x = width - qr_side - 60 if layout != "minimal" else (width - qr_side) / 2
    qr_y = 70.0
    _qr(canvas, content.verify_url, qr_x, qr_y, qr_side)
    canvas.setFillColorRGB(0.2, 0.2, 0.2)
    canvas.setFont(sans, 8)
    if layout == "minimal":
        canvas.drawCentredString(width / 2, qr_y - 14, code_label)
        canvas.drawCentredString(width / 2, qr_y - 26, verify)
    else:
        canvas.drawRightString(qr_x + qr_side, qr_y - 14, code_label)
        canvas.drawString(60 if layout == "classic" else 120, qr_y - 14, verify)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _body(canvas: Canvas, content: CertificateContent, x: float, top: float, width: float, regular: str, bold: str,
          certifies: str, completed: str, on: str, primary: Color) -> None:
    canvas.setFillColorRGB(0.15, 0.15, 0.15)
    _centred(canvas, certifies, regular, 14, x, top, width)
    canvas.setFillColor(primary)
    _centred(canvas, content.learner_name, bold, 34, x, top - 50, width)
    canvas.setFillColorRGB(0.15, 0.15, 0.15)
    _centred(canvas, completed, regular, 14, x, top - 90, width)
    canvas.setFillColor(primary)
    _centred(canvas, content.title, bold, 22, x, top - 125, width)
    canvas.setFillColorRGB(0.15, 0.15, 0.15)
    _centred(canvas, on, regular, 12, x, top - 165, width)
    _centred(canvas, content.organization, bold, 14, x, top - 195, width)


def _classic(canvas: Canvas, width: float, height: float, primary: Color, accent: Color,
             content: CertificateContent, regular: str, bold: str, heading: str, certifies: str, completed: str,
             on: str) -> None:
    canvas.setStrokeColor(primary)
    canvas.setLineWidth(6)
    canvas.rect(24, 24, width - 48, height - 48)
    canvas.setStrokeColor(accent)
    canvas.setLineWidth(2)
    canvas.rect(36, 36, width - 72, height - 72)
    _logo(canvas, content.logo, width / 2 - 60, height - 120, 120, 60)
    canvas.setFillColor(primary)
    _centred(canvas, heading, bold, 30, width / 2, height - 160, width - 160)
    _body(canvas, content, width / 2, height - 205, width - 200, regular, bold, certifies, completed, on, primary)


def _modern(canvas: Canvas, width: float, height: float, primary: Color, accent: Color,
            content: CertificateContent, regular: str, bold: str, heading: str, certifies: str, completed: str,
            on: str) -> None:
    canvas.setFillColor(primary)
    canvas.rect(0, 0, 80, height, stroke=0, fill=1)
    canvas.setFillColor(accent)
    canvas.rect(80, 0, 10, height, stroke=0, fill=1)
    canvas.rect(90, height - 14, width - 90, 14, stroke=0, fill=1)
    _logo(canvas, content.logo, width - 200, height - 100, 140, 60)
    canvas.setFillColor(primary)
    canvas.setFont(bold, _fit(heading.upper(), bold, 26, width - 360))
    canvas.drawString(130, height - 90, heading.upper())
    centre = 90 + (width - 90) / 2
    _body(canvas, content, centre, height - 170, width - 260, regular, bold, certifies, completed, on, primary)


def _minimal(canvas: Canvas, width: float, height: float, primary: Color, accent: Color,
             content: CertificateContent, regular: str, bold: str, heading: str, certifies: str, completed: str,
             on: str) -> None:
    _logo(canvas, content.logo, width / 2 - 50, height - 130, 100, 60)
    canvas.setFillColorRGB(0.1, 0.1, 0.1)
    _centred(canvas, heading, bold, 24, width / 2, height - 190, width - 120)
    canvas.setStrokeColor(accent)
    canvas.setLineWidth(1)
    canvas.line(width / 2 - 80, height - 205, width / 2 + 80, height - 205)
    _body(canvas, content, width / 2, height - 270, width - 120, regular, bold, certifies, completed, on, primary)
