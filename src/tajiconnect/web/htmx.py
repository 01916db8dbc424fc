"""The page-or-fragment rule: a handler returns its ``_partial.html`` when HTMX asks to swap one element."""

from __future__ import annotations

from litestar.plugins.htmx import HTMXRequest


def wants_fragment(request: HTMXRequest, target: str) -> bool:
    """True when this is an HTMX request swapping the element ``#target`` (render only that part)."""
    return bool(request.htmx) and request.htmx.target == target
