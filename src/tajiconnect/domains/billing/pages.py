"""The org admin's billing page (``/admin/billing``): the license (plan, seats used / purchased, status, interval),
the next charge and the invoices as Stripe has them, and three actions, each audited in the tenant's log:

* **Subscribe** (no subscription yet, or it ended): plan, interval and seat count -> Stripe Checkout
  (``billing.checkout.started``). Coming back with ``?checkout=success`` only says that Stripe received the payment:
  the license changes when Stripe confirms it (webhooks -> ``reconcile.py``), never from what the browser says.
* **Manage payment methods & invoices**: Stripe's customer portal (``billing.portal.opened``).
* **Change seats** (subscribed): the subscription's quantity. The request holds the subscription's lock and the
  license row from counting the seats in use to applying Stripe's answer (no seat is assigned meanwhile); lowering
  below the seats in use is refused before anything is sent (the locks are let go before the page is drawn).
  Stripe prorates by default (``proration_behavior=create_prorations``; the request sends only the item and its
  quantity); the subscription is then fetched and applied in the same transaction
  (:func:`reconcile.fetch_and_apply`; ``billing.seats.changed``, before/after).
* A second **Subscribe** is refused while the customer has a subscription the license does not show yet (a
  Checkout paid in another tab): that subscription is synced at once instead.

Without ``STRIPE_API_KEY`` the page says billing is not configured and that the platform operators manage seats,
and still shows the license. A Stripe failure is a message on the page ("Stripe could not be reached; try
again"), never a 500. Every route here works on a read-only organization (``read_only_ok``): paying is the way out.
"""

from __future__ import annotations

import datetime
import re
import secrets
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

import stripe
import structlog
from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery, QueryParameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.audit.service import record
from tajiconnect.domains.billing import reconcile
from tajiconnect.domains.billing.access import read_only_from
from tajiconnect.domains.billing.customers import ensure_customer
from tajiconnect.domains.billing.money import money
from tajiconnect.domains.billing.read_only import ALLOWED, local_date, reason_text
from tajiconnect.domains.billing.stripe_api import stripe_client
from tajiconnect.domains.licensing import seats
from tajiconnect.domains.licensing.models import MAX_SEATS, License, Plan
from tajiconnect.i18n import _, ngettext
from tajiconnect.settings import Settings
from tajiconnect.tenancy.context import TenantRef, require_tenant
from tajiconnect.tenancy.resolver import invalidate_tenant_cache
from tajiconnect.tenancy.urls import tenant_url
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.security import CONTENT_SECURITY_POLICY

log = structlog.get_logger(__name__)

INTERVALS = ("month", "year")
INVOICES_PER_PAGE = 10
NOTICES = ("seats_changed", "nothing_changed")
#: Where the page's forms may lead after their redirect (CSP ``form-action``; Chromium checks redirects too): Stripe's
#: hosted Checkout and portal. With ``STRIPE_API_BASE`` (a local fake Stripe) its stand-ins' ``*.stripe.test`` too.
STRIPE_HOSTED = "https://checkout.stripe.com https://billing.stripe.com"
STAND_INS = "https://*.stripe.test"
_ATTEMPT = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_STRIPE_ID = re.compile(r"^[A-Za-z0-9_]{1,255}$")


def unreachable() -> str:
    return _("Stripe could not be reached; try again.")


def _when(timestamp: Any) -> datetime.datetime | None:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC) if isinstance(timestamp, int) else None


def _https(url: Any) -> str | None:
    """A link Stripe gave for an invoice (its hosted page, its PDF), shown only when it is https."""
    return url if isinstance(url, str) and url.startswith("https://") else None


def hosted_url(url: Any, *, stand_ins: bool) -> str | None:
    """``url`` when it is a page hosted by Stripe (Checkout, the portal; the tests' stand-ins only with
    ``STRIPE_API_BASE`` set), else ``None``: the app redirects nowhere else."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    hosts = STRIPE_HOSTED.replace("https://", "").split()
    ok = host in hosts or (stand_ins and host.endswith(".stripe.test"))
    return url if parts.scheme == "https" and ok and parts.port is None else None


def whole_number(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def attempt_of(form: Form) -> str:
    """The form's attempt token (one per rendering: a double submit is one Stripe request), else a new one."""
    value = form.get("attempt")
    return value if _ATTEMPT.match(value) else secrets.token_urlsafe(18)


@dataclass(frozen=True, slots=True)
class InvoiceView:
    id: str
    number: str
    date: str
    amount: str
    status: str
    hosted_url: str | None
    pdf_url: str | None


@dataclass(frozen=True, slots=True)
class PlanChoice:
    code: str
    name: str
    monthly: str | None  # the per-seat price of each interval Stripe has a price for
    yearly: str | None


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _public_plans(session: AsyncSession) -> list[Plan]:
    """The plans one can subscribe to: public, with a Stripe price for at least one interval."""
    rows = await session.scalars(select(Plan).where(Plan.is_public.is_(True)).order_by(Plan.sort_order, Plan.code))
    return [p for p in rows.all() if p.stripe_price_monthly_id or p.stripe_price_yearly_id]


def _price_id(plan: Plan, interval: str) -> str | None:
    return plan.stripe_price_monthly_id if interval == "month" else plan.stripe_price_yearly_id


def subscribed(lic: License) -> bool:
    return bool(lic.stripe_subscription_id) and lic.subscription_status not in reconcile.ENDED


def status_lines(lic: License, tenant: TenantRef, grace_days: int) -> list[str]:
    """The license's status in words: trial and days left, past due and when it becomes read-only, why it is
    read-only, cancelled and how long the data is kept."""
    today = datetime.date.today()
    lines: list[str] = []
    if lic.status == "trialing":
        if lic.term_end is None:
            lines.append(_("Trial."))
        elif lic.term_end < today:
            lines.append(_("The trial ended on %(date)s.") % {"date": local_date(lic.term_end)})
        else:
            left = (lic.term_end - today).days
            lines.append(ngettext("Trial until %(date)s: %(num)d day left.", "Trial until %(date)s: %(num)d days left.",
                                  left) % {"date": local_date(lic.term_end), "num": left})
    elif lic.status == "active":
        if lic.cancel_at_period_end and lic.term_end:
            lines.append(_("The subscription ends on %(date)s and will not renew.")
                         % {"date": local_date(lic.term_end)})
    elif lic.status == "past_due":
        since = lic.past_due_since
        becomes = read_only_from(since, grace_days)
        if since is None or becomes is None:
            lines.append(_("A payment is overdue."))
        elif tenant.read_only:
            lines.append(_("A payment has been overdue since %(since)s; the organization is read-only since %(date)s.")
                         % {"since": local_date(since), "date": local_date(becomes)})
        else:
            lines.append(_("A payment has been overdue since %(since)s; unless it is paid by %(date)s, the "
                           "organization becomes read-only.")
                         % {"since": local_date(since), "date": local_date(becomes)})
    elif lic.status == "cancelled":
        if lic.cancelled_at:
            lines.append(_("Cancelled on %(date)s.") % {"date": local_date(lic.cancelled_at)})
        if lic.retain_until:
            lines.append(_("The organization's data is kept until %(date)s.") % {"date": local_date(lic.retain_until)})
    if tenant.read_only and lic.status != "past_due":
        lines.append(_("The organization is read-only: %(reason)s.") % {"reason": reason_text(tenant.read_only)})
    return lines


async def _next_charge(client: stripe.StripeClient, lic: License) -> tuple[dict[str, str] | None, str | None]:
    """(amount and date of the next charge, or None when Stripe has none; an error message)."""
    try:
        preview = await client.v1.invoices.create_preview_async(
            {"customer": lic.stripe_customer_id or "", "subscription": lic.stripe_subscription_id or ""}
        )
    except stripe.InvalidRequestError:
        return None, None  # no upcoming invoice (an ended or cancelled-at-period-end subscription)
    except stripe.StripeError as exc:
        log.warning("billing.stripe.failed", call="invoices.create_preview", error=type(exc).__name__)
        return None, unreachable()
    data = preview.to_dict()
    when = _when(data.get("next_payment_attempt") or data.get("period_end"))
    amount = data.get("amount_due", data.get("total"))
    return {"amount": money(amount, data.get("currency")), "date": local_date(when)}, None


async def _proration_preview(client: stripe.StripeClient, lic: License, count: int) -> dict[str, str] | None:
    """The next invoice if the subscription had ``count`` seats now (Stripe's default proration), or None."""
    sub_id = lic.stripe_subscription_id or ""
    try:
        current = (await client.v1.subscriptions.retrieve_async(sub_id)).to_dict()
        items = (current.get("items") or {}).get("data") or []
        if not items:
            return None
        preview = (await client.v1.invoices.create_preview_async({
            "customer": lic.stripe_customer_id or "", "subscription": sub_id,
            "subscription_details": {"items": [{"id": items[0]["id"], "quantity": count}],
                                     "proration_behavior": "create_prorations"},
        })).to_dict()
    except stripe.StripeError as exc:
        log.info("billing.preview.unavailable", error=type(exc).__name__)
        return None
    when = _when(preview.get("next_payment_attempt") or preview.get("period_end"))
    return {"amount": money(preview.get("amount_due", preview.get("total")), preview.get("currency")),
            "date": local_date(when)}


async def _invoices(
    client: stripe.StripeClient, customer_id: str, after: str | None
) -> tuple[list[InvoiceView], str | None, str | None]:
    """(a page of the customer's invoices, newest first; the cursor of the next page or None; an error message)."""
    params: dict[str, Any] = {"customer": customer_id, "limit": INVOICES_PER_PAGE}
    if after:
        params["starting_after"] = after
    try:
        listed = await client.v1.invoices.list_async(params)  # type: ignore[arg-type]
    except stripe.StripeError as exc:
        log.warning("billing.stripe.failed", call="invoices.list", error=type(exc).__name__)
        return [], None, unreachable()
    rows = [i.to_dict() for i in listed.data]
    views = [
        InvoiceView(
            id=str(row["id"]), number=str(row.get("number") or row["id"]),
            date=local_date(_when(row.get("created"))), amount=money(row.get("total"), row.get("currency")),
            status=str(row.get("status") or ""), hosted_url=_https(row.get("hosted_invoice_url")),
            pdf_url=_https(row.get("invoice_pdf")),
        )
        for row in rows
    ]
    more = views[-1].id if listed.has_more and views else None
    return views, more, None


def page_policy(request: Request) -> str:
    """The app's content security policy, with the page's forms allowed to end on Stripe's hosted pages."""
    base: str = getattr(request.app.state, "content_security_policy", None) or CONTENT_SECURITY_POLICY
    hosted = STRIPE_HOSTED + (f" {STAND_INS}" if _settings(request).billing.api_base else "")
    return base.replace("form-action 'self'", f"form-action 'self' {hosted}", 1)


def _redirect_out(request: Request, url: str) -> Response[Any]:
    """To a Stripe-hosted page: a 303, or ``HX-Redirect`` for an HTMX request (which would swap a 303's body)."""
    if request.headers.get("hx-request") == "true":
        return Response(None, status_code=200, headers={"HX-Redirect": url})
    return Redirect(path=url, status_code=303)


class BillingPages(Controller):
    path = "/admin/billing"
    guards = [requires_permission(Permission.MANAGE_SEATS)]  # the license and what it costs: org admins
    include_in_schema = False
    opt = ALLOWED  # paying must work while the organization is read-only

    async def _page(
        self,
        request: Request,
        db_session: AsyncSession,
        *,
        form: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
        checkout: str | None = None,
        notice: str | None = None,
        after: str | None = None,
    ) -> Template:
        settings = _settings(request)
        tenant = require_tenant()
        lic = await seats.license_of_tenant(db_session)
        used = await seats.seats_used(db_session)
        configured = settings.billing.configured
        context: dict[str, Any] = {
            "license": lic, "used": used, "configured": configured, "subscribed": subscribed(lic),
            "status_lines": status_lines(lic, tenant, settings.billing.grace_days),
            "form": form or {}, "errors": errors or {}, "checkout": checkout,
            "billing_notice_code": notice if notice in NOTICES else None,
            "attempt": secrets.token_urlsafe(18), "max_seats": MAX_SEATS, "min_seats": max(used, 1),
            "next_charge": None, "next_charge_error": None, "invoices": [], "invoices_more": None,
            "invoices_error": None, "plans": [],
        }
        if configured:
            client = stripe_client(settings.billing)
            context["plans"] = [
                PlanChoice(p.code, p.name,
                           money(p.price_monthly_cents, p.currency) if p.stripe_price_monthly_id else None,
                           money(p.price_yearly_cents, p.currency) if p.stripe_price_yearly_id else None)
                for p in await _public_plans(db_session)
            ]
            if lic.stripe_customer_id:
                if context["subscribed"]:
                    context["next_charge"], context["next_charge_error"] = await _next_charge(client, lic)
                (context["invoices"], context["invoices_more"],
                 context["invoices_error"]) = await _invoices(client, lic.stripe_customer_id, after)
        return Template("admin/billing/index.html", context=context, status_code=status,
                        headers={"content-security-policy": page_policy(request)})

    @get("/", name="admin.billing")
    async def index(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        checkout: FromQuery[str | None] = None,
        notice: FromQuery[str | None] = None,
        after: FromQuery[str | None] = None,
    ) -> Template:
        cursor = after if after and _STRIPE_ID.match(after) else None
        if cursor and wants_fragment(request, "invoices-more"):  # "more" swaps in the next page of invoices
            return await self._more(request, db_session, cursor)
        shown = checkout if checkout in ("success", "cancelled") else None
        return await self._page(request, db_session, checkout=shown, notice=notice, after=cursor)

    async def _more(self, request: Request, db_session: AsyncSession, cursor: str) -> Template:
        settings = _settings(request)
        lic = await seats.license_of_tenant(db_session)
        invoices: list[InvoiceView] = []
        more = error = None
        if settings.billing.configured and lic.stripe_customer_id:
            invoices, more, error = await _invoices(stripe_client(settings.billing), lic.stripe_customer_id, cursor)
        return Template("admin/billing/_invoices.html",
                        context={"invoices": invoices, "invoices_more": more, "invoices_error": error})

    async def _refuse(
        self, request: Request, db_session: AsyncSession, form: Form, field: str, message: str, status: int = 422
    ) -> Template:
        form.error(field, message)
        # A refusal writes nothing, and the page asks Stripe for the next charge and the invoices: let go of any
        # lock the action took first (the seat change holds the subscription's lock and the license row).
        await db_session.rollback()
        values = {k: v for k, v in form.data.items() if k not in ("_csrf_token", "attempt")}
        return await self._page(request, db_session, form=values, errors=form.errors, status=status)

    async def _hosted(
        self, request: Request, db_session: AsyncSession, form: Form, session: Any, action: str, **details: Any
    ) -> Template | Response[Any]:
        """To the Stripe-hosted page of ``session`` (recorded as ``action``), or the page with an error when
        Stripe answered with no URL of its own."""
        url = hosted_url(session.url, stand_ins=bool(_settings(request).billing.api_base))
        if url is None:
            log.warning("billing.hosted.no_url", action=action, session=session.id)
            return await self._refuse(request, db_session, form, "form", unreachable(), 502)
        tenant = require_tenant()
        await record(db_session, actor_of(request), action, target_type="license", target_id=tenant.slug, **details)
        return _redirect_out(request, url)

    @post("/checkout", name="admin.billing.checkout")
    async def checkout(self, request: Request, db_session: DbSession) -> Template | Response[Any]:
        settings = _settings(request)
        form = await Form.read(request)
        if not settings.billing.configured:
            return await self._refuse(request, db_session, form, "form", _("Billing is not configured."), 409)
        tenant = require_tenant()
        lic = await seats.license_of_tenant(db_session)
        if subscribed(lic):
            return await self._refuse(request, db_session, form, "form", _(
                "The organization already has a subscription: change its seats or open the customer portal."), 409)
        used = await seats.seats_used(db_session)
        plans = {p.code: p for p in await _public_plans(db_session)}
        interval = form.get("interval")
        if interval not in INTERVALS:
            form.error("interval", _("Choose monthly or yearly billing."))
        plan = plans.get(form.get("plan"))
        price_id = _price_id(plan, interval) if plan is not None and interval in INTERVALS else None
        if plan is None:
            form.error("plan", _("Choose a plan."))
        elif interval in INTERVALS and price_id is None:
            form.error("plan", _("This plan cannot be bought with this billing interval."))
        count = whole_number(form.get("seats"))
        minimum = max(used, 1)
        if count is None or count < minimum or count > MAX_SEATS:
            form.error("seats", _("Enter a whole number of seats from %(min)d to %(max)d (%(used)d are in use).")
                       % {"min": minimum, "max": MAX_SEATS, "used": used})
        if not form.ok or plan is None or price_id is None or count is None:
            values = {k: v for k, v in form.data.items() if k not in ("_csrf_token", "attempt")}
            return await self._page(request, db_session, form=values, errors=form.errors, status=422)
        actor = actor_of(request)
        origin = tenant_url("/admin/billing", tenant, settings)
        try:
            started = await self._started_meanwhile(request, lic.stripe_customer_id) if lic.stripe_customer_id else None
            if started == "incomplete":
                return await self._refuse(request, db_session, form, "form", _(
                    "A payment for a subscription is waiting for confirmation (by the card's bank, for example). "
                    "Complete it from the customer portal, or subscribe again once it has expired, within a day."),
                    409)
            if started is not None:  # the page (drawn after a rollback) shows the license as the sync left it
                return await self._refuse(request, db_session, form, "form", _(
                    "A subscription was already started for the organization, and Stripe is confirming it. "
                    "This page shows it once confirmed: reload it in a moment."), 409)
            customer = await ensure_customer(request.app.state.engine, settings.billing, tenant, email=actor.email)
            session = await stripe_client(settings.billing).v1.checkout.sessions.create_async(
                {
                    "mode": "subscription",
                    "customer": customer,
                    "client_reference_id": str(tenant.id),
                    "line_items": [{"price": price_id, "quantity": count}],
                    "subscription_data": {"metadata": {"tenant_id": str(tenant.id), "tenant": tenant.slug}},
                    "success_url": f"{origin}?checkout=success",
                    "cancel_url": f"{origin}?checkout=cancelled",
                },
                {"idempotency_key": f"checkout-{tenant.id}-{attempt_of(form)}"},
            )
        except stripe.StripeError as exc:
            log.warning("billing.stripe.failed", call="checkout.sessions.create", error=type(exc).__name__)
            return await self._refuse(request, db_session, form, "form", unreachable(), 502)
        return await self._hosted(request, db_session, form, session, "billing.checkout.started",
                                  plan=plan.code, interval=interval, seats=count, checkout_session=session.id)

    @staticmethod
    async def _started_meanwhile(request: Request, customer: str) -> str | None:
        """The status of a subscription the customer has and the license does not show yet (a Checkout paid in
        another tab, whose events are still on their way; ``incomplete``: one waiting for the card's
        confirmation), else None. Such a subscription is synced now and no second Checkout is started, which
        would make a second subscription."""
        billing = _settings(request).billing
        latest = await reconcile.latest_subscription(billing, customer)
        if latest is None or latest.get("status") in reconcile.ENDED:
            return None
        await reconcile.sync_subscription(request.app.state.engine, billing, str(latest["id"]),
                                          source="checkout_refused")
        return str(latest.get("status") or "")

    @post("/portal", name="admin.billing.portal")
    async def portal(self, request: Request, db_session: DbSession) -> Template | Response[Any]:
        settings = _settings(request)
        form = await Form.read(request)
        if not settings.billing.configured:
            return await self._refuse(request, db_session, form, "form", _("Billing is not configured."), 409)
        tenant = require_tenant()
        actor = actor_of(request)
        origin = tenant_url("/admin/billing", tenant, settings)
        try:
            customer = await ensure_customer(request.app.state.engine, settings.billing, tenant, email=actor.email)
            session = await stripe_client(settings.billing).v1.billing_portal.sessions.create_async(
                {"customer": customer, "return_url": origin}
            )
        except stripe.StripeError as exc:
            log.warning("billing.stripe.failed", call="billing_portal.sessions.create", error=type(exc).__name__)
            return await self._refuse(request, db_session, form, "form", unreachable(), 502)
        return await self._hosted(request, db_session, form, session, "billing.portal.opened")

    @get("/seats/preview", name="admin.billing.seats.preview")
    async def seats_preview(
        self, request: Request, db_session: DbSession,
        seats_wanted: Annotated[str | None, QueryParameter(name="seats")] = None,
    ) -> Template:
        """What the next invoice would be with that many seats, prorations included (HTMX, as the number is
        typed). Empty when Stripe cannot say (localstripe has no ``subscription_details``) or the number is
        not one that could be confirmed: the preview is a help, the change itself is checked on submit."""
        settings = _settings(request)
        lic = await seats.license_of_tenant(db_session)
        count = whole_number(seats_wanted or "")
        preview: dict[str, str] | None = None
        if (settings.billing.configured and subscribed(lic) and count is not None and 1 <= count <= MAX_SEATS
                and count != lic.seats and count >= await seats.seats_used(db_session)):
            preview = await _proration_preview(stripe_client(settings.billing), lic, count)
        return Template("admin/billing/_seats_preview.html", context={"preview": preview, "count": count})

    @post("/seats", name="admin.billing.seats")
    async def change_seats(self, request: Request, db_session: DbSession) -> Template | Redirect:
        settings = _settings(request)
        form = await Form.read(request)
        if not settings.billing.configured:
            return await self._refuse(request, db_session, form, "form", _("Billing is not configured."), 409)
        tenant = require_tenant()
        sub_id = (await seats.license_of_tenant(db_session)).stripe_subscription_id
        if sub_id is not None:
            # Held to the end of the request, in the order every sync takes them: the subscription, then the
            # license row. No seat is assigned meanwhile (assignments wait on the row), so the seats in use
            # counted here are still the seats in use when Stripe's new quantity reaches the license.
            await reconcile.lock_subscription(db_session, sub_id)
        lic = await seats.license_of_tenant(db_session, lock=True)
        if not subscribed(lic) or lic.stripe_subscription_id != sub_id or sub_id is None:
            return await self._refuse(request, db_session, form, "form",
                                      _("The organization has no subscription yet: subscribe first."), 409)
        used = await seats.seats_used(db_session)
        count = whole_number(form.get("seats"))
        if count is None or count < 1 or count > MAX_SEATS:
            return await self._refuse(request, db_session, form, "seats",
                                      _("Enter a whole number of seats from 1 to %(max)d.") % {"max": MAX_SEATS})
        if count < used:
            form.data["seats_in_use"] = str(used)  # the template links to the seats page next to the message
            return await self._refuse(request, db_session, form, "seats", ngettext(
                "%(num)d seat is in use: reclaim seats on the seats page before lowering below %(num)d.",
                "%(num)d seats are in use: reclaim seats on the seats page before lowering below %(num)d.",
                used) % {"num": used})
        if count == lic.seats:
            return see_other("/admin/billing", notice="nothing_changed")
        client = stripe_client(settings.billing)
        try:
            current = (await client.v1.subscriptions.retrieve_async(sub_id)).to_dict()
            items = (current.get("items") or {}).get("data") or []
            if not items:
                raise stripe.InvalidRequestError("the subscription has no item", param="items")
            # Only the item and its quantity: Stripe's default proration (create_prorations) applies.
            await client.v1.subscriptions.update_async(
                sub_id, {"items": [{"id": items[0]["id"], "quantity": count}]},
                {"idempotency_key": f"seats-{sub_id}-{attempt_of(form)}"},
            )
        except stripe.StripeError as exc:
            log.warning("billing.stripe.failed", call="subscriptions.update", error=type(exc).__name__)
            return await self._refuse(request, db_session, form, "form", unreachable(), 502)
        actor = actor_of(request)
        before = lic.seats
        # Stripe confirmed the change: the license follows Stripe's state now, in this transaction, under the
        # locks taken above (the webhook will agree later).
        changes: dict[str, Any] = {}
        try:
            view, changes = await reconcile.fetch_and_apply(db_session, settings.billing, sub_id, by=actor.email)
        except stripe.StripeError as exc:  # changed in Stripe; its events bring the license along shortly
            log.warning("billing.stripe.failed", call="subscriptions.retrieve", error=type(exc).__name__)
            view = None
        await record(db_session, actor, "billing.seats.changed", target_type="license", target_id=tenant.slug,
                     before={"seats": before}, after={"seats": view.seats if view else count}, subscription=sub_id)
        await db_session.commit()
        if changes:
            invalidate_tenant_cache()
        return see_other("/admin/billing", notice="seats_changed")
