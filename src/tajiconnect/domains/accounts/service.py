"""Account rules shared by every entry point (CLI, pages, API, provisioning)."""

from __future__ import annotations

import re

from tajiconnect.domains.accounts.models import ROLES, User
from tajiconnect.domains.accounts.passwords import hash_password

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """An account operation was refused; the message can be shown to the user."""


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    if len(email) > 320 or not EMAIL_PATTERN.fullmatch(email):
        raise AccountError(f"not a valid email address: {email!r}")
    return email


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise AccountError("password is too long")


def new_user(
    *, email: str, name: str, password: str | None, roles: list[str], locale: str = "en", status: str | None = None
) -> User:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise AccountError(f"unknown role(s): {', '.join(sorted(unknown))}")
    if password is not None:
        check_password_policy(password)
    return User(
        email=normalize_email(email),
        name=name.strip() or email,
        password_hash=hash_password(password) if password else None,
        roles=list(dict.fromkeys(roles)),
        status=status or ("active" if password else "invited"),
        locale=locale,
    )
