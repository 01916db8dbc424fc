"""Certificates: issuing one per completion, who may see them, revoking, verifying, the organization's layout.

* :func:`issue_for_completion` makes the certificate of a ``learning_completions`` row exactly once: ``INSERT ...
  ON CONFLICT (completion_id) DO NOTHING``, then reads the row back, whoever made it. The words on it (the
  learner's name, the course's or path's title, the date) are copied at issue; the layout is the organization's
  (``organization_settings.certificate_layout``) at that moment; the code comes from :func:`new_code`.
* Who sees a learner's certificates (:func:`may_see_all_of`): the learner, their linked parents, the teachers and
  managers who currently lead one of their groups, and admins. A course's staff (its owner and co-teachers) see
  the certificates of that course. Anyone else gets "not found", like another organization's ids.
* Admins revoke a certificate with a reason (audited); the verification page then says so.
* :func:`verify` finds a code in the tenant in scope only: another organization's code is unknown here.
"""

from __future__ import annotations

import datetime
import re
import secrets
import uuid
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import OrganizationSettings, User
from tajiconnect.domains.accounts.policies import Permission, can
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.certificates.models import CERTIFICATE_LAYOUTS, Certificate
from tajiconnect.domains.certificates.pdf import CertificateContent
from tajiconnect.domains.courses.access import staff_filter
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.parents.service import is_linked, leads
from tajiconnect.domains.paths.models import LearningPath
from tajiconnect.domains.progress.models import LearningCompletion
from tajiconnect.i18n import gettext as _
from tajiconnect.tenancy.branding import TENANTS_DIR, branding_for
from tajiconnect.tenancy.context import TenantRef
from tajiconnect.tenancy.urls import tenant_url

#: Codes use these 29 characters: no 0/O, 1/I/L or U/V look-alikes, so a code read off paper is typed right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"
CODE_LENGTH = 16  # 29^16: about 77 bits, far beyond guessing
PER_PAGE = 20
REASON_MAX = 500
SEARCH_MAX = 100
_NOT_CODE = re.compile(r"[\s-]+")


class CertificateError(Exception):
    """A refused certificate action: ``status`` (404 unknown or not yours, 403 not allowed, 400/409 refused value)
    and ``field`` for a form or problem body."""

    def __init__(self, message: str, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.field = message, status, field


def not_found() -> CertificateError:
    return CertificateError(_("No such certificate."), status=404)


def new_code() -> str:
    """An unguessable verification code of :data:`CODE_LENGTH` characters from :data:`CODE_ALPHABET`."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """A code as someone typed it: any case, spaces and dashes ignored."""
    return _NOT_CODE.sub("", text or "").upper()[:64]


def grouped(code: str) -> str:
    """The code in groups of four for people to read (``ABCD-EFGH-...``)."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def choose_layout(value: str | None) -> str:
    """The layout ``value`` if it is one, else ``classic``."""
    return value if value in CERTIFICATE_LAYOUTS else "classic"


def is_admin(user: Any) -> bool:
    return can(user, Permission.MANAGE_USERS)


def _uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# --- issuing ---------------------------------------------------------------------------------------------------


async def organization_layout(session: AsyncSession) -> str:
    value = await session.scalar(select(OrganizationSettings.certificate_layout).where(OrganizationSettings.id == 1))
    return choose_layout(value)


async def issue_for_completion(session: AsyncSession, completion_id: uuid.UUID | str) -> Certificate | None:
    """The completion's certificate, made now if it has none (exactly once however often this runs; see the
    module); None when the completion no longer exists."""
    key = _uuid(completion_id)
    completion = await session.get(LearningCompletion, key) if key else None
    if completion is None:
        return None
    existing = await session.scalar(select(Certificate).where(Certificate.completion_id == completion.id))
    if existing is not None:
        return existing
    learner = await session.get(User, completion.user_id)
    if completion.course_id is not None:
        title = await session.scalar(select(Course.title).where(Course.id == completion.course_id))
    else:
        title = await session.scalar(select(LearningPath.title).where(LearningPath.id == completion.path_id))
    if learner is None or title is None:
        return None
    await session.execute(
        insert(Certificate)
        .values(id=uuid.uuid4(), completion_id=completion.id, user_id=completion.user_id,
                course_id=completion.course_id, path_id=completion.path_id, learner_name=learner.name[:200],
                title=title[:300], completed_at=completion.completed_at, issued_at=_now(), code=new_code(),
                layout=await organization_layout(session), status="issued")
        .on_conflict_do_nothing(index_elements=["completion_id"])
    )
    return await session.scalar(
        select(Certificate).where(Certificate.completion_id == completion.id).execution_options(populate_existing=True)
    )


def content_for(certificate: Certificate, tenant: TenantRef, *, layout: str | None = None) -> CertificateContent:
    """What the PDF of ``certificate`` shows, with the organization's name, branding and verification URL."""
    return sample_content(tenant, layout or certificate.layout, learner_name=certificate.learner_name,
                          title=certificate.title, completed_on=certificate.completed_at.date(),
                          code=certificate.code)


def sample_content(tenant: TenantRef, layout: str, *, learner_name: str | None = None, title: str | None = None,
                   completed_on: datetime.date | None = None, code: str | None = None) -> CertificateContent:
    """A certificate's content in ``tenant``'s name and colours; sample words (the layout preview) by default."""
    brand = branding_for(tenant)
    code = code or "SAMPLE" + "X" * (CODE_LENGTH - 6)
    return CertificateContent(
        learner_name=learner_name or "Amélie Öztürk-Ngũgĩ",
        title=title or _("Sample course"),
        completed_on=completed_on or _now().date(),
        organization=tenant.name, code=code,
        verify_url=tenant_url(f"/verify/{code}", tenant),
        layout=choose_layout(layout), primary=brand.primary, accent=brand.accent,
        logo=TENANTS_DIR / tenant.slug / "static" / brand.logo if brand.logo else None,
        locale=tenant.locale,
    )


# --- who sees what ---------------------------------------------------------------------------------------------


async def may_see_all_of(session: AsyncSession, viewer: Any, learner_id: uuid.UUID) -> bool:
    """The learner, an admin, a linked parent, a teacher or manager leading one of the learner's groups."""
    if viewer is None or not viewer.is_active:
        return False
    if viewer.id == learner_id or is_admin(viewer):
        return True
    if viewer.has_role("parent") and await is_linked(session, viewer.id, learner_id):
        return True
    return bool(viewer.has_role("teacher") or viewer.has_role("manager")) and await leads(
        session, viewer.id, learner_id)


async def _visible(session: AsyncSession, viewer: Any, learner_id: uuid.UUID) -> Select | None:
    """The statement of ``learner_id``'s certificates ``viewer`` may see (course staff: their courses' only);
    None when none at all."""
    stmt = select(Certificate).where(Certificate.user_id == learner_id)
    if await may_see_all_of(session, viewer, learner_id):
        return stmt
    if viewer is None or not viewer.is_active or not can(viewer, Permission.AUTHOR_COURSES):
        return None
    return stmt.where(Certificate.course_id.in_(select(Course.id).where(staff_filter(viewer))))


async def _paged(session: AsyncSession, stmt: Select, page: int, per_page: int) -> tuple[list[Certificate], int]:
    total = int(await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)
    rows = await session.scalars(
        stmt.order_by(Certificate.issued_at.desc(), Certificate.id).offset((max(page, 1) - 1) * per_page)
        .limit(per_page))
    return list(rows.all()), total


async def mine(session: AsyncSession, user: Any, *, page: int = 1, per_page: int = PER_PAGE
               ) -> tuple[list[Certificate], int]:
    return await _paged(session, select(Certificate).where(Certificate.user_id == user.id), page, per_page)


async def of_learner(session: AsyncSession, viewer: Any, learner_id: Any, *, page: int = 1,
                     per_page: int = PER_PAGE) -> tuple[User, list[Certificate], int]:
    """The learner and the certificates of theirs ``viewer`` may see; 404 when none may be seen (an unknown
    member, another organization's, or someone the viewer has nothing to do with)."""
    key = _uuid(learner_id)
    learner = await session.get(User, key) if key else None
    stmt = await _visible(session, viewer, learner.id) if learner is not None else None
    if learner is None or stmt is None:
        raise not_found()
    rows, total = await _paged(session, stmt, page, per_page)
    if total == 0 and not await may_see_all_of(session, viewer, learner.id):
        raise not_found()  # course staff with none of their courses' certificates: nothing to say about them
    return learner, rows, total


async def get_visible(session: AsyncSession, viewer: Any, certificate_id: Any) -> Certificate:
    """One certificate ``viewer`` may see (see the module), or a 404 error."""
    key = _uuid(certificate_id)
    certificate = await session.get(Certificate, key) if key else None
    if certificate is None:
        raise not_found()
    stmt = await _visible(session, viewer, certificate.user_id)
    if stmt is None or await session.scalar(select(stmt.where(Certificate.id == certificate.id).exists())) is not True:
        raise not_found()
    return certificate


async def verify(session: AsyncSession, code: str) -> Certificate | None:
    """The certificate with this code in the tenant in scope, or None."""
    wanted = normalise_code(code)
    if not wanted or len(wanted) > 32:
        return None
    return await session.scalar(select(Certificate).where(Certificate.code == wanted))


# --- administration --------------------------------------------------------------------------------------------


async def admin_list(session: AsyncSession, viewer: Any, *, q: str | None = None, page: int = 1,
                     per_page: int = PER_PAGE) -> tuple[list[Certificate], int]:
    if not is_admin(viewer):
        raise CertificateError(_("Only admins manage certificates."), status=403)
    stmt = select(Certificate)
    text = (q or "").strip()[:SEARCH_MAX]
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Certificate.learner_name.ilike(pattern), Certificate.title.ilike(pattern),
                              Certificate.code == normalise_code(text)))
    return await _paged(session, stmt, page, per_page)


def clean_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise CertificateError(_("Say why the certificate is revoked."), field="reason")
    if len(text) > REASON_MAX:
        raise CertificateError(_("Keep the reason under %(n)d characters.") % {"n": REASON_MAX}, field="reason")
    return text


async def revoke(session: AsyncSession, acting: Acting, certificate_id: Any, reason: str | None) -> Certificate:
    """Revoke a certificate (admins, with a reason; audited). A revoked one cannot be revoked again (409)."""
    if not is_admin(acting.user):
        raise CertificateError(_("Only admins revoke certificates."), status=403)
    key = _uuid(certificate_id)
    certificate = await session.get(Certificate, key, with_for_update=True) if key else None
    if certificate is None:
        raise not_found()
    text = clean_reason(reason)
    if certificate.status == "revoked":
        raise CertificateError(_("This certificate is already revoked."), status=409, field="status")
    certificate.status, certificate.revoked_at = "revoked", _now()
    certificate.revoked_reason, certificate.revoked_by_id = text, acting.user.id
    learner = await session.get(User, certificate.user_id)
    await record(session, acting.actor, "certificate.revoked", subject_email=learner.email if learner else None,
                 target_type="certificate", target_id=certificate.id, code=certificate.code, reason=text)
    return certificate


async def set_layout(session: AsyncSession, acting: Acting, layout: str) -> str:
    """The organization's layout for new certificates (admins; audited)."""
    if not is_admin(acting.user):
        raise CertificateError(_("Only admins choose the certificate layout."), status=403)
    if layout not in CERTIFICATE_LAYOUTS:
        raise CertificateError(_("Choose one of the layouts."), field="layout")
    settings = await session.get(OrganizationSettings, 1, with_for_update=True)
    if settings is None:
        settings = OrganizationSettings(id=1, require_2fa_roles=[])
        session.add(settings)
    before = settings.certificate_layout
    settings.certificate_layout = layout
    await session.flush()
    if before != layout:
        await record(session, acting.actor, "certificate.layout_changed", target_type="organization",
                     before=before, after=layout)
    return layout
