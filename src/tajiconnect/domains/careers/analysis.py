"""A learner's gap against a career pathway, the learning that closes it, and a manager's team against a role.

* The levels a learner **has** are what evidence shows (completed courses and paths, passed assessments): the
  highest level per skill. Self-declared levels are shown beside them but do not close a gap.
* The **offers** are the organization's published courses the learner finds in the catalog and its published
  learning paths, that build a missing skill. A path builds what it declares and what its courses declare (the
  highest level of each skill). Their length is the course's estimate, or the sum of its lessons' estimates; a
  path's is the sum of its courses'. They are ranked by ``gap.rank`` (levels closed per hour of study), each with
  what the learner can do: continue (enrolled), enroll (open to them), ask their manager (by assignment only), or
  wait (asked already). Courses the learner completed are not offered.
* A **team** is the learners a manager follows (``enrollments.service.learner_scope``; admins: every learner): each
  member's share of the role's levels and the skills they miss (one page, those furthest from the role first), and
  per skill how many members meet it. Two statements whatever the team's size.

Who may see a learner's gap: the learner, and whoever may assign learning to them (their managers, admins).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, and_, func, literal, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.careers import gap
from tajiconnect.domains.careers.models import CareerPathway, PathwaySkill
from tajiconnect.domains.courses.access import catalog_filter
from tajiconnect.domains.courses.models import Course, Lesson
from tajiconnect.domains.enrollments.models import Enrollment, LearningRequest
from tajiconnect.domains.enrollments.service import in_learner_scope, may_assign
from tajiconnect.domains.paths.models import LearningPath, PathEnrollment, PathStage
from tajiconnect.domains.progress.models import LearningCompletion
from tajiconnect.domains.skills.models import Skill, SkillEvidence, SkillTarget

OFFERS_MAX = 10  # ranked offers shown
PER_GAP = 3  # offers shown under each gap
TEAM_PER_PAGE = 25

#: What the learner can do with an offer.
CONTINUE, ENROLL, ASK, ASKED, DONE = "continue", "enroll", "ask", "asked", "done"
RANK = {DONE: 0, CONTINUE: 1, ASKED: 2}


@dataclass
class OfferView:
    kind: str
    id: uuid.UUID
    title: str
    hours: float | None
    closed: int
    per_hour: float
    action: str
    closes: list[uuid.UUID] = field(default_factory=list)


@dataclass
class GapRow(gap.Gap):
    """A required skill with its name and what the learner declared, and the offers that close it."""

    skill_id: uuid.UUID
    name: str = ""
    category: str = ""
    archived: bool = False
    declared: int | None = None
    offers: list[OfferView] = field(default_factory=list)


@dataclass
class Analysis:
    pathway: CareerPathway
    learner_id: uuid.UUID
    rows: list[GapRow]
    share: float
    offers: list[OfferView]

    @property
    def met(self) -> bool:
        return all(r.met for r in self.rows if not r.archived)  # an archived skill is required of nobody

    @property
    def percent(self) -> int:
        return int(self.share * 100 + 0.5)


def _lesson_minutes() -> Any:
    return (select(func.sum(Lesson.estimated_minutes)).where(Lesson.course_id == Course.id)
            .correlate(Course).scalar_subquery())


def _hours(minutes: int | None) -> float | None:
    return None if not minutes else minutes / 60


def _live_skills() -> Any:
    return select(Skill.id).where(Skill.archived_at.is_(None))


def _evidenced(*where: Any) -> Any:
    """Subquery: the level evidence shows (self-declared left out) per learner and skill, among ``where``."""
    return (select(SkillEvidence.user_id, SkillEvidence.skill_id, func.max(SkillEvidence.level).label("level"))
            .where(SkillEvidence.source != "self", *where)
            .group_by(SkillEvidence.user_id, SkillEvidence.skill_id).subquery())


async def learner_for(session: AsyncSession, viewer: Any, learner_id: Any) -> Any:
    """The member whose gap ``viewer`` asks for: themself, or one they may assign learning to (else None)."""
    key = parse_uuid(learner_id)
    if key is None:
        return None
    if key == viewer.id:
        return viewer
    if not may_assign(viewer):
        return None
    return await session.scalar(select(User).where(User.id == key, in_learner_scope(viewer, User.id)))


async def _levels(session: AsyncSession, pathway_id: uuid.UUID, learner_id: uuid.UUID) -> list[GapRow]:
    evidenced = func.max(SkillEvidence.level).filter(SkillEvidence.source != "self")
    declared = func.max(SkillEvidence.level).filter(SkillEvidence.source == "self")
    rows = (await session.execute(
        select(Skill.id, Skill.name, Skill.category, Skill.archived_at.is_not(None), PathwaySkill.level,
               func.coalesce(evidenced, 0), declared)
        .join(PathwaySkill, PathwaySkill.skill_id == Skill.id)
        .outerjoin(SkillEvidence, and_(SkillEvidence.skill_id == Skill.id, SkillEvidence.user_id == learner_id))
        .where(PathwaySkill.pathway_id == pathway_id)
        .group_by(Skill.id, PathwaySkill.level)
    )).all()
    found = [GapRow(skill_id=r[0], name=r[1], category=r[2], archived=r[3], required=r[4], have=r[5],
                    declared=r[6]) for r in rows]
    return sorted(found, key=lambda g: (-g.missing, -g.required, g.name.lower(), str(g.skill_id)))


async def _course_offers(session: AsyncSession, learner: Any, missing: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Published courses the learner finds that build a missing skill: {id: (title, minutes, self_enroll,
    {skill: level})}."""
    rows = (await session.execute(
        select(Course.id, Course.title, func.coalesce(Course.estimated_minutes, _lesson_minutes()),
               Course.self_enroll, SkillTarget.skill_id, SkillTarget.level)
        .join(SkillTarget, SkillTarget.course_id == Course.id)
        .where(SkillTarget.skill_id.in_(missing), Course.status == "published", catalog_filter(learner))
    )).all()
    found: dict[uuid.UUID, Any] = {}
    for course_id, title, minutes, self_enroll, skill_id, level in rows:
        found.setdefault(course_id, (title, minutes, self_enroll, {}))[3][skill_id] = level
    return found


async def _path_offers(session: AsyncSession, missing: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Published paths that build a missing skill, themselves or through their courses: {id: (title, minutes,
    self_enroll, {skill: level})}."""
    builds_course = select(SkillTarget.course_id).where(SkillTarget.skill_id.in_(missing),
                                                        SkillTarget.course_id.is_not(None))
    courses = func.unnest(PathStage.course_ids).table_valued("course_id").render_derived()
    stage_courses = (select(PathStage.path_id, courses.c.course_id).select_from(PathStage).join(courses, true())
                     .subquery())
    candidates = select(LearningPath.id).where(LearningPath.status == "published", or_(
        LearningPath.id.in_(select(SkillTarget.path_id).where(SkillTarget.skill_id.in_(missing))),
        LearningPath.id.in_(select(stage_courses.c.path_id).where(stage_courses.c.course_id.in_(builds_course))),
    ))
    paths = (await session.execute(select(LearningPath.id, LearningPath.title, LearningPath.self_enroll)
                                   .where(LearningPath.id.in_(candidates)))).all()
    if not paths:
        return {}
    ids = [p[0] for p in paths]
    found: dict[uuid.UUID, Any] = {p[0]: (p[1], 0, p[2], {}) for p in paths}
    minutes: dict[uuid.UUID, int] = defaultdict(int)
    builds: dict[uuid.UUID, dict[uuid.UUID, int]] = defaultdict(dict)
    in_path = (select(stage_courses.c.path_id, stage_courses.c.course_id)
               .where(stage_courses.c.path_id.in_(ids)).distinct().subquery())
    course_rows = (await session.execute(
        select(in_path.c.path_id, Course.id, func.coalesce(Course.estimated_minutes, _lesson_minutes()),
               SkillTarget.skill_id, SkillTarget.level)
        .join(Course, Course.id == in_path.c.course_id)
        .outerjoin(SkillTarget, and_(SkillTarget.course_id == Course.id, SkillTarget.skill_id.in_(missing)))
    )).all()
    counted: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for path_id, course_id, course_minutes, skill_id, level in course_rows:
        if (path_id, course_id) not in counted:
            counted.add((path_id, course_id))
            minutes[path_id] += course_minutes or 0
        if skill_id is not None:
            builds[path_id][skill_id] = max(level, builds[path_id].get(skill_id, 0))
    own = (await session.execute(select(SkillTarget.path_id, SkillTarget.skill_id, SkillTarget.level)
                                 .where(SkillTarget.path_id.in_(ids), SkillTarget.skill_id.in_(missing)))).all()
    for path_id, skill_id, level in own:
        builds[path_id][skill_id] = max(level, builds[path_id].get(skill_id, 0))
    return {pid: (title, minutes[pid], self_enroll, builds[pid]) for pid, (title, _m, self_enroll, _b) in found.items()}


async def _standing(session: AsyncSession, learner_id: uuid.UUID, course_ids: list[uuid.UUID],
                    path_ids: list[uuid.UUID]) -> dict[tuple[str, uuid.UUID], str]:
    """What the learner already did or does with each offer: completed it ("done", from ``learning_completions``,
    whatever became of the enrollment since), enrolled ("continue") or asked for it (one statement)."""
    kinds = (("course", Enrollment, Enrollment.course_id, LearningCompletion.course_id, LearningRequest.course_id,
              course_ids),
             ("path", PathEnrollment, PathEnrollment.path_id, LearningCompletion.path_id, LearningRequest.path_id,
              path_ids))
    parts: list[Any] = []
    for kind, enrolled, enrolled_id, completed_id, asked_id, ids in kinds:
        if not ids:
            continue
        parts += [
            select(literal(kind), completed_id, literal(DONE))
            .where(LearningCompletion.user_id == learner_id, completed_id.in_(ids)),
            select(literal(kind), enrolled_id, literal(CONTINUE))
            .where(enrolled.user_id == learner_id, enrolled_id.in_(ids), enrolled.withdrawn_at.is_(None)),
            select(literal(kind), asked_id, literal(ASKED))
            .where(LearningRequest.user_id == learner_id, LearningRequest.status == "open", asked_id.in_(ids)),
        ]
    if not parts:
        return {}
    standing: dict[tuple[str, uuid.UUID], str] = {}
    for kind, thing_id, state in (await session.execute(union_all(*parts))).all():
        current = standing.get((kind, thing_id))
        if current is None or RANK[state] < RANK[current]:  # done, then enrolled, then asked
            standing[(kind, thing_id)] = state
    return standing


async def analyse(session: AsyncSession, pathway: CareerPathway, learner: Any) -> Analysis:
    """``learner``'s gap against ``pathway`` and the ranked learning that closes it (a fixed number of
    statements)."""
    rows = await _levels(session, pathway.id, learner.id)
    missing = [r.skill_id for r in rows if not r.met and not r.archived]
    courses = await _course_offers(session, learner, missing) if missing else {}
    paths = await _path_offers(session, missing) if missing else {}
    standing = await _standing(session, learner.id, list(courses), list(paths))
    offers, open_to = [], {}
    for kind, found in (("course", courses), ("path", paths)):
        for thing_id, (title, minutes, self_enroll, builds) in found.items():
            state = standing.get((kind, thing_id))
            if state == DONE:
                continue
            offers.append(gap.Offer(kind, thing_id, title, _hours(minutes), builds))
            open_to[(kind, thing_id)] = state or (ENROLL if self_enroll else ASK)
    found_gaps: list[gap.Gap] = [r for r in rows if not r.archived]
    ranked = gap.rank(offers, found_gaps)
    views = [OfferView(r.offer.kind, r.offer.id, r.offer.title, r.offer.hours, r.closed, r.per_hour,
                       open_to[(r.offer.kind, r.offer.id)],
                       [g.skill_id for g in found_gaps if not g.met and r.offer.builds.get(g.skill_id, 0) > g.have])
                 for r in ranked]
    for row in rows:
        row.offers = [v for v in views if row.skill_id in v.closes][:PER_GAP]
    return Analysis(pathway, learner.id, rows, gap.met_share(found_gaps), views[:OFFERS_MAX])


async def matches(session: AsyncSession, learner_id: uuid.UUID,
                  pathway_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How much of each role ``learner_id`` has, in percent of its required levels (one statement); archived skills
    are required of nobody, and a role requiring nothing is 100."""
    if not pathway_ids:
        return {}
    evidence = _evidenced(SkillEvidence.user_id == learner_id)
    have = func.sum(func.least(func.coalesce(evidence.c.level, 0), PathwaySkill.level))
    rows = (await session.execute(
        select(PathwaySkill.pathway_id, have, func.sum(PathwaySkill.level))
        .outerjoin(evidence, evidence.c.skill_id == PathwaySkill.skill_id)
        .where(PathwaySkill.pathway_id.in_(pathway_ids), PathwaySkill.skill_id.in_(_live_skills()))
        .group_by(PathwaySkill.pathway_id))).all()
    found = {pid: int(int(got) * 100 / int(need) + 0.5) if need else 100 for pid, got, need in rows}
    return {pid: found.get(pid, 100) for pid in pathway_ids}


# --- a manager's team ---------------------------------------------------------------------------------------------


@dataclass
class MemberGap:
    user_id: uuid.UUID
    name: str
    email: str
    have: int
    need: int
    missing: int

    @property
    def percent(self) -> int:
        return 100 if not self.need else int(self.have * 100 / self.need + 0.5)


@dataclass
class SkillCoverage:
    skill_id: uuid.UUID
    name: str
    level: int
    meeting: int


@dataclass
class TeamGap:
    members: list[MemberGap]
    total: int
    skills: list[SkillCoverage]


def _team(viewer: Any) -> Any:
    return select(User.id).where(User.status == "active", User.roles.contains(["student"]),
                                 in_learner_scope(viewer, User.id))


async def team_gap(session: AsyncSession, viewer: Any, pathway_id: uuid.UUID, *, page: int = 1,
                   per_page: int = TEAM_PER_PAGE) -> TeamGap:
    """The team of ``viewer`` against a role (see the module): two statements."""
    team = _team(viewer).subquery()
    evidence = _evidenced(SkillEvidence.user_id.in_(select(team.c.id)), SkillEvidence.skill_id.in_(
        select(PathwaySkill.skill_id).where(PathwaySkill.pathway_id == pathway_id)))
    had = func.coalesce(evidence.c.level, 0)
    have = func.coalesce(func.sum(func.least(had, PathwaySkill.level)), 0).cast(Integer)
    need = func.coalesce(func.sum(PathwaySkill.level), 0).cast(Integer)
    missing = func.count(PathwaySkill.id).filter(had < PathwaySkill.level)
    rows = (await session.execute(
        select(User.id, User.name, User.email, have, need, missing, func.count().over())
        .join(team, team.c.id == User.id)
        .outerjoin(PathwaySkill, and_(PathwaySkill.pathway_id == pathway_id,
                                      PathwaySkill.skill_id.in_(_live_skills())))
        .outerjoin(evidence, and_(evidence.c.user_id == User.id, evidence.c.skill_id == PathwaySkill.skill_id))
        .group_by(User.id)
        .order_by((have * 1.0 / func.nullif(need, 0)).asc().nulls_last(), func.lower(User.name), User.id)
        .offset((page - 1) * per_page).limit(per_page)
    )).all()
    members = [MemberGap(r[0], r[1] or "", r[2], r[3], r[4], r[5]) for r in rows]
    meeting = func.count(evidence.c.user_id).filter(evidence.c.level >= PathwaySkill.level)
    skills = (await session.execute(
        select(Skill.id, Skill.name, PathwaySkill.level, meeting)
        .join(PathwaySkill, PathwaySkill.skill_id == Skill.id)
        .outerjoin(evidence, evidence.c.skill_id == Skill.id)
        .where(PathwaySkill.pathway_id == pathway_id, Skill.archived_at.is_(None))
        .group_by(Skill.id, PathwaySkill.level)
        .order_by(meeting.asc(), PathwaySkill.level.desc(), func.lower(Skill.name))
    )).all()
    return TeamGap(members, int(rows[0][6]) if rows else 0, [SkillCoverage(*s) for s in skills])
