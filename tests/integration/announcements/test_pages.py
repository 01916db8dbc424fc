"""The announcement pages: the form offers only the author's scopes and is prefilled from ?group=/?course=, errors
re-render (422), the list marks unread ones, the author sees "sent to N people (M parents)", withdraw and cancel."""

from __future__ import annotations

import datetime
import re

from tajiconnect.domains.announcements import service
from tests.integration.announcements.conftest import recipients
from tests.integration.conftest import post_form, statements

NEW = "/announcements/new"


def _id_from(response) -> str:
    assert response.status_code == 303, response.text
    match = re.match(r"/announcements/([0-9a-f-]{36})\?notice=", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


async def test_the_form_offers_only_the_authors_scopes(school, signed_in):
    s = school
    async with signed_in(s.teacher) as client:
        page = await client.get(f"{NEW}?group={s.group_id}")
        assert page.status_code == 200
        html = page.text
        assert 'value="tenant"' not in html  # not an admin
        assert f'<option value="{s.group_id}" selected>' in html
        assert str(s.other_group_id) not in html and str(s.course_id) not in html
        assert re.search(r'value="group" id="f-scope-group" checked', html)
    async with signed_in(s.course_owner) as client:
        html = (await client.get(f"{NEW}?course={s.course_id}")).text
        assert f'<option value="{s.course_id}" selected>' in html and 'value="group"' not in html
    async with signed_in(s.admin) as client:
        html = (await client.get(NEW)).text
        assert 'value="tenant"' in html and str(s.group_id) in html and str(s.course_id) in html
    for who in (s.pupil, s.parent, s.manager):  # the manager leads nothing and staffs nothing
        async with signed_in(who) as client:
            assert (await client.get(NEW)).status_code == 403, who.email
            refused = await post_form(client, NEW, {"scope": "group", "group_id": str(s.group_id), "title": "Hi"})
            assert refused.status_code == 403, who.email


async def test_a_teacher_announces_and_the_parent_reads_it(school, signed_in, engine):
    s, t = school, school.org.tenant
    async with signed_in(s.teacher) as client:
        bad = await post_form(client, NEW, {"scope": "group", "group_id": str(s.group_id), "title": " ",
                                            "body": "Kept text", "include_parents": "on"})
        assert bad.status_code == 422 and "Kept text" in bad.text and 'aria-invalid="true"' in bad.text
        other = await post_form(client, NEW, {"scope": "group", "group_id": str(s.other_group_id), "title": "Hi"})
        assert other.status_code == 422 and "No such group" in other.text
        everyone = await post_form(client, NEW, {"scope": "tenant", "title": "Hi"})
        assert everyone.status_code == 422
        past = await post_form(client, NEW, {"scope": "group", "group_id": str(s.group_id), "title": "Hi",
                                             "publish_at": "2001-01-01T08:00"})
        assert past.status_code == 422 and "future" in past.text
        for nonsense in ("2030-13-45T99:99", "99999-01-01T00:00", "tomorrow", "0001-01-01T00:00"):
            odd = await post_form(client, NEW, {"scope": "group", "group_id": str(s.group_id), "title": "Hi",
                                                "publish_at": nonsense})
            assert odd.status_code == 422 and 'id="e-publish_at"' in odd.text, nonsense
        created = await post_form(client, NEW, {"scope": "group", "group_id": str(s.group_id),
                                                "title": "Museum trip", "body": "Bring <b>lunch</b> and *water*.",
                                                "include_parents": "on"})
        announcement_id = _id_from(created)
        detail = await client.get(f"/announcements/{announcement_id}")
        assert "Sent to 4 people (1 parent)." in detail.text
        assert "&lt;b&gt;lunch&lt;/b&gt;" in detail.text and "<em>water</em>" in detail.text  # sanitized Markdown
        sent = await client.get("/announcements?view=sent")
        assert "Museum trip" in sent.text
    assert s.parent.id in await recipients(engine, t, announcement_id)

    async with signed_in(s.parent) as client:
        inbox = await client.get("/announcements")
        assert re.search(r'<tr class="unread">\s*<td data-label="[^"]+"><a href="/announcements/'
                         + announcement_id, inbox.text)
        page = await client.get(f"/announcements/{announcement_id}")
        assert page.status_code == 200 and "Museum trip" in page.text and "Sent to" not in page.text
        assert "Withdraw" not in page.text
        inbox = await client.get("/announcements")
        assert not re.search(r'<tr class="unread">\s*<td data-label="[^"]+"><a href="/announcements/'
                             + announcement_id, inbox.text)
        assert (await post_form(client, f"/announcements/{announcement_id}/withdraw")).status_code == 403
    for who in (s.unlinked_parent, s.outsider, s.other_teacher):
        async with signed_in(who) as client:
            assert (await client.get(f"/announcements/{announcement_id}")).status_code == 404, who.email
            assert "Museum trip" not in (await client.get("/announcements")).text

    async with signed_in(s.teacher) as client:
        assert (await post_form(client, f"/announcements/{announcement_id}/cancel")).status_code == 409
        withdrawn = await post_form(client, f"/announcements/{announcement_id}/withdraw")
        assert withdrawn.status_code == 303
    async with signed_in(s.parent) as client:
        page = await client.get(f"/announcements/{announcement_id}")
        assert "withdrawn" in page.text and "Bring" not in page.text
        assert "Museum trip" not in (await client.get("/announcements")).text


async def test_scheduled_edit_and_cancel(school, signed_in):
    s = school
    local = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    async with signed_in(s.course_owner) as client:
        created = await post_form(client, NEW, {"scope": "course", "course_id": str(s.course_id),
                                                "title": "Exam", "publish_at": local})
        announcement_id = _id_from(created)
        assert created.headers["location"].endswith("notice=scheduled")
        form = await client.get(f"/announcements/{announcement_id}/edit")
        assert form.status_code == 200 and 'value="Exam"' in form.text
        bad = await post_form(client, f"/announcements/{announcement_id}/edit", {"title": "", "publish_at": local})
        assert bad.status_code == 422
        saved = await post_form(client, f"/announcements/{announcement_id}/edit",
                                {"title": "Exam moved", "publish_at": local})
        assert saved.status_code == 303
        assert "Exam moved" in (await client.get(f"/announcements/{announcement_id}")).text
    async with signed_in(s.course_learner) as client:
        assert (await client.get(f"/announcements/{announcement_id}")).status_code == 404  # not yet published
    async with signed_in(s.co_teacher) as client:  # staff, but not its author
        assert (await client.get(f"/announcements/{announcement_id}/edit")).status_code == 404
    async with signed_in(s.course_owner) as client:
        assert (await post_form(client, f"/announcements/{announcement_id}/cancel")).status_code == 303
        assert (await client.get(f"/announcements/{announcement_id}/edit")).status_code == 404


async def test_the_list_takes_a_fixed_number_of_statements(school, signed_in, client_for):
    s = school
    async with signed_in(s.pupil) as client:
        few = await statements(client, "/announcements")
    async with signed_in(s.teacher) as client:
        for n in range(4):
            await post_form(client, NEW, {"scope": "group", "group_id": str(s.group_id), "title": f"More {n}"})
    async with signed_in(s.pupil) as client:
        assert await statements(client, "/announcements") == few
        fragment = await client.get("/announcements?page=1", headers={"HX-Request": "true",
                                                                        "HX-Target": "announcements-list"})
        assert fragment.status_code == 200 and "<html" not in fragment.text
        assert (await client.get("/announcements?page=0")).status_code == 400


async def test_posting_is_rate_limited(new_org, make_user, signed_in, engine, monkeypatch):
    from tests.integration.progress.conftest import add_group

    org = await new_org("annr")
    teacher = await make_user(org.tenant, ["teacher"])
    group_id = await add_group(engine, org.tenant, members=[], leaders=[teacher.id])
    monkeypatch.setattr(service, "HOURLY_LIMIT", 2)
    async with signed_in(teacher) as client:
        for n in range(2):
            _id_from(await post_form(client, NEW, {"scope": "group", "group_id": str(group_id), "title": f"N{n}"}))
        third = await post_form(client, NEW, {"scope": "group", "group_id": str(group_id), "title": "Third",
                                              "body": "kept"})
        assert third.status_code == 429 and "kept" in third.text
