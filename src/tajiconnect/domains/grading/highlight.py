"""Code answers shown to graders with Pygments: CSS classes only (the stylesheet is ``static/grader.css``; the
Content-Security-Policy allows no inline styles), escaped, with line numbers in a table."""

from __future__ import annotations

from markupsafe import Markup
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

CSS_CLASS = "code"
MAX_CHARS = 50_000


def formatter() -> HtmlFormatter:
    return HtmlFormatter(cssclass=CSS_CLASS, noclasses=False, linenos="table", wrapcode=True)


def highlight(code: str, language: str | None) -> Markup:
    """``code`` as highlighted HTML (plain text when ``language`` is not a lexer Pygments knows)."""
    try:
        lexer = get_lexer_by_name(language or "text", stripnl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    return Markup(pygments_highlight(code[:MAX_CHARS], lexer, formatter()))  # noqa: S704 (Pygments escapes)


def stylesheet() -> str:
    """The CSS rules for the classes (used to write ``static/grader.css``'s highlighting part)."""
    return str(formatter().get_style_defs(f".{CSS_CLASS}"))
