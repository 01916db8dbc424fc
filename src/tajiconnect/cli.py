"""The ``tajiconnect`` command.

Every command that needs a database uses ``DATABASE_URL``, or starts the project-local embedded PostgreSQL when
it is not set. Refusals exit non-zero with one clear line (``Error: ...``); secrets are never printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from tajiconnect.settings import SettingsError
from tajiconnect.tasks.queue import QUEUE_NAMES

T = TypeVar("T")


def _settings() -> Any:
    from tajiconnect.db.embedded import ensure_database_url, ensure_secret_key
    from tajiconnect.settings import get_settings, load_settings

    ensure_database_url()
    ensure_secret_key()
    try:
        get_settings.cache_clear()
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def _with_engine(fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``fn(engine)`` on a fresh async engine, disposing of it afterwards."""
    from tajiconnect.db.base import load_models
    from tajiconnect.db.session import create_engine

    settings = _settings()
    load_models()

    async def main() -> T:
        engine = create_engine(settings.sqlalchemy_url, pool_size=2)
        try:
            return await fn(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _fail_on(*errors: type[Exception]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Turn the listed exceptions into a one-line ``Error: ...`` and exit status 1."""

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        def wrapper(*args: Any, **kwargs: Any) -> T:
            try:
                return fn(*args, **kwargs)
            except errors as exc:
                raise click.ClickException(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        return wrapper

    return decorate


def _db_errors() -> tuple[type[Exception], ...]:
    from sqlalchemy.exc import OperationalError

    from tajiconnect.domains.accounts.service import AccountError
    from tajiconnect.tenancy.service import TenantError

    return (TenantError, AccountError, OperationalError, SettingsError)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tajiconnect")
def main() -> None:
    """TajiConnect: multi-tenant learning platform."""


# --- db ---------------------------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--tenant", "tenants", multiple=True, metavar="SLUG", help="Only this tenant (repeatable).")
@click.option("--parallel", type=click.IntRange(1, 32), default=1, show_default=True, help="Tenants at once.")
@click.option("--skip-public", is_flag=True, help="Do not migrate the public schema first.")
def db_upgrade(tenants: tuple[str, ...], parallel: int, skip_public: bool) -> None:
    """Migrate public, then every tenant (one transaction per tenant; safe to re-run)."""
    from sqlalchemy import text

    from tajiconnect.db.base import load_models
    from tajiconnect.db.migrate import UpgradeLockedError, sync_engine, upgrade_all
    from tajiconnect.tenancy.slugs import InvalidSlugError, schema_for

    settings = _settings()
    load_models()
    refused: tuple[type[Exception], ...] = (UpgradeLockedError, *_db_errors())
    try:
        schemas = [schema_for(s) for s in tenants] if tenants else None
    except InvalidSlugError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = sync_engine(settings.sqlalchemy_url, pool_size=parallel + 1, max_overflow=0)
    try:
        if schemas:
            with engine.connect() as conn:
                known = set(conn.execute(text("SELECT slug FROM public.tenants")).scalars()) if _has_registry(
                    conn
                ) else set()
            missing = [s for s in tenants if s not in known]
            if missing:
                raise click.ClickException(f"no tenant with slug {missing[0]!r}")
        report = upgrade_all(engine, schemas, parallel=parallel, include_public=not skip_public)
    except refused as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from exc
    finally:
        engine.dispose()
    click.echo(
        f"public: {'skipped' if skip_public else 'at head'}; tenants upgraded: {len(report.upgraded)}, "
        f"already current: {len(report.already_current)}, failed: {len(report.failed)} "
        f"({report.seconds:.2f}s)"
    )
    if report.failed:
        for schema, error in sorted(report.failed.items()):
            click.echo(f"  {schema}: {error}", err=True)
        raise SystemExit(1)


def _has_registry(conn: Any) -> bool:
    from sqlalchemy import text

    return bool(conn.execute(text("SELECT to_regclass('public.tenants') IS NOT NULL")).scalar())


@db.command("revision")
@click.option("--target", type=click.Choice(["public", "tenant"]), required=True)
@click.option("-m", "--message", required=True)
def db_revision(target: str, message: str) -> None:
    """Autogenerate a migration from the models (developers)."""
    from tajiconnect.db.base import load_models
    from tajiconnect.db.migrate import autogenerate_revision, sync_engine

    settings = _settings()
    load_models()
    engine = sync_engine(settings.sqlalchemy_url)
    try:
        autogenerate_revision(engine, target, message)
    finally:
        engine.dispose()


# --- tenants ----------------------------------------------------------------------------------------------------


@main.group()
def tenants() -> None:
    """Create and manage organizations."""


@tenants.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name, e.g. 'Nairobi Academy'.")
@click.option("--admin-email", required=True, help="Email of the first organization admin.")
@click.option("--admin-password", default=None, help="Password for the admin (else an invitation link is issued).")
@click.option("--kind", type=click.Choice(["school", "company"]), default="company", show_default=True)
@click.option("--locale", type=click.Choice(["en", "sw", "fr"]), default="en", show_default=True)
def tenants_create(
    slug: str, name: str, admin_email: str, admin_password: str | None, kind: str, locale: str
) -> None:
    """Create a tenant: registry row, schema at head and first admin, atomically.

    Without --admin-password the admin is invited: a single-use link (7 days) is printed and emailed.
    """
    from tajiconnect.tenancy.service import provision_tenant

    async def go(engine: Any) -> Any:
        result = await provision_tenant(
            engine, slug=slug, name=name, admin_email=admin_email, admin_password=admin_password, kind=kind,
            locale=locale,
        )
        link = None if admin_password else await _invite_first_admin(engine, result.tenant, result.admin_email)
        return result, link

    result, link = _fail_on(*_db_errors())(_with_engine)(go)
    click.echo(f"created tenant {result.tenant.slug} ({result.tenant.kind}) in {result.seconds:.2f}s")
    click.echo(f"  url:   {_tenant_url(result.tenant.slug)}")
    click.echo(f"  admin: {result.admin_email}")
    if link:
        click.echo(f"  invitation link (single use, 7 days; also emailed): {link}")


async def _invite_first_admin(engine: Any, tenant: Any, email: str) -> str:
    """Issue the first admin's invitation link and its email (outbox), in one transaction; return the link."""
    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.accounts.notices import invite_first_admin
    from tajiconnect.settings import get_settings
    from tajiconnect.tasks.outbox import dispatch_committed
    from tajiconnect.tasks.queue import create_queues
    from tajiconnect.tenancy.context import tenant_context

    settings = get_settings()
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            link = await invite_first_admin(session, settings, email)
        queue = create_queues(settings)
        try:
            await queue.connect()
            await dispatch_committed(session, queue)  # a worker's outbox sweep sends it otherwise
        except Exception as exc:
            click.echo(f"warning: the invitation email is queued for the next worker sweep ({type(exc).__name__})",
                       err=True)
        finally:
            await queue.disconnect()
    return link


def _apex_url(port: int | None = None) -> str:
    """The public address of the apex host (``TAJI_PUBLIC_SCHEME``, ``TAJI_PUBLIC_PORT``; ``port`` overrides)."""
    import dataclasses

    from tajiconnect.settings import load_settings
    from tajiconnect.tenancy.urls import apex_url

    settings = load_settings()
    return apex_url(settings=dataclasses.replace(settings, public_port=port) if port else settings)


def _tenant_url(slug: str, port: int | None = None) -> str:
    import dataclasses

    from tajiconnect.settings import load_settings
    from tajiconnect.tenancy.urls import tenant_url

    settings = load_settings()
    return tenant_url(tenant=slug, settings=dataclasses.replace(settings, public_port=port) if port else settings)


@tenants.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def tenants_list(as_json: bool) -> None:
    """List tenants."""
    from tajiconnect.tenancy.service import list_tenants

    refs = _fail_on(*_db_errors())(_with_engine)(list_tenants)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"slug": t.slug, "name": t.name, "kind": t.kind, "status": t.status, "locale": t.locale,
                     "schema": t.schema}
                    for t in refs
                ],
                indent=2,
            )
        )
        return
    if not refs:
        click.echo("no tenants")
        return
    width = max(len(t.slug) for t in refs)
    for t in refs:
        click.echo(f"{t.slug:<{width}}  {t.status:<9}  {t.kind:<7}  {t.locale}  {t.name}")


def _lifecycle(action: str) -> Callable[[str], None]:
    def run(slug: str) -> None:
        from tajiconnect.tenancy.slugs import InvalidSlugError, validate_slug

        try:
            validate_slug(slug)
        except InvalidSlugError as exc:
            raise click.ClickException(str(exc)) from exc
        status = "suspended" if action == "suspend" else "active"
        _fail_on(*_db_errors())(_with_engine)(lambda engine: _set_tenant_status(engine, slug, status))
        click.echo(f"{action}{'d' if action.endswith('e') else 'ed'} tenant {slug}")

    return run


def _cli_context() -> dict[str, str]:
    """What a platform audit entry of a command records about where it came from."""
    import getpass

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return {"via": "cli", "os_user": user}


async def _set_tenant_status(engine: Any, slug: str, status: str) -> None:
    """Suspend or resume, with its platform audit entry, in one transaction."""
    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.audit.service import SYSTEM
    from tajiconnect.platform.tenants import set_tenant_status
    from tajiconnect.tenancy.context import tenant_context
    from tajiconnect.tenancy.resolver import invalidate_tenant_cache

    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            await set_tenant_status(session, SYSTEM, slug, status, **_cli_context())
    invalidate_tenant_cache()


@tenants.command("suspend")
@click.argument("slug")
def tenants_suspend(slug: str) -> None:
    """Suspend a tenant: its hosts answer with a 'suspended' page, its tasks stop."""
    _lifecycle("suspend")(slug)


@tenants.command("resume")
@click.argument("slug")
def tenants_resume(slug: str) -> None:
    """Resume a suspended tenant."""
    _lifecycle("resume")(slug)


@tenants.command("delete")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--override-retention", is_flag=True,
              help="Delete before the retention period ends (recorded in the platform audit log).")
@click.option("--force", is_flag=True,
              help="Skip every rule (cancelled, retention, a ready export); recorded in the platform audit log.")
def tenants_delete(slug: str, yes: bool, override_retention: bool, force: bool) -> None:
    """Delete a tenant: drop its schema with all its data, its registry entry and its stored files. This cannot
    be undone.

    As on the operators' console: only a cancelled license past its retention (see --override-retention), and
    only with a ready export newer than the tenant's last change ('tajiconnect tenants export SLUG'), unless
    --force.
    """
    from tajiconnect.domains.audit.service import SYSTEM
    from tajiconnect.domains.storage.errors import FilesLeftError
    from tajiconnect.domains.storage.service import Storage
    from tajiconnect.platform.tenants import DeletionRefusedError, delete_tenant
    from tajiconnect.tenancy.service import TenantError
    from tajiconnect.tenancy.slugs import InvalidSlugError, validate_slug

    try:
        validate_slug(slug)
    except InvalidSlugError as exc:
        raise click.ClickException(str(exc)) from exc
    if not yes and sys.stdin.isatty():
        click.confirm(f"Delete tenant {slug} and ALL its data?", abort=True)
    settings = _settings()
    backend = Storage.from_settings(settings).backend
    try:
        export_id = _fail_on(DeletionRefusedError, TenantError, *_db_errors())(_with_engine)(
            lambda engine: delete_tenant(engine, backend, SYSTEM, slug, confirm=slug,
                                         override_retention=override_retention, force=force,
                                         retention_days=settings.billing.retention_days, **_cli_context()))
    except FilesLeftError as exc:
        raise click.ClickException(f"deleted tenant {slug}, but not all its files: {exc}") from exc
    click.echo(f"deleted tenant {slug}" + (f" (export {export_id})" if export_id else ""))


@tenants.command("export")
@click.argument("slug")
def tenants_export(slug: str) -> None:
    """Export a tenant now: a ZIP archive of every table (CSV), its schema and its stored files, written to
    storage (platform/exports/<id>.zip) and listed on the operators' console. Prints the key (and the local
    path with the local storage backend)."""
    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.audit.service import SYSTEM
    from tajiconnect.domains.storage.service import Storage
    from tajiconnect.platform.exports import request_export, run_export
    from tajiconnect.tenancy.context import tenant_context
    from tajiconnect.tenancy.service import TenantError, get_tenant
    from tajiconnect.tenancy.slugs import InvalidSlugError, validate_slug

    try:
        validate_slug(slug)
    except InvalidSlugError as exc:
        raise click.ClickException(str(exc)) from exc
    settings = _settings()
    storage = Storage.from_settings(settings)

    async def go(engine: Any) -> Any:
        with tenant_context(None):
            async with session_scope(engine, schema=None) as session:
                export = await request_export(session, SYSTEM, await get_tenant(session, slug), **_cli_context())
            return await run_export(engine, storage, export.id)

    export = _fail_on(TenantError, *_db_errors())(_with_engine)(go)
    if export is None or export.status != "ready":
        raise click.ClickException(f"the export failed: {export.error if export else 'gone'}")
    click.echo(f"export {export.id}: {export.size_bytes} bytes, sha256 {export.sha256}")
    click.echo(f"key: {export.storage_key}")
    if storage.kind == "local":
        click.echo(f"path: {settings.storage.directory / export.storage_key}")


@tenants.command("add-domain")
@click.argument("slug")
@click.argument("domain")
def tenants_add_domain(slug: str, domain: str) -> None:
    """Serve a tenant on a custom host name as well."""
    from tajiconnect.tenancy.service import add_domain

    _fail_on(*_db_errors())(_with_engine)(lambda engine: add_domain(engine, slug, domain))
    click.echo(f"{domain.lower()} now serves tenant {slug}")


@tenants.command("license")
@click.argument("slug")
@click.option("--seats", type=int, default=None, help="Seats purchased (0-1000000).")
@click.option("--plan", default=None, metavar="CODE", help="Plan code (see 'tajiconnect plans list').")
@click.option("--status", default=None, metavar="STATUS",
              help="trialing, active, past_due, suspended or cancelled.")
@click.option("--until", default=None, metavar="DATE",
              help="Last day of the term (YYYY-MM-DD, not before it started), or 'none' for a term without an end.")
def tenants_license(slug: str, seats: int | None, plan: str | None, status: str | None, until: str | None) -> None:
    """Show a tenant's license, or change it (each change is in the platform audit log).

    With no option, prints the plan, seats used and purchased, status and term. Lowering the seats below those in
    use is allowed: no new seat can then be given.
    """
    import datetime

    from tajiconnect.domains.licensing.models import LICENSE_STATUSES, MAX_SEATS
    from tajiconnect.domains.licensing.service import LicenseError, get_license
    from tajiconnect.tenancy.slugs import InvalidSlugError, validate_slug

    try:
        validate_slug(slug)
    except InvalidSlugError as exc:
        raise click.ClickException(str(exc)) from exc
    if seats is not None and not 0 <= seats <= MAX_SEATS:
        raise click.BadParameter(f"must be between 0 and {MAX_SEATS}", param_hint="'--seats'")
    if status is not None and status not in LICENSE_STATUSES:
        raise click.BadParameter(f"must be one of: {', '.join(LICENSE_STATUSES)}", param_hint="'--status'")
    end: datetime.date | None = None
    open_ended = until is not None and until.strip().lower() == "none"
    if until is not None and not open_ended:
        try:
            end = datetime.date.fromisoformat(until.strip())
        except ValueError:
            raise click.BadParameter("must be a date (YYYY-MM-DD) or 'none'", param_hint="'--until'") from None
    refused = _fail_on(LicenseError, *_db_errors())
    if seats is None and plan is None and status is None and until is None:
        _print_license(refused(_with_engine)(lambda engine: get_license(engine, slug)))
        return

    async def go(engine: Any) -> Any:
        from tajiconnect.db.session import session_scope
        from tajiconnect.domains.audit.service import SYSTEM
        from tajiconnect.platform.tenants import change_license
        from tajiconnect.tenancy.context import tenant_context

        with tenant_context(None):
            async with session_scope(engine, schema=None) as session:
                return await change_license(
                    session, SYSTEM, slug, seats=seats, plan=plan, status=status, until=end, open_ended=open_ended,
                    **_cli_context(),
                )

    view, changes = refused(_with_engine)(go)
    if changes:
        described = ", ".join(f"{field} {_show(old)} -> {_show(new)}" for field, (old, new) in changes.items())
        click.echo(f"changed license of {slug}: {described}")
    else:
        click.echo(f"license of {slug} unchanged")
    _print_license(view)


def _show(value: object) -> str:
    import datetime

    if value is None:
        return "none"
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def _print_license(view: Any) -> None:
    end = view.term_end.isoformat() if view.term_end else "no end"
    click.echo(f"  tenant: {view.slug} ({view.tenant_name}, {view.tenant_status})")
    click.echo(f"  plan:   {view.plan_code} ({view.plan_name})")
    over = f", {view.seats_used - view.seats} over" if view.seats_used > view.seats else ""
    click.echo(f"  seats:  {view.seats_used} used of {view.seats} ({view.seats_available} available{over})")
    click.echo(f"  status: {view.status}")
    click.echo(f"  term:   {view.term_start.isoformat()} to {end}")


# --- plans ------------------------------------------------------------------------------------------------------


@main.group()
def plans() -> None:
    """Plans a tenant's license can be on."""


@plans.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plans_list(as_json: bool) -> None:
    """List plans: code, name, price per seat (monthly, yearly), currency and features."""
    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.licensing.service import plans as all_plans
    from tajiconnect.tenancy.context import tenant_context

    async def go(engine: Any) -> list[dict[str, Any]]:
        with tenant_context(None):
            async with session_scope(engine, schema=None) as session:
                return [
                    {"code": p.code, "name": p.name, "price_monthly_cents": p.price_monthly_cents,
                     "price_yearly_cents": p.price_yearly_cents, "currency": p.currency,
                     "features": dict(p.features or {}), "public": p.is_public}
                    for p in await all_plans(session)
                ]

    rows = _fail_on(*_db_errors())(_with_engine)(go)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no plans")
        return
    width = max(len(r["code"]) for r in rows)
    name_width = max(len(r["name"]) for r in rows)
    for r in rows:
        features = ", ".join(sorted(k for k, on in r["features"].items() if on)) or "-"
        hidden = "" if r["public"] else "  (not public)"
        click.echo(
            f"{r['code']:<{width}}  {r['name']:<{name_width}}  "
            f"{r['price_monthly_cents'] / 100:>8.2f} {r['currency']}/seat/month  "
            f"{r['price_yearly_cents'] / 100:>9.2f} {r['currency']}/seat/year  features: {features}{hidden}"
        )


# --- billing ----------------------------------------------------------------------------------------------------


@main.group()
def billing() -> None:
    """Billing through Stripe (needs STRIPE_API_KEY)."""


@billing.command("sync-plans")
def billing_sync_plans() -> None:
    """Create or update each plan's Stripe product and per-seat prices (monthly, yearly); safe to run again."""
    import stripe

    from tajiconnect.domains.billing.plans_sync import sync_plans
    from tajiconnect.domains.billing.stripe_api import BillingNotConfiguredError

    settings = _settings()
    if not settings.billing.configured:
        raise click.ClickException("billing is not configured (STRIPE_API_KEY is not set)")

    async def go(engine: Any) -> list[Any]:
        return await sync_plans(engine, settings.billing)

    try:
        report = _fail_on(*_db_errors(), BillingNotConfiguredError)(_with_engine)(go)
    except stripe.StripeError as exc:
        message = (exc.user_message or str(exc) or type(exc).__name__).splitlines()[0]
        raise click.ClickException(f"Stripe refused: {message}") from exc
    if not report:
        click.echo("no plans")
        return
    widths = [max(len(getattr(r, f)) for r in report) for f in ("plan", "kind", "stripe_id")]
    for r in report:
        click.echo(f"{r.plan:<{widths[0]}}  {r.kind:<{widths[1]}}  {r.stripe_id:<{widths[2]}}  {r.action}")
    created = sum(r.action == "created" for r in report)
    changed = sum(r.action in ("updated", "deactivated") for r in report)
    click.echo(f"{created} created, {changed} updated, {len(report) - created - changed} kept")


# --- platform operators ---------------------------------------------------------------------------------------


@main.group()
def operators() -> None:
    """Platform operators (sign in on the apex host, at /platform)."""


@operators.command("create")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.option("--password", default=None, help="Password (asked for when omitted and a terminal is attached).")
def operators_create(email: str, name: str, password: str | None) -> None:
    """Create a platform operator."""
    from tajiconnect.domains.accounts.service import AccountError
    from tajiconnect.platform.service import OperatorError, create_operator

    if password is None:
        if not sys.stdin.isatty():
            raise click.ClickException("--password is required when no terminal is attached")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    op = _fail_on(AccountError, OperatorError, *_db_errors())(_with_engine)(
        lambda engine: create_operator(engine, email=email, name=name, password=password)
    )
    click.echo(f"created operator {op.email}")


@operators.command("reset-2fa")
@click.argument("email")
def operators_reset_2fa(email: str) -> None:
    """Clear an operator's two-step verification (secret and recovery codes) and end its sessions; the operator
    sets it up again at the next sign-in. For a lost phone with no recovery code left."""
    from tajiconnect.domains.audit.service import SYSTEM
    from tajiconnect.platform.service import OperatorError, reset_second_factor

    settings = _settings()

    async def go(engine: Any) -> str:
        # Redis out of reach after the reset is an OperatorError too (SessionsLeftError): one clear line.
        redis_url = settings.redis_url.get() if settings.redis_url else None
        return (await reset_second_factor(engine, email, SYSTEM, redis_url=redis_url)).email

    reset = _fail_on(OperatorError, *_db_errors())(_with_engine)(go)
    click.echo(f"two-step verification reset for operator {reset}; they set it up again at their next sign-in")


# --- demo, run, worker --------------------------------------------------------------------------------------------


@main.command()
@click.option("--port", type=int, default=None, help="Port shown in the printed URL.")
def demo(port: int | None) -> None:
    """Create (or refresh) the demo tenant with sample data; print its URL and logins. Idempotent."""
    from tajiconnect.demo import seed_demo

    result = _fail_on(*_db_errors())(_with_engine)(seed_demo)
    click.echo(f"demo tenant '{result.slug}' ready ({'created' if result.created else 'already there'})")
    click.echo(f"  open {_tenant_url(result.slug, port)}  (operators: {_apex_url(port)}/platform)")
    for login in result.logins:
        click.echo(f"  {login.role:<10} {login.email:<32} {login.password}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--with-worker", is_flag=True, help="Also run a background-task worker.")
def run(host: str, port: int, workers: int, with_worker: bool) -> None:
    """Serve the app with granian (a dead server worker is replaced; children die with this process)."""

    from granian.constants import Interfaces
    from granian.server import Server

    from tajiconnect.processes import PARENT_ENV, ChildSupervisor

    _settings()  # starts the embedded database when needed and validates the environment
    os.environ.setdefault("TAJI_PUBLIC_PORT", str(port))
    os.environ[PARENT_ENV] = str(os.getpid())  # granian's workers and the task worker die with this process
    supervisor = None
    if with_worker:
        # Restarted when it exits on its own; it dies with this process too (``run_worker`` reads the pid).
        supervisor = ChildSupervisor([sys.executable, "-m", "tajiconnect.cli", "worker"])
        supervisor.start()
    try:
        Server(
            "tajiconnect.app:create_app",
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            factory=True,
            log_access=False,
            respawn_failed_workers=True,
            respawn_interval=0.5,
            workers_kill_timeout=10,
        ).serve()
    finally:
        if supervisor is not None:
            supervisor.stop()


@main.group()
def storage() -> None:
    """Stored files: move old avatars into storage, purge abandoned uploads."""


async def _each_tenant(engine: Any, slugs: tuple[str, ...], work: Callable[[Any, Any], Awaitable[int]]) -> int:
    """``work(session, storage)`` in each chosen active tenant (all when ``slugs`` is empty), repeated in fresh
    transactions until it does nothing more; the total."""
    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.storage.service import Storage
    from tajiconnect.tenancy.context import tenant_context
    from tajiconnect.tenancy.service import list_tenants, load_tenant

    service = Storage.from_settings(_settings())
    tenants = [await load_tenant(engine, slug) for slug in slugs] if slugs else await list_tenants(engine)
    total = 0
    for tenant in tenants:
        if not tenant.is_active:
            continue
        with tenant_context(tenant):
            while True:
                async with session_scope(engine) as session:
                    done = await work(session, service)
                total += done
                if not done:
                    break
        click.echo(f"{tenant.slug}: done")
    return total


@storage.command("move-avatars")
@click.option("--tenant", "tenants", multiple=True, help="Only this tenant (slug); repeatable. Default: all.")
def storage_move_avatars(tenants: tuple[str, ...]) -> None:
    """Move profile pictures still kept in the database (user_avatars) into storage. Safe to re-run."""
    from tajiconnect.domains.accounts.avatars import move_avatars

    moved = _fail_on(*_db_errors())(_with_engine)(lambda engine: _each_tenant(engine, tenants, move_avatars))
    click.echo(f"moved {moved} picture(s)")


@storage.command("purge-uploads")
@click.option("--hours", type=click.IntRange(1, 24 * 365), default=24, show_default=True,
              help="Abort uploads unfinished this long after they started.")
@click.option("--tenant", "tenants", multiple=True, help="Only this tenant (slug); repeatable. Default: all.")
def storage_purge_uploads(hours: int, tenants: tuple[str, ...]) -> None:
    """Abort abandoned resumable uploads and delete their parts."""
    import datetime

    async def purge(session: Any, service: Any) -> int:
        # One pass per tenant: purge_abandoned takes up to 1000 at a time, a repeat picks up the rest.
        return int(await service.purge_abandoned(session, datetime.timedelta(hours=hours)))

    purged = _fail_on(*_db_errors())(_with_engine)(lambda engine: _each_tenant(engine, tenants, purge))
    click.echo(f"purged {purged} upload(s)")


@main.group()
def tasks() -> None:
    """Background tasks that failed for good: list them, retry them."""


@tasks.command("failed")
@click.option("--all", "include_retried", is_flag=True, help="Include the failures already retried.")
@click.option("--tenant", help="Only this organization's (slug).")
def tasks_failed(include_retried: bool, tenant: str | None) -> None:
    """List the failed tasks, latest first (open ones only unless --all)."""
    from tajiconnect.db.session import session_scope
    from tajiconnect.tasks.failures import last_lines, list_failed

    async def go(engine: Any) -> list[Any]:
        async with session_scope(engine, schema=None) as session:
            rows, _ = await list_failed(session, include_retried=include_retried, tenant=tenant, limit=None)
            return rows

    rows = _fail_on(*_db_errors())(_with_engine)(go)
    if not rows:
        click.echo("no failed tasks")
        return
    click.echo("ID                                    FAILED (UTC)      QUEUE          TENANT           "
               "TASK                     TRIES  STATE    ERROR")
    for row in rows:
        error = (last_lines(row.error, 1) or "-").replace("\n", " ")[:80]
        state = "retried" if row.retried_at else "open"
        click.echo(f"{row.id}  {row.failed_at:%Y-%m-%d %H:%M}  {row.queue[:13]:<13}  {(row.tenant_slug or '-'):<15}  "
                   f"{row.task[:23]:<23}  {row.attempts:>5}  {state:<7}  {error}")


@tasks.command("retry")
@click.argument("failed_id", required=False)
@click.option("--all-open", is_flag=True, help="Retry every open failure.")
@click.option("--tenant", help="With --all-open: only this organization's (slug).")
def tasks_retry(failed_id: str | None, all_open: bool, tenant: str | None) -> None:
    """Put a failed task (or every open one) back in its queue under its own key; one line per task. Exits 1 when
    one could not be retried."""
    import uuid

    from tajiconnect.domains.audit.service import Actor
    from tajiconnect.tasks.failures import RetryError, list_failed, retry_failed

    if bool(failed_id) == all_open:
        raise click.UsageError("give one failed task's ID, or --all-open")
    if tenant and not all_open:
        raise click.UsageError("--tenant goes with --all-open")
    wanted: uuid.UUID | None = None
    if failed_id:
        try:
            wanted = uuid.UUID(failed_id)
        except ValueError as exc:
            raise click.ClickException(f"{failed_id!r} is not a failed task's ID") from exc
    settings = _settings()

    async def go(engine: Any) -> tuple[list[str], list[str]]:
        from tajiconnect.db.session import session_scope
        from tajiconnect.tasks.queue import create_queues
        from tajiconnect.worker import load_tasks

        load_tasks()
        if wanted is not None:
            ids = [wanted]
        else:
            async with session_scope(engine, schema=None) as session:
                ids = [row.id for row in (await list_failed(session, tenant=tenant, limit=None))[0]]
        queues = create_queues(settings)
        await queues.connect()
        done, failures = [], []
        try:
            for each in ids:
                try:
                    row = await retry_failed(engine, queues, each, actor=Actor(email="cli"), **_cli_context())
                    done.append(f"retried {row.id}: {row.task} ({row.tenant_slug or 'platform'}) as {row.job_key}")
                except RetryError as exc:
                    if wanted is not None:
                        raise click.ClickException(str(exc)) from exc
                    failures.append(f"not retried {each}: {exc}")
        finally:
            await queues.disconnect()
        return done, failures

    done, failures = _fail_on(*_db_errors())(_with_engine)(go)
    for line in done or ([] if failures else ["no open failed tasks"]):
        click.echo(line)
    for line in failures:
        click.echo(line, err=True)
    if failures:
        sys.exit(1)


@main.command()
@click.option("--concurrency", type=click.IntRange(1, 100), default=10, show_default=True,
              help="Tasks run at once, per queue.")
@click.option("--burst", is_flag=True, help="Process what is queued, then exit.")
@click.option("--queue", "queues", multiple=True, type=click.Choice(QUEUE_NAMES),
              help="Serve only this queue; repeatable. Default: all of them.")
def worker(concurrency: int, burst: bool, queues: tuple[str, ...]) -> None:
    """Run the background-task worker (SAQ): every queue, or those named."""
    from tajiconnect.worker import run_worker

    run_worker(_settings(), concurrency=concurrency, burst=burst, queues=queues or QUEUE_NAMES)


if __name__ == "__main__":
    main()
