"""Self-service sign-up on the apex host: the form (with its live address check and bot check), and the page that
follows the background provisioning.

The form's answer is quick (no password hash, no schema: a row and a job); everything heavy happens in
:func:`tajiconnect.domains.signup.tasks.provision_signup`.
"""

from __future__ import annotations

import datetime
import secrets
from typing import Any

import structlog
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS
from sqlalchemy.exc import IntegrityError

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import client_ip
from tajiconnect.domains.accounts.service import AccountError, normalize_email
from tajiconnect.domains.signup import pow
from tajiconnect.domains.signup.models import Signup
from tajiconnect.domains.signup.service import (
    DEFAULT_COUNTRY,
    NAME_MAX,
    by_token,
    challenge_used,
    check_slug,
    claim_signup_slot,
    clean_slug,
    countries,
    country_codes,
    network_of,
    sha256_hex,
    slug_problem,
    slug_taken,
    taken_message,
    trial_end,
)
from tajiconnect.domains.signup.tasks import provision_signup
from tajiconnect.i18n import SUPPORTED_LOCALES, _, current_locale
from tajiconnect.tasks.base import enqueue
from tajiconnect.tenancy.models import TENANT_KINDS
from tajiconnect.tenancy.urls import canonical_host
from tajiconnect.web.forms import Form, render_form, see_other
from tajiconnect.web.htmx import wants_fragment

log = structlog.get_logger(__name__)

APEX = {"host": "apex"}
FORM = "signup/form.html"
HONEYPOT = "website"
RATE_WINDOW = datetime.timedelta(hours=1)
#: A sign-up still pending after this long lost its job (the queue was away): the progress page queues it again.
REQUEUE_AFTER = datetime.timedelta(seconds=15)
SLUG_QUERY_MAX = 100


def _pow_message(reason: str) -> str:
    if reason == "expired":
        return _("The robot check expired. It has started again: submit the form once it has finished.")
    return _("The robot check did not finish. Wait until it has finished, then submit the form again.")


def _form_page(request: Request, form: Form, *, status: int, challenge: str | None = None) -> Template:
    """The form with its values and errors; a fresh bot-check challenge unless ``challenge`` (already solved) is
    kept, so that correcting a field does not mean waiting for the check again."""
    settings = request.app.state.settings
    if challenge is None:
        challenge = pow.issue_challenge(settings.secret_key.get(), settings.billing.signup_pow_bits)
        form.data["pow_nonce"] = ""
    form.data.pop(HONEYPOT, None)
    return render_form(
        FORM, form, status=status,
        challenge=challenge,
        pow_bits=settings.billing.signup_pow_bits,
        countries=countries(current_locale()),
        kinds=TENANT_KINDS,
        locales=SUPPORTED_LOCALES,
        trial_days=settings.billing.trial_days,
        base_domain=settings.base_domain,
    )


def _read_fields(form: Form) -> dict[str, Any]:
    """The sign-up's fields, cleaned, with an error recorded on ``form`` for each one that is not acceptable."""
    name = form.get("name").strip()
    if not name:
        form.error("name", _("Enter the name of your organization."))
    elif len(name) > NAME_MAX:
        form.error("name", _("Use at most %(max)d characters.") % {"max": NAME_MAX})
    slug = form.data["slug"] = clean_slug(form.get("slug")[:SLUG_QUERY_MAX])
    problem = slug_problem(slug)
    if problem:
        form.error("slug", problem)
    kind = form.get("kind")
    if kind not in TENANT_KINDS:
        form.error("kind", _("Choose school or company."))
    country = form.get("country").strip().upper()
    if country not in country_codes():
        form.error("country", _("Choose a country from the list."))
    email = ""
    try:
        email = normalize_email(form.get("admin_email")[:400])
    except AccountError as exc:
        form.error("admin_email", str(exc))
    admin_name = form.get("admin_name").strip()
    if not admin_name:
        form.error("admin_name", _("Enter your name."))
    elif len(admin_name) > NAME_MAX:
        form.error("admin_name", _("Use at most %(max)d characters.") % {"max": NAME_MAX})
    locale = form.get("locale")
    if locale not in SUPPORTED_LOCALES:
        form.error("locale", _("Choose a language from the list."))
    return {"name": name, "slug": slug, "kind": kind, "country": country, "admin_email": email,
            "admin_name": admin_name, "locale": locale}


class SignupPages(Controller):
    path = "/signup"
    opt = APEX
    include_in_schema = False

    @get("/", name="signup.form", opt=APEX)
    async def form_page(self, request: Request) -> Template:
        locale = current_locale()
        form = Form({"country": DEFAULT_COUNTRY, "locale": locale, "kind": "school"})
        return _form_page(request, form, status=200)

    @get("/slug", name="signup.slug", opt=APEX)
    async def slug(self, db_session: DbSession, slug: FromQuery[str] = "") -> Template:
        """The live address check (HTMX): invalid (and why), taken, or available. The form checks again."""
        if len(slug) > SLUG_QUERY_MAX:
            state, message = "invalid", _("Use at most 31 characters.")
        else:
            state, message = await check_slug(db_session, slug)
        return Template("signup/_slug.html", context={"state": state, "message": message})

    @post("/", name="signup.submit", opt=APEX)
    async def submit(self, request: Request, db_session: DbSession) -> Template | Redirect:
        settings = request.app.state.settings
        form = await Form.read(request)
        if form.get(HONEYPOT):
            log.info("sign-up refused: honeypot", ip=client_ip(request.scope))
            form.error("form", _("This sign-up could not be accepted. Please try again."))
            return _form_page(request, form, status=422)
        challenge, nonce = form.get("pow_challenge"), form.get("pow_nonce")
        solved = True
        try:
            pow.verify(challenge, nonce, secret=settings.secret_key.get(), bits=settings.billing.signup_pow_bits)
        except pow.ProofOfWorkError as exc:
            solved = False
            form.error("pow", _pow_message(exc.reason))
        fields = _read_fields(form)
        if solved and await challenge_used(db_session, pow.challenge_hash(challenge)):
            solved = False
            form.error("pow", _pow_message("used"))
        if not form.ok:
            return _form_page(request, form, status=422, challenge=challenge if solved else None)
        network = network_of(client_ip(request.scope))
        if await claim_signup_slot(db_session, network, within=RATE_WINDOW) >= settings.billing.signups_per_hour:
            form.error("form", _(
                "Too many sign-ups from your network in the last hour. Please try again in an hour."))
            return _form_page(request, form, status=HTTP_429_TOO_MANY_REQUESTS, challenge=challenge)
        if await slug_taken(db_session, fields["slug"]):
            form.error("slug", taken_message())
            return _form_page(request, form, status=422, challenge=challenge)
        token = secrets.token_urlsafe(32)
        signup = Signup(token_hash=sha256_hex(token), ip=network, challenge_hash=pow.challenge_hash(challenge),
                        status="pending", **fields)
        db_session.add(signup)
        try:
            await db_session.flush()
        except IntegrityError as exc:  # a race with another sign-up: the same address, or the same solved check
            await db_session.rollback()
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
            if "slug" in constraint:
                form.error("slug", taken_message())
                return _form_page(request, form, status=422, challenge=challenge)
            form.error("pow", _pow_message("used"))
            return _form_page(request, form, status=422)
        signup_id = signup.id
        await db_session.commit()
        await _queue(request, signup_id)
        return see_other(f"/signup/{token}")

    @get("/{token:str}", name="signup.progress", opt=APEX)
    async def progress(self, request: HTMXRequest, db_session: DbSession, token: FromPath[str]) -> Template:
        """How far the sign-up got; polled every second (HTMX) until it is ready or failed."""
        signup = await by_token(db_session, token)
        if signup is None:
            raise NotFoundException()
        if signup.status == "pending" and signup.created_at < datetime.datetime.now(datetime.UTC) - REQUEUE_AFTER:
            await _queue(request, signup.id)  # the same job key: never two at once; the task is idempotent
        settings = request.app.state.settings
        context = {
            "signup": signup,
            "token": token,
            "org_url": settings.public_origin(canonical_host(signup.slug, settings)),
            "trial_days": settings.billing.trial_days,
            "trial_end": await trial_end(db_session, signup.tenant_id) if signup.tenant_id else None,
        }
        partial = wants_fragment(request, "signup-progress")
        return Template("signup/_progress.html" if partial else "signup/progress.html", context=context)


async def _queue(request: Request, signup_id: Any) -> None:
    try:
        await enqueue(request.app.state.queue, provision_signup, key=f"signup:{signup_id}", signup_id=str(signup_id))
    except Exception:  # the queue is away: the progress page queues it again
        log.warning("could not queue the sign-up's provisioning", signup_id=str(signup_id), exc_info=True)
