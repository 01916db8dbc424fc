"""The signed-in member's own account: profile and picture, password change, devices and signing out."""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest
from PIL import Image

from tests.integration.conftest import (
    NEW_PASSWORD,
    PASSWORD,
    audit_entries,
    bearer,
    drain,
    load_user,
    post_form,
    session_of,
    sign_in,
    signed_in_as,
    tokens_for,
    with_cookie,
)
from tests.support import text_of


def png(width: int = 8, height: int = 8, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real PNG image (Pillow-made)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def forged_images() -> dict[str, bytes]:
    """Files that start like a PNG and are not one a browser should ever be served."""
    header = b"\x89PNG\r\n\x1a\n"
    bomb_header = _chunk(b"IHDR", struct.pack(">IIBBBBB", 65535, 65535, 8, 0, 0, 0, 0))
    return {
        "png header + html": header + b"<html><script>alert(1)</script></html>",
        "65535x65535 header": (
            header + bomb_header + _chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _chunk(b"IEND", b"")
        ),
        "truncated": png()[:40],
    }


PROFILE = {"name": "Neema Achieng", "locale": "sw", "time_zone": "Africa/Kampala"}


async def save_profile(client, data, files=None):
    return await post_form(
        client, "/account/profile", data, files=files or {"avatar": ("", b"", "application/octet-stream")}
    )


async def test_profile_shows_and_saves_name_language_and_time_zone(browser, org, make_user, engine):
    member = await make_user(org.tenant, ["student"], name="Neema")
    async with browser(org.tenant) as client:
        await sign_in(client, member.email)
        page = await client.get("/account/profile")
        assert page.status_code == 200
        assert member.email in page.text and 'value="Neema"' in page.text
        assert "<option selected>Africa/Nairobi</option>" in page.text
        for label in ("Name", "Language", "Time zone", "Picture"):
            assert f">{label}</label>" in page.text
        saved = await save_profile(client, PROFILE)
        assert saved.status_code == 303 and saved.headers["location"] == "/account/profile?notice=profile_saved"
    user = await load_user(engine, org.tenant, member.id)
    assert (user.name, user.locale, user.time_zone) == ("Neema Achieng", "sw", "Africa/Kampala")
    assert [e.target_id for e in await audit_entries(engine, org.tenant, "user.profile.updated")][-1] == str(member.id)


async def test_invalid_profile_values_are_shown_again_with_errors(browser, org, make_user, engine):
    member = await make_user(org.tenant, ["student"], name="Juma")
    async with browser(org.tenant) as client:
        await sign_in(client, member.email)
        for data, field in (
            ({**PROFILE, "name": "Juma Kibet", "locale": "xx"}, "locale"),
            ({**PROFILE, "name": "Juma Kibet", "time_zone": "Mars/Olympus_Mons"}, "time_zone"),
            ({**PROFILE, "name": "   "}, "name"),
            ({**PROFILE, "name": "J" * 201}, "name"),
        ):
            response = await save_profile(client, data)
            assert response.status_code == 422, data
            assert f'id="e-{field}"' in response.text and 'aria-invalid="true"' in response.text
            if field != "name":
                assert 'value="Juma Kibet"' in response.text  # what was typed is kept
        # The valid values of a refused form are kept too.
        kept = await save_profile(client, {"name": "Juma Kibet", "locale": "fr", "time_zone": "Nowhere/Else"})
        assert '<option value="fr" selected>' in kept.text
    user = await load_user(engine, org.tenant, member.id)
    assert (user.name, user.locale, user.time_zone) == ("Juma", "en", "Africa/Nairobi")


async def test_avatar_upload_and_who_may_see_it(browser, org, other_org, make_user, engine):
    member = await make_user(org.tenant, ["student"])
    colleague = await make_user(org.tenant, ["student"])
    outsider = await make_user(other_org.tenant, ["org_admin"])
    image = png()
    async with browser(org.tenant) as client:
        await sign_in(client, member.email)
        padded = image + b"\0" * 5 * 1024 * 1024
        too_big = await save_profile(client, PROFILE, {"avatar": ("big.png", padded, "image/png")})
        assert too_big.status_code == 422 and "at most 5 MB" in too_big.text
        not_image = await save_profile(client, PROFILE, {"avatar": ("evil.png", b"<svg onload=alert(1)>", "image/png")})
        assert not_image.status_code == 422 and "Use a PNG, JPEG or WebP picture." in not_image.text
        for name, forged in forged_images().items():
            refused = await save_profile(client, PROFILE, {"avatar": ("x.png", forged, "image/png")})
            assert refused.status_code == 422, name
        assert not (await load_user(engine, org.tenant, member.id)).has_avatar

        ok = await save_profile(client, PROFILE, {"avatar": ("me.png", image, "image/png")})
        assert ok.status_code == 303
        assert f'src="/avatars/{member.id}"' in (await client.get("/account/profile")).text
        moved_on = await client.get(f"/avatars/{member.id}")  # to the picture's short-lived storage URL
        assert moved_on.status_code == 302 and moved_on.headers["location"].startswith("/files/")
        assert "private" in moved_on.headers["cache-control"]
        mine = await client.get(f"/avatars/{member.id}", follow_redirects=True)
        assert mine.status_code == 200
        assert mine.headers["content-type"] == "image/webp"
        stored = Image.open(io.BytesIO(mine.content))  # a fresh WebP of the same picture, not the uploaded bytes
        assert (stored.format, stored.size) == ("WEBP", (8, 8))
        assert stored.convert("RGB").getpixel((0, 0)) == pytest.approx((200, 30, 30), abs=6)
        assert mine.headers["x-content-type-options"] == "nosniff"
        assert "private" in mine.headers["cache-control"]

    async with browser(org.tenant) as client:
        anonymous = await client.get(f"/avatars/{member.id}")
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/auth/sign-in")
        await sign_in(client, colleague.email)
        assert (await client.get(f"/avatars/{member.id}", follow_redirects=True)).content == mine.content
        assert (await client.get(f"/avatars/{colleague.id}")).status_code == 404  # has none
        assert (await client.get("/avatars/not-a-uuid")).status_code == 404

    async with browser(other_org.tenant) as client:
        await sign_in(client, outsider.email)
        assert (await client.get(f"/avatars/{member.id}")).status_code == 404

    async with browser(org.tenant) as client:
        await sign_in(client, member.email)
        removed = await save_profile(client, {**PROFILE, "remove_avatar": "1"})
        assert removed.status_code == 303
        assert (await client.get(f"/avatars/{member.id}")).status_code == 404
    assert not (await load_user(engine, org.tenant, member.id)).has_avatar


async def test_change_password_checks_and_ends_other_sessions(browser, org, make_user, engine, mail_sink, run_jobs):
    member = await make_user(org.tenant, ["teacher"])
    async with browser(org.tenant, user_agent="Laptop/1") as laptop:
        await sign_in(laptop, member.email)
        laptop_cookie = session_of(laptop)
    async with browser(org.tenant, user_agent="Phone/1") as phone:
        await sign_in(phone, member.email)
        tokens = await tokens_for(phone, member)
        page = await phone.get("/account/password")
        assert page.status_code == 200 and 'autocomplete="current-password"' in page.text
        for data, field, message in (
            (
                {"current_password": "not-my-password-x", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
                "current_password",
                "not right",
            ),
            (
                {"current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD + "!"},
                "password_confirm",
                "not the same",
            ),
            (
                {"current_password": PASSWORD, "password": "password1234", "password_confirm": "password1234"},
                "password",
                "too common",
            ),
            (
                {"current_password": PASSWORD, "password": PASSWORD, "password_confirm": PASSWORD},
                "password",
                "different from the current",
            ),
        ):
            response = await post_form(phone, "/account/password", data)
            assert response.status_code == 422 and f'id="e-{field}"' in response.text and message in response.text
        assert (await with_cookie(phone, "/account/profile", laptop_cookie)).status_code == 200

        changed = await post_form(
            phone,
            "/account/password",
            {"current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
        )
        assert changed.status_code == 303
        assert changed.headers["location"] == "/account/profile?notice=password_changed"
        # This device stays signed in...
        assert await signed_in_as(phone) == member.email
        # ...the other is signed out, and API tokens are revoked.
        assert (await with_cookie(phone, "/account/profile", laptop_cookie)).status_code == 303
        assert (await phone.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))).status_code == 401
        assert (
            await phone.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        ).status_code == 401
    async with browser(org.tenant) as client:
        assert (await sign_in(client, member.email, NEW_PASSWORD)).status_code == 303
    assert (await load_user(engine, org.tenant, member.id)).password_hash.startswith("$argon2id$")
    await drain(run_jobs)
    assert "password of your account was changed" in text_of(mail_sink.last_to(member.email, "Security notice"))


TABLET = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Mobile/15E148 Safari/604.1"
)
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


async def test_sessions_list_and_signing_out_one_device(browser, org, make_user, engine):
    member = await make_user(org.tenant, ["teacher"])
    stranger = await make_user(org.tenant, ["teacher"])
    async with browser(org.tenant, user_agent=TABLET) as tablet:
        await sign_in(tablet, member.email)
        tablet_cookie = session_of(tablet)
    async with browser(org.tenant) as other:
        await sign_in(other, stranger.email)
        stranger_cookie = session_of(other)
    async with browser(org.tenant, user_agent=DESKTOP) as desktop:
        await sign_in(desktop, member.email)
        page = await desktop.get("/account/sessions")
        assert page.status_code == 200
        rows = re.findall(r'<tr id="account-session-([^"]+)">(.*?)</tr>', page.text, re.S)
        assert len(rows) == 2
        # Each device in words (domains/accounts/devices.py), never the raw User-Agent.
        assert "Mobile Safari 17 on iOS 17 (iPad)" in page.text and "Firefox 133 on Windows" in page.text
        assert "Mozilla/5.0" not in page.text
        by_device = {("iPad" in row): public_id for public_id, row in rows}
        current_row = next(row for _id, row in rows if "Firefox" in row)
        assert "This device" in current_row and "revoke" not in current_row  # no button to sign itself out
        assert "testclient" in current_row

        # Someone else cannot end this member's session, even knowing its public id.
        attempt = await post_form(desktop, f"/account/sessions/{by_device[True]}/revoke", as_session=stranger_cookie)
        assert attempt.status_code == 303  # the same answer, but nothing happened:
        assert (await with_cookie(desktop, "/account/profile", tablet_cookie)).status_code == 200

        revoked = await post_form(desktop, f"/account/sessions/{by_device[True]}/revoke")
        assert revoked.headers["location"] == "/account/sessions?notice=session_revoked"
        assert (await with_cookie(desktop, "/account/profile", tablet_cookie)).status_code == 303
        assert await signed_in_as(desktop) == member.email
        assert len(re.findall(r'<tr id="account-session-', (await desktop.get("/account/sessions")).text)) == 1
    revocations = await audit_entries(engine, org.tenant, "auth.session.revoked")
    [entry] = [e for e in revocations if e.actor_id == member.id]
    assert entry.target_id == by_device[True]
    assert not [e for e in revocations if e.actor_id == stranger.id]


async def test_sign_out_everywhere_ends_every_session_and_api_token(
    browser, org, make_user, engine, mail_sink, run_jobs
):
    member = await make_user(org.tenant, ["teacher"])
    async with browser(org.tenant) as first:
        await sign_in(first, member.email)
        first_cookie = session_of(first)
        tokens = await tokens_for(first, member)
    async with browser(org.tenant) as second:
        await sign_in(second, member.email)
        second_cookie = session_of(second)
        page = await second.get("/account/sessions")
        assert 'action="/account/sessions/revoke-all"' in page.text and "Sign out everywhere" in page.text
        response = await post_form(second, "/account/sessions/revoke-all")
        assert response.status_code == 303
        assert response.headers["location"] == "/auth/sign-in?notice=signed_out_everywhere"
        assert session_of(second) is None
        for cookie in (first_cookie, second_cookie):
            assert (await with_cookie(second, "/account/profile", cookie)).status_code == 303
        assert (await second.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))).status_code == 401
        refresh = await second.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refresh.status_code == 401
    [entry] = [
        e for e in await audit_entries(engine, org.tenant, "auth.sign_out.everywhere") if e.actor_id == member.id
    ]
    assert entry.details["sessions"] == 2
    await drain(run_jobs)
    assert "signed out on every device" in text_of(mail_sink.last_to(member.email, "Security notice"))


async def test_account_pages_need_a_signed_in_member(browser, org):
    async with browser(org.tenant) as client:
        for path in ("/account/profile", "/account/password", "/account/two-factor", "/account/sessions"):
            response = await client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == f"/auth/sign-in?next={path}"
