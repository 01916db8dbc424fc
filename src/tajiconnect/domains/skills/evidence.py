"""Recording skill evidence, exactly once, from what learners completed and passed.

:func:`record` is one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` over three sources, for some learners
(``user_ids``) or for one declaration (``target_id``, when a course, assessment or path starts building a skill,
its past completions and grades count too):

* a completed course (``learning_completions.course_id``) whose course builds the skill: level as declared;
* a completed learning path (``learning_completions.path_id``), the same;
* a released grade of an assessment that builds the skill, when it passes by the grader's rule
  (``grading.records.passes``: at least the assessment's passing percent; any grade when it sets none): level as
  declared, with the grade in percent.

The unique key (learner, skill, source kind, source id) makes a rerun, a retried job or two workers record each
piece of evidence once (a regraded pass updates its percent). An archived skill gathers no new evidence. Evidence
stays when a course is later changed: it says what was shown, and when; a grade regraded below the pass mark
takes its evidence away (:func:`forget_assessment`), since it was not shown after all.

Completions and releases defer :func:`tajiconnect.domains.skills.tasks.record_skill_evidence` through the outbox
in their own transactions (:func:`defer_for`), so the evidence follows exactly the facts that were committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.skills.models import SkillEvidence, SkillTarget

_SOURCES = """
    SELECT lc.user_id, t.skill_id, t.level, 'course' AS source, lc.course_id AS source_id, lc.course_id,
           NULL::numeric AS grade_percent, lc.completed_at AS evidenced_at, t.id AS target_id
    FROM learning_completions lc JOIN skill_targets t ON t.course_id = lc.course_id
    UNION ALL
    SELECT lc.user_id, t.skill_id, t.level, 'path', lc.path_id, NULL, NULL, lc.completed_at, t.id
    FROM learning_completions lc JOIN skill_targets t ON t.path_id = lc.path_id
    UNION ALL
    SELECT g.user_id, t.skill_id, t.level, 'assessment', g.assessment_id, g.course_id,
           CASE WHEN g.max_points > 0 THEN round(g.score * 100 / g.max_points, 2) END, g.released_at, t.id
    FROM grades g
    JOIN assessments a ON a.id = g.assessment_id
    JOIN skill_targets t ON t.assessment_id = g.assessment_id
    WHERE g.status = 'released' AND g.score IS NOT NULL AND g.released_at IS NOT NULL
      AND (a.passing_percent IS NULL OR g.max_points <= 0 OR g.score * 100 >= a.passing_percent * g.max_points)
"""

_RECORD = """
    INSERT INTO skill_evidence (id, user_id, skill_id, level, source, source_id, course_id, grade_percent,
                                evidenced_at, created_at, updated_at)
    SELECT gen_random_uuid(), e.user_id, e.skill_id, e.level, e.source, e.source_id, e.course_id, e.grade_percent,
           e.evidenced_at, now(), now()
    FROM ({sources}) AS e
    JOIN skills s ON s.id = e.skill_id AND s.archived_at IS NULL
    WHERE {where}
    ON CONFLICT (user_id, skill_id, source, source_id) DO UPDATE SET grade_percent = EXCLUDED.grade_percent
        WHERE skill_evidence.grade_percent IS DISTINCT FROM EXCLUDED.grade_percent
    RETURNING user_id, skill_id
"""


async def record(session: AsyncSession, *, user_ids: Iterable[uuid.UUID] | None = None,
                 target_id: uuid.UUID | None = None) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Record the evidence not recorded yet, for ``user_ids`` or for the declaration ``target_id`` (one of the
    two); the (learner, skill) pairs it added."""
    params: dict[str, Any] = {}
    if target_id is not None:
        where, params["target"] = "e.target_id = :target", target_id
    elif user_ids is not None:
        where, params["users"] = "e.user_id = ANY(:users)", list(user_ids)
        if not params["users"]:
            return []
    else:
        raise ValueError("record() needs user_ids or target_id")
    rows = await session.execute(text(_RECORD.format(sources=_SOURCES, where=where)), params)
    return [(user_id, skill_id) for user_id, skill_id in rows.all()]


async def forget_assessment(session: AsyncSession, assessment_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> int:
    """Remove what an assessment evidenced for learners whose grade no longer passes (a regrade corrected it)."""
    ids = list(user_ids)
    if not ids:
        return 0
    result = await session.execute(delete(SkillEvidence).where(
        SkillEvidence.source == "assessment", SkillEvidence.source_id == assessment_id,
        SkillEvidence.user_id.in_(ids)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def builds_skills(session: AsyncSession, *, course_id: uuid.UUID | None = None,
                        assessment_id: uuid.UUID | None = None, path_id: uuid.UUID | None = None) -> bool:
    """Whether the course, assessment or path builds any skill (no evidence job otherwise)."""
    column, value = ((SkillTarget.course_id, course_id) if course_id is not None else
                     (SkillTarget.assessment_id, assessment_id) if assessment_id is not None else
                     (SkillTarget.path_id, path_id))
    return bool(await session.scalar(select(select(SkillTarget.id).where(column == value).exists())))


async def defer_for(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> None:
    """Defer the evidence of ``user_ids`` in the caller's transaction (see the module)."""
    from tajiconnect.domains.skills.tasks import record_skill_evidence
    from tajiconnect.tasks.outbox import defer

    ids = sorted({str(u) for u in user_ids})
    if ids:
        await defer(session, record_skill_evidence, user_ids=ids)
