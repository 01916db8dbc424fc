"""The refusal every account rule raises (its own module, so other domains can raise it without a cycle)."""

from __future__ import annotations


class AccountError(ValueError):
    """An account operation was refused; the message can be shown to the user. ``field`` names the input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
