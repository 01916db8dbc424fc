"""Properties of the admin pages: inviting, roles, deactivating, reactivating, deleting, re-sending an invitation,
the security settings, and the list pages' filters (members, audit log), whose every answer must show exactly the
filters it applied.
"""

from __future__ import annotations

import datetime
import html
import re
from typing import Any
from urllib.parse import parse_qs

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from tajiconnect.domains.accounts.models import ROLES, EmailToken, OrganizationSettings, User
from tajiconnect.domains.accounts.service import AccountError, normalize_email
from tests.integration.conftest import create_member, load_user, set_user
from tests.property.support import (
    BAD_EMAILS,
    DATES,
    FOREIGN_RANDOM,
    PAGES,
    PROPS,
    SEARCHES,
    Env,
    Part,
    SentForm,
    aimed,
    any_text,
    bad_role_lists,
    canonical,
    check_page,
    check_refused_page,
    clear_audit,
    forms,
    in_tenant,
    names,
    new_emails,
    open_session,
    query,
    query_is_clean,
    role_lists,
    segment,
    shown,
    submit,
    users_by_email,
    valid_names,
    valid_page,
)

pytestmark = FOREIGN_RANDOM


@pytest.fixture(scope="module")
async def admin_org(new_org):
    return await new_org("pad")


@pytest.fixture
async def admin_env(admin_org, browser):
    """The organization's admin, signed in."""
    async with browser(admin_org.tenant) as client:
        await open_session(client, admin_org.admin)
        yield Env(admin_org.tenant, client, [admin_org.admin])


@PROPS
@given(form=forms(
    aimed(
        {"email": new_emails(), "name": st.one_of(st.none(), valid_names()), "roles": role_lists()},
        {"email": st.one_of(st.sampled_from(BAD_EMAILS), any_text()), "name": names(), "roles": bad_role_lists()},
    ),
    lists=("roles",),
))
@example(form=SentForm((Part("email", "too.long.name@example.org"), Part("name", "z" * 201),
                        Part("roles", "student")), False))
async def test_invite_form(admin_env, engine, form):
    env = admin_env
    await clear_audit(engine, env.tenant, "user.invited")  # the invitation-email limit belongs to other tests
    existing = next(iter(await users_by_email(engine, env.tenant)))
    form = SentForm(tuple(p if p.value != "EXISTING" else Part(p.name, existing, p.charset) for p in form.parts),
                    form.multipart)
    before = await users_by_email(engine, env.tenant)
    response = await submit(env.client, "/admin/users/invite", form)
    after = await users_by_email(engine, env.tenant)

    if form.fields() is None:
        check_refused_page(response, 400)
        assert after.keys() == before.keys()
        return
    roles = form.values("roles")
    name = form.text("name").strip()
    try:
        email: str | None = normalize_email(form.text("email"))
    except AccountError:
        email = None
    ok = email is not None and email not in before and roles and set(roles) <= set(ROLES) and len(name) <= 200
    if not ok:
        check_page(response, {422})
        assert after.keys() == before.keys()
        return
    check_page(response, {303})
    [new] = [after[e] for e in after.keys() - before.keys()]
    assert response.headers["location"] == f"/admin/users/{new.id}?notice=invited"
    assert (new.email, new.name, new.roles, new.status) == (
        email, name or email.split("@")[0], canonical(roles), "invited")
    page = await env.client.get(f"/admin/users/{new.id}")
    assert page.status_code == 200 and shown(new.email) in page.text and f"<h1>{shown(new.name)}</h1>" in page.text


# --- a member's roles and access ----------------------------------------------------------------------------------

TARGETS = ("member", "member", "invited", "deactivated", "other_admin", "self", "text")


async def target_for(engine: Any, env: Env, kind: str, text: str) -> tuple[str, User | None]:
    """(the id in the path, the member it names) for a kind of target; a new member each time."""
    if kind == "text":
        return text, None
    if kind == "self":
        return str(env.members[0].id), await load_user(engine, env.tenant, env.members[0].id)
    roles = ["org_admin"] if kind == "other_admin" else ["student"]
    password = None if kind == "invited" else "unused"
    member = await create_member(engine, env.tenant, roles, password=password,
                                 status="deactivated" if kind == "deactivated" else None)
    return str(member.id), await load_user(engine, env.tenant, member.id)


@PROPS
@given(kind=st.sampled_from(TARGETS), text=any_text(40),
       form=forms(aimed({"roles": role_lists()}, {"roles": bad_role_lists()}), lists=("roles",)))
async def test_roles_form(admin_env, engine, kind, text, form):
    env = admin_env
    user_id, target = await target_for(engine, env, kind, text)
    response = await submit(env.client, f"/admin/users/{segment(user_id)}/roles", form)
    after = await load_user(engine, env.tenant, target.id) if target else None

    if target is None:
        check_page(response, {400, 404, 405})
        return
    if form.fields() is None:
        check_refused_page(response, 400)
        assert after.roles == target.roles
        return
    roles = form.values("roles")
    ok = roles and set(roles) <= set(ROLES) and not (kind == "self" and "org_admin" not in roles)
    if ok:
        check_page(response, {303})
        assert response.headers["location"] == f"/admin/users/{target.id}?notice=roles_saved"
        assert after.roles == canonical(roles)
        page = await env.client.get(f"/admin/users/{target.id}")
        checked = re.findall(r'name="roles" value="([a-z_]+)" checked', page.text)
        assert checked == canonical(roles)
    else:
        check_page(response, {409})
        assert after.roles == target.roles


ACTIONS = ("deactivate", "reactivate", "resend-invitation", "delete")


async def invite_links(engine: Any, tenant: Any, user_id: Any) -> int:
    async def work(session: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(EmailToken).where(
            EmailToken.user_id == user_id, EmailToken.purpose == "invite")) or 0)

    return await in_tenant(engine, tenant, work)


@PROPS
@given(action=st.sampled_from(ACTIONS), kind=st.sampled_from(TARGETS), text=any_text(40),
       confirm=st.sampled_from(["exact", "upper", "padded", "other", "text"]), confirm_text=any_text(20),
       form=forms({}))
async def test_member_access_forms(admin_env, engine, action, kind, text, confirm, confirm_text, form):
    env = admin_env
    await clear_audit(engine, env.tenant, "user.invited")
    user_id, target = await target_for(engine, env, kind, text)
    if action == "delete":
        email = target.email if target else "nobody@example.org"
        typed = {"exact": email, "upper": email.upper(), "padded": f"  {email}\t", "other": "x" + email,
                 "text": confirm_text}[confirm]
        form = SentForm((*form.parts, Part("confirm_email", typed)), form.multipart)
    links = await invite_links(engine, env.tenant, target.id) if target else 0
    response = await submit(env.client, f"/admin/users/{segment(user_id)}/{action}", form)
    after = await load_user(engine, env.tenant, target.id) if target else None

    if target is None:
        check_page(response, {400, 404, 405})
        return
    if form.fields() is None:
        check_refused_page(response, 400)
        assert after is not None and after.status == target.status
        return
    detail = f"/admin/users/{target.id}"
    if action == "deactivate":
        if kind == "self":
            check_page(response, {409})
            assert after.status == target.status
        else:
            check_page(response, {303})
            assert response.headers["location"] == f"{detail}?notice=deactivated" and after.status == "deactivated"
    elif action == "reactivate":
        check_page(response, {303})
        assert response.headers["location"] == f"{detail}?notice=reactivated"
        assert after.status == ("active" if target.password_hash else "invited")
    elif action == "resend-invitation":
        check_page(response, {303})
        sent = target.status == "invited"
        assert response.headers["location"] == (f"{detail}?notice=invited" if sent else detail)
        assert await invite_links(engine, env.tenant, target.id) == links + sent
    else:
        typed = form.text("confirm_email")
        if typed.strip().lower() != target.email:
            check_page(response, {422})
            assert after is not None
        elif kind == "self":
            check_page(response, {409})
            assert after is not None
        else:
            check_page(response, {303})
            assert response.headers["location"] == "/admin/users?notice=deleted" and after is None
            assert (await env.client.get(detail)).status_code == 404


# --- security settings --------------------------------------------------------------------------------------------


@pytest.fixture
async def security_env(new_org, browser, engine):
    """An organization whose admin has two-step verification on (so that requiring it for admins locks no one out)."""
    org = await new_org("pse")
    await set_user(engine, org.tenant, org.admin.id, totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                   totp_enabled_at=datetime.datetime.now(datetime.UTC))
    async with browser(org.tenant) as client:
        await open_session(client, org.admin)
        yield Env(org.tenant, client, [org.admin])


async def required_roles(engine: Any, tenant: Any) -> list[str] | None:
    async def work(session: Any) -> list[str] | None:
        row = await session.get(OrganizationSettings, 1)
        return list(row.require_2fa_roles) if row else None

    return await in_tenant(engine, tenant, work)


@PROPS
@given(form=forms(aimed({"require_2fa_roles": st.lists(st.sampled_from(ROLES), max_size=6)},
                        {"require_2fa_roles": bad_role_lists()}), lists=("require_2fa_roles",)))
async def test_security_form(security_env, engine, form):
    env = security_env
    before = await required_roles(engine, env.tenant)
    response = await submit(env.client, "/admin/security", form)
    after = await required_roles(engine, env.tenant)

    if form.fields() is None:
        check_refused_page(response, 400)
        assert after == before
        return
    roles = form.values("require_2fa_roles")
    if set(roles) <= set(ROLES):
        check_page(response, {303})
        assert response.headers["location"] == "/admin/security?notice=saved"
        assert after == canonical(roles)
        page = await env.client.get("/admin/security")
        assert re.findall(r'name="require_2fa_roles" value="([a-z_]+)" checked', page.text) == canonical(roles)
    else:
        check_page(response, {422})
        assert after == before


# --- list pages: filters --------------------------------------------------------------------------------------------

def pager_links(page_html: str) -> list[dict[str, list[str]]]:
    links = re.findall(r'<a href="\?([^"]*)" hx-get=', page_html)
    return [parse_qs(html.unescape(link), keep_blank_values=True) for link in links]


@PROPS
@given(q=st.one_of(st.none(), st.sampled_from(SEARCHES), any_text(20)),
       role=st.one_of(st.none(), st.sampled_from(ROLES), any_text(12)),
       status=st.one_of(st.none(), st.sampled_from(["active", "invited", "deactivated"]), any_text(12)),
       page=st.one_of(st.none(), PAGES))
@example(q="_", role=None, status=None, page=None)
@example(q="", role="x&status=invited", status="a#b", page=None)
async def test_member_list_filters(list_env, engine, q, role, status, page):
    env = list_env
    raw = query(q=q, role=role, status=status, page=page)
    response = await env.client.get(f"/admin/users?{raw}")
    if not query_is_clean(raw.encode()):
        check_refused_page(response, 400)
        return
    number = valid_page(page)
    if number is None:
        check_refused_page(response, 400)
        return
    check_page(response, {200})
    # The filters applied, as documented: the search trimmed (at most 100 characters), unknown role/status ignored.
    search = (q or "").strip()[:100]
    assert f'name="q" type="search" value="{shown(search)}"' in response.text
    users = await users_by_email(engine, env.tenant)
    wanted = search.strip().lower()
    expected = sorted(
        (u for u in users.values()
         if (not wanted or wanted in u.email or wanted in u.name.lower())
         and (role not in ROLES or role in u.roles)
         and (status not in ("active", "invited", "deactivated") or u.status == status)),
        key=lambda u: (u.name.lower(), u.email),
    )
    shown_ids = re.findall(r'<tr id="admin-user-([0-9a-f-]+)">', response.text)
    assert set(shown_ids) <= {str(u.id) for u in expected}, wanted  # everything listed matches the filters
    if wanted.isascii() and all(u.name.isascii() for u in users.values()):  # case folding agrees with PostgreSQL
        total = len(expected)
        assert f">{total} member" in response.text, (wanted, total)
        last = max(1, -(-total // 25))
        assert len(shown_ids) == len(expected[(min(number, last) - 1) * 25:][:25])  # (the order is the collation's)
    # Every pager link carries exactly the filters shown.
    for link in pager_links(response.text):
        assert link.get("q", [""]) == [search]
        assert link.get("role", [""]) == [role or ""] and link.get("status", [""]) == [status or ""]


def as_date(raw: str | None) -> datetime.date | str | None:
    """The day a filter names, None when absent, "bad" when it is not a date."""
    if not raw:
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        return "bad"


AUDIT_ROW = re.compile(
    r'<tr>\s*<td[^>]*><time datetime="([^"]+)">.*?</time></td>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*><code>(.*?)</code>'
    r"</td>\s*<td[^>]*>(.*?)</td>", re.S,
)


@PROPS
@given(action=st.one_of(st.none(), st.sampled_from(["auth", "user.", "test.action_", "%", "_", "test.action%"]),
                        any_text(20)),
       actor=st.one_of(st.none(), st.sampled_from(["_", "%", "\\", "a_b", "EXAMPLE", "percent%"]), any_text(20)),
       since=st.one_of(st.none(), DATES), until=st.one_of(st.none(), DATES), page=st.one_of(st.none(), PAGES))
@example(action="test.action%", actor=None, since=None, until=None, page=None)
@example(action=None, actor="a_b", since=None, until=None, page=None)
@example(action=None, actor=None, since="x&action=auth", until=None, page=None)
async def test_audit_list_filters(audit_env, engine, action, actor, since, until, page):
    env = audit_env
    raw = query(action=action, actor=actor, since=since, until=until, page=page)
    response = await env.client.get(f"/admin/audit?{raw}")
    if not query_is_clean(raw.encode()) or valid_page(page) is None:
        check_refused_page(response, 400)
        return
    days = as_date(since), as_date(until)
    check_page(response, {422} if "bad" in days else {200})
    # The filters echo as typed; with a date that is not one, no filter applies (the page is lenient, and says so).
    assert f'name="actor" type="search" value="{shown(actor or "")}"' in response.text
    if "bad" not in days:
        a = (action or "").strip()[:64]
        who = (actor or "").strip()[:320].lower()
        for when, actor_cell, action_cell, subject_cell in AUDIT_ROW.findall(response.text):
            assert html.unescape(action_cell).startswith(a), (a, action_cell)
            people = (html.unescape(actor_cell) + "\n" + html.unescape(subject_cell)).lower()
            assert not who or who in people, (who, people)
            day = datetime.datetime.fromisoformat(when).date()
            assert not isinstance(days[0], datetime.date) or day >= days[0]
            assert not isinstance(days[1], datetime.date) or day <= days[1]
    # Every pager link carries exactly the filters shown.
    for link in pager_links(response.text):
        assert link.get("since", [""]) == [since or ""] and link.get("until", [""]) == [until or ""]
        assert link.get("action", [""]) == [action or ""] and link.get("actor", [""]) == [actor or ""]


async def test_the_list_fixtures_span_pages(audit_env):
    """The list properties check pager links: both lists must have more than one page."""
    for path in ("/admin/users", "/admin/audit"):
        assert pager_links((await audit_env.client.get(path)).text), f"no pager on {path}"


# --- regressions found by the properties above --------------------------------------------------------------------


async def test_regression_an_invited_name_over_200_characters_is_refused_not_cut(admin_env, engine):
    """Inviting cut a longer name to 200 characters silently (``new_user``); it is refused, nobody is invited."""
    env = admin_env
    before = await users_by_email(engine, env.tenant)
    form = SentForm((Part("email", "long.name@example.org"), Part("name", "z" * 201), Part("roles", "student")), False)
    response = await submit(env.client, "/admin/users/invite", form)
    check_page(response, {422})
    assert 'id="e-name"' in response.text
    assert (await users_by_email(engine, env.tenant)).keys() == before.keys()


@pytest.mark.parametrize("search", ["_", "%", "\\"])
async def test_regression_search_wildcards_match_only_themselves(list_env, search):
    """The member search put the text into LIKE as is: "_" matched every member, "%" too."""
    response = await list_env.client.get(f"/admin/users?{query(q=search)}")
    check_page(response, {200})
    rows = re.findall(r'<td[^>]*><a href="/admin/users/[^"]+">([^<]*)</a></td>\s*<td[^>]*>([^<]*)</td>', response.text)
    assert rows and all(search in html.unescape(name + email) for name, email in rows), rows


@pytest.mark.parametrize("actor", ["a_b", "percent%"])
async def test_regression_audit_filters_take_wildcards_literally(audit_env, actor):
    response = await audit_env.client.get(f"/admin/audit?{query(actor=actor)}")
    rows = AUDIT_ROW.findall(response.text)
    assert rows and all(actor in html.unescape(row[1] + row[3]) for row in rows)
    only = await audit_env.client.get(f"/admin/audit?{query(action='test.action%')}")
    assert "No entry matches these filters." in only.text  # no action starts with "test.action%"


async def test_regression_pager_links_keep_the_filters(audit_env):
    """``role``, ``status``, ``since`` and ``until`` went into the pager links unencoded: "x&status=invited" came
    back as two filters."""
    users = await audit_env.client.get(f"/admin/users?{query(role='x&status=invited')}")
    assert [link["role"] for link in pager_links(users.text)] == [["x&status=invited"]]
    audit = await audit_env.client.get(f"/admin/audit?{query(since='x&action=auth')}")
    assert [link["since"] for link in pager_links(audit.text)] == [["x&action=auth"]]


@pytest.mark.parametrize("page", ["2.9999999999999999", "1e1", "1.0"])
async def test_regression_a_page_number_is_an_integer_as_written(list_env, page):
    """msgspec read "2.9999999999999999" as page 3 and "1e1" as page 10: a value nobody typed."""
    for path in ("/admin/users", "/admin/audit"):
        check_refused_page(await list_env.client.get(f"{path}?page={page}"), 400)
