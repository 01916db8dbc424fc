"""Templates as served: per-tenant overrides (``tenants/<slug>/templates/``) reach their tenant only, and pages
come out in the language in scope (the member's own, else the organization's, else ``Accept-Language``)."""

from __future__ import annotations

import pytest

from tajiconnect import i18n
from tests.integration.conftest import set_user, sign_in

OVERRIDE = """{% extends "layouts/base.html" %}
{% block content %}<p id="override">Custom home of {{ tenant.slug }}</p>{% endblock %}
"""


@pytest.fixture(scope="module")
async def pair(make_tenant):
    return await make_tenant("tplown"), await make_tenant("tploth")


async def test_override_is_served_to_its_tenant_only(client_for, tenant_files, pair):
    owner, other = pair
    tenant_files(owner.slug, "templates/home/index.html", OVERRIDE)
    # The other tenant first, then the owner, then the other again: no environment or cache is shared.
    for tenant, overridden in ((other, False), (owner, True), (other, False), (None, False)):
        async with client_for(tenant) as client:
            response = await client.get("/")
        assert response.status_code == 200
        assert ('id="override"' in response.text) is overridden
        assert "Powered by TajiConnect" in response.text  # the shared layout, which the override extends
        if overridden:
            assert f"Custom home of {owner.slug}" in response.text
        elif tenant is not None:
            assert tenant.name in response.text


# --- languages ------------------------------------------------------------------------------------------------

TRANSLATED = [locale for locale in i18n.SUPPORTED_LOCALES if locale != i18n.DEFAULT_LOCALE]


def shown(locale: str, message: str) -> str:
    """``message`` in ``locale``, which must differ from the English (Jinja marks translations safe: not escaped)."""
    text = i18n.translations(locale).gettext(message)
    assert text != message, f"no compiled {locale} catalog translates {message!r}: run bash scripts/setup.sh"
    return text


@pytest.fixture(scope="module")
async def by_locale(make_tenant):
    return {locale: await make_tenant(f"tpl{locale}", locale=locale) for locale in i18n.SUPPORTED_LOCALES}


@pytest.mark.parametrize("locale", TRANSLATED)
async def test_pages_are_shown_in_the_organization_language(client_for, by_locale, locale):
    async with client_for(by_locale[locale]) as client:
        sign_in_page = await client.get("/auth/sign-in")
        forgot = await client.get("/auth/forgot-password")
        missing = await client.get("/tenant-static/missing.png")  # a 404 from a route (the tenant is known)
    assert sign_in_page.status_code == 200
    assert f'<html lang="{locale}">' in sign_in_page.text
    assert f"<h1>{shown(locale, 'Sign in')}</h1>" in sign_in_page.text
    assert f'<button type="submit">{shown(locale, "Sign in")}</button>' in sign_in_page.text
    for message in ("Email", "Password", "Forgot your password?", "Skip to content", "Powered by TajiConnect"):
        assert shown(locale, message) in sign_in_page.text, message
    assert "Forgot your password?" not in sign_in_page.text and "Powered by" not in sign_in_page.text

    assert forgot.status_code == 200
    for message in ("Enter the email address of your account and we will send you a link to choose a new password.",
                    "Send the link"):
        assert shown(locale, message) in forgot.text, message

    assert missing.status_code == 404
    assert f'<h1 id="error-title">{shown(locale, "Page not found")}</h1>' in missing.text
    assert shown(locale, "The page you asked for does not exist here.") in missing.text
    assert shown(locale, "Go to the home page") in missing.text


@pytest.mark.parametrize(("header", "locale"), [("fr-CM,fr;q=0.9,en;q=0.5", "fr"), ("sw-KE, en;q=0.3", "sw")])
async def test_the_public_site_follows_accept_language(client_for, header, locale):
    async with client_for(None) as client:
        page = await client.get("/", headers={"accept-language": header})
        english = await client.get("/", headers={"accept-language": "de-DE, nl;q=0.5"})
    assert page.status_code == 200 and f'<html lang="{locale}">' in page.text
    assert shown(locale, "Learning for schools and companies") in page.text
    assert shown(locale, "How it works") in page.text
    assert '<html lang="en">' in english.text and "Learning for schools and companies" in english.text


async def test_a_member_language_beats_the_organization_language(browser, by_locale, make_user, engine):
    tenant = by_locale["sw"]
    member = await make_user(tenant, ["student"])
    await set_user(engine, tenant, member.id, locale="fr")
    async with browser(tenant) as client:
        before = await client.get("/auth/sign-in")
        assert shown("sw", "Forgot your password?") in before.text  # nobody signed in yet: the organization's
        signed_in = await sign_in(client, member.email)
        assert signed_in.status_code == 303, signed_in.text
        profile = await client.get("/account/profile")
    assert profile.status_code == 200 and '<html lang="fr">' in profile.text
    assert f"<h1>{shown('fr', 'My profile')}</h1>" in profile.text
    assert shown("fr", "Time zone") in profile.text and shown("sw", "Time zone") not in profile.text
