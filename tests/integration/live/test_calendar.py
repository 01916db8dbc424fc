"""The calendar feed: a private tokenized URL, parsed back with icalendar; revocation, rate limit, tenancy."""

from __future__ import annotations

import datetime
import re

import icalendar
from sqlalchemy import update

from tajiconnect.domains.assessments.models import Assessment
from tajiconnect.domains.live import feed
from tajiconnect.domains.live.models import CalendarFeed
from tests.integration.conftest import audit_entries, post_form
from tests.integration.groups.conftest import tenant_session
from tests.integration.live.conftest import build_school, create_session, soon
from tests.integration.progress.conftest import build_course, enroll

FEED_RE = re.compile(r'value="(https?://[^"]+/calendar/([A-Za-z0-9_-]{43})\.ics)"')


async def new_feed(client) -> str:
    response = await post_form(client, "/calendar/new")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    match = FEED_RE.search(response.text)
    assert match, response.text
    return match.group(2)


def events(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(e["summary"]): e for e in calendar.walk("VEVENT")}


async def test_a_busy_calendar_keeps_what_comes_before_what_went(engine, new_org, make_user, signed_in, browser,
                                                                  monkeypatch):
    from tajiconnect.domains.live import feed

    monkeypatch.setattr(feed, "EVENTS_MAX", 2)
    monkeypatch.setattr(feed, "PAST_MAX", 1)
    s = await build_school(engine, new_org, make_user, "livb")
    for days in (-20, -10, -2, 1, 5, 9):
        await create_session(engine, s.tenant, title=f"Day {days}", group_id=s.group_id, starts_at=soon(days=days))
    async with signed_in(s.learner) as client:
        token = await new_feed(client)
    async with browser(s.tenant) as anonymous:
        found = events((await anonymous.get(f"/calendar/{token}.ics")).content)
    assert set(found) == {"Day 1", "Day 5", "Day -2"}  # the next two, the last one


async def test_the_feed_carries_sessions_and_due_dates(engine, new_org, make_user, signed_in, browser):
    s = await build_school(engine, new_org, make_user, "livc")
    start = soon(days=2).replace(second=0)
    algebra_id = await create_session(engine, s.tenant, title="Algebra live", group_id=s.group_id, starts_at=start,
                                      duration_minutes=50, include_parents=True,
                                      meeting_url="https://meet.jit.si/Algebra")
    await create_session(engine, s.tenant, title="Called off", course_id=s.course_id, starts_at=soon(days=3),
                         status="cancelled", cancelled_at=soon(), include_parents=True)
    await create_session(engine, s.tenant, title="Staff only", course_id=s.course_id, starts_at=soon(days=3))
    await create_session(engine, s.tenant, title="Not mine", course_id=(await build_course(
        engine, s.tenant, kinds=("text",))).id, starts_at=soon(days=1))
    work = await build_course(engine, s.tenant, kinds=("text", "assignment"), title="Chemistry")
    course_due, essay_due = soon(days=10).replace(second=0), soon(days=5).replace(second=0)
    await enroll(engine, s.tenant, s.learner.id, work.id, due_at=course_due)
    async with tenant_session(engine, s.tenant) as session:
        session.add(Assessment(course_id=work.id, lesson_id=work.lessons[1], kind="assignment", due_at=essay_due))

    async with signed_in(s.learner) as client:
        token = await new_feed(client)
    async with browser(s.tenant) as anonymous:  # no session cookie: the token is the key
        response = await anonymous.get(f"/calendar/{token}.ics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    assert "set-cookie" not in response.headers
    found = events(response.content)
    assert {"Algebra live", "Called off", "Staff only", "Due: Chemistry", "Due: Lesson 2 (Chemistry)"} <= set(found)
    assert "Not mine" not in found
    algebra = found["Algebra live"]
    assert algebra.decoded("dtstart") == start and algebra.decoded("dtstart").utcoffset() == datetime.timedelta(0)
    assert algebra.decoded("dtend") == start + datetime.timedelta(minutes=50)
    page = f"/live/{algebra_id}"  # the page shows the link when it is time; the feed never carries it
    assert page in str(algebra["description"]) and str(algebra["url"]).endswith(page)
    assert "meet.jit.si" not in response.text
    assert re.search(rb"DTSTART:\d{8}T\d{6}Z", response.content)  # written in UTC
    assert str(found["Called off"]["status"]) == "CANCELLED"
    assert found["Due: Chemistry"].decoded("dtstart") == course_due
    assert found["Due: Lesson 2 (Chemistry)"].decoded("dtstart") == essay_due

    async with signed_in(s.parent) as client:  # a parent: their child's, labelled with the child's name
        parent_token = await new_feed(client)
    async with browser(s.tenant) as anonymous:
        found = events((await anonymous.get(f"/calendar/{parent_token}.ics")).content)
    assert "Lena Learner: Due: Chemistry" in found and "Lena Learner: Due: Lesson 2 (Chemistry)" in found
    assert "Algebra live" in found and "Called off" in found and "Staff only" not in found
    async with signed_in(s.unlinked_parent) as client:
        lonely = await new_feed(client)
    async with browser(s.tenant) as anonymous:
        assert events((await anonymous.get(f"/calendar/{lonely}.ics")).content) == {}


async def test_new_link_revokes_the_old_and_turning_off_revokes_all(engine, new_org, make_user, signed_in, browser):
    s = await build_school(engine, new_org, make_user, "livt")
    async with signed_in(s.learner) as client:
        first = await new_feed(client)
        page = await client.get("/calendar")
        assert first not in page.text  # shown once, never again
        second = await new_feed(client)
        assert second != first
        async with tenant_session(engine, s.tenant) as session:
            stored = await feed.status(session, s.learner.id)
            assert stored.token_hash == feed.token_hash(second) and second not in stored.token_hash
        async with browser(s.tenant) as anonymous:
            assert (await anonymous.get(f"/calendar/{first}.ics")).status_code == 404
            assert (await anonymous.get(f"/calendar/{second}.ics")).status_code == 200
            assert (await anonymous.get(f"/calendar/{second}")).status_code == 404  # .ics or nothing
            assert (await anonymous.get("/calendar/nonsense.ics")).status_code == 404
        assert (await post_form(client, "/calendar/revoke")).status_code == 303
        async with browser(s.tenant) as anonymous:
            assert (await anonymous.get(f"/calendar/{second}.ics")).status_code == 404
    actions = [e.action for e in await audit_entries(engine, s.tenant) if e.action.startswith("calendar.")]
    assert sorted(actions) == ["calendar.feed.created", "calendar.feed.replaced", "calendar.feed.revoked"]
    async with browser(s.tenant) as anonymous:  # the settings page needs a session, the feed does not
        assert (await anonymous.get("/calendar")).status_code in (303, 401)


async def test_a_token_never_works_on_another_organizations_host(engine, new_org, make_user, signed_in, browser):
    s = await build_school(engine, new_org, make_user, "livh")
    other = await new_org("livi")
    async with signed_in(s.learner) as client:
        token = await new_feed(client)
    async with browser(other.tenant) as anonymous:
        assert (await anonymous.get(f"/calendar/{token}.ics")).status_code == 404
    async with browser(s.tenant) as anonymous:
        assert (await anonymous.get(f"/calendar/{token}.ics")).status_code == 200


async def test_the_feed_is_rate_limited(engine, new_org, make_user, signed_in, browser):
    s = await build_school(engine, new_org, make_user, "livl")
    async with signed_in(s.teacher) as client:
        token = await new_feed(client)
    async with tenant_session(engine, s.tenant) as session:
        await session.execute(update(CalendarFeed).where(CalendarFeed.user_id == s.teacher.id).values(
            window_started_at=soon(minutes=-10), window_count=feed.FETCHES_PER_WINDOW - 1))
    async with browser(s.tenant) as anonymous:
        assert (await anonymous.get(f"/calendar/{token}.ics")).status_code == 200
        limited = await anonymous.get(f"/calendar/{token}.ics")
        assert limited.status_code == 429 and 0 < int(limited.headers["retry-after"]) <= 3000
    async with tenant_session(engine, s.tenant) as session:  # an hour later it answers again
        await session.execute(update(CalendarFeed).where(CalendarFeed.user_id == s.teacher.id).values(
            window_started_at=soon(minutes=-61)))
    async with browser(s.tenant) as anonymous:
        assert (await anonymous.get(f"/calendar/{token}.ics")).status_code == 200
    async with tenant_session(engine, s.tenant) as session:  # a deactivated member's feed is gone
        from tajiconnect.domains.accounts.models import User

        await session.execute(update(User).where(User.id == s.teacher.id).values(status="deactivated"))
    async with browser(s.tenant) as anonymous:
        assert (await anonymous.get(f"/calendar/{token}.ics")).status_code == 404
