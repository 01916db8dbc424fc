"""Properties of the signed-out forms: sign-in, the second factor, forgotten and reset passwords, invitations,
email verification, signing out, and the operators' sign-in on the apex host.

Each property owns a fresh organization, so that throttling (failures are counted per address and per account)
and the members' state belong to it alone; the failure entries it caused are cleared before each example so that
the success paths stay reachable.
"""

from __future__ import annotations

import datetime
import time
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from litestar.utils import url_quote
from sqlalchemy import delete, func, select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts import totp
from tajiconnect.domains.accounts.models import EmailToken, RecoveryCode, User
from tajiconnect.domains.accounts.passwords import password_problem, verify_password
from tajiconnect.domains.accounts.tokens import issue_link
from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.platform.service import create_operator
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.web.forms import safe_next
from tests.integration.conftest import OPERATOR_COOKIE, PASSWORD, SESSION_COOKIE, Member, create_member, load_user
from tests.property.support import (
    FOREIGN_RANDOM,
    HASHING,
    PROPS,
    STRONG_PASSWORDS,
    Env,
    Part,
    SentForm,
    aimed,
    any_text,
    ascii_digits,
    check_page,
    check_refused_page,
    clear_audit,
    entries,
    forms,
    in_tenant,
    names,
    open_session,
    padded,
    passwords,
    second_factors,
    segment,
    session_alive,
    session_store,
    shown,
    strong_passwords,
    submit,
    totp_window,
    valid_names,
)

pytestmark = FOREIGN_RANDOM

NEXTS = ("/", "/admin/users?q=a%25b", "//evil.example", "/\\evil.example", "https://evil.example/", "/\t/evil.example",
         "/%2F%2Fevil.example", "\n/x", "/ok\r\nSet-Cookie: x=y", "/caf\u00e9?x=\u00e9", "javascript:alert(1)")


def nexts() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.sampled_from(NEXTS), any_text(), any_text().map(lambda t: "/" + t))


async def link_for(engine: Any, tenant: Any, user_id: uuid.UUID, purpose: str) -> str:
    async def work(session: Any) -> str:
        return await issue_link(session, await session.get(User, user_id), purpose)

    return await in_tenant(engine, tenant, work)


async def link_spent(engine: Any, tenant: Any, user_id: uuid.UUID, purpose: str) -> bool:
    """Whether the user has no usable link of ``purpose`` left (issuing one spends the earlier ones)."""

    async def work(session: Any) -> int:
        return int(await session.scalar(
            select(func.count()).select_from(EmailToken).where(
                EmailToken.user_id == user_id, EmailToken.purpose == purpose, EmailToken.used_at.is_(None)
            )
        ) or 0)

    return await in_tenant(engine, tenant, work) == 0


def expected_next(form: SentForm) -> str:
    """Where a successful sign-in goes: the ``next`` field when it is a local path, else ``/``."""
    return url_quote(safe_next(form.text("next") or None))


# --- sign-in ------------------------------------------------------------------------------------------------------


@pytest.fixture
async def sign_in_env(new_org, make_user, browser):
    org = await new_org("psi")
    members = [
        await make_user(org.tenant, ["teacher"]),
        await make_user(org.tenant, ["student"], with_2fa=True),
        await make_user(org.tenant, ["student"], status="deactivated"),
    ]
    async with browser(org.tenant) as client:
        yield Env(org.tenant, client, members)


@HASHING
@given(data=st.data())
async def test_sign_in_form(sign_in_env, engine, data):
    env = sign_in_env
    member = data.draw(st.sampled_from(env.members))
    form = data.draw(forms(aimed(
        {"email": padded(member.email), "password": st.just(PASSWORD), "next": nexts()},
        {"email": any_text(), "password": passwords()},
    )))
    await clear_audit(engine, env.tenant, "auth.sign_in.failure", "auth.two_factor.failure")
    env.client.cookies.delete(SESSION_COOKIE)
    response = await submit(env.client, "/auth/sign-in", form)

    if form.fields() is None:
        check_refused_page(response, 400)
        assert env.client.cookies.get(SESSION_COOKIE) is None
        assert await entries(engine, env.tenant, "auth.sign_in.failure") == []
        return
    typed = form.text("email").strip().lower()[:320]
    who = next((m for m in env.members if m.email == typed), None)
    if who is not None and form.text("password") == who.password and who is not env.members[2]:
        check_page(response, {303})
        if who.totp_secret:
            assert response.headers["location"] == "/auth/two-factor?next=" + quote(
                safe_next(form.text("next") or None), safe="/")
            assert (await env.client.get("/auth/two-factor")).status_code == 200  # password accepted, code pending
            assert (await env.client.get("/account/profile")).status_code == 303
        else:
            assert response.headers["location"] == expected_next(form)
            profile = await env.client.get("/account/profile")
            assert profile.status_code == 200 and shown(who.email) in profile.text
    else:
        check_page(response, {422})
        assert env.client.cookies.get(SESSION_COOKIE) is None
        [failure] = await entries(engine, env.tenant, "auth.sign_in.failure")
        assert failure.subject_email == typed


# --- the second factor --------------------------------------------------------------------------------------------


def resolve_code(spec: tuple[str, Any], member: Member) -> str | bytes:
    kind, detail = spec
    if kind in ("text", "digits"):
        return detail
    if kind == "totp":
        offset, sep, pad = detail
        code = totp.code_for(member.totp_secret or "", at=time.time() + offset * totp.STEP_SECONDS)
        return pad + code[:3] + sep + code[3:] + pad
    index, style, pad = detail
    code = member.recovery_codes[index]
    code = {"same": code, "upper": code.upper(), "spaced": code.replace("-", " - ")}[style]
    return pad + code + pad


async def second_factor_state(engine: Any, member: Member) -> tuple[int | None, set[str]]:
    """The last accepted TOTP step and the hashes of the unused recovery codes."""

    async def work(session: Any) -> tuple[int | None, set[str]]:
        user = await session.get(User, member.id)
        unused = await session.scalars(
            select(RecoveryCode.code_hash).where(RecoveryCode.user_id == member.id, RecoveryCode.used_at.is_(None))
        )
        return user.totp_last_step, set(unused.all())

    return await in_tenant(engine, member.tenant, work)


@pytest.fixture
async def two_factor_env(new_org, make_user, browser):
    org = await new_org("ptf")
    member = await make_user(org.tenant, ["teacher"], with_2fa=True)
    async with browser(org.tenant) as client:
        yield Env(org.tenant, client, [member])


@PROPS
@given(spec=second_factors(), template=forms({"code": st.just("?"), "next": nexts()}))
@example(spec=("digits", "\u0661\u0662\u0663\u0664\u0665\u0666"), template=SentForm((Part("code", "?"),), False))
@example(spec=("digits", "12345\u00b2"), template=SentForm((Part("code", "?"),), False))
async def test_second_factor_form(two_factor_env, engine, spec, template):
    env = two_factor_env
    [member] = env.members
    await clear_audit(engine, env.tenant, "auth.sign_in.failure", "auth.two_factor.failure")
    # A password-accepted session waiting for the code, straight from the store (no password hash to pay).
    with tenant_context(env.tenant):
        pending = await session_store(env.client.app).create(member.id, "mfa", "127.0.0.1", "property-tests")
    env.client.cookies.set(SESSION_COOKIE, pending, domain=f"{env.tenant.slug}.taji.test")
    code = resolve_code(spec, member)
    parts = tuple(replace(p, value=code) if p.name == "code" else p for p in template.parts)
    form = SentForm(parts, template.multipart)
    last_step, unused = await second_factor_state(engine, member)
    before = totp_window(member.totp_secret or "", last_step)
    response = await submit(env.client, "/auth/two-factor", form)
    after = totp_window(member.totp_secret or "", last_step)

    if form.fields() is None:
        check_refused_page(response, 400)
        assert await second_factor_state(engine, member) == (last_step, unused)
        return
    typed = form.text("code")
    digits = ascii_digits(typed)
    by_totp = {digits in before, digits in after}  # both when the clock crossed a step during the request
    recovery = typed.strip()
    by_recovery = len(recovery) >= 12 and totp.recovery_hash(recovery) in unused
    accepted = response.status_code == 303
    assert accepted in {t or by_recovery for t in by_totp}, (typed, response.status_code)
    if accepted:
        check_page(response, {303})
        assert response.headers["location"] == expected_next(form)
        assert (await env.client.get("/account/profile")).status_code == 200
        step, left = await second_factor_state(engine, member)
        if digits in before or digits in after:
            assert step == (before.get(digits) or after.get(digits)) and left == unused
        else:
            assert step == last_step and left == unused - {totp.recovery_hash(recovery)}
    else:
        check_page(response, {422})
        assert await second_factor_state(engine, member) == (last_step, unused)
        assert await session_alive(env.client, member, pending)  # still waiting for a code
        assert len(await entries(engine, env.tenant, "auth.two_factor.failure")) == 1


# --- forgotten password -------------------------------------------------------------------------------------------


@pytest.fixture
async def forgot_env(new_org, make_user, browser):
    org = await new_org("pfp")
    member = await make_user(org.tenant, ["teacher"])
    async with browser(org.tenant) as client:
        yield Env(org.tenant, client, [member])


async def reset_links(engine: Any, member: Member) -> int:
    async def work(session: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(EmailToken).where(
            EmailToken.user_id == member.id, EmailToken.purpose == "reset_password")) or 0)

    return await in_tenant(engine, member.tenant, work)


@PROPS
@given(data=st.data())
async def test_forgot_password_form(forgot_env, engine, data):
    env = forgot_env
    [member] = env.members
    form = data.draw(forms({"email": st.one_of(padded(member.email), any_text(),
                                               any_text().map(lambda t: t + "@example.org"))}))
    await clear_audit(engine, env.tenant, "auth.password_reset.requested", "auth.password_reset.throttled")
    links = await reset_links(engine, member)
    response = await submit(env.client, "/auth/forgot-password", form)

    if form.fields() is None:
        check_refused_page(response, 400)
        assert await entries(engine, env.tenant, "auth.password_reset.requested") == []
        assert await reset_links(engine, member) == links
        return
    email = form.text("email").strip().lower()[:320]
    if "@" not in email:
        check_page(response, {422})
        assert await entries(engine, env.tenant, "auth.password_reset.requested") == []
    else:
        check_page(response, {200})
        # Acknowledged the same way for everyone; the log and the links show what was done.
        [requested] = await entries(engine, env.tenant, "auth.password_reset.requested")
        assert requested.subject_email == email
    assert await reset_links(engine, member) == links + (email == member.email)


# --- password reset -----------------------------------------------------------------------------------------------


def token_paths() -> st.SearchStrategy[tuple[str, Any]]:
    """A link token in the path: the member's live one (mostly), one already spent, or any text."""
    kinds = st.sampled_from(["live", "live", "live", "spent", "text"])
    return st.tuples(kinds, any_text(30)).map(lambda pair: (pair[0], pair[1] if pair[0] == "text" else None))


async def token_for(engine: Any, member: Member, purpose: str, kind: str, text: Any) -> tuple[str, bool]:
    """(the path token, whether it is live)."""
    if kind == "text":
        return text, False
    token = await link_for(engine, member.tenant, member.id, purpose)
    if kind == "spent":
        await link_for(engine, member.tenant, member.id, purpose)  # a newer link spends this one
        return token, False
    return token, True


def password_fields(
    valid: dict[str, st.SearchStrategy[Any]] | None = None, invalid: dict[str, st.SearchStrategy[Any]] | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """A password and its confirmation (``SAME``: typed again exactly), plus other fields, aimed at every path."""
    return aimed(
        {"password": strong_passwords(), "password_confirm": st.just("SAME"), **(valid or {})},
        {"password": passwords(), "password_confirm": passwords(), **(invalid or {})},
    )


def with_confirmation(form: SentForm) -> SentForm:
    """Replace the ``SAME`` marker with a copy of the password field (a confirmation typed right)."""
    password = next((p for p in form.parts if p.name == "password"), None)
    parts = tuple(
        replace(p, value=password.value if password is not None else "")
        if p.name == "password_confirm" and p.value == "SAME" else p
        for p in form.parts
    )
    return SentForm(parts, form.multipart)


@pytest.fixture
async def reset_env(new_org, make_user, browser):
    org = await new_org("prp")
    member = await make_user(org.tenant, ["teacher"], name="Reset Member")
    async with browser(org.tenant) as client:
        yield Env(org.tenant, client, [member])


LONG_PASSWORD = "quiet meadow copper lantern " * 3 + "x"  # 85 characters: over what zxcvbn will look at


def typed_twice(password: str, **fields: str) -> SentForm:
    parts = [Part(k, v) for k, v in fields.items()]
    return SentForm((*parts, Part("password", password), Part("password_confirm", "SAME")), False)


@HASHING
@given(path=token_paths(), template=forms(password_fields()))
@example(path=("live", None), template=typed_twice(LONG_PASSWORD))
@example(path=("live", None), template=typed_twice(" " + STRONG_PASSWORDS[1] + " "))
async def test_reset_password_form(reset_env, engine, path, template):
    env = reset_env
    [member] = env.members
    kind, text = path
    form = with_confirmation(template)
    token, live = await token_for(engine, member, "reset_password", kind, text)
    before = (await load_user(engine, env.tenant, member.id)).password_hash
    response = await submit(env.client, f"/auth/reset-password/{segment(token)}", form)
    after = await load_user(engine, env.tenant, member.id)

    if not live:
        check_page(response, {400, 404, 405, 410})
        assert after.password_hash == before
        return
    if form.fields() is None:
        check_refused_page(response, 400)
        assert after.password_hash == before
        assert not await link_spent(engine, env.tenant, member.id, "reset_password")
        return
    password = form.text("password")
    ok = password == form.text("password_confirm") and password_problem(
        password, user_inputs=(member.email, member.email.split("@")[0], "Reset Member")) is None
    if ok:
        check_page(response, {303})
        assert response.headers["location"] == "/auth/sign-in?notice=password_reset"
        assert verify_password(after.password_hash, password)  # exactly what was typed: no trimming
        assert await link_spent(engine, env.tenant, member.id, "reset_password")
        assert (await env.client.get(f"/auth/reset-password/{segment(token)}")).status_code == 410
    else:
        check_page(response, {422})
        assert after.password_hash == before
        assert not await link_spent(engine, env.tenant, member.id, "reset_password")


# --- accepting an invitation --------------------------------------------------------------------------------------


@pytest.fixture
async def invitation_env(new_org, browser):
    org = await new_org("pai")
    async with browser(org.tenant) as client:
        yield Env(org.tenant, client)


@HASHING
@given(path=token_paths(), template=forms(password_fields({"name": valid_names()}, {"name": names()})))
@example(path=("live", None), template=typed_twice(STRONG_PASSWORDS[0], name="z" * 201))  # over the limit
@example(path=("live", None), template=typed_twice(STRONG_PASSWORDS[0], name=" " + "y" * 200 + " "))  # at it
@example(path=("live", None), template=typed_twice(LONG_PASSWORD, name="Long Password"))
async def test_accept_invitation_form(invitation_env, engine, path, template):
    env = invitation_env
    kind, text = path
    form = with_confirmation(template)
    member = await create_member(engine, env.tenant, ["student"], password=None, name="Invited Person")
    token, live = await token_for(engine, member, "invite", kind, text)
    env.client.cookies.delete(SESSION_COOKIE)
    response = await submit(env.client, f"/auth/invitation/{segment(token)}", form)
    after = await load_user(engine, env.tenant, member.id)

    unchanged = (after.status, after.name, after.password_hash) == ("invited", "Invited Person", None)
    if not live:
        check_page(response, {400, 404, 405, 410})
        assert unchanged
        return
    if form.fields() is None:
        check_refused_page(response, 400)
        assert unchanged and not await link_spent(engine, env.tenant, member.id, "invite")
        return
    name = form.text("name").strip()
    password = form.text("password")
    ok = (
        0 < len(name) <= 200
        and password == form.text("password_confirm")
        and password_problem(password, user_inputs=(member.email, member.email.split("@")[0], name)) is None
    )
    if ok:
        check_page(response, {303})
        assert response.headers["location"] == "/"
        assert after.status == "active" and after.name == name and after.email_verified_at is not None
        assert verify_password(after.password_hash, password)
        assert await link_spent(engine, env.tenant, member.id, "invite")
        profile = await env.client.get("/account/profile")
        assert profile.status_code == 200 and f'value="{shown(name)}"' in profile.text
    else:
        check_page(response, {422})
        assert unchanged and not await link_spent(engine, env.tenant, member.id, "invite")


# --- email verification -------------------------------------------------------------------------------------------


@PROPS
@given(data=st.data())
async def test_verify_email_form(invitation_env, engine, data):
    env = invitation_env
    kind, text = data.draw(token_paths())
    form = data.draw(forms({}))
    member = await create_member(engine, env.tenant, ["student"])
    token, live = await token_for(engine, member, "verify_email", kind, text)
    signed_in = data.draw(st.booleans())
    if signed_in:
        await open_session(env.client, member)
    else:
        env.client.cookies.delete(SESSION_COOKIE)
    response = await submit(env.client, f"/auth/verify-email/{segment(token)}", form)
    after = await load_user(engine, env.tenant, member.id)

    if not live or form.fields() is None:
        check_page(response, {400} if live else {400, 404, 405, 410})
        assert after.email_verified_at is None
        return
    check_page(response, {303})
    assert response.headers["location"] == (
        "/account/profile?notice=email_verified" if signed_in else "/auth/sign-in?notice=email_verified"
    )
    assert after.email_verified_at is not None
    assert (await submit(env.client, f"/auth/verify-email/{segment(token)}", form)).status_code == 410


# --- signing out --------------------------------------------------------------------------------------------------


@PROPS
@given(data=st.data())
async def test_sign_out_form(invitation_env, engine, make_user, data):
    env = invitation_env
    form = data.draw(forms({}))
    if not env.members:
        env.members.append(await make_user(env.tenant, ["student"]))
    [member] = env.members
    session = data.draw(st.sampled_from(["mine", "mine", "none", "garbage"]))
    token = await open_session(env.client, member)
    if session == "none":
        env.client.cookies.delete(SESSION_COOKIE)
    elif session == "garbage":
        env.client.cookies.set(SESSION_COOKIE, data.draw(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                                                              exclude_characters=';,"\\'))),
                               domain=f"{env.tenant.slug}.taji.test")
    response = await submit(env.client, "/auth/sign-out", form)

    if form.fields() is None:
        check_refused_page(response, 400)
        assert await session_alive(env.client, member, token)
        return
    check_page(response, {303})
    assert response.headers["location"] == "/auth/sign-in?notice=signed_out"
    assert env.client.cookies.get(SESSION_COOKIE) is None
    assert await session_alive(env.client, member, token) == (session != "mine")


# --- the operators' sign-in (apex host) ---------------------------------------------------------------------------

OPERATOR_PASSWORD = "quiet-meadow-copper-lantern"


@pytest.fixture
async def operator_env(engine, browser):
    operator = await create_operator(
        engine, email=f"ops.{uuid.uuid4().hex[:8]}@taji.example", name="Ops", password=OPERATOR_PASSWORD
    )
    async with browser(None) as client:
        env = Env(None, client)
        env.members.append(operator)
        yield env


async def clear_platform_failures(engine: Any, since: datetime.datetime) -> None:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            await session.execute(delete(PlatformAuditEntry).where(
                PlatformAuditEntry.action.in_(("platform.sign_in.failure", "platform.sign_in.throttled")),
                PlatformAuditEntry.occurred_at >= since,
            ))


@HASHING
@given(data=st.data())
async def test_operator_sign_in_form(operator_env, engine, data):
    env = operator_env
    [operator] = env.members
    form = data.draw(forms(aimed(
        {"email": padded(operator.email), "password": st.just(OPERATOR_PASSWORD)},
        {"email": any_text(), "password": passwords()},
    )))
    await clear_platform_failures(engine, env.started)
    env.client.cookies.delete(OPERATOR_COOKIE)
    response = await submit(env.client, "/platform/sign-in", form)

    if form.fields() is None:
        check_refused_page(response, 400)
        assert env.client.cookies.get(OPERATOR_COOKIE) is None
        return
    ok = form.text("email").strip().lower()[:320] == operator.email and form.text("password") == OPERATOR_PASSWORD
    if ok:  # the password alone opens nothing: the second factor is due (its enrollment, for a new operator)
        check_page(response, {303})
        assert response.headers["location"] == "/platform/2fa/setup"
        home = await env.client.get("/platform")
        assert home.status_code == 303 and home.headers["location"] == "/platform/2fa"
    else:
        check_page(response, {422})
        assert env.client.cookies.get(OPERATOR_COOKIE) is None
        assert (await env.client.get("/platform")).status_code == 303


# --- regressions found by the properties above --------------------------------------------------------------------


async def test_regression_multipart_charsets_are_a_400_not_a_500(sign_in_env, engine):
    """A multipart part naming an unknown charset (LookupError), or one whose text is not Unicode (utf-7 decodes
    "+2AA-" to a lone surrogate), was a 500; it is malformed input like invalid UTF-8."""
    env = sign_in_env
    for charset, data in (("x-no-such-charset", b"a@example.org"), ("rot13", b"a@example.org"), ("utf-7", b"+2AA-"),
                          ("unicode_escape", b"\\ud800")):
        form = SentForm((Part("email", data, charset=charset), Part("password", "x")), multipart=True)
        response = await submit(env.client, "/auth/sign-in", form)
        check_refused_page(response, 400)
    assert await entries(engine, env.tenant, "auth.sign_in.failure") == []  # no handler ran


async def test_regression_a_nul_in_an_unread_multipart_field_is_refused(invitation_env, make_user):
    """Sign-out reads no field: a NUL in a multipart field went through (and signed out) where the same field
    urlencoded was a 400. Every form is now checked at the door, whatever the handler reads."""
    env = invitation_env
    member = await make_user(env.tenant, ["student"])
    token = await open_session(env.client, member)
    for multipart in (True, False):
        response = await submit(env.client, "/auth/sign-out", SentForm((Part("x", "a\x00b"),), multipart))
        check_refused_page(response, 400)
        assert await session_alive(env.client, member, token)


OTHER_DIGITS = {"arabic-indic": "\u0661\u0662\u0663\u0664\u0665\u0666", "superscript": "12345\u00b2",
                "fullwidth": "\uff11\uff12\uff13\uff14\uff15\uff16"}


@pytest.mark.parametrize("code", OTHER_DIGITS.values(), ids=OTHER_DIGITS.keys())
async def test_regression_a_code_in_other_digits_is_refused_not_a_500(two_factor_env, engine, code):
    """``str.isdigit`` kept Arabic-Indic digits and superscripts, and ``secrets.compare_digest`` raised TypeError on
    them (a 500). Only ASCII digits make a code."""
    env = two_factor_env
    [member] = env.members
    await clear_audit(engine, env.tenant, "auth.two_factor.failure")
    with tenant_context(env.tenant):
        pending = await session_store(env.client.app).create(member.id, "mfa", "127.0.0.1", "regression")
    env.client.cookies.set(SESSION_COOKIE, pending, domain=f"{env.tenant.slug}.taji.test")
    response = await submit(env.client, "/auth/two-factor", SentForm((Part("code", code),), False))
    check_page(response, {422})


async def test_regression_passwords_longer_than_72_characters_are_judged_not_a_500(reset_env, engine):
    """zxcvbn 4.5 raises ValueError beyond 72 characters, and the strength check passed it 100: every password of
    73-256 characters was a 500. The first 72 characters are judged; the whole password is kept."""
    env = reset_env
    [member] = env.members
    token = await link_for(engine, env.tenant, member.id, "reset_password")
    response = await submit(env.client, f"/auth/reset-password/{token}", with_confirmation(typed_twice(LONG_PASSWORD)))
    check_page(response, {303})
    assert verify_password((await load_user(engine, env.tenant, member.id)).password_hash, LONG_PASSWORD)


async def test_regression_an_invitation_name_over_200_characters_is_refused_not_cut(invitation_env, engine):
    """Accepting an invitation cut a longer name to 200 characters and said nothing."""
    env = invitation_env
    member = await create_member(engine, env.tenant, ["student"], password=None, name="Invited Person")
    token = await link_for(engine, env.tenant, member.id, "invite")
    form = typed_twice(STRONG_PASSWORDS[0], name="z" * 201)
    response = await submit(env.client, f"/auth/invitation/{token}", with_confirmation(form))
    check_page(response, {422})
    assert 'id="e-name"' in response.text
    user = await load_user(engine, env.tenant, member.id)
    assert (user.name, user.status) == ("Invited Person", "invited")
