"""Drawing a résumé as a PDF with ReportLab (Platypus: the text flows onto as many A4 pages as it needs).

* ``classic``: serif type, the name centred over a rule, the sections one under another.
* ``modern``: sans type, a band of colour with the name; on the first page a narrow column on the left (contact,
  skills, languages) beside the main one (summary, experience, education, certificates, references).
* ``compact``: sans type, small and dense, for a one-page résumé.

Every text uses the embedded DejaVu faces (:func:`tajiconnect.pdf.register_fonts`), so names in any Latin script
with diacritics render; what the member wrote is escaped, never read as markup. The fixed words (section titles,
levels, "present") are in ``locale``. Certificates carry their verification links.
"""

from __future__ import annotations

import asyncio
import io
from xml.sax.saxutils import escape

from babel.dates import format_date
from litestar import Response
from reportlab.lib.colors import HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    FrameBreak,
    HRFlowable,
    KeepTogether,
    NextPageTemplate,
    PageTemplate,
    Paragraph,
    Spacer,
)

from tajiconnect import i18n
from tajiconnect.domains.resumes.models import RESUME_LAYOUTS, ResumeEntry
from tajiconnect.domains.resumes.service import ResumeContent
from tajiconnect.i18n import gettext as _
from tajiconnect.pdf import register_fonts

DASH = "\u2013"  # an en dash between a period's ends, a skill and its level
INK, MUTED, BRAND = HexColor("#1f2933"), HexColor("#52606d"), HexColor("#0b6e4f")


def level_word(level: int) -> str:
    return {1: _("basic awareness"), 2: _("beginner"), 3: _("works independently"), 4: _("advanced"),
            5: _("expert")}.get(level, "")


def language_word(level: str) -> str:
    return {"basic": _("basic"), "conversational": _("conversational"), "fluent": _("fluent"),
            "native": _("native")}.get(level, level)


def _month(value: object, locale: str) -> str:
    return format_date(value, "MMM y", locale=locale) if value else ""  # type: ignore[arg-type]


def period(entry: ResumeEntry, locale: str) -> str:
    start, end = _month(entry.start_month, locale), _month(entry.end_month, locale)
    if entry.current:
        end = _("present")
    if start and end:
        return f"{start} {DASH} {end}"
    return start or end


class _Styles:
    def __init__(self, layout: str) -> None:
        sans, sans_bold, serif, serif_bold = register_fonts()
        body, bold = (serif, serif_bold) if layout == "classic" else (sans, sans_bold)
        size = 8.5 if layout == "compact" else 10
        lead = size * 1.3
        self.name = ParagraphStyle("name", fontName=bold, fontSize=size * 2.2, leading=size * 2.6,
                                   textColor=white if layout == "modern" else INK,
                                   alignment=1 if layout == "classic" else 0)
        self.headline = ParagraphStyle("headline", fontName=body, fontSize=size * 1.2, leading=size * 1.6,
                                       textColor=white if layout == "modern" else MUTED,
                                       alignment=1 if layout == "classic" else 0)
        self.contact = ParagraphStyle("contact", fontName=body, fontSize=size * 0.95, leading=lead,
                                      textColor=MUTED, alignment=1 if layout == "classic" else 0)
        self.section = ParagraphStyle("section", fontName=bold, fontSize=size * 1.15, leading=size * 1.5,
                                      textColor=BRAND if layout != "classic" else INK,
                                      spaceBefore=size * (0.6 if layout == "compact" else 1.1), spaceAfter=size * 0.3)
        self.item = ParagraphStyle("item", fontName=bold, fontSize=size, leading=lead, textColor=INK)
        self.meta = ParagraphStyle("meta", fontName=body, fontSize=size * 0.9, leading=lead, textColor=MUTED)
        self.text = ParagraphStyle("text", fontName=body, fontSize=size, leading=lead, textColor=INK,
                                   spaceAfter=size * 0.3)
        self.small = ParagraphStyle("small", fontName=body, fontSize=size * 0.85, leading=size * 1.15,
                                    textColor=INK, spaceAfter=size * 0.2)


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _entries(items: list[ResumeEntry], s: _Styles, locale: str, *, reference: bool = False) -> list[Flowable]:
    out: list[Flowable] = []
    for e in items:
        block: list[Flowable] = [_p(e.title, s.item)]
        meta = " · ".join(part for part in (e.organization, e.place, "" if reference else period(e, locale)) if part)
        if meta:
            block.append(_p(meta, s.meta))
        if e.description:
            block.append(_p(e.description, s.text))
        block.append(Spacer(1, 3))
        out.append(KeepTogether(block))
    return out


def _sections(c: ResumeContent, s: _Styles, locale: str, *, side: bool) -> tuple[list[Flowable], list[Flowable]]:
    """(the side column's flowables, the main column's); with ``side`` False everything is in the main one."""
    r = c.resume
    aside: list[Flowable] = []
    main: list[Flowable] = []
    contact = [x for x in (c.email, r.phone, r.location, r.website) if x]
    if side and contact:
        aside += [_p(_("Contact"), s.section)] + [_p(x, s.small) for x in contact]
    if r.summary:
        main += [_p(_("Profile"), s.section), _p(r.summary, s.text)]
    if c.entries["experience"]:
        main += [_p(_("Experience"), s.section), *_entries(c.entries["experience"], s, locale)]
    if c.entries["education"]:
        main += [_p(_("Education"), s.section), *_entries(c.entries["education"], s, locale)]
    target = aside if side else main
    if c.skills:
        target.append(_p(_("Skills"), s.section))
        for skill in c.skills:
            words = f"{skill.name} {DASH} {level_word(skill.level)}"
            if skill.declared:
                words += " (" + _("self-declared") + ")"
            target.append(_p(words, s.small))
    if r.languages:
        target.append(_p(_("Languages"), s.section))
        target += [_p(f"{lang['name']} {DASH} {language_word(lang['level'])}", s.small) for lang in r.languages]
    shown = c.shown_certificates
    if shown:  # in the main column: their links need its width
        main.append(_p(_("Certificates"), s.section))
        for cert in shown:
            main.append(Paragraph(
                f"{escape(cert.title)} · {escape(format_date(cert.completed_on, 'MMM y', locale=locale))}<br/>"
                f'<link href="{escape(cert.url)}" color="#0b6e4f">{escape(cert.url)}</link>', s.small))
    if c.entries["reference"]:
        main += [_p(_("References"), s.section), *_entries(c.entries["reference"], s, locale, reference=True)]
    return aside, main


async def render(c: ResumeContent, *, layout: str | None = None, locale: str | None = None) -> bytes:
    """:func:`render_resume` off the event loop (a long résumé takes a while to lay out), in ``locale`` or the
    request's."""
    return await asyncio.to_thread(render_resume, c, layout=layout, locale=locale or i18n.current_locale())


def pdf_response(data: bytes, name: str) -> Response[bytes]:
    """A résumé PDF to open in the browser, named after its member (any script: an ASCII fallback too)."""
    from tajiconnect.domains.storage.service import content_disposition

    return Response(data, media_type="application/pdf", headers={
        "Cache-Control": "private, no-store", "X-Robots-Tag": "noindex",
        "Content-Disposition": content_disposition(f"{name}.pdf", download=False)})


def render_resume(c: ResumeContent, *, layout: str | None = None, locale: str = "en") -> bytes:
    """The résumé as PDF bytes, in ``layout`` (else the résumé's own)."""
    layout = layout if layout in RESUME_LAYOUTS else c.resume.layout
    buffer = io.BytesIO()
    width, height = A4
    margin = 14 * mm if layout == "compact" else 18 * mm
    with i18n.locale_context(locale):
        s = _Styles(layout)
        r = c.resume
        doc = BaseDocTemplate(buffer, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin,
                              bottomMargin=margin, title=_("Résumé of %(name)s") % {"name": c.name},
                              author=c.name, creator="TajiConnect")
        header = [_p(c.name, s.name)]
        if r.headline:
            header.append(_p(r.headline, s.headline))
        full = Frame(margin, margin, width - 2 * margin, height - 2 * margin, id="full")
        if layout == "modern":
            band = 38 * mm

            def draw_band(canvas: object, _doc: object) -> None:
                canvas.saveState()  # type: ignore[attr-defined]
                canvas.setFillColor(BRAND)  # type: ignore[attr-defined]
                canvas.rect(0, height - band, width, band, stroke=0, fill=1)  # type: ignore[attr-defined]
                canvas.restoreState()  # type: ignore[attr-defined]

            side_w = 58 * mm
            top = Frame(margin, height - band, width - 2 * margin, band - 6 * mm, id="band")
            side = Frame(margin, margin, side_w, height - band - margin - 4 * mm, id="side")
            body = Frame(margin + side_w + 6 * mm, margin, width - 2 * margin - side_w - 6 * mm,
                         height - band - margin - 4 * mm, id="body")
            doc.addPageTemplates([PageTemplate("first", [top, side, body], onPage=draw_band),
                                  PageTemplate("rest", [full])])
            aside, main = _sections(c, s, locale, side=True)
            story: list[Flowable] = [NextPageTemplate("rest"), *header, FrameBreak(), *aside, FrameBreak(), *main]
        else:
            doc.addPageTemplates([PageTemplate("one", [full])])
            contact = " · ".join(x for x in (c.email, r.phone, r.location, r.website) if x)
            _aside, main = _sections(c, s, locale, side=False)
            story = [*header, _p(contact, s.contact), Spacer(1, 4),
                     HRFlowable(width="100%", thickness=0.8 if layout == "classic" else 0.5, color=BRAND), *main]
        doc.build(story)
    return buffer.getvalue()
