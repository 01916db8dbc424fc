"""The home page by role, and the teacher's home: only my classes, courses and learners; the grading queue one
click from the grader; learners at risk by each rule; the organization's setting; a fixed number of statements."""

from __future__ import annotations

import re

from sqlalchemy import update

from tajiconnect.domains.enrollments.models import Enrollment
from tests.integration.conftest import audit_entries, post_form, statements
from tests.integration.groups.conftest import tenant_session
from tests.integration.homes.conftest import DAY, course, enroll, grade, grades_over_time, group, now


def rules_of(html: str, learner_id) -> set[str] | None:
    """The rules the at-risk list shows for ``learner_id`` (None: not listed)."""
    match = re.search(rf'<tr data-learner="{learner_id}">(.*?)</tr>', html, re.S)
    return set(re.findall(r'data-rule="(\w+)"', match.group(1))) if match else None


async def test_each_role_lands_on_its_home(new_org, make_user, signed_in):
    org = await new_org("hmr", kind="school")
    t = org.tenant
    teacher, manager = await make_user(t, ["teacher"]), await make_user(t, ["manager"])
    both = await make_user(t, ["teacher", "manager"])
    admin_teacher = await make_user(t, ["org_admin", "teacher"])
    student, parent = await make_user(t, ["student"]), await make_user(t, ["parent"])
    expected = [(org.admin, "dashboard-seats"), (admin_teacher, "dashboard-seats"), (teacher, "teacher-home"),
                (both, "teacher-home"), (manager, "manager-home"), (student, "learn-courses")]
    for member, marker in expected:
        async with signed_in(member) as client:
            page = await client.get("/")
            assert page.status_code == 200, page.text
            assert f'id="{marker}"' in page.text, (member.roles, marker)
            for other in {"dashboard-seats", "teacher-home", "manager-home"} - {marker}:
                assert f'id="{other}"' not in page.text
    async with signed_in(both) as client:
        assert 'href="/home/team"' in (await client.get("/")).text
        assert (await client.get("/home/team")).status_code == 200
    async with signed_in(parent) as client:  # Part F's: a parent keeps the plain home until then
        page = await client.get("/")
        assert page.status_code == 200 and 'id="teacher-home"' not in page.text
        assert 'id="manager-home"' not in page.text
    for member, path in [(student, "/home/teaching"), (parent, "/home/team"), (teacher, "/home/team"),
                         (manager, "/home/teaching")]:
        async with signed_in(member) as client:
            assert (await client.get(path)).status_code == 403


async def test_a_teacher_sees_only_their_classes_courses_and_learners(engine, new_org, make_user, signed_in):
    org = await new_org("hmt", kind="school")
    t = org.tenant
    mine, theirs = await make_user(t, ["teacher"]), await make_user(t, ["teacher"])
    a1, a2, b1 = [await make_user(t, ["student"], name=n) for n in ("Amina Mine", "Baraka Mine", "Chausiku Other")]
    my_class = await group(engine, t, members=[a1.id, a2.id], leaders=[mine.id], name="7 East")
    await group(engine, t, members=[b1.id], leaders=[theirs.id], name="8 West")
    my_course, my_work = await course(engine, t, mine.id, "Rivers of Kenya")
    their_course, their_work = await course(engine, t, theirs.id, "Volcanoes")
    await enroll(engine, t, a1.id, my_course, progress_percent=40)
    await enroll(engine, t, a2.id, my_course, progress_percent=80)
    await enroll(engine, t, b1.id, their_course, progress_percent=10)
    waiting = await grade(engine, t, my_work, my_course, a1.id, submitted_at=now() - 3 * DAY)
    await grade(engine, t, my_work, my_course, a2.id, submitted_at=now() - DAY)
    hidden = await grade(engine, t, their_work, their_course, b1.id)
    async with tenant_session(engine, t) as session:  # everybody inactive: every learner of mine is at risk
        await session.execute(update(Enrollment).values(last_activity_at=now() - 30 * DAY))

    async with signed_in(mine) as client:
        page = (await client.get("/")).text
    assert "7 East" in page and "8 West" not in page
    assert "Rivers of Kenya" in page and "Volcanoes" not in page
    assert "average progress 60%" in page  # the class's and the course's average
    assert 'id="queue-pending">2<' in page
    assert f'href="/teach/grading/{waiting}"' in page and f"/teach/grading/{hidden}" not in page
    assert f'href="/announcements/new?group={my_class}"' in page
    assert f'href="/teach/courses/{my_course}/gradebook"' in page and f'href="/teach/progress?group={my_class}"' in page
    assert rules_of(page, a1.id) == {"inactive"} and rules_of(page, a2.id) == {"inactive"}
    assert rules_of(page, b1.id) is None and "Chausiku" not in page
    async with signed_in(mine) as client:  # one click to the grader from the home's link
        assert (await client.get(f"/teach/grading/{waiting}")).status_code == 200
        assert (await client.get(f"/teach/grading/{hidden}")).status_code == 404


async def test_learners_at_risk_by_each_rule(engine, new_org, make_user, signed_in):
    org = await new_org("hmk", kind="school")
    t = org.tenant
    teacher = await make_user(t, ["teacher"])
    idle, late, falling, fine, steady, fresh = [await make_user(t, ["student"]) for _ in range(6)]
    await group(engine, t, members=[idle.id, late.id, falling.id, fine.id, steady.id, fresh.id],
                leaders=[teacher.id])
    main, _work = await course(engine, t, teacher.id)
    overdue_course, overdue_work = await course(engine, t, teacher.id, due_at=now() - DAY)
    for learner in (idle, late, falling, fine, steady):
        await enroll(engine, t, learner.id, main, last_activity_at=now() - (10 if learner is idle else 0) * DAY)
    await enroll(engine, t, fresh.id, main)  # enrolled today, never active: not yet inactive
    await enroll(engine, t, late.id, overdue_course, last_activity_at=now())  # its quiz is overdue, not handed in
    await enroll(engine, t, fine.id, overdue_course, last_activity_at=now())
    await grade(engine, t, overdue_work, overdue_course, fine.id)  # handed in: not overdue
    await grades_over_time(engine, t, teacher.id, falling.id, [90, 85, 80, 60, 55, 50])
    await grades_over_time(engine, t, teacher.id, steady.id, [60, 70, 65, 62, 60, 58])

    async with signed_in(teacher) as client:
        page = (await client.get("/")).text
        assert 'id="risk-rules"' in page and "7 days or more" in page  # the rule explained, with the setting
        assert rules_of(page, idle.id) == {"inactive"}
        assert rules_of(page, late.id) == {"overdue"}
        assert rules_of(page, falling.id) == {"falling"}
        assert "Falling grades: 55% lately, 85% before" in page
        for learner in (fine, steady, fresh):
            assert rules_of(page, learner.id) is None
        assert f'href="/teach/progress?learner={idle.id}"' in page
        progress = await client.get(f"/teach/progress?learner={idle.id}")
        assert progress.status_code == 200 and idle.email in progress.text and late.email not in progress.text

    async with signed_in(org.admin) as client:  # the organization's N: 30 days makes 10 days idle fine
        assert (await post_form(client, "/admin/at-risk", {"days": "0"})).status_code == 422
        assert (await post_form(client, "/admin/at-risk", {"days": "9" * 30})).status_code == 422
        assert (await post_form(client, "/admin/at-risk", {"days": "30"})).status_code == 303
    [entry] = await audit_entries(engine, t, "org.at_risk.updated")
    assert entry.details == {"before": 7, "days": 30}
    async with signed_in(teacher) as client:
        page = (await client.get("/")).text
        assert rules_of(page, idle.id) is None and "30 days or more" in page
        assert (await client.get("/admin/at-risk")).status_code == 403


async def test_a_course_teacher_judges_by_their_courses_a_class_teacher_by_all(engine, new_org, make_user,
                                                                               signed_in):
    """Another teacher's course never puts a learner on a course teacher's list; a class's teacher follows all."""
    org = await new_org("hms", kind="school")
    t = org.tenant
    mine, theirs, homeroom = [await make_user(t, ["teacher"]) for _ in range(3)]
    learner = await make_user(t, ["student"])
    await group(engine, t, members=[learner.id], leaders=[homeroom.id])
    my_course, _ = await course(engine, t, mine.id)
    their_course, _ = await course(engine, t, theirs.id, due_at=now() - DAY)
    await enroll(engine, t, learner.id, my_course, last_activity_at=now())
    await enroll(engine, t, learner.id, their_course, last_activity_at=now() - 30 * DAY)  # overdue, idle there
    await grades_over_time(engine, t, theirs.id, learner.id, [90, 85, 80, 60, 55, 50])  # falling, in their courses

    async with signed_in(mine) as client:
        assert rules_of((await client.get("/")).text, learner.id) is None
    async with signed_in(theirs) as client:  # idle in their course, though active in mine
        assert rules_of((await client.get("/")).text, learner.id) == {"inactive", "overdue", "falling"}
    async with signed_in(homeroom) as client:
        assert rules_of((await client.get("/")).text, learner.id) == {"overdue", "falling"}


async def test_the_at_risk_list_pages_with_htmx(engine, new_org, make_user, signed_in):
    org = await new_org("hmp", kind="school")
    t = org.tenant
    teacher = await make_user(t, ["teacher"])
    learners = [await make_user(t, ["student"]) for _ in range(23)]
    await group(engine, t, members=[m.id for m in learners], leaders=[teacher.id])
    main, _ = await course(engine, t, teacher.id)
    for m in learners:
        await enroll(engine, t, m.id, main, last_activity_at=now() - 20 * DAY)
    async with signed_in(teacher) as client:
        first = (await client.get("/")).text
        assert first.count("<tr data-learner=") == 20 and "Page 1 of 2" in first
        second = await client.get("/?page=2", headers={"HX-Request": "true", "HX-Target": "teacher-at-risk"})
        assert second.status_code == 200 and "<html" not in second.text
        assert second.text.count("<tr data-learner=") == 3
        assert (await client.get("/?page=0")).status_code == 400
        assert (await client.get("/?page=99999999999999999999")).status_code == 400


async def test_the_teacher_home_costs_a_fixed_number_of_statements(engine, new_org, make_user, signed_in):
    org = await new_org("hms", kind="school")
    t = org.tenant
    teacher = await make_user(t, ["teacher"])

    async def grow() -> None:
        learners = [await make_user(t, ["student"]) for _ in range(3)]
        await group(engine, t, members=[m.id for m in learners], leaders=[teacher.id])
        course_id, work = await course(engine, t, teacher.id, due_at=now() - DAY)
        for m in learners:
            await enroll(engine, t, m.id, course_id, last_activity_at=now() - 9 * DAY)
            await grade(engine, t, work, course_id, m.id)

    await grow()
    async with signed_in(teacher) as client:
        small = await statements(client, "/")
    await grow()
    await grow()
    async with signed_in(teacher) as client:
        large = await statements(client, "/")
    assert large == small
    assert small <= 16, small  # 13 + open questions 1 + upcoming live classes 2 (count, rows)


async def test_another_organization_sees_nothing(engine, new_org, make_user, signed_in):
    org, other = await new_org("hmi", kind="school"), await new_org("hmj", kind="school")
    teacher = await make_user(org.tenant, ["teacher"])
    learner = await make_user(org.tenant, ["student"], name="Zawadi Secret")
    await group(engine, org.tenant, members=[learner.id], leaders=[teacher.id], name="Hidden Class")
    course_id, work = await course(engine, org.tenant, teacher.id, "Hidden Course")
    await enroll(engine, org.tenant, learner.id, course_id, last_activity_at=now() - 30 * DAY)
    waiting = await grade(engine, org.tenant, work, course_id, learner.id)
    stranger = await make_user(other.tenant, ["teacher"])
    async with signed_in(stranger) as client:
        page = (await client.get("/")).text
        assert 'id="teacher-home"' in page
        for secret in ("Hidden Class", "Hidden Course", "Zawadi", str(waiting)):
            assert secret not in page
        assert (await client.get(f"/teach/grading/{waiting}")).status_code == 404
    async with signed_in(teacher) as client:
        assert "Hidden Class" in (await client.get("/")).text


async def test_the_teachers_open_questions_and_next_live_classes(engine, new_org, make_user, signed_in):
    """Questions still waiting for an answer in my courses, and live classes I may see, soonest first; another
    teacher's course's question and a cancelled class are not listed."""
    from tajiconnect.domains.discussions.models import DiscussionThread
    from tajiconnect.domains.live.models import LiveSession

    org = await new_org("hmq", kind="school")
    t = org.tenant
    teacher, other = await make_user(t, ["teacher"]), await make_user(t, ["teacher"])
    mine, _work = await course(engine, t, teacher.id, due_at=now() + DAY)
    theirs, _other_work = await course(engine, t, other.id, due_at=now() + DAY)
    async with tenant_session(engine, t) as session:
        session.add_all([
            DiscussionThread(course_id=mine, author_id=None, kind="question", title="Why is the sky blue?",
                             last_activity_at=now()),
            DiscussionThread(course_id=theirs, author_id=None, kind="question", title="Not my course",
                             last_activity_at=now()),
            LiveSession(course_id=mine, title="Revision session", starts_at=now() + DAY,
                        meeting_url="https://meet.jit.si/revision", provider="jitsi", created_by_id=teacher.id),
            LiveSession(course_id=mine, title="Cancelled one", starts_at=now() + DAY, status="cancelled",
                        cancelled_at=now(), meeting_url="https://meet.jit.si/x", provider="jitsi"),
        ])
    async with signed_in(teacher) as client:
        page = await client.get("/")
    assert page.status_code == 200, page.text
    questions = page.text.split('id="teacher-questions"')[1].split("</section>")[0]
    assert "Why is the sky blue?" in questions and "Not my course" not in questions
    live = page.text.split('id="teacher-live"')[1].split("</section>")[0]
    assert "Revision session" in live and "Cancelled one" not in live
