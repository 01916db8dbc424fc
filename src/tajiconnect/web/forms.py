"""Small helpers for server-rendered forms: reading fields, collecting errors, safe redirects."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY


class Form:
    """The submitted fields of a request plus the errors found while validating them."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = data or {}
        self.errors: dict[str, str] = {}

    @classmethod
    async def read(cls, request: Request) -> Form:
        """The submitted fields. Their text was checked at the door (:mod:`tajiconnect.web.input_guard`): UTF-8
        (or the charset a multipart part declares) without NUL, else the request never got here (400)."""
        from tajiconnect.web.input_guard import read_form

        raw = await read_form(request)
        data: dict[str, Any] = {}
        for key in raw:
            values = raw.getall(key)
            data[key] = values if len(values) > 1 or key.endswith("[]") else values[0]
        return cls(data)

    def get(self, name: str, default: str = "") -> str:
        value = self.data.get(name, default)
        if isinstance(value, list):
            value = value[0] if value else default
        return value if isinstance(value, str) else default

    def getlist(self, name: str) -> list[str]:
        value = self.data.get(name, self.data.get(f"{name}[]", []))
        if isinstance(value, str):
            return [value]
        return [v for v in value if isinstance(v, str)]

    def error(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    @property
    def ok(self) -> bool:
        return not self.errors


def render_form(template: str, form: Form, status: int = HTTP_422_UNPROCESSABLE_ENTITY, **context: Any) -> Template:
    """Re-render a form with its values and field errors (nothing the user typed is lost, except passwords)."""
    values = {k: v for k, v in form.data.items() if "password" not in k and k not in ("code", "_csrf_token")}
    return Template(template, context={"form": values, "errors": form.errors, **context}, status_code=status)


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go to after signing in; anything else (other hosts, schemes) becomes ``default``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or "\n" in value:
        return default
    return value


def see_other(path: str, notice: str | None = None) -> Redirect:
    """A 303 to ``path`` (which may end with a ``#fragment``), with ``notice`` in its query."""
    if notice:
        base, hash_, fragment = path.partition("#")
        path = f"{base}{'&' if '?' in base else '?'}notice={notice}{hash_}{fragment}"
    return Redirect(path=path, status_code=HTTP_303_SEE_OTHER)
