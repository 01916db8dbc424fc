"""Jinja templates with per-tenant overrides and gettext.

Lookup order: ``tenants/<slug>/templates/`` (when the tenant in scope has one), then the shared ``templates/``.
Each tenant with overrides gets its own overlay environment (own template cache), so one tenant's override can
never be served to another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, TemplateNotFound, select_autoescape
from litestar.exceptions import TemplateNotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from tajiconnect import i18n
from tajiconnect.localtime import local_time_of_request
from tajiconnect.settings import PROJECT_ROOT
from tajiconnect.tenancy.branding import branding_for
from tajiconnect.tenancy.context import current_tenant
from tajiconnect.web.assets import static_url, tenant_static_url

TEMPLATES_DIR = PROJECT_ROOT / "templates"
TENANTS_DIR = PROJECT_ROOT / "tenants"


def _billing_notice(request: Any = None) -> Any:
    from tajiconnect.domains.billing.read_only import page_notice

    return page_notice(request)


def _base_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        # Plain-text templates (emails' .txt bodies and subjects) are not HTML: escaping them would mail "&amp;".
        autoescape=select_autoescape(
            enabled_extensions=("html", "htm", "xml"), disabled_extensions=("txt",),
            default=True, default_for_string=True,
        ),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["current_tenant"] = current_tenant
    env.globals["current_locale"] = i18n.current_locale
    env.globals["local_time"] = local_time_of_request
    env.globals["branding"] = lambda: branding_for(current_tenant())
    # Every link to a static file carries its content hash (web/assets.py): cached for good, never stale.
    # The read-only / failed-payment banner of the tenant's pages (domains/billing/read_only.py).
    env.globals["billing_notice"] = _billing_notice
    env.globals["static_url"] = static_url
    env.globals["tenant_static_url"] = lambda name: tenant_static_url(current_tenant(), name)
    return env


class TenantAwareJinjaEngine(JinjaTemplateEngine):
    """Litestar's Jinja engine, choosing the environment of the tenant in scope."""

    def __init__(self, tenants_dir: Path = TENANTS_DIR) -> None:
        super().__init__(engine_instance=_base_environment())
        self.tenants_dir = tenants_dir
        self._overlays: dict[str, Environment] = {}

    def environment_for(self, slug: str | None) -> Environment:
        if slug is None:
            return self.engine
        env = self._overlays.get(slug)
        if env is None:
            override = self.tenants_dir / slug / "templates"
            if override.is_dir():
                loader = ChoiceLoader([FileSystemLoader(override), self.engine.loader])  # type: ignore[list-item]
                env = self.engine.overlay(loader=loader)
            else:
                env = self.engine
            self._overlays[slug] = env
        return env

    def get_template(self, template_name: str) -> Any:
        tenant = current_tenant()
        env = self.environment_for(tenant.slug if tenant else None)
        try:
            return env.get_template(template_name)
        except TemplateNotFound as exc:
            raise TemplateNotFoundException(template_name=template_name) from exc


_engine: TenantAwareJinjaEngine | None = None


def shared_engine() -> TenantAwareJinjaEngine:
    """The process-wide engine (the web app and the tasks render with the same environments)."""
    global _engine
    if _engine is None:
        _engine = TenantAwareJinjaEngine()
    return _engine


def email_environment() -> Environment:
    """The environment for the tenant in scope, for rendering outside a request (emails)."""
    tenant = current_tenant()
    return shared_engine().environment_for(tenant.slug if tenant else None)


def template_config() -> TemplateConfig[TenantAwareJinjaEngine]:
    return TemplateConfig(instance=shared_engine())
