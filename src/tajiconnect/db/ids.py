"""Row ids from input: a UUID, or its text; anything else (a bad path segment, a form value) is no id at all."""

from __future__ import annotations

import uuid
from typing import Any


def parse_uuid(value: Any) -> uuid.UUID | None:
    """``value`` as a UUID, or None when it is not one (the caller answers "not found", never a 500)."""
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        return None
