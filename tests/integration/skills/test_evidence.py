"""Skill evidence: recorded exactly once from completions and passed grades, deferred in their transactions,
counted for what happened before a declaration, never from another organization."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from sqlalchemy import func, select

from tajiconnect.domains.assessments.models import Assessment
from tajiconnect.domains.grading.models import Grade
from tajiconnect.domains.progress.service import _record_completion
from tajiconnect.domains.skills import taxonomy
from tajiconnect.domains.skills.models import Skill, SkillEvidence, SkillTarget
from tajiconnect.domains.skills.tasks import backfill_skill_target, record_skill_evidence
from tajiconnect.tasks.models import OutboxMessage
from tajiconnect.tenancy.context import tenant_context
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import build_course


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def a_skill(engine, tenant, name: str | None = None) -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        skill = Skill(name=name or f"Skill {uuid.uuid4().hex[:6]}", category="Test")
        session.add(skill)
        await session.flush()
        return skill.id


async def declare(engine, tenant, skill_id, level: int, **thing) -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        target = SkillTarget(skill_id=skill_id, level=level, **thing)
        session.add(target)
        await session.flush()
        return target.id


async def evidence_of(engine, tenant, user_id) -> list[tuple[uuid.UUID, str, int, Decimal | None]]:
    async with tenant_session(engine, tenant) as session:
        rows = await session.execute(select(SkillEvidence.skill_id, SkillEvidence.source, SkillEvidence.level,
                                            SkillEvidence.grade_percent)
                                     .where(SkillEvidence.user_id == user_id).order_by(SkillEvidence.source))
        return [tuple(r) for r in rows.all()]


async def a_quiz(engine, tenant, passing_percent: int = 50):
    """A course with one lesson and its quiz; (the course, the quiz's id)."""
    course = await build_course(engine, tenant, kinds=("text",))
    async with tenant_session(engine, tenant) as session:
        quiz = Assessment(course_id=course.id, lesson_id=course.lessons[0], kind="quiz",
                          passing_percent=passing_percent)
        session.add(quiz)
        await session.flush()
        return course, quiz.id


async def a_grade(engine, tenant, assessment_id, course_id, user_id, percent: int, *, status: str = "released"
                  ) -> None:
    async with tenant_session(engine, tenant) as session:
        session.add(Grade(assessment_id=assessment_id, course_id=course_id, user_id=user_id, status=status,
                          max_points=Decimal(20), points=Decimal(percent) / 5, score=Decimal(percent) / 5,
                          released_at=now() if status == "released" else None, submitted_at=now()))


async def test_completions_and_passed_grades_become_evidence_once(engine, new_org, make_user):
    org = await new_org("skev")
    t = org.tenant
    learner, other = await make_user(t, ["student"]), await make_user(t, ["student"])
    wiring, safety, unused = [await a_skill(engine, t, n) for n in ("Wiring", "Safety", "Unused")]
    course = await build_course(engine, t, kinds=("text", "quiz"))
    async with tenant_session(engine, t) as session:
        quiz = Assessment(course_id=course.id, lesson_id=course.lessons[1], kind="quiz", passing_percent=60)
        essay = Assessment(course_id=course.id, lesson_id=course.lessons[0], kind="assignment", passing_percent=50)
        session.add_all([quiz, essay])
        await session.flush()
        quiz_id, essay_id = quiz.id, essay.id
    await declare(engine, t, wiring, 2, course_id=course.id)
    await declare(engine, t, safety, 3, assessment_id=quiz_id)
    await declare(engine, t, wiring, 3, assessment_id=essay_id)

    async with tenant_session(engine, t) as session:  # the completion defers the job in its transaction
        await _record_completion(session, learner.id, now(), course_id=course.id)
    async with tenant_session(engine, t) as session:
        tasks = (await session.scalars(select(OutboxMessage.task))).all()
    assert "record_skill_evidence" in tasks and "issue_certificate" in tasks
    await a_grade(engine, t, quiz_id, course.id, learner.id, 65)  # passed (60 % needed)
    await a_grade(engine, t, essay_id, course.id, learner.id, 45)  # not passed (50 % needed)
    await a_grade(engine, t, quiz_id, course.id, other.id, 90, status="draft")  # not released: nothing
    with tenant_context(t):
        for _ in range(3):  # a rerun, a retried job: once each
            await record_skill_evidence({"engine": engine}, user_ids=[str(learner.id), str(other.id), "junk"])
    found = await evidence_of(engine, t, learner.id)
    assert found == [(safety, "assessment", 3, Decimal("65.00")), (wiring, "course", 2, None)]
    assert await evidence_of(engine, t, other.id) == []
    assert unused not in {row[0] for row in found}

    # The essay is regraded to a pass: its evidence comes; the course's stays single.
    async with tenant_session(engine, t) as session:
        grade = await session.scalar(select(Grade).where(Grade.assessment_id == essay_id))
        grade.score = Decimal(12)
    with tenant_context(t):
        await record_skill_evidence({"engine": engine}, user_ids=[str(learner.id)])
    assert sorted(await evidence_of(engine, t, learner.id)) == sorted([
        (safety, "assessment", 3, Decimal("65.00")), (wiring, "course", 2, None),
        (wiring, "assessment", 3, Decimal("60.00"))])


async def test_a_new_declaration_counts_what_happened_before(engine, new_org, make_user):
    org = await new_org("skbf")
    t = org.tenant
    learners = [await make_user(t, ["student"]) for _ in range(3)]
    course = await build_course(engine, t, kinds=("text",))
    for learner in learners[:2]:
        async with tenant_session(engine, t) as session:
            await _record_completion(session, learner.id, now(), course_id=course.id)
    skill = await a_skill(engine, t)
    target = await declare(engine, t, skill, 4, course_id=course.id)
    with tenant_context(t):
        assert await backfill_skill_target({"engine": engine}, target_id=str(target)) == {"recorded": 2}
        assert await backfill_skill_target({"engine": engine}, target_id=str(target)) == {"recorded": 0}
    for learner in learners[:2]:
        assert await evidence_of(engine, t, learner.id) == [(skill, "course", 4, None)]
    assert await evidence_of(engine, t, learners[2].id) == []


async def test_an_archived_skill_gathers_nothing_and_tenants_stay_apart(engine, new_org, make_user):
    org, other = await new_org("ska"), await new_org("skb")
    learner = await make_user(org.tenant, ["student"])
    course = await build_course(engine, org.tenant, kinds=("text",))
    skill = await a_skill(engine, org.tenant)
    await declare(engine, org.tenant, skill, 2, course_id=course.id)
    async with tenant_session(engine, org.tenant) as session:
        await _record_completion(session, learner.id, now(), course_id=course.id)
        (await session.get(Skill, skill)).archived_at = now()
    with tenant_context(other.tenant):  # the same learner id in another organization: nothing there
        assert await record_skill_evidence({"engine": engine}, user_ids=[str(learner.id)]) == {"recorded": 0}
    with tenant_context(org.tenant):
        assert await record_skill_evidence({"engine": engine}, user_ids=[str(learner.id)]) == {"recorded": 0}
    async with tenant_session(engine, org.tenant) as session:
        assert await session.scalar(select(func.count()).select_from(SkillEvidence)) == 0
    async with tenant_session(engine, other.tenant) as session:
        assert await session.scalar(select(func.count()).select_from(SkillEvidence)) == 0


async def test_the_starter_set_loads_once_in_the_organizations_language(engine, make_tenant):
    swahili = await make_tenant("sksw", locale="sw")
    with tenant_context(swahili):
        async with tenant_session(engine, swahili) as session:
            assert await taxonomy.ensure_starter(session) is True
            assert await taxonomy.ensure_starter(session) is False
            count = await session.scalar(select(func.count()).select_from(Skill))
            names = set((await session.scalars(select(Skill.name))).all())
    assert count == len(taxonomy.starter_set("sw")) >= 280
    assert {s.name for s in taxonomy.starter_set("sw")} == names
    assert not names & {s.name for s in taxonomy.starter_set("en")} - {s.name for s in taxonomy.starter_set("sw")}


async def test_releasing_a_passing_grade_defers_the_evidence_in_its_transaction(engine, new_org, make_user):
    from tajiconnect.domains.audit.service import SYSTEM
    from tajiconnect.domains.grading.records import release

    org = await new_org("skrl")
    t = org.tenant
    passed, failed = await make_user(t, ["student"]), await make_user(t, ["student"])
    course, quiz_id = await a_quiz(engine, t)
    await declare(engine, t, await a_skill(engine, t), 2, assessment_id=quiz_id)
    await a_grade(engine, t, quiz_id, course.id, passed.id, 80, status="draft")
    await a_grade(engine, t, quiz_id, course.id, failed.id, 20, status="draft")
    async with tenant_session(engine, t) as session:
        quiz = await session.get(Assessment, quiz_id)
        drafts = (await session.scalars(select(Grade).where(Grade.assessment_id == quiz_id))).all()
        assert await release(session, quiz, drafts, actor=SYSTEM) == 2
    async with tenant_session(engine, t) as session:
        deferred = (await session.scalars(select(OutboxMessage.kwargs).where(
            OutboxMessage.task == "record_skill_evidence"))).all()
    assert deferred == [{"user_ids": [str(passed.id)]}]  # the failed grade builds nothing


async def test_a_regrade_below_the_pass_mark_takes_the_evidence_away(engine, new_org, make_user):
    from tajiconnect.domains.audit.service import SYSTEM
    from tajiconnect.domains.grading.records import grade as regrade
    from tajiconnect.domains.skills.tasks import record_recent_evidence

    org = await new_org("skrg")
    t = org.tenant
    learner = await make_user(t, ["student"])
    course, quiz_id = await a_quiz(engine, t)
    skill = await a_skill(engine, t)
    await declare(engine, t, skill, 2, assessment_id=quiz_id)
    await a_grade(engine, t, quiz_id, course.id, learner.id, 80)
    with tenant_context(t):  # the hourly backstop finds the recent release
        assert (await record_recent_evidence({"engine": engine}))["recorded"] == 1
    assert await evidence_of(engine, t, learner.id) == [(skill, "assessment", 2, Decimal("80.00"))]
    async with tenant_session(engine, t) as session:
        quiz = await session.get(Assessment, quiz_id)
        row = await session.scalar(select(Grade).where(Grade.assessment_id == quiz_id))
        await regrade(session, quiz, row, points=Decimal(4), actor=SYSTEM, reason="Marked wrongly")  # 20 %
    assert await evidence_of(engine, t, learner.id) == []
