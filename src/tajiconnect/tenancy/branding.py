"""Per-tenant branding and definitions, declared in ``tenants/<slug>/tenant.toml``.

A tenant without a folder gets the platform's defaults. Colours are validated (they end up in a ``<style>``
block), and the logo is a file name under ``tenants/<slug>/static/``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tajiconnect.settings import PROJECT_ROOT
from tajiconnect.tenancy.context import TenantRef

TENANTS_DIR = PROJECT_ROOT / "tenants"
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")


@dataclass(frozen=True)
class Branding:
    primary: str = "#0b6e4f"
    accent: str = "#f2a541"
    logo: str | None = None  # file name under tenants/<slug>/static/
    tagline: str | None = None


DEFAULT_BRANDING = Branding()


def tenant_definition(slug: str, tenants_dir: Path = TENANTS_DIR) -> dict[str, Any]:
    """The parsed ``tenant.toml`` of ``slug``, or an empty dict."""
    path = tenants_dir / slug / "tenant.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


@cache
def _branding(slug: str) -> Branding:
    raw = tenant_definition(slug).get("branding", {})
    primary = raw.get("primary", DEFAULT_BRANDING.primary)
    accent = raw.get("accent", DEFAULT_BRANDING.accent)
    logo = raw.get("logo")
    return Branding(
        primary=primary if _COLOUR.fullmatch(str(primary)) else DEFAULT_BRANDING.primary,
        accent=accent if _COLOUR.fullmatch(str(accent)) else DEFAULT_BRANDING.accent,
        logo=logo if isinstance(logo, str) and _FILE.fullmatch(logo) else None,
        tagline=raw.get("tagline") if isinstance(raw.get("tagline"), str) else None,
    )


def branding_for(tenant: TenantRef | None) -> Branding:
    return _branding(tenant.slug) if tenant is not None else DEFAULT_BRANDING
