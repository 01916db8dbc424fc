"""Read-only mode: a tenant whose license is past due beyond the grace period, whose trial ended, or which is
cancelled or suspended (``domains/billing/access.py`` decides; the host resolver puts the reason on
``TenantRef.read_only``) can still read everything, sign in and pay, and nothing else.

* :class:`ReadOnlyMiddleware` refuses every unsafe method (POST, PUT, PATCH, DELETE) on such a tenant's host unless
  the route opts in with ``opt={"read_only_ok": True}`` (billing, sign-in and sign-out, two-step verification,
  password reset, invitations, the API's token endpoints, marking notifications read). Pages get a 403 page that
  says why (``templates/errors/read_only.html``, with the billing link for admins), the API a 403 problem body.
* :func:`billing_notice` is the banner every page of the tenant shows (``layouts/base.html``): read-only and why,
  or a failed payment still within its grace period and the date it becomes read-only. Nothing is ever deleted.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from babel.dates import format_date
from litestar.enums import ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from tajiconnect import i18n
from tajiconnect.i18n import _
from tajiconnect.tenancy.context import TenantRef

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The route option that lets a route write on a read-only tenant.
READ_ONLY_OK = "read_only_ok"
ALLOWED = {READ_ONLY_OK: True}


class TenantReadOnlyError(PermissionDeniedException):
    """403: the organization is read-only (see the module docstring)."""


def local_date(value: datetime.date | datetime.datetime | None) -> str:
    """A date in the member's language (long form: "30 November 2026")."""
    if value is None:
        return ""
    day = value.date() if isinstance(value, datetime.datetime) else value
    return format_date(day, format="long", locale=i18n.current_locale())


def reason_text(reason: str | None, *, since: datetime.datetime | None = None) -> str:
    """Why the organization is read-only, in the member's language (``since``: when a payment first failed)."""
    if reason == "past_due":
        if since is not None:
            return _("a payment has been overdue since %(date)s") % {"date": local_date(since)}
        return _("a payment is overdue")
    if reason == "trial_ended":
        return _("the trial has ended and no subscription was started")
    if reason == "cancelled":
        return _("the subscription was cancelled")
    if reason == "suspended":
        return _("the license is suspended")
    return _("the license does not allow changes")


def past_due_since(tenant: TenantRef, grace_days: int) -> datetime.datetime | None:
    """When the tenant's payment first failed (the resolver keeps when it becomes read-only)."""
    if tenant.read_only_from is None:
        return None
    return tenant.read_only_from - datetime.timedelta(days=grace_days)


def refusal_text(tenant: TenantRef, grace_days: int) -> str:
    return _("This organization is read-only: %(reason)s. Everything stays saved, and it can still be read.") % {
        "reason": reason_text(tenant.read_only, since=past_due_since(tenant, grace_days))
    }


@dataclass(frozen=True, slots=True)
class BillingNotice:
    """The banner: ``level`` is ``error`` (read-only) or ``warning`` (a payment failed, still within grace)."""

    level: str
    text: str


def billing_notice(tenant: TenantRef | None, grace_days: int = 7) -> BillingNotice | None:
    """The banner of the tenant's pages, or ``None`` when its license is in order."""
    if tenant is None:
        return None
    if tenant.read_only:
        return BillingNotice("error", refusal_text(tenant, grace_days))
    if tenant.license_status == "past_due" and tenant.read_only_from is not None:
        return BillingNotice("warning", _(
            "A payment failed. Unless it is paid by %(date)s, the organization becomes read-only."
        ) % {"date": local_date(tenant.read_only_from)})
    return None


def grace_days_of(scope: Scope) -> int:
    settings = getattr(scope["app"].state, "settings", None)
    return settings.billing.grace_days if settings is not None else 7


def page_notice(request: object = None) -> BillingNotice | None:
    """``billing_notice`` of the tenant in scope, for templates (``request``: the page's, for the settings)."""
    from tajiconnect.tenancy.context import current_tenant

    scope = getattr(request, "scope", None)
    return billing_notice(current_tenant(), grace_days_of(scope) if scope else 7)


class ReadOnlyMiddleware(ASGIMiddleware):
    """Refuses writes on a read-only tenant's host (after authentication: the page knows who is asking)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") in UNSAFE_METHODS:
            state = scope.get("state", {})
            tenant: TenantRef | None = state.get("tenant")
            handler = scope.get("route_handler")
            allowed = bool((getattr(handler, "opt", None) or {}).get(READ_ONLY_OK))
            if tenant is not None and tenant.read_only and not allowed:
                state["read_only_refused"] = tenant.read_only
                raise TenantReadOnlyError(detail=refusal_text(tenant, grace_days_of(scope)))
        await next_app(scope, receive, send)
