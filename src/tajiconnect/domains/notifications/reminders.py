"""Due-soon and overdue reminders (the hourly ``remind_due_work`` task).

For each quiz or assignment with a due date, each learner actively enrolled in its course who has not submitted
it is told once that it is due within 24 hours (``due_soon:<assessment id>``) and once that it is overdue
(``overdue:<assessment id>``), the keys making repeats (every hour, a retried task) notify nobody twice. Work
overdue by more than :data:`OVERDUE_WINDOW` is not reminded of any more (a learner enrolled long after is not told
about last term's homework).
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.assessments.models import Assessment, Attempt, Submission
from tajiconnect.domains.courses.models import Lesson
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.notifications.service import notify
from tajiconnect.i18n import N_

DUE_SOON = datetime.timedelta(hours=24)
OVERDUE_WINDOW = datetime.timedelta(days=7)


def _link(assessment: Assessment) -> str:
    return f"/learn/{'quizzes' if assessment.kind == 'quiz' else 'assignments'}/{assessment.lesson_id}"


async def remind(session: AsyncSession, now: datetime.datetime) -> dict[str, int]:
    submitted_quiz = exists().where(Attempt.assessment_id == Assessment.id, Attempt.user_id == User.id,
                                    Attempt.status.in_(("submitted", "graded")))
    submitted_work = exists().where(Submission.assessment_id == Assessment.id, Submission.status == "submitted",
                                    Submission.user_id == User.id)
    rows = (await session.execute(
        select(Assessment, Lesson.title, User)
        .join(Lesson, Lesson.id == Assessment.lesson_id)
        .join(Enrollment, and_(Enrollment.course_id == Assessment.course_id, Enrollment.withdrawn_at.is_(None),
                               Enrollment.status == "active"))
        .join(User, and_(User.id == Enrollment.user_id, User.status == "active"))
        .where(Assessment.due_at.is_not(None), Assessment.due_at > now - OVERDUE_WINDOW,
               Assessment.due_at <= now + DUE_SOON)
        .where(~or_(and_(Assessment.kind == "quiz", submitted_quiz),
                    and_(Assessment.kind == "assignment", submitted_work)))
    )).tuples().all()
    counts = {"due_soon": 0, "overdue": 0}
    for assessment, title, user in rows:
        assert assessment.due_at is not None
        kind = "overdue" if assessment.due_at <= now else "due_soon"
        params: dict[str, Any] = {"title": title, "due": assessment.due_at.strftime("%Y-%m-%d %H:%M UTC")}
        if kind == "due_soon":
            message, body = N_("Due soon: %(title)s"), N_("Due %(due)s. It is not submitted yet.")
        else:
            message, body = N_("Overdue: %(title)s"), N_("It was due %(due)s and is not submitted yet.")
        created = await notify(session, user, kind, key=f"{kind}:{assessment.id}", title=message, body=body,
                               params=params, link=_link(assessment), data={"assessment_id": str(assessment.id)})
        counts[kind] += created is not None
    return counts
