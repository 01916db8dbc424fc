"""Properties of the signed-in member's own forms: profile (with any picture bytes), password, two-step verification
(enable, disable, new recovery codes), signing out one device or every device.

Each property has its own member, signed in by a session taken straight from the store (no password hash to pay),
and re-opened whenever an example ended it.
"""

from __future__ import annotations

import datetime
import io
import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import delete, select

from tajiconnect.domains.accounts import totp
from tajiconnect.domains.accounts.avatars import AvatarError, process_avatar
from tajiconnect.domains.accounts.models import RecoveryCode, User
from tajiconnect.domains.accounts.pages_account import time_zones
from tajiconnect.domains.accounts.passwords import password_problem, verify_password
from tajiconnect.i18n import SUPPORTED_LOCALES
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import PASSWORD, SESSION_COOKIE, load_user, set_user
from tests.property.support import (
    FOREIGN_RANDOM,
    HASHING,
    PROPS,
    Env,
    Part,
    SentForm,
    aimed,
    any_text,
    ascii_digits,
    check_page,
    check_refused_page,
    forms,
    in_tenant,
    names,
    open_session,
    passwords,
    raw_bytes,
    resolved,
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


@pytest.fixture(scope="module")
async def account_org(new_org):
    return await new_org("pac")


@pytest.fixture
async def member_env(account_org, make_user, browser):
    """A member of the module's organization (no second factor), signed in, for the examples of one property."""
    member = await make_user(account_org.tenant, ["teacher"], name="Account Member")
    async with browser(account_org.tenant) as client:
        await open_session(client, member)
        yield Env(account_org.tenant, client, [member])


@pytest.fixture
async def two_factor_member_env(account_org, make_user, browser):
    """A member with two-step verification on, signed in."""
    member = await make_user(account_org.tenant, ["teacher"], name="Account Member", with_2fa=True)
    async with browser(account_org.tenant) as client:
        await open_session(client, member)
        yield Env(account_org.tenant, client, [member])


# --- profile ------------------------------------------------------------------------------------------------------


def image(fmt: str, size: tuple[int, int] = (8, 8), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 30) if mode == "RGB" else 128).save(out, format=fmt)
    return out.getvalue()


PNG = image("PNG")
PICTURES = (PNG, image("JPEG"), image("WEBP"), image("PNG", (600, 300), "L"), image("GIF"), image("BMP"),
            PNG + b"<html><script>alert(1)</script>", PNG[:40], b"\x89PNG\r\n\x1a\n", b"<svg onload=alert(1)>", b"")


def avatars() -> st.SearchStrategy[tuple[str, bytes, str]]:
    """An uploaded file: pictures real and forged, arbitrary bytes, any file name (empty: no file chosen)."""
    filename = st.one_of(st.sampled_from(["me.png", "x", "", "..\\..\\etc\\passwd", "\u00e9t\u00e9.webp"]),
                         st.text(st.characters(codec="utf-8", exclude_characters='\x00"\r\n'), max_size=20))
    data = st.one_of(st.sampled_from(PICTURES), raw_bytes(64))
    content_type = st.sampled_from(["image/png", "application/octet-stream", "text/html", "image/webp"])
    return st.tuples(filename, data, content_type)


PROFILE_VALID = {
    "name": valid_names(),
    "locale": st.sampled_from(SUPPORTED_LOCALES),
    "time_zone": st.sampled_from(time_zones()),
    "remove_avatar": st.sampled_from([None, None, "1", "0", "on"]),
}
PROFILE_INVALID = {
    "name": names(),
    "locale": st.one_of(st.sampled_from(["EN", " en", "xx", "", "en-US", "en\n"]), any_text(8)),
    "time_zone": st.one_of(
        st.sampled_from(["africa/nairobi", " Africa/Nairobi", "UTC", "Etc/UTC", "Mars/Olympus_Mons", ""]),
        any_text(20),
    ),
}


def accepted_picture(data: bytes) -> bool:
    try:
        process_avatar(data)
    except AvatarError:
        return False
    return True


@PROPS
@given(form=forms(aimed(PROFILE_VALID, PROFILE_INVALID), files={"avatar": avatars()}))
@example(form=SentForm((Part("name", "z" * 201), Part("locale", "en"), Part("time_zone", "Africa/Nairobi")), False))
@example(form=SentForm((Part("name", "Ok"), Part("locale", "en"), Part("time_zone", "Africa/Nairobi"),
                        Part("avatar", PNG, filename="me.png", content_type="image/png")), True))
async def test_profile_form(member_env, engine, form):
    env = member_env
    [member] = env.members
    before = await load_user(engine, env.tenant, member.id)
    response = await submit(env.client, "/account/profile", form)
    after = await load_user(engine, env.tenant, member.id)
    kept = (before.name, before.locale, before.time_zone, before.has_avatar)

    if form.fields() is None:
        check_refused_page(response, 400)
        assert (after.name, after.locale, after.time_zone, after.has_avatar) == kept
        return
    name = form.text("name").strip()
    locale, time_zone = form.text("locale"), form.text("time_zone")
    upload = (form.fields() or {}).get("avatar")
    picture = upload.data if isinstance(upload, Part) else None
    ok = 0 < len(name) <= 200 and locale in SUPPORTED_LOCALES and time_zone in time_zones() and (
        picture is None or accepted_picture(picture))
    if not ok:
        check_page(response, {422})
        assert (after.name, after.locale, after.time_zone, after.has_avatar) == kept
        return
    check_page(response, {303})
    assert response.headers["location"] == "/account/profile?notice=profile_saved"
    has_avatar = False if form.text("remove_avatar") == "1" else (picture is not None or before.has_avatar)
    assert (after.name, after.locale, after.time_zone, after.has_avatar) == (name, locale, time_zone, has_avatar)
    page = await env.client.get("/account/profile")
    assert page.status_code == 200 and f'value="{shown(name)}"' in page.text
    assert f'<option value="{locale}" selected>' in page.text and f"<option selected>{time_zone}</option>" in page.text
    stored = await env.client.get(f"/avatars/{member.id}", follow_redirects=True)
    assert stored.status_code == (200 if has_avatar else 404)
    if has_avatar:
        assert stored.headers["content-type"] == "image/webp"
        Image.open(io.BytesIO(stored.content)).load()  # a picture we made, whatever was uploaded


# --- password -----------------------------------------------------------------------------------------------------


PASSWORD_VALID = {"current_password": st.just("CURRENT"), "password": strong_passwords(),
                  "password_confirm": st.just("SAME")}
PASSWORD_INVALID = {"current_password": passwords(), "password": st.one_of(passwords(), st.just("CURRENT")),
                    "password_confirm": passwords()}


@HASHING
@given(template=forms(aimed(PASSWORD_VALID, PASSWORD_INVALID)))
async def test_password_form(member_env, engine, template):
    env = member_env
    [member] = env.members
    current = getattr(env, "password", PASSWORD)
    form = resolved(template, CURRENT=current)
    before = await load_user(engine, env.tenant, member.id)
    response = await submit(env.client, "/account/password", form)
    after = await load_user(engine, env.tenant, member.id)

    if form.fields() is None:
        check_refused_page(response, 400)
        assert after.password_hash == before.password_hash
        return
    password = form.text("password")
    ok = (
        form.text("current_password") == current
        and password == form.text("password_confirm")
        and password != current
        and password_problem(password, user_inputs=(member.email, member.email.split("@")[0], "Account Member")) is None
    )
    if ok:
        check_page(response, {303})
        assert response.headers["location"] == "/account/profile?notice=password_changed"
        assert verify_password(after.password_hash, password)  # exactly what was typed
        env.password = password
        assert (await env.client.get("/account/profile")).status_code == 200  # this device goes on, on a new token
    else:
        check_page(response, {422})
        assert after.password_hash == before.password_hash
        assert (await env.client.get("/account/profile")).status_code == 200


# --- two-step verification ----------------------------------------------------------------------------------------


async def totp_state(engine: Any, member: Any) -> tuple[Any, ...]:
    """(secret, enabled, last step, hashes of the unused recovery codes)."""

    async def work(session: Any) -> tuple[Any, ...]:
        user = await session.get(User, member.id)
        codes = await session.scalars(
            select(RecoveryCode.code_hash).where(RecoveryCode.user_id == member.id, RecoveryCode.used_at.is_(None))
        )
        return user.totp_secret, user.totp_enabled, user.totp_last_step, frozenset(codes.all())

    return await in_tenant(engine, member.tenant, work)


def code_of(spec: tuple[str, Any], secret: str) -> str | bytes:
    """A code as typed (see ``second_factors``; recovery codes are not codes of these forms: arbitrary text)."""
    kind, detail = spec
    if kind == "totp":
        offset, sep, pad = detail
        code = totp.code_for(secret, at=datetime.datetime.now().timestamp() + offset * totp.STEP_SECONDS)
        return pad + code[:3] + sep + code[3:] + pad
    if kind == "recovery":
        return "abcd-efgh-jkmn"
    return detail


def shown_codes(html: str) -> list[str]:
    return re.findall(r"<li>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</li>", html)


@PROPS
@given(spec=second_factors(), template=forms({"code": st.just("CODE")}))
@example(spec=("digits", "00000\u00b2"), template=SentForm((Part("code", "CODE"),), False))
async def test_enable_two_factor_form(member_env, engine, spec, template):
    env = member_env
    [member] = env.members
    if (await totp_state(engine, member))[0] is None:
        assert (await env.client.get("/account/two-factor")).status_code == 200  # makes the key to scan
    await set_user(engine, env.tenant, member.id, totp_enabled_at=None)  # off again after an enabling example

    async def forget_codes(session: Any) -> None:
        await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == member.id))

    await in_tenant(engine, env.tenant, forget_codes)
    secret, _enabled, last_step, _codes = await totp_state(engine, member)
    form = resolved(template, CODE=code_of(spec, secret))
    before = totp_window(secret, last_step)
    response = await submit(env.client, "/account/two-factor/enable", form)
    after_window = totp_window(secret, last_step)
    state = await totp_state(engine, member)

    if form.fields() is None:
        check_refused_page(response, 400)
        assert state == (secret, False, last_step, frozenset())
        return
    digits = ascii_digits(form.text("code"))
    accepted = response.status_code == 200
    assert accepted in {digits in before, digits in after_window}, (form.text("code"), response.status_code)
    if accepted:
        check_page(response, {200})
        codes = shown_codes(response.text)
        assert len(set(codes)) == totp.RECOVERY_CODE_COUNT
        step = before.get(digits) or after_window.get(digits)
        assert state == (secret, True, step, frozenset(totp.recovery_hash(c) for c in codes))
    else:
        check_page(response, {422})
        assert state == (secret, False, last_step, frozenset())


async def enroll_again(engine: Any, member: Any) -> None:
    """Two-step verification on (after an example turned it off), with the member's key."""
    if not (await totp_state(engine, member))[1]:
        await set_user(engine, member.tenant, member.id, totp_secret=member.totp_secret,
                       totp_enabled_at=datetime.datetime.now(datetime.UTC))


@HASHING
@given(spec=second_factors(), template=forms(aimed({"password": st.just(PASSWORD), "code": st.just("CODE")},
                                                   {"password": passwords()})))
async def test_disable_two_factor_form(two_factor_member_env, engine, spec, template):
    env = two_factor_member_env
    [member] = env.members
    await enroll_again(engine, member)
    before_state = await totp_state(engine, member)
    secret, _enabled, last_step, _codes = before_state
    form = resolved(template, CODE=code_of(spec, secret))
    before = totp_window(secret, last_step)
    response = await submit(env.client, "/account/two-factor/disable", form)
    after_window = totp_window(secret, last_step)
    state = await totp_state(engine, member)

    if form.fields() is None:
        check_refused_page(response, 400)
        assert state == before_state
        return
    check_page(response, {303})
    digits = ascii_digits(form.text("code"))
    valid = {form.text("password") == PASSWORD and code for code in (digits in before, digits in after_window)}
    done = response.headers["location"] == "/account/two-factor?notice=two_factor_disabled"
    assert done in valid, (form.text("password"), form.text("code"), response.headers["location"])
    if done:
        assert state == (None, False, before.get(digits) or after_window.get(digits), frozenset())
    else:
        assert response.headers["location"] == "/account/two-factor?notice=disable_failed"
        assert state == before_state


@HASHING
@given(form=forms(aimed({"password": st.just(PASSWORD)}, {"password": passwords()})))
async def test_new_recovery_codes_form(two_factor_member_env, engine, form):
    env = two_factor_member_env
    [member] = env.members
    before = await totp_state(engine, member)
    response = await submit(env.client, "/account/two-factor/recovery-codes", form)
    after = await totp_state(engine, member)

    if form.fields() is None:
        check_refused_page(response, 400)
        assert after == before
    elif form.text("password") == PASSWORD:
        check_page(response, {200})
        codes = shown_codes(response.text)
        assert len(set(codes)) == totp.RECOVERY_CODE_COUNT
        assert after == (*before[:3], frozenset(totp.recovery_hash(c) for c in codes))
    else:
        check_page(response, {303})
        assert response.headers["location"] == "/account/two-factor?notice=password_wrong"
        assert after == before


# --- devices ------------------------------------------------------------------------------------------------------


@PROPS
@given(target=st.one_of(st.sampled_from(["other", "other", "current"]), any_text(30)), form=forms({}))
async def test_sign_out_one_device_form(member_env, target, form):
    env = member_env
    [member] = env.members
    other = await open_session(env.client, member)
    current = await open_session(env.client, member)  # the cookie: this device
    with tenant_context(env.tenant):
        store = session_store(env.client.app)
        ids = {"current": (await store.get(current)).public_id, "other": (await store.get(other)).public_id}
    public_id = ids.get(target, target)
    response = await submit(env.client, f"/account/sessions/{segment(public_id)}/revoke", form)
    alive = {name: await session_alive(env.client, member, token) for name, token in
             (("current", current), ("other", other))}

    if form.fields() is None or target not in ids:
        # Any other text: the same answer as a revocation (nothing says whose ids exist), or no such address.
        check_page(response, {400} if form.fields() is None else {303, 400, 404, 405})
        assert alive == {"current": True, "other": True}
        return
    check_page(response, {303})
    assert response.headers["location"] == "/account/sessions?notice=session_revoked"
    assert alive == {"current": target != "current", "other": target != "other"}
    if target == "other":
        listed = await env.client.get("/account/sessions")
        assert ids["other"] not in listed.text and ids["current"] in listed.text


@PROPS
@given(form=forms({}))
async def test_sign_out_everywhere_form(member_env, form):
    env = member_env
    [member] = env.members
    other = await open_session(env.client, member)
    current = await open_session(env.client, member)
    response = await submit(env.client, "/account/sessions/revoke-all", form)
    alive = [await session_alive(env.client, member, t) for t in (current, other)]

    if form.fields() is None:
        check_refused_page(response, 400)
        assert alive == [True, True]
        return
    check_page(response, {303})
    assert response.headers["location"] == "/auth/sign-in?notice=signed_out_everywhere"
    assert alive == [False, False] and env.client.cookies.get(SESSION_COOKIE) is None
