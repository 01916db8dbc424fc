"""PDF helpers shared by the documents the app writes (reports, certificates): the embedded DejaVu fonts.

:func:`register_fonts` registers ``DejaVuSans``, ``DejaVuSans-Bold``, ``DejaVuSerif`` and ``DejaVuSerif-Bold``
(TrueType, embedded in every PDF that uses them, covering Latin with diacritics and more) with ReportLab once per
process, and returns their names.
"""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONTS_DIR = Path(__file__).parent / "fonts"
SANS = "DejaVuSans"
SANS_BOLD = "DejaVuSans-Bold"
SERIF = "DejaVuSerif"
SERIF_BOLD = "DejaVuSerif-Bold"
FONT_NAMES: tuple[str, str, str, str] = (SANS, SANS_BOLD, SERIF, SERIF_BOLD)

_lock = threading.Lock()
_registered = False


def register_fonts() -> tuple[str, str, str, str]:
    """Register the four DejaVu fonts with ReportLab (once) and return their names (sans, sans bold, serif,
    serif bold)."""
    global _registered
    with _lock:
        if not _registered:
            for name in FONT_NAMES:
                pdfmetrics.registerFont(TTFont(name, str(FONTS_DIR / f"{name}.ttf")))
            _registered = True
    return FONT_NAMES
