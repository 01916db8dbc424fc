"""Exactly one certificate per completion however often the event or the task repeats; the PDF's text; the
notification; the hourly backstop."""

from __future__ import annotations

import datetime

from sqlalchemy import select, update

from tajiconnect.domains.certificates import tasks
from tajiconnect.domains.certificates.models import Certificate
from tajiconnect.domains.notifications.models import Notification
from tajiconnect.domains.progress.models import LearningCompletion
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.tasks.outbox import OutboxMessage
from tajiconnect.tenancy.context import tenant_context
from tests.integration.certificates.conftest import (
    certificates_of,
    complete,
    count_rows,
    dispatch,
    live_files,
    pdf_text,
)
from tests.integration.conftest import post_form
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import build_course

FRENCH = "Amélie Öztürk-Ngũgĩ"


async def test_repeated_completions_and_tasks_make_one_certificate_one_file_one_notification(
    org, make_user, engine, run_jobs, worker_storage
):
    learner = await make_user(org.tenant, ["student"], name=FRENCH)
    course = await build_course(engine, org.tenant, title="Chimie générale et minérale")
    await complete(engine, org.tenant, learner.id, course.id)
    await complete(engine, org.tenant, learner.id, course.id)  # the event repeats: no second completion, no task
    async with tenant_session(engine, org.tenant) as session:
        [completion] = (await session.scalars(
            select(LearningCompletion.id).where(LearningCompletion.user_id == learner.id))).all()
    assert await count_rows(engine, org.tenant, OutboxMessage, task="issue_certificate",
                            kwargs={"completion_id": str(completion)}) == 1
    await dispatch(engine, org.tenant, run_jobs)
    with tenant_context(org.tenant):
        for _ in range(3):  # the task runs again and again (a retry, a duplicate job, the backstop)
            again = await tasks.run_issue(engine, worker_storage, completion)
            assert again["done"] == "already"
        assert (await tasks.run_backstop(engine, worker_storage))["failed"] == 0
    [certificate] = await certificates_of(engine, org.tenant, learner.id)
    [file] = await live_files(engine, org.tenant, learner.id)
    assert certificate.file_id == file.id and file.content_type == "application/pdf"
    assert (certificate.learner_name, certificate.title, certificate.status) == (
        FRENCH, "Chimie générale et minérale", "issued")
    assert certificate.layout == "classic" and len(certificate.code) == 16
    notes = await count_rows(engine, org.tenant, Notification, user_id=learner.id,
                             key=f"certificate:{certificate.id}")
    assert notes == 1
    with tenant_context(org.tenant):
        text = pdf_text(await worker_storage.read(file))
    assert FRENCH in text and "Chimie générale et minérale" in text and certificate.code in text
    assert org.tenant.name in text and f"{org.tenant.slug}." in text  # the absolute verification URL


async def test_a_file_lost_or_never_stored_is_made_by_the_backstop(org, make_user, engine, run_jobs, worker_storage):
    learner = await make_user(org.tenant, ["student"], name="Zawadi Wanjirũ Mwangi")
    course = await build_course(engine, org.tenant, title="Hisabati ya msingi")
    async with tenant_session(engine, org.tenant) as session:  # a completion whose task never ran
        session.add(LearningCompletion(user_id=learner.id, course_id=course.id,
                                       completed_at=datetime.datetime.now(datetime.UTC)))
    with tenant_context(org.tenant):
        result = await tasks.run_backstop(engine, worker_storage)
    assert result["issued"] >= 1 and result["failed"] == 0
    [certificate] = await certificates_of(engine, org.tenant, learner.id)
    [file] = await live_files(engine, org.tenant, learner.id)
    async with tenant_session(engine, org.tenant) as session:  # the file is deleted behind our back
        await session.execute(update(StoredFile).where(StoredFile.id == file.id).values(status="deleted"))
    with tenant_context(org.tenant):
        await tasks.run_backstop(engine, worker_storage)
        [again] = await certificates_of(engine, org.tenant, learner.id)
        [renewed] = await live_files(engine, org.tenant, learner.id)
        assert again.id == certificate.id and again.code == certificate.code and again.file_id == renewed.id
        text = pdf_text(await worker_storage.read(renewed))
    assert "Zawadi Wanjirũ Mwangi" in text and "Hisabati ya msingi" in text and certificate.code in text
    assert await count_rows(engine, org.tenant, Notification, key=f"certificate:{certificate.id}") == 1


async def test_the_layout_is_the_organizations_when_issued(fresh_org, make_user, engine, run_jobs, worker_storage,
                                                         signed_in):
    async with signed_in(fresh_org.admin) as admin:
        page = await admin.get("/admin/certificates/layout")
        assert page.status_code == 200 and 'value="classic" checked' in page.text
        refused = await post_form(admin, "/admin/certificates/layout", {"layout": "baroque"})
        assert refused.status_code == 422 and 'id="e-layout"' in refused.text
        saved = await post_form(admin, "/admin/certificates/layout", {"layout": "minimal"})
        assert saved.status_code == 303
        for name in ("classic", "modern", "minimal"):
            preview = await admin.get(f"/admin/certificates/preview/{name}.pdf")
            assert preview.status_code == 200 and preview.headers["content-type"] == "application/pdf"
            assert "Amélie Öztürk-Ngũgĩ" in pdf_text(preview.content)
        assert (await admin.get("/admin/certificates/preview/baroque.pdf")).status_code == 404
    learner = await make_user(fresh_org.tenant, ["student"])
    course = await build_course(engine, fresh_org.tenant)
    await complete(engine, fresh_org.tenant, learner.id, course.id)
    await dispatch(engine, fresh_org.tenant, run_jobs)
    [certificate] = await certificates_of(engine, fresh_org.tenant, learner.id)
    assert certificate.layout == "minimal"
    assert await count_rows(engine, fresh_org.tenant, Certificate, user_id=learner.id) == 1
