"""Helpers for the résumé tests: a certificate of a completed course."""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import select

from tajiconnect.domains.certificates.models import Certificate
from tajiconnect.domains.certificates.service import new_code
from tajiconnect.domains.progress.models import LearningCompletion
from tajiconnect.domains.progress.service import _record_completion
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import build_course


async def a_certificate(engine, tenant, user_id: uuid.UUID, name: str, title: str) -> Certificate:
    course = await build_course(engine, tenant, kinds=("text",), title=title)
    moment = datetime.datetime.now(datetime.UTC)
    async with tenant_session(engine, tenant) as session:
        await _record_completion(session, user_id, moment, course_id=course.id)
        completion = await session.scalar(select(LearningCompletion.id).where(
            LearningCompletion.user_id == user_id, LearningCompletion.course_id == course.id))
        certificate = Certificate(completion_id=completion, user_id=user_id, course_id=course.id, learner_name=name,
                                  title=title, completed_at=moment, issued_at=moment, code=new_code())
        session.add(certificate)
        await session.flush()
        return certificate
