"""The apex host's operator area: sign in, the organizations with their licenses (searchable), each organization's
page (license, billing facts, Stripe invoices, billing events; license changes by hand when Stripe does not decide,
suspend and resume, extend a trial, export, delete), sign out. Never reachable on a tenant host."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery, Parameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Stream, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_429_TOO_MANY_REQUESTS

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import (
    actor_of,
    client_ip,
    current_operator,
    operator_cookie_name,
    operator_session_token,
    start_session,
    with_session_cookie,
)
from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.domains.billing.access import read_only_from, read_only_reason
from tajiconnect.domains.billing.money import money
from tajiconnect.domains.billing.stripe_api import stripe_client
from tajiconnect.domains.licensing.models import LICENSE_STATUSES, MAX_SEATS
from tajiconnect.domains.licensing.service import LicenseError, LicenseView, list_licenses, plans
from tajiconnect.domains.storage.errors import FilesLeftError
from tajiconnect.domains.storage.service import content_disposition
from tajiconnect.i18n import _
from tajiconnect.logs import get_logger
from tajiconnect.platform import tenants
from tajiconnect.platform.exports import (
    ARCHIVE_TYPE,
    enqueue_export,
    orphan_exports,
    recent_exports,
    request_export,
)
from tajiconnect.platform.models import TenantExport
from tajiconnect.platform.service import authenticate
from tajiconnect.settings import BillingSettings
from tajiconnect.tenancy.resolver import invalidate_tenant_cache
from tajiconnect.tenancy.service import TenantNotFoundError
from tajiconnect.web.forms import Form, render_form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

APEX = {"host": "apex"}

log = get_logger(__name__)


def requires_operator(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """A signed-in operator past the second factor (a ``full`` session); a pending one is sent to the 2FA page."""
    if current_operator(connection.scope) is None:
        raise NotAuthorizedException()


class PlatformPages(Controller):
    path = "/platform"
    opt = APEX
    include_in_schema = False

    @get("/sign-in", name="platform.sign_in", opt=APEX)
    async def sign_in_page(self) -> Template:
        return Template("platform/sign_in.html", context={"form": {}, "errors": {}})

    @post("/sign-in", name="platform.sign_in.submit", opt=APEX)
    async def sign_in(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        actor = Actor(ip=client_ip(request.scope), user_agent=request.headers.get("user-agent"))
        outcome, operator = await authenticate(
            request.app.state.engine, db_session, form.get("email"), form.get("password"), actor
        )
        if outcome == "throttled":
            form.error("form", _("Too many attempts. Wait 15 minutes and try again."))
            return render_form("platform/sign_in.html", form, status=HTTP_429_TOO_MANY_REQUESTS)
        if operator is None:
            form.error("form", _("That email and password do not match an active operator."))
            return render_form("platform/sign_in.html", form)
        # Password accepted: the second factor is due (platform/mfa_pages.py), or its enrollment when there is none.
        store = request.app.state.operator_session_store
        old = operator_session_token(request.scope)
        token = await start_session(request, store, operator.id, "mfa", old_token=old)
        name = operator_cookie_name(request.app.state.settings.secure_cookies)
        step = "/platform/2fa" if operator.totp_enabled else "/platform/2fa/setup"
        return with_session_cookie(request, see_other(step), token, stage="mfa", name=name)

    @post("/sign-out", name="platform.sign_out", opt=APEX)
    async def sign_out(self, request: Request) -> Redirect:
        token = operator_session_token(request.scope)
        if token:
            await request.app.state.operator_session_store.delete(token)
        response = see_other("/platform/sign-in")
        response.delete_cookie(operator_cookie_name(request.app.state.settings.secure_cookies), path="/")
        return response

    @get("/", name="platform.home", opt=APEX, guards=[requires_operator])
    async def home(
        self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1, q: SearchParam = None,
        status: StatusParam = None,
    ) -> Template:
        """Every organization with its plan, seats used of purchased, license and subscription status and last
        activity (one page at a time); ``q`` searches slugs and names, ``status`` filters by license status."""
        filters = {"q": (q or "").strip(), "status": status if status in LICENSE_STATUSES else ""}
        licenses, total = await list_licenses(
            request.app.state.engine, limit=PER_PAGE, offset=(page - 1) * PER_PAGE,
            q=filters["q"] or None, status=filters["status"] or None,
        )
        context = {"licenses": licenses, "paging": page_info(total, page, PER_PAGE), "filters": filters,
                   "statuses": LICENSE_STATUSES}
        partial = wants_fragment(request, "platform-tenants")
        if not partial:
            context["orphans"] = await orphan_exports(db_session)
        return Template("platform/_tenants.html" if partial else "platform/home.html", context=context)

    @get("/tenants/{slug:str}", name="platform.tenant", opt=APEX, guards=[requires_operator])
    async def tenant(
        self, request: HTMXRequest, db_session: DbSession, slug: FromPath[str], page: PageParam = 1,
        notice: FromQuery[str | None] = None,
    ) -> Template:
        detail = await _detail(db_session, slug)
        if wants_fragment(request, "platform-events"):
            return Template("platform/_events.html", context=await _events(db_session, detail, page))
        return await _tenant_page(request, db_session, detail, form=_license_form(detail.license), notice=notice,
                                  page=page)

    @get("/tenants/{slug:str}/exports", name="platform.tenant.exports", opt=APEX, guards=[requires_operator])
    async def exports(self, db_session: DbSession, slug: FromPath[str]) -> Template:
        """The tenant's latest exports (the page polls this while one is being built)."""
        detail = await _detail(db_session, slug)
        return Template("platform/_exports.html", context={
            "detail": detail, "exports": await recent_exports(db_session, detail.tenant.id)})

    @post("/tenants/{slug:str}/license", name="platform.tenant.license", opt=APEX, guards=[requires_operator])
    async def change_license(
        self, request: Request, db_session: DbSession, slug: FromPath[str]
    ) -> Template | Redirect:
        detail = await _detail(db_session, slug)
        form = await Form.read(request)
        if _stripe_decides(request, detail, form):
            return await _tenant_page(request, db_session, detail, form=form.data, errors=form.errors, status=422)
        plan_codes = [p.code for p in await plans(db_session)]
        wanted = _read_license_form(form, plan_codes, detail.license.term_start)
        if not form.ok:
            return await _tenant_page(request, db_session, detail, form=form.data, errors=form.errors, status=422)
        try:
            _view, changes = await tenants.change_license(db_session, _actor(request), slug, **wanted)
        except LicenseError as exc:  # e.g. a plan removed meanwhile: refused as a whole
            form.error("form", str(exc))
            return await _tenant_page(request, db_session, detail, form=form.data, errors=form.errors, status=422)
        if changes:
            await db_session.commit()
            invalidate_tenant_cache()
        return see_other(f"/platform/tenants/{slug}", notice="license_saved" if changes else "nothing_changed")

    @post("/tenants/{slug:str}/suspend", name="platform.tenant.suspend", opt=APEX, guards=[requires_operator])
    async def suspend(self, request: Request, db_session: DbSession, slug: FromPath[str]) -> Redirect:
        await _set_status(request, db_session, slug, "suspended")
        return see_other(f"/platform/tenants/{slug}", notice="tenant_suspended")

    @post("/tenants/{slug:str}/resume", name="platform.tenant.resume", opt=APEX, guards=[requires_operator])
    async def resume(self, request: Request, db_session: DbSession, slug: FromPath[str]) -> Redirect:
        await _set_status(request, db_session, slug, "active")
        return see_other(f"/platform/tenants/{slug}", notice="tenant_resumed")

    @post("/tenants/{slug:str}/extend-trial", name="platform.tenant.extend_trial", opt=APEX,
          guards=[requires_operator])
    async def extend_trial(
        self, request: Request, db_session: DbSession, slug: FromPath[str]
    ) -> Template | Redirect:
        detail = await _detail(db_session, slug)
        form = await Form.read(request)
        text_ = form.get("days").strip()
        days = int(text_) if text_.isascii() and text_.isdigit() and len(text_) <= 3 else 0
        if _stripe_decides(request, detail, form):  # a trial in Stripe ends when its subscription says
            pass
        elif not 1 <= days <= tenants.MAX_TRIAL_EXTENSION:
            form.error("days", _("Enter a whole number of days from 1 to %(max)d.") % {
                "max": tenants.MAX_TRIAL_EXTENSION})
        else:
            try:
                await tenants.extend_trial(db_session, _actor(request), slug, days)
            except LicenseError as exc:  # no longer trialing: the page has no trial form to show it next to
                form.error("days" if detail.license.status == "trialing" else "form", str(exc))
        if not form.ok:
            return await _tenant_page(request, db_session, detail, form=_license_form(detail.license),
                                      errors=form.errors, status=422, extra={"days": text_})
        await db_session.commit()
        invalidate_tenant_cache()
        return see_other(f"/platform/tenants/{slug}", notice="trial_extended")

    @post("/tenants/{slug:str}/export", name="platform.tenant.export", opt=APEX, guards=[requires_operator])
    async def export(self, request: Request, db_session: DbSession, slug: FromPath[str]) -> Redirect:
        """Ask for an export of the tenant: built in the background, its progress shown on the page."""
        detail = await _detail(db_session, slug)
        export = await request_export(db_session, _actor(request), detail.tenant)
        await db_session.commit()
        try:
            await enqueue_export(request.app.state.queue, export.id)
        except Exception as exc:  # the broker is away: the export waits; asking again queues it
            log.warning("platform: the export could not be queued", export_id=str(export.id), error=type(exc).__name__)
        return see_other(f"/platform/tenants/{slug}", notice="export_requested")

    @get("/tenants/{slug:str}/exports/{export_id:uuid}/download", name="platform.export.download", opt=APEX,
         guards=[requires_operator])
    async def download(
        self, request: Request, db_session: DbSession, slug: FromPath[str], export_id: FromPath[uuid.UUID]
    ) -> Redirect | Stream:
        """A ready export's archive (a short-lived S3 URL, or streamed by the app); recorded in the platform log.
        The export must be this organization's: another's id is not found here."""
        export = await db_session.get(TenantExport, export_id)
        storage = request.app.state.storage
        if (export is None or export.slug != slug or export.status != "ready" or not export.storage_key
                or await storage.backend.size(export.storage_key) is None):
            raise NotFoundException(detail="no such export")
        await record(db_session, _actor(request), "platform.export.downloaded", target_type="tenant",
                     target_id=slug, model=PlatformAuditEntry, tenant=slug, export_id=str(export.id))
        await db_session.commit()
        name = f"{slug}-export-{export.created_at.strftime('%Y%m%d-%H%M%S')}.zip"
        disposition = content_disposition(name, download=True)
        url = storage.backend.presigned_get(export.storage_key, content_type=ARCHIVE_TYPE, disposition=disposition,
                                            expires=storage.settings.url_seconds)
        if url is not None:
            return Redirect(path=url, status_code=HTTP_303_SEE_OTHER)
        return Stream(storage.backend.open(export.storage_key), media_type=ARCHIVE_TYPE, headers={
            "content-disposition": disposition, "content-length": str(export.size_bytes),
            "cache-control": "private, no-store"})

    @post("/tenants/{slug:str}/delete", name="platform.tenant.delete", opt=APEX, guards=[requires_operator])
    async def delete(self, request: Request, db_session: DbSession, slug: FromPath[str]) -> Template | Redirect:
        """Delete the organization for good: cancelled and past its retention (or the retention overridden), a
        ready export newer than its last change, and its slug typed to confirm."""
        detail = await _detail(db_session, slug)
        form = await Form.read(request)
        override = form.get("override_retention") == "yes"
        await db_session.rollback()  # the deletion runs in its own transaction (with the registry row locked)
        try:
            await tenants.delete_tenant(
                request.app.state.engine, request.app.state.storage.backend, _actor(request), slug,
                confirm=form.get("confirm"), override_retention=override,
                retention_days=request.app.state.settings.billing.retention_days,
            )
        except TenantNotFoundError as exc:  # deleted meanwhile
            raise NotFoundException(detail="no such organization") from exc
        except FilesLeftError as exc:  # its data is gone; some of its stored files are not
            log.error("organization deleted, some of its files were not", slug=slug, prefix=exc.prefix,
                      failed=exc.failed, sample=exc.sample)
            return see_other("/platform", notice="tenant_deleted_files_left")
        except tenants.DeletionRefusedError as exc:
            form.error("confirm", str(exc))
            return await _tenant_page(request, db_session, await _detail(db_session, slug),
                                      form=_license_form(detail.license), errors=form.errors, status=422,
                                      extra={"override_retention": override})
        return see_other("/platform", notice="tenant_deleted")


PER_PAGE = 50
EVENTS_PER_PAGE = 20

SearchParam = Annotated[str | None, Parameter(max_length=100)]
StatusParam = Annotated[str | None, Parameter(max_length=16)]


def _stripe_decides(request: Request, detail: tenants.TenantDetail, form: Form) -> bool:
    """Whether Stripe owns this license (then the form gets the error that says so): no hand change then."""
    if not tenants.stripe_decides(request.app.state.settings.billing, detail.billing):
        return False
    form.error("form", _("Stripe decides this organization's license: it changes only from its subscription in "
                         "Stripe."))
    return True


def _actor(request: Request) -> Actor:
    return actor_of(request, current_operator(request.scope))


async def _detail(db_session: DbSession, slug: str) -> tenants.TenantDetail:
    try:
        return await tenants.tenant_detail(db_session, slug)
    except TenantNotFoundError as exc:
        raise NotFoundException(detail="no such organization") from exc


async def _set_status(request: Request, db_session: DbSession, slug: str, status: str) -> None:
    await _detail(db_session, slug)  # 404 for an unknown slug
    _, changed = await tenants.set_tenant_status(db_session, _actor(request), slug, status)
    if changed:
        # Committed before the host cache is dropped: a request in between would cache the old status again.
        await db_session.commit()
        invalidate_tenant_cache()


def _license_form(lic: LicenseView) -> dict[str, str]:
    return {
        "plan": lic.plan_code,
        "seats": str(lic.seats),
        "status": lic.status,
        "term_end": lic.term_end.isoformat() if lic.term_end else "",
    }


def _read_license_form(form: Form, plan_codes: list[str], term_start: datetime.date) -> dict[str, Any]:
    """The license fields as ``change_license`` takes them; each invalid one gets its error on ``form``."""
    plan = form.get("plan").strip()
    if plan not in plan_codes:
        form.error("plan", _("Choose one of the plans."))
    seats_text = form.get("seats").strip()
    seats = int(seats_text) if seats_text.isascii() and seats_text.isdigit() and len(seats_text) <= 7 else -1
    if not 0 <= seats <= MAX_SEATS:
        form.error("seats", _("Enter a whole number of seats from 0 to %(max)d.") % {"max": MAX_SEATS})
    status = form.get("status").strip()
    if status not in LICENSE_STATUSES:
        form.error("status", _("Choose one of the statuses."))
    term_text = form.get("term_end").strip()
    until: datetime.date | None = None
    if term_text:
        try:
            until = datetime.date.fromisoformat(term_text) if len(term_text) == 10 else None
        except ValueError:
            until = None
        if until is None:
            form.error("term_end", _("Enter a date as YYYY-MM-DD, or leave it empty for a term without an end."))
        elif until < term_start:
            form.error(
                "term_end", _("The term cannot end before it starts (%(start)s).") % {"start": term_start.isoformat()}
            )
    return {"plan": plan, "seats": seats, "status": status, "until": until, "open_ended": not term_text}


async def _events(db_session: DbSession, detail: tenants.TenantDetail, page: int) -> dict[str, Any]:
    events, total = await tenants.billing_events(
        db_session, detail.tenant.id, limit=EVENTS_PER_PAGE, offset=(page - 1) * EVENTS_PER_PAGE)
    return {"detail": detail, "events": events, "events_paging": page_info(total, page, EVENTS_PER_PAGE)}


async def _tenant_page(
    request: Request,
    db_session: DbSession,
    detail: tenants.TenantDetail,
    *,
    form: dict[str, Any],
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
    page: int = 1,
    extra: dict[str, Any] | None = None,
) -> Template:
    settings = request.app.state.settings
    lic = detail.billing
    now = datetime.datetime.now(datetime.UTC)
    invoices, invoices_error = await invoices_of(settings.billing, lic.stripe_customer_id)
    context = {
        "detail": detail,
        "plans": await plans(db_session),
        "statuses": LICENSE_STATUSES,
        "max_seats": MAX_SEATS,
        "form": {k: v for k, v in form.items() if k != "_csrf_token"},
        "errors": errors or {},
        "notice": notice,
        "billing_configured": settings.billing.configured,
        "stripe_decides": tenants.stripe_decides(settings.billing, lic),
        "read_only_reason": read_only_reason(lic.status, past_due_since=lic.past_due_since, term_end=lic.term_end,
                                             now=now, grace_days=settings.billing.grace_days),
        "read_only_from": read_only_from(lic.past_due_since, settings.billing.grace_days),
        "invoices": invoices,
        "invoices_error": invoices_error,
        "exports": await recent_exports(db_session, detail.tenant.id),
        "deletion_refusal": await tenants.deletion_refusal(
            db_session, detail.tenant, override_retention=False, retention_days=settings.billing.retention_days),
        "max_trial_days": tenants.MAX_TRIAL_EXTENSION,
        "extra": extra or {},
        **await _events(db_session, detail, page),
    }
    return Template("platform/tenant.html", context=context, status_code=status)


async def invoices_of(billing: BillingSettings, customer_id: str | None) -> tuple[list[dict[str, Any]], bool]:
    """The customer's latest 10 invoices from Stripe as the page shows them, and whether Stripe failed to answer
    (then the page says so instead of failing). None without billing or without a customer."""
    if not billing.configured or not customer_id:
        return [], False
    try:
        answer = await stripe_client(billing).v1.invoices.list_async({"customer": customer_id, "limit": 10})
    except Exception as exc:  # an outage or an error of Stripe's must not take the console down
        log.warning("platform: Stripe invoices could not be read", error=type(exc).__name__)
        return [], True
    shown = []
    for invoice in answer.data:
        item = invoice.to_dict()
        created = item.get("created")
        shown.append({
            "id": item.get("id"),
            "number": item.get("number") or item.get("id"),
            "date": datetime.datetime.fromtimestamp(created, datetime.UTC).date() if created else None,
            "amount": money(item.get("total", item.get("amount_due")), item.get("currency")),
            "status": item.get("status") or "",
            "url": item.get("hosted_invoice_url"),
        })
    return shown, False
