"""The pages: a parent's children and the code form, a learner's family and codes, teachers' codes, and the
"Parents and children" section of an admin's member page."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from tests.integration.conftest import audit_entries, post_form
from tests.integration.parents.conftest import add_group, add_link, links_of

FRAGMENT = {"HX-Request": "true", "HX-Target": "family-links"}
ROOT = Path(__file__).resolve().parents[3]


def test_lists_use_the_one_list_pattern():
    for name in ("children.html", "family.html", "_code_learners.html", "_admin_family.html",
                 "_admin_candidates.html"):
        text = (ROOT / "templates" / "parents" / name).read_text(encoding="utf-8")
        assert 'from "components/tables.html" import' in text and "list_table(" in text, name


def shown_code(html: str) -> str:
    match = re.search(r'id="pairing-code"><strong>([A-Z0-9]{4}-[A-Z0-9]{4})</strong>', html)
    assert match, html
    return match.group(1)


async def test_a_parent_sees_only_their_children_with_classes_and_teachers(signed_in, school, make_user, engine):
    tag = uuid.uuid4().hex[:6]
    parent = await make_user(school.tenant, ["parent"])
    teacher = await make_user(school.tenant, ["teacher"], name=f"Teacher {tag}")
    mine = await make_user(school.tenant, ["student"], name=f"Mine {tag}")
    theirs = await make_user(school.tenant, ["student"], name=f"Theirs {tag}")
    await add_group(engine, school.tenant, f"Class 5B {tag}", leaders=[teacher.id], members=[mine.id, theirs.id])
    await add_link(engine, school.tenant, parent.id, mine.id)
    async with signed_in(parent) as client:
        home = await client.get("/")
        assert 'href="/children"' in home.text and 'href="/family"' not in home.text
        page = await client.get("/children")
        assert page.status_code == 200
        assert f"Mine {tag}" in page.text and f"Class 5B {tag}" in page.text and f"Teacher {tag}" in page.text
        assert f"Theirs {tag}" not in page.text
        one = await client.get(f"/children/{mine.id}")
        assert one.status_code == 200 and f"Class 5B {tag}" in one.text and f"Teacher {tag}" in one.text
        # A learner not linked to this parent: refused, like an id that does not exist or is not one.
        for other in (theirs.id, teacher.id, uuid.uuid4(), "not-an-id"):
            refused = await client.get(f"/children/{other}")
            assert refused.status_code == 404, other
            assert f"Theirs {tag}" not in refused.text


async def test_only_parents_have_a_children_page_and_only_learners_a_family_page(signed_in, school, make_user):
    for roles, children, family in ((["student"], 403, 200), (["teacher"], 403, 403), (["parent"], 200, 403)):
        member = await make_user(school.tenant, roles)
        async with signed_in(member) as client:
            assert (await client.get("/children")).status_code == children, roles
            assert (await client.get("/family")).status_code == family, roles
            paired = await post_form(client, "/children/pair", {"pairing_code": "K7MQ-29XD"})
            assert paired.status_code == (422 if children == 200 else 403)  # a parent is told the code is wrong
            assert (await post_form(client, "/family/code")).status_code in ((201,) if family == 200 else (403,))


async def test_a_learner_sees_who_is_linked_to_them(signed_in, school, make_user, engine):
    tag = uuid.uuid4().hex[:6]
    learner = await make_user(school.tenant, ["student"])
    mum = await make_user(school.tenant, ["parent"], name=f"Mum {tag}")
    stranger = await make_user(school.tenant, ["parent"], name=f"Stranger {tag}")
    async with signed_in(learner) as client:
        empty = await client.get("/family")
        assert "Nobody is linked to you yet." in empty.text
        await add_link(engine, school.tenant, mum.id, learner.id, source="code")
        page = await client.get("/family")
    assert f"Mum {tag}" in page.text and mum.email in page.text and "with a pairing code" in page.text
    assert f"Stranger {tag}" not in page.text and stranger.email not in page.text


async def test_a_learner_makes_a_code_and_a_parent_links_with_it(signed_in, school, make_user, engine):
    learner = await make_user(school.tenant, ["student"], name=f"Learner {uuid.uuid4().hex[:6]}")
    parent = await make_user(school.tenant, ["parent"])
    async with signed_in(learner) as client:
        made = await post_form(client, "/family/code")
        assert made.status_code == 201
        assert made.headers["cache-control"] == "no-store"
        code = shown_code(made.text)
        page = await client.get("/family")
        assert code not in page.text  # shown once only
        assert "1 unused code still works" in page.text
    async with signed_in(parent) as client:
        empty = await post_form(client, "/children/pair", {"pairing_code": "  "})
        assert empty.status_code == 422 and "Enter the pairing code" in empty.text
        wrong = await post_form(client, "/children/pair", {"pairing_code": "ZZZZ-ZZZZ"})
        assert wrong.status_code == 422 and "This code is not valid" in wrong.text
        assert 'value="ZZZZ-ZZZZ"' in wrong.text  # what was typed stays, to be corrected
        linked = await post_form(client, "/children/pair", {"pairing_code": code.lower().replace("-", " ")})
        assert linked.status_code == 303 and linked.headers["location"] == "/children?notice=linked"
        page = await client.get(linked.headers["location"])
        assert learner.email.split("@")[0] in page.text or "Learner " in page.text
        assert "You are now linked to this learner" in page.text
        again = await post_form(client, "/children/pair", {"pairing_code": code})
        assert again.status_code == 422 and "already used" in again.text
    assert await links_of(engine, school.tenant, parent.id) == {learner.id}
    async with signed_in(learner) as client:
        family = await client.get("/family")
        assert parent.email in family.text and "unused code" not in family.text


async def test_a_learner_can_cancel_their_unused_codes(signed_in, school, make_user):
    learner = await make_user(school.tenant, ["student"])
    parent = await make_user(school.tenant, ["parent"])
    async with signed_in(learner) as client:
        code = shown_code((await post_form(client, "/family/code")).text)
        withdrawn = await post_form(client, "/family/codes/withdraw")
        assert withdrawn.status_code == 303
        assert "no longer work" in (await client.get(withdrawn.headers["location"])).text
    async with signed_in(parent) as client:
        refused = await post_form(client, "/children/pair", {"pairing_code": code})
        assert refused.status_code == 422 and "expired or was replaced" in refused.text


async def test_teachers_make_codes_for_their_own_learners_only(signed_in, school, make_user, engine):
    tag = uuid.uuid4().hex[:6]
    teacher = await make_user(school.tenant, ["teacher"])
    mine = await make_user(school.tenant, ["student"], name=f"Pupil {tag} mine")
    former = await make_user(school.tenant, ["student"], name=f"Pupil {tag} former")
    other = await make_user(school.tenant, ["student"], name=f"Pupil {tag} other")
    await add_group(engine, school.tenant, f"Class {tag}", leaders=[teacher.id], members=[mine.id], ended=[former.id])
    await add_group(engine, school.tenant, f"Other {tag}", members=[other.id])
    async with signed_in(teacher) as client:
        page = await client.get(f"/pairing-codes?q={tag}")
        assert f"Pupil {tag} mine" in page.text
        assert f"Pupil {tag} other" not in page.text and f"Pupil {tag} former" not in page.text
        fragment = await client.get(f"/pairing-codes?q={tag}", headers={"HX-Request": "true",
                                                                          "HX-Target": "code-learners"})
        assert "<h1>" not in fragment.text and f"Pupil {tag} mine" in fragment.text
        made = await post_form(client, "/pairing-codes", {"learner_id": str(mine.id)})
        assert made.status_code == 201 and shown_code(made.text)
        for learner_id in (other.id, former.id, teacher.id, uuid.uuid4(), "nonsense"):
            assert (await post_form(client, "/pairing-codes", {"learner_id": str(learner_id)})).status_code == 404
    async with signed_in(school.admin) as client:
        assert (await post_form(client, "/pairing-codes", {"learner_id": str(other.id)})).status_code == 201
        not_a_learner = await post_form(client, "/pairing-codes", {"learner_id": str(teacher.id)})
        assert not_a_learner.status_code == 409 and "Learner role" in not_a_learner.text
    entries = [e for e in await audit_entries(engine, school.tenant, "pairing_code.created")
               if e.target_id in (str(mine.id), str(other.id))]
    assert {(e.actor_email, e.target_id) for e in entries} == {
        (teacher.email, str(mine.id)), (school.admin.email, str(other.id))
    }


async def test_admins_see_and_change_links_on_the_member_page(signed_in, school, make_user, engine):
    tag = uuid.uuid4().hex[:6]
    parent = await make_user(school.tenant, ["parent"], name=f"Parent {tag}")
    kid = await make_user(school.tenant, ["student"], name=f"Kid {tag} one")
    other_kid = await make_user(school.tenant, ["student"], name=f"Kid {tag} two")
    teacher = await make_user(school.tenant, ["teacher"], name=f"Kid {tag} teacher")
    await add_link(engine, school.tenant, parent.id, kid.id)
    async with signed_in(school.admin) as client:
        detail = await client.get(f"/admin/users/{parent.id}")
        assert f'hx-get="/admin/users/{parent.id}/family"' in detail.text
        section = await client.get(f"/admin/users/{parent.id}/family", headers=FRAGMENT)
        assert section.status_code == 200 and "<h1>" not in section.text
        assert f"Kid {tag} one" in section.text and f"Kid {tag} two" not in section.text
        page = await client.get(f"/admin/users/{parent.id}/family")  # without JavaScript: a page
        assert "<h1>" in page.text and f"Kid {tag} one" in page.text
        found = await client.get(f"/admin/users/{parent.id}/family/candidates?want=learner&q=Kid {tag}")
        assert f"Kid {tag} two" in found.text
        assert f"Kid {tag} one" not in found.text and f"Kid {tag} teacher" not in found.text  # linked; not learner
        added = await post_form(client, f"/admin/users/{parent.id}/family/children",
                                {"learner_id": str(other_kid.id)})
        assert added.status_code == 303 and added.headers["location"] == f"/admin/users/{parent.id}?notice=link_added"
        after = await client.get(added.headers["location"])
        assert "?notice=link_added" in after.text  # handed to the section, which shows it
        shown = await client.get(f"/admin/users/{parent.id}/family?notice=link_added", headers=FRAGMENT)
        assert "The link was added." in shown.text and f"Kid {tag} two" in shown.text
        # From the learner's side: their parents, and the search finds parents.
        learner_side = await client.get(f"/admin/users/{kid.id}/family", headers=FRAGMENT)
        assert f"Parent {tag}" in learner_side.text and "Make a pairing code for this learner" in learner_side.text
        refused = await post_form(client, f"/admin/users/{parent.id}/family/children", {"learner_id": str(teacher.id)})
        assert refused.status_code == 409 and "does not have the Learner role" in refused.text
        removed = await post_form(client, f"/admin/users/{parent.id}/family/children/{kid.id}/remove")
        assert removed.status_code == 303
        unlinked = await post_form(client, f"/admin/users/{kid.id}/family/parents/{parent.id}/remove")
        assert unlinked.status_code == 303
    assert await links_of(engine, school.tenant, parent.id) == {other_kid.id}
    assert len([e for e in await audit_entries(engine, school.tenant, "parent_link.removed")
                if e.subject_email == parent.email]) == 1


async def test_only_admins_reach_the_links_section(signed_in, school, make_user):
    parent = await make_user(school.tenant, ["parent"])
    kid = await make_user(school.tenant, ["student"])
    for roles in (["parent"], ["teacher"], ["student"]):
        member = await make_user(school.tenant, roles)
        async with signed_in(member) as client:
            assert (await client.get(f"/admin/users/{parent.id}/family")).status_code == 403
            refused = await post_form(client, f"/admin/users/{parent.id}/family/children", {"learner_id": str(kid.id)})
            assert refused.status_code == 403


async def test_another_organizations_ids_are_not_found(signed_in, school, other_school, make_user, engine):
    parent = await make_user(school.tenant, ["parent"])
    kid = await make_user(school.tenant, ["student"])
    await add_link(engine, school.tenant, parent.id, kid.id)
    here = await make_user(other_school.tenant, ["parent"])
    async with signed_in(other_school.admin) as client:
        for path in (f"/admin/users/{parent.id}/family", f"/admin/users/{kid.id}/family/candidates?q=a"):
            assert (await client.get(path)).status_code == 404, path
        assert (await post_form(client, f"/admin/users/{parent.id}/family/children/{kid.id}/remove")).status_code == 404
        # Linking someone here to a learner of the other organization: no such member here.
        refused = await post_form(client, f"/admin/users/{here.id}/family/children", {"learner_id": str(kid.id)})
        assert refused.status_code == 422 and "Choose a member" in refused.text
        assert (await post_form(client, "/pairing-codes", {"learner_id": str(kid.id)})).status_code == 404
    async with signed_in(here) as client:
        assert (await client.get(f"/children/{kid.id}")).status_code == 404
    assert await links_of(engine, school.tenant, parent.id) == {kid.id}
    assert await links_of(engine, other_school.tenant, here.id) == set()
