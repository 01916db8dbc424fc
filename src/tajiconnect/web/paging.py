"""Pagination figures for list pages (every list is paginated)."""

from __future__ import annotations

import math
from typing import Any


def page_info(total: int, page: int, per_page: int) -> dict[str, Any]:
    """``page`` clamped to the pages there are, with the totals a pager needs."""
    pages = max(1, math.ceil(total / per_page))
    return {"page": min(max(page, 1), pages), "pages": pages, "total": total, "per_page": per_page}
