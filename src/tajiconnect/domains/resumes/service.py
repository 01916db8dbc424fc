"""A member's résumé: what they write, what the platform knows (name, certificates, skills), the share link.

* :func:`mine` gives the member's résumé, making it the first time (one row per member, whatever the races).
* :func:`update` changes the sections they write, checked field by field (:class:`ResumeError` names the field):
  lengths, a website that is an http(s) address, languages (at most :data:`LANGUAGES_MAX`, each with a level),
  the layout, which certificates to leave out, whether self-declared skills show.
* Entries (experience, education, references): add, change, delete, move up or down within their kind; months as
  ``YYYY-MM``; an end before the start, or an end on a current entry, is refused.
* :func:`content` gathers what a page or a PDF shows: the member's name and email, their sections and entries, their
  issued certificates (not revoked, not left out) with their verification links, their skills (what evidence
  shows, then what they declared, marked so, if they show those).
* The share link: a random token shown once, its SHA-256 stored; replacing it ends the old one, revoking ends it.
  Anyone with the link reads the résumé (page and PDF) while its member is active.
"""

from __future__ import annotations

import datetime
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect import validation
from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.accounts.crypto import new_token, token_hash
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.certificates.models import Certificate
from tajiconnect.domains.resumes.models import ENTRY_KINDS, RESUME_LAYOUTS, Resume, ResumeEntry
from tajiconnect.domains.skills import profile
from tajiconnect.i18n import gettext as _
from tajiconnect.tenancy.urls import tenant_url
from tajiconnect.validation import FieldError

HEADLINE_MAX, SUMMARY_MAX, PHONE_MAX, LOCATION_MAX, WEBSITE_MAX = 160, 3000, 40, 120, 300
TITLE_MAX, ORGANIZATION_MAX, PLACE_MAX, DESCRIPTION_MAX = 160, 160, 120, 2000
LANGUAGES_MAX, LANGUAGE_NAME_MAX, ENTRIES_MAX = 10, 60, 30
LANGUAGE_LEVELS = ("basic", "conversational", "fluent", "native")
SKILLS_SHOWN = 30
CERTIFICATES_SHOWN = 50
TOKEN_BYTES = 32
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
MONTH_RE = re.compile(r"^([0-9]{4})-([0-9]{2})$")  # ASCII digits only (\d takes any script's)


class ResumeError(FieldError):
    """What the résumé refuses (``validation.FieldError``)."""


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# --- checking what the member writes (pure) --------------------------------------------------------------------


def clean_text(value: Any, limit: int, field_name: str, *, required: bool = False, multiline: bool = False) -> str:
    """``validation.clean_text`` for the résumé: several lines (shown as written) with ``multiline``."""
    return validation.clean_text(value, limit, field_name, required=required, lines=multiline, error=ResumeError)


def clean_website(value: Any) -> str:
    return validation.web_address(value, WEBSITE_MAX, "website", error=ResumeError)


def clean_languages(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or len(value) > LANGUAGES_MAX:
        raise ResumeError(_("At most %(n)d languages.") % {"n": LANGUAGES_MAX}, field="languages")
    found: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, dict):
            raise ResumeError(_("Give each language a name and a level."), field="languages")
        name = clean_text(item.get("name"), LANGUAGE_NAME_MAX, "languages")
        level = item.get("level")
        if not name:
            continue
        if level not in LANGUAGE_LEVELS:
            raise ResumeError(_("Give each language a name and a level."), field="languages")
        if any(f["name"].lower() == name.lower() for f in found):
            raise ResumeError(_("Each language once."), field="languages")
        found.append({"name": name, "level": level})
    return found


def parse_month(value: Any, field_name: str) -> datetime.date | None:
    """``YYYY-MM`` (or empty) as the first day of that month."""
    if value in (None, ""):
        return None
    match = MONTH_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None or not 1950 <= int(match.group(1)) <= 2100 or not 1 <= int(match.group(2)) <= 12:
        raise ResumeError(_("Give a month as YYYY-MM."), field=field_name)
    return datetime.date(int(match.group(1)), int(match.group(2)), 1)


@dataclass
class EntryFields:
    title: str
    organization: str
    place: str
    start_month: datetime.date | None
    end_month: datetime.date | None
    current: bool
    description: str


def clean_entry(kind: str, values: dict[str, Any]) -> EntryFields:
    if kind not in ENTRY_KINDS:
        raise ResumeError(_("Choose experience, education or a reference."), field="kind")
    start = parse_month(values.get("start_month"), "start_month")
    end = parse_month(values.get("end_month"), "end_month")
    current = values.get("current") is True
    if current and end is not None:
        raise ResumeError(_("A current entry has no end."), field="end_month")
    if start and end and end < start:
        raise ResumeError(_("The end comes before the start."), field="end_month")
    return EntryFields(
        title=clean_text(values.get("title"), TITLE_MAX, "title", required=True),
        organization=clean_text(values.get("organization"), ORGANIZATION_MAX, "organization"),
        place=clean_text(values.get("place"), PLACE_MAX, "place"),
        start_month=start, end_month=end, current=current,
        description=clean_text(values.get("description"), DESCRIPTION_MAX, "description", multiline=True))


# --- the résumé --------------------------------------------------------------------------------------------------


async def mine(session: AsyncSession, user: Any) -> Resume:
    """The member's résumé, made the first time."""
    found = await session.scalar(select(Resume).where(Resume.user_id == user.id))
    if found is not None:
        return found
    moment = now()
    await session.execute(insert(Resume).values(id=uuid.uuid4(), user_id=user.id, created_at=moment,
                                                updated_at=moment).on_conflict_do_nothing())
    made = await session.scalar(select(Resume).where(Resume.user_id == user.id))
    assert made is not None
    return made


FIELDS = ("headline", "summary", "phone", "location", "website", "languages", "layout",
          "hidden_certificate_ids", "show_declared_skills")


async def update(session: AsyncSession, user: Any, **values: Any) -> Resume:
    """Change the given fields (see the module); nothing changes when one is refused."""
    resume = await mine(session, user)
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if name == "headline":
            changes[name] = clean_text(value, HEADLINE_MAX, name)
        elif name == "summary":
            changes[name] = clean_text(value, SUMMARY_MAX, name, multiline=True)
        elif name == "phone":
            changes[name] = clean_text(value, PHONE_MAX, name)
            if changes[name] and not re.fullmatch(r"[0-9+()./ -]+", changes[name]):
                raise ResumeError(_("Give a phone number: digits, spaces and + ( ) - . / only."), field=name)
        elif name == "location":
            changes[name] = clean_text(value, LOCATION_MAX, name)
        elif name == "website":
            changes[name] = clean_website(value)
        elif name == "languages":
            changes[name] = clean_languages(value)
        elif name == "layout":
            if value not in RESUME_LAYOUTS:
                raise ResumeError(_("Choose one of the layouts."), field=name)
            changes[name] = value
        elif name == "hidden_certificate_ids":
            ids = [parse_uuid(v) for v in value] if isinstance(value, list) and len(value) <= 500 else [None]
            if any(i is None for i in ids):
                raise ResumeError(_("Choose certificates from the list."), field=name)
            changes[name] = sorted(set(ids), key=str)
        elif name == "show_declared_skills":
            if not isinstance(value, bool):
                raise ResumeError(_("This must be true or false."), field=name)
            changes[name] = value
        else:  # pragma: no cover - the callers pass FIELDS only
            raise ResumeError(_("Unknown field."), field=name)
    for name, value in changes.items():
        setattr(resume, name, value)
    await session.flush()
    return resume


async def entries(session: AsyncSession, resume_id: uuid.UUID) -> dict[str, list[ResumeEntry]]:
    found: dict[str, list[ResumeEntry]] = {kind: [] for kind in ENTRY_KINDS}
    for entry in (await session.scalars(select(ResumeEntry).where(ResumeEntry.resume_id == resume_id)
                                        .order_by(ResumeEntry.kind, ResumeEntry.position, ResumeEntry.id))).all():
        found[entry.kind].append(entry)
    return found


async def entry_of(session: AsyncSession, user: Any, entry_id: Any, *, lock: bool = False) -> ResumeEntry:
    key = parse_uuid(entry_id)
    stmt = (select(ResumeEntry).join(Resume, Resume.id == ResumeEntry.resume_id)
            .where(ResumeEntry.id == key, Resume.user_id == user.id))
    found = await session.scalar(stmt.with_for_update(of=ResumeEntry) if lock else stmt) if key else None
    if found is None:
        raise ResumeError(_("No such entry on your résumé."), status=404)
    return found


async def add_entry(session: AsyncSession, user: Any, kind: str, values: dict[str, Any]) -> ResumeEntry:
    fields_ = clean_entry(kind, values)
    resume = await mine(session, user)
    await session.execute(select(Resume.id).where(Resume.id == resume.id).with_for_update())  # counts in turn
    count, last = (await session.execute(select(func.count(), func.max(ResumeEntry.position)).where(
        ResumeEntry.resume_id == resume.id, ResumeEntry.kind == kind))).one()
    if count >= ENTRIES_MAX:
        raise ResumeError(_("At most %(n)d entries of each kind.") % {"n": ENTRIES_MAX}, status=409, field="kind")
    entry = ResumeEntry(resume_id=resume.id, kind=kind, position=(last + 1) if last is not None else 0,
                        **fields_.__dict__)
    session.add(entry)
    await session.flush()
    return entry


async def update_entry(session: AsyncSession, user: Any, entry_id: Any, values: dict[str, Any]) -> ResumeEntry:
    entry = await entry_of(session, user, entry_id, lock=True)
    fields_ = clean_entry(entry.kind, values)
    for name, value in fields_.__dict__.items():
        setattr(entry, name, value)
    await session.flush()
    return entry


async def delete_entry(session: AsyncSession, user: Any, entry_id: Any) -> None:
    entry = await entry_of(session, user, entry_id, lock=True)
    await session.delete(entry)
    await session.flush()


async def move_entry(session: AsyncSession, user: Any, entry_id: Any, direction: str) -> None:
    """Swap an entry with its neighbour above (``up``) or below (``down``) within its kind."""
    if direction not in ("up", "down"):
        raise ResumeError(_("Move up or down."), field="direction")
    entry = await entry_of(session, user, entry_id, lock=True)
    siblings = (await session.scalars(select(ResumeEntry).where(
        ResumeEntry.resume_id == entry.resume_id, ResumeEntry.kind == entry.kind)
        .order_by(ResumeEntry.position, ResumeEntry.id).with_for_update())).all()
    index = next(i for i, e in enumerate(siblings) if e.id == entry.id)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(siblings):
        ordered = list(siblings)
        ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, item in enumerate(ordered):
            item.position = position
        await session.flush()


# --- what a page or a PDF shows --------------------------------------------------------------------------------


@dataclass
class SkillLine:
    name: str
    level: int
    declared: bool


@dataclass
class CertificateLine:
    id: uuid.UUID
    title: str
    completed_on: datetime.date
    code: str
    url: str
    hidden: bool


@dataclass
class ResumeContent:
    resume: Resume
    name: str
    email: str
    entries: dict[str, list[ResumeEntry]]
    skills: list[SkillLine] = field(default_factory=list)
    certificates: list[CertificateLine] = field(default_factory=list)

    @property
    def shown_certificates(self) -> list[CertificateLine]:
        return [c for c in self.certificates if not c.hidden]


async def certificates_of(session: AsyncSession, user_id: uuid.UUID,
                          hidden: list[uuid.UUID] | None = None) -> list[CertificateLine]:
    """The member's issued certificates (not revoked), newest first, with their verification links."""
    rows = (await session.scalars(select(Certificate).where(
        Certificate.user_id == user_id, Certificate.status == "issued")
        .order_by(Certificate.completed_at.desc(), Certificate.id).limit(CERTIFICATES_SHOWN))).all()
    left_out = set(hidden or ())
    return [CertificateLine(c.id, c.title, c.completed_at.date(), c.code, tenant_url(f"/verify/{c.code}"),
                            c.id in left_out) for c in rows]


async def skills_of(session: AsyncSession, user_id: uuid.UUID, *, declared: bool) -> list[SkillLine]:
    levels, _total = await profile.profile(session, user_id, per_page=SKILLS_SHOWN, details=False)
    lines = []
    for s in levels:
        if s.level:
            lines.append(SkillLine(s.name, s.level, False))
        elif declared and s.declared:
            lines.append(SkillLine(s.name, s.declared, True))
    return lines


async def content(session: AsyncSession, resume: Resume, user: Any) -> ResumeContent:
    return ResumeContent(
        resume=resume, name=user.name or user.email, email=user.email,
        entries=await entries(session, resume.id),
        skills=await skills_of(session, user.id, declared=resume.show_declared_skills),
        certificates=await certificates_of(session, user.id, resume.hidden_certificate_ids))


def completeness(found: ResumeContent) -> int:
    """How complete the résumé is, in percent: a headline, a summary, a way to reach the member, experience,
    education, languages, skills and certificates count one each (pure)."""
    r = found.resume
    parts = [bool(r.headline), bool(r.summary), bool(r.phone or r.location or r.website),
             bool(found.entries["experience"]), bool(found.entries["education"]), bool(r.languages),
             bool(found.skills), bool(found.shown_certificates)]
    return int(sum(parts) * 100 / len(parts) + 0.5)


# --- the share link ----------------------------------------------------------------------------------------------


async def new_share_link(session: AsyncSession, acting: Acting) -> str:
    """A new private link for the member's résumé (the old one stops working), audited; the token, shown once."""
    resume = await mine(session, acting.user)
    replaced = resume.share_token_hash is not None
    token = new_token(TOKEN_BYTES)
    resume.share_token_hash, resume.shared_at = token_hash(token), now()
    await session.flush()
    await record(session, acting.actor, "resume.share.replaced" if replaced else "resume.share.created",
                 target_type="user", target_id=acting.user.id)
    return token


async def revoke_share_link(session: AsyncSession, acting: Acting) -> bool:
    """Turn the private link off (audited); whether there was one."""
    result = await session.execute(sql_update(Resume).where(
        Resume.user_id == acting.user.id, Resume.share_token_hash.is_not(None)).values(share_token_hash=None,
                                                                                       shared_at=None))
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await record(session, acting.actor, "resume.share.revoked", target_type="user", target_id=acting.user.id)
    return True


async def by_token(session: AsyncSession, token: str) -> tuple[Resume, User] | None:
    """The résumé shared under ``token`` and its (active) member, or None."""
    if not TOKEN_RE.fullmatch(token or ""):
        return None
    row = (await session.execute(select(Resume, User).join(User, User.id == Resume.user_id).where(
        Resume.share_token_hash == token_hash(token), User.status == "active"))).first()
    return (row[0], row[1]) if row else None


def share_url(token: str) -> str:
    return tenant_url(f"/r/{token}")
