"""Pagination for list pages and list endpoints (every list is paginated): the ``page`` parameter and the figures."""

from __future__ import annotations

import math
from typing import Annotated, Any

from litestar.params import Parameter

# Far beyond any real list; it keeps ``(page - 1) * per_page`` a sane OFFSET, so that a huge page number is a 400
# instead of a database error.
MAX_PAGE = 10_000

# ``page`` as a query parameter: validated (1..MAX_PAGE, a 400 otherwise) and documented by this one declaration.
PageParam = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="Page number, from 1.")]


def page_info(total: int, page: int, per_page: int) -> dict[str, Any]:
    """``page`` clamped to the pages there are, with the totals a pager needs."""
    pages = max(1, math.ceil(total / per_page))
    return {"page": min(max(page, 1), pages), "pages": pages, "total": total, "per_page": per_page}
