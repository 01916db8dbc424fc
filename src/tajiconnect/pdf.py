"""PDF helpers shared by the code that draws PDFs (certificates, reports): the embedded DejaVu fonts.

ReportLab's built-in fonts cover Latin-1 only; a name such as "Ngũgĩ" needs a TrueType font, embedded in the file.
:func:`register_fonts` registers the DejaVu faces shipped in ``tajiconnect/fonts`` once per process and returns
their names.
"""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONTS_DIR = Path(__file__).parent / "fonts"
SANS, SANS_BOLD, SERIF, SERIF_BOLD = "DejaVuSans", "DejaVuSans-Bold", "DejaVuSerif", "DejaVuSerif-Bold"
FONT_NAMES: tuple[str, str, str, str] = (SANS, SANS_BOLD, SERIF, SERIF_BOLD)

_lock = threading.Lock()


def register_fonts() -> tuple[str, str, str, str]:
    """Register the DejaVu faces with ReportLab (once; TrueType fonts are always embedded, subset) and return
    ``(sans, sans bold, serif, serif bold)``."""
    with _lock:
        known = set(pdfmetrics.getRegisteredFontNames())
        for name in FONT_NAMES:
            if name not in known:
                pdfmetrics.registerFont(TTFont(name, str(FONTS_DIR / f"{name}.ttf")))
    return FONT_NAMES
