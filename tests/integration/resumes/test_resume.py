"""The résumé: editing in place, bad input, the PDF in three layouts (its text extracted, diacritics included), the
private link, reviews; another organization's ids and hosts."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from tajiconnect.domains.notifications.models import Notification
from tests.integration.certificates.conftest import pdf_text
from tests.integration.conftest import post_form, set_user
from tests.integration.groups.conftest import tenant_session
from tests.integration.resumes.conftest import a_certificate

HX = {"HX-Request": "true"}


async def test_thirty_entries_of_a_kind_at_most(engine, new_org, make_user, signed_in):
    from tajiconnect.domains.resumes.service import ENTRIES_MAX

    org = await new_org("rsx")
    learner = await make_user(org.tenant)
    async with signed_in(learner) as client:
        for n in range(ENTRIES_MAX):
            assert (await post_form(client, "/career/resume/entries", {"kind": "reference", "title": f"R{n}"})
                    ).status_code == 303
        refused = await post_form(client, "/career/resume/entries", {"kind": "reference", "title": "One more"})
        assert refused.status_code == 409 and "At most 30 entries" in refused.text
        assert (await post_form(client, "/career/resume/entries", {"kind": "education", "title": "Still fine"})
                ).status_code == 303


async def test_a_learner_builds_a_resume_and_downloads_it(engine, new_org, make_user, signed_in):
    org = await new_org("rsm")
    learner = await make_user(org.tenant, ["student"], name="Wanjirũ Ngũgĩ")
    kept = await a_certificate(engine, org.tenant, learner.id, "Wanjirũ Ngũgĩ", "Bookkeeping basics")
    left_out = await a_certificate(engine, org.tenant, learner.id, "Wanjirũ Ngũgĩ", "Knitting for fun")
    async with signed_in(learner) as client:
        page = await client.get("/career/resume")
        assert page.status_code == 200 and "Wanjirũ Ngũgĩ" in page.text and "Bookkeeping basics" in page.text
        refused = await post_form(client, "/career/resume/details", {
            "headline": "Junior data analyst", "summary": "Careful with numbers.", "website": "ftp://me.example",
            "phone": "0700 000 000", "location": "Nyeri"}, headers=HX)
        assert refused.status_code == 422 and "<html" not in refused.text
        assert "https://" in refused.text and 'value="Junior data analyst"' in refused.text  # nothing typed lost
        assert 'value=""' not in re.search(r'id="r-headline"[^>]*>', refused.text).group(0)
        saved = await post_form(client, "/career/resume/details", {
            "headline": "Junior data analyst", "summary": "Careful with numbers.\nLikes <charts> & tables.",
            "website": "https://wanjiru.example", "phone": "+254 700 000 000", "location": "Nyeri"}, headers=HX)
        assert saved.status_code == 200 and 'id="resume-details"' in saved.text and "Saved." in saved.text
        bad = await post_form(client, "/career/resume/entries", {
            "kind": "experience", "title": "Clerk", "start_month": "2024-05", "end_month": "2023-01"}, headers=HX)
        assert bad.status_code == 422 and "The end comes before the start." in bad.text
        for title, start in (("Stock clerk", "2021-02"), ("Data clerk", "2023-03")):
            made = await post_form(client, "/career/resume/entries", {
                "kind": "experience", "title": title, "organization": "Kahawa Ltd", "place": "Thika",
                "start_month": start, "current": "on" if title == "Data clerk" else ""}, headers=HX)
            assert made.status_code == 200
        entries = re.findall(r'data-entry="([0-9a-f-]+)"', made.text)
        assert len(entries) == 2
        moved = await post_form(client, f"/career/resume/entries/{entries[1]}", {"action": "up"}, headers=HX)
        assert re.findall(r'data-entry="([0-9a-f-]+)"', moved.text) == [entries[1], entries[0]]
        assert (await post_form(client, "/career/resume/entries", {
            "kind": "education", "title": "Diploma in Accounting", "organization": "Nyeri Polytechnic",
            "start_month": "2018-01", "end_month": "2020-12"})).status_code == 303  # without JavaScript
        assert (await post_form(client, "/career/resume/entries", {"kind": "nope", "title": "x"})).status_code == 404
        assert (await post_form(client, "/career/resume/languages", {
            "language_0": "Kiswahili", "level_0": "native", "language_1": "English", "level_1": "fluent",
            "language_2": "kiswahili", "level_2": "basic"})).status_code == 422  # each once
        assert (await post_form(client, "/career/resume/languages", {
            "language_0": "Kiswahili", "level_0": "native", "language_1": "Français", "level_1": "conversational",
        })).status_code == 303
        assert (await post_form(client, "/career/resume/settings", {
            "layout": "modern", "certificate": str(kept.id), "show_declared_skills": "on"})).status_code == 303
        assert (await post_form(client, "/career/resume/settings", {"layout": "fancy"})).status_code == 422
        texts = {}
        for layout in ("classic", "modern", "compact"):
            pdf = await client.get(f"/career/resume/pdf?layout={layout}")
            assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
            texts[layout] = pdf_text(pdf.content)
        for text in texts.values():
            for expected in ("Wanjirũ Ngũgĩ", "Junior data analyst", "Likes <charts> & tables.", "Data clerk",
                             "Kahawa Ltd", "Diploma in Accounting", "Français", "Bookkeeping basics",
                             f"/verify/{kept.code}"):
                assert expected in text, (expected, text[:500])
            assert "Knitting for fun" not in text
            assert text.index("Data clerk") < text.index("Stock clerk")
        assert (await client.get("/career/resume/pdf?layout=fancy")).status_code == 404
        deleted = await post_form(client, f"/career/resume/entries/{entries[0]}", {"action": "delete"}, headers=HX)
        assert re.findall(r'data-entry="([0-9a-f-]+)"', deleted.text) == [entries[1]]
    other = await make_user(org.tenant, ["student"])
    async with signed_in(other) as client:  # another member's entries are not theirs to change
        assert (await post_form(client, f"/career/resume/entries/{entries[1]}", {"action": "delete"})
                ).status_code == 404
        assert "Stock clerk" not in (await client.get("/career/resume")).text
    assert left_out.id


async def test_the_private_link_opens_the_resume_until_replaced_or_revoked(engine, new_org, make_user, signed_in,
                                                                             client_for):
    org, other = await new_org("rsl"), await new_org("rsk")
    learner = await make_user(org.tenant, ["student"], name="Ama Ngozi")
    async with signed_in(learner) as client:
        await post_form(client, "/career/resume/details", {"headline": "Electrician"})
        made = await post_form(client, "/career/resume/share", {})
        assert made.status_code == 200
        first = re.search(r'id="share-url" readonly value="https://[^"]+/r/([A-Za-z0-9_-]{43})"', made.text).group(1)
        assert first not in (await client.get("/career/resume")).text  # shown once
    async with client_for(org.tenant) as anonymous:
        shared = await anonymous.get(f"/r/{first}")
        assert shared.status_code == 200 and "Ama Ngozi" in shared.text and "Electrician" in shared.text
        assert shared.headers["x-robots-tag"] == "noindex"
        assert "Ama Ngozi" in pdf_text((await anonymous.get(f"/r/{first}.pdf")).content)
        for bad in ("x" * 43, "short", first + "x", "%00"):
            assert (await anonymous.get(f"/r/{bad}")).status_code in (400, 404), bad
    async with client_for(other.tenant) as elsewhere:  # another organization's host knows no such link
        assert (await elsewhere.get(f"/r/{first}")).status_code == 404
    async with signed_in(learner) as client:
        second = re.search(r'/r/([A-Za-z0-9_-]{43})"', (await post_form(client, "/career/resume/share", {})).text
                           ).group(1)
    async with client_for(org.tenant) as anonymous:
        assert (await anonymous.get(f"/r/{first}")).status_code == 404
        assert (await anonymous.get(f"/r/{second}")).status_code == 200
        await set_user(engine, org.tenant, learner.id, status="deactivated")
        assert (await anonymous.get(f"/r/{second}")).status_code == 404
        await set_user(engine, org.tenant, learner.id, status="active")
    async with signed_in(learner) as client:
        assert (await post_form(client, "/career/resume/share/revoke", {})).status_code == 303
    async with client_for(org.tenant) as anonymous:
        assert (await anonymous.get(f"/r/{second}")).status_code == 404


async def test_a_teacher_reviews_a_resume_until_the_learner_closes_it(engine, new_org, make_user, signed_in):
    org, other = await new_org("rsr"), await new_org("rso")
    learner = await make_user(org.tenant, ["student"], name="Kofi Mensah")
    classmate = await make_user(org.tenant, ["student"])
    teacher = await make_user(org.tenant, ["teacher"], name="Tess Teacher")
    stranger = await make_user(other.tenant, ["teacher"])
    async with signed_in(learner) as client:
        await post_form(client, "/career/resume/details", {"headline": "Plumber"})
        for email in (classmate.email, stranger.email, learner.email, "nobody@example.org"):
            refused = await post_form(client, "/career/resume/reviews", {"reviewer": email, "message": "Please"})
            assert refused.status_code == 422 and "teacher, manager or admin" in refused.text, email
        for _ in range(2):
            assert (await post_form(client, "/career/resume/reviews", {"reviewer": teacher.email.upper(),
                                                                       "message": "Is it clear?"})).status_code == 303
    async with tenant_session(engine, org.tenant) as session:
        told = (await session.scalars(select(Notification).where(Notification.category == "resume_review"))).all()
    assert [n.user_id for n in told] == [teacher.id]
    async with signed_in(teacher) as client:
        queue = await client.get("/career/reviews")
        review_id = re.search(r'data-review="([0-9a-f-]+)"', queue.text).group(1)
        page = await client.get(f"/career/reviews/{review_id}")
        assert page.status_code == 200 and "Kofi Mensah" in page.text and "Plumber" in page.text
        assert "Kofi Mensah" in pdf_text((await client.get(f"/career/reviews/{review_id}/pdf")).content)
        assert (await post_form(client, f"/career/reviews/{review_id}/comments",
                                {"body": "  ", "section": "summary"})).status_code == 422
        assert (await post_form(client, f"/career/reviews/{review_id}/comments",
                                {"body": "Add a summary.", "section": "nope"})).status_code == 422
        assert (await post_form(client, f"/career/reviews/{review_id}/comments",
                                {"body": "Add a summary.", "section": "summary"})).status_code == 303
    async with signed_in(learner) as client:
        mine = (await client.get("/career/resume")).text
        assert "Add a summary." in mine and "Tess Teacher" in mine
        assert (await post_form(client, f"/career/reviews/{review_id}/comments",
                                {"body": "Done, thanks.", "back": "resume"})).status_code == 303
        assert (await post_form(client, f"/career/resume/reviews/{review_id}/close", {})).status_code == 303
        assert "Add a summary." in (await client.get("/career/resume")).text  # the comments stay with the member
    async with tenant_session(engine, org.tenant) as session:  # each side was told of the other's comment
        told = {(n.user_id, n.title) for n in (await session.scalars(select(Notification).where(
            Notification.category == "resume_review"))).all()}
    assert (learner.id, "Tess Teacher commented on a résumé review") in told
    assert (teacher.id, "Kofi Mensah commented on a résumé review") in told
    async with signed_in(teacher) as client:
        assert (await client.get(f"/career/reviews/{review_id}")).status_code == 404  # closed: access ends
        assert (await client.get(f"/career/reviews/{review_id}/pdf")).status_code == 404
        assert review_id not in (await client.get("/career/reviews")).text
    async with signed_in(classmate) as client:
        assert (await client.get(f"/career/reviews/{review_id}")).status_code == 404
        assert (await post_form(client, f"/career/resume/reviews/{review_id}/close", {})).status_code == 404
    async with signed_in(stranger) as client:
        assert (await client.get(f"/career/reviews/{review_id}")).status_code == 404
        assert (await client.get(f"/career/reviews/{uuid.uuid4()}")).status_code == 404
    async with signed_in(learner) as client:  # a second review, then the learner leaves the organization
        await post_form(client, "/career/resume/reviews", {"reviewer": teacher.email})
    async with signed_in(teacher) as client:
        second = re.search(r'data-review="([0-9a-f-]+)"', (await client.get("/career/reviews")).text).group(1)
        assert (await client.get(f"/career/reviews/{second}")).status_code == 200
        await set_user(engine, org.tenant, learner.id, status="deactivated")
        assert (await client.get(f"/career/reviews/{second}")).status_code == 404
        assert second not in (await client.get("/career/reviews")).text
