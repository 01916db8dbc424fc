"""Sign-up rules shared by the pages and the task: countries, slug availability, the per-address limit, lookups."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import re
import unicodedata
from functools import cache

from babel import Locale
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.licensing.models import License
from tajiconnect.domains.signup.models import Signup
from tajiconnect.i18n import _
from tajiconnect.tenancy.models import Tenant
from tajiconnect.tenancy.slugs import RESERVED_SLUGS, InvalidSlugError, validate_slug

DEFAULT_COUNTRY = "KE"
IN_PROGRESS = ("pending", "provisioning")
DONE = ("ready", "failed")
NAME_MAX = 200  # signups.name, tenants.name and users.name are VARCHAR(200)
#: CLDR territories with a two-letter code that are not ISO 3166-1 countries (groupings, unknown, reservations).
NOT_COUNTRIES = frozenset({"AC", "CP", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"})
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _sort_key(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


@cache
def countries(locale: str) -> tuple[tuple[str, str], ...]:
    """ISO 3166-1 alpha-2 countries as (code, name in ``locale``), sorted by name."""
    names = Locale.parse(locale).territories
    items = [
        (code, name) for code, name in names.items()
        if len(code) == 2 and code.isalpha() and code.isupper() and code not in NOT_COUNTRIES
    ]
    return tuple(sorted(items, key=lambda item: _sort_key(item[1])))


@cache
def country_codes() -> frozenset[str]:
    return frozenset(code for code, _name in countries("en"))


def clean_slug(value: str) -> str:
    return (value or "").strip().lower()


def slug_problem(slug: str) -> str | None:
    """Why ``slug`` cannot name an organization (in words for people), or None when its form is acceptable."""
    try:
        validate_slug(slug)
        return None
    except InvalidSlugError:
        pass
    if not slug:
        return _("Choose an address for your organization.")
    if slug in RESERVED_SLUGS:
        return _("This address is reserved. Choose another one.")
    if len(slug) < 2:
        return _("Use at least 2 characters.")
    if len(slug) > 31:
        return _("Use at most 31 characters.")
    if re.search(r"[^a-z0-9-]", slug):
        return _("Use only lowercase letters (a-z), digits and hyphens.")
    if not slug[0].isalpha():
        return _("Start with a letter.")
    return _("No hyphen at the end, and no two hyphens in a row.")


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    """An organization has the address, or a sign-up in progress reserves it."""
    tenant = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    if tenant is not None:
        return True
    reserved = await session.scalar(
        select(Signup.id).where(Signup.slug == slug, Signup.status.in_(IN_PROGRESS)).limit(1)
    )
    return reserved is not None


TAKEN = "taken"


def taken_message() -> str:
    return _("This address is already taken. Choose another one.")


async def check_slug(session: AsyncSession, raw: str) -> tuple[str, str]:
    """("invalid" | "taken" | "available", message) for the live check and the form."""
    slug = clean_slug(raw)
    problem = slug_problem(slug)
    if problem is not None:
        return "invalid", problem
    if await slug_taken(session, slug):
        return TAKEN, taken_message()
    return "available", _("%(slug)s is available.") % {"slug": slug}


def network_of(ip: str | None) -> str | None:
    """The unit of the per-address limit for the client address ``ip``: an IPv4 address itself (also when written as
    an IPv4-mapped IPv6 one), an IPv6 address's /64 (one household or phone gets a whole /64, and picks any address
    in it), anything else (a test client's name) as is."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return ip[:45]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


async def claim_signup_slot(session: AsyncSession, network: str | None, *, within: datetime.timedelta) -> int:
    """Sign-ups made from ``network`` (see :func:`network_of`) in the last ``within``, whatever became of them,
    counted under a lock on that network held until the transaction ends: concurrent sign-ups from one network
    are counted one after the other, so a burst cannot pass the limit together."""
    if network is None:
        return 0
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"signup-from:{network}", 0))))
    return int(
        await session.scalar(
            select(func.count()).select_from(Signup).where(Signup.ip == network, Signup.created_at > _now() - within)
        ) or 0
    )


async def challenge_used(session: AsyncSession, challenge_hash: str) -> bool:
    return await session.scalar(select(Signup.id).where(Signup.challenge_hash == challenge_hash)) is not None


async def by_token(session: AsyncSession, token: str) -> Signup | None:
    """The sign-up whose progress page ``token`` opens (only its hash is stored), or None."""
    if not TOKEN_PATTERN.fullmatch(token or ""):
        return None
    return await session.scalar(select(Signup).where(Signup.token_hash == sha256_hex(token)))


async def trial_end(session: AsyncSession, tenant_id: object) -> datetime.date | None:
    return await session.scalar(select(License.term_end).where(License.tenant_id == tenant_id))
