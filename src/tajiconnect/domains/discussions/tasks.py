"""Telling people about a new post (queue ``notifications``).

``notify_new_post(post_id)`` is deferred through the outbox in the post's own transaction. It notifies, with the
category ``discussion``, each active member who still may read the course's discussions and either follows the
thread (an active subscription) or is mentioned in the post, never the author; one notification per post and
recipient (key ``discussion:post:<post id>``, ``notify()``'s ``ON CONFLICT DO NOTHING``), so a rerun or a member
both mentioned and subscribed is notified once. A post or thread hidden before the job runs notifies nobody.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.discussions.access import reader_filter
from tajiconnect.domains.discussions.models import DiscussionPost, DiscussionSubscription, DiscussionThread
from tajiconnect.domains.notifications.service import notify
from tajiconnect.i18n import N_
from tajiconnect.tasks.base import TaskPolicy, tenant_task

NOTIFY_POLICY = TaskPolicy(queue="notifications", timeout=300)


@tenant_task(policy=NOTIFY_POLICY)
async def notify_new_post(ctx: dict[str, Any], *, post_id: str) -> dict[str, Any]:
    key = parse_uuid(post_id)
    async with session_scope(ctx["engine"]) as session:
        row = None if key is None else (await session.execute(
            select(DiscussionPost, DiscussionThread, Course)
            .join(DiscussionThread, DiscussionThread.id == DiscussionPost.thread_id)
            .join(Course, Course.id == DiscussionThread.course_id)
            .where(DiscussionPost.id == key))).one_or_none()
        if row is None:
            return {"skipped": "no such post"}
        post, thread, course = row
        if post.hidden_at is not None or thread.hidden_at is not None:
            return {"skipped": "hidden"}
        author = await session.get(User, post.author_id) if post.author_id else None
        subscribed = select(DiscussionSubscription.user_id).where(
            DiscussionSubscription.thread_id == thread.id, DiscussionSubscription.active)
        conditions = [User.id.in_(subscribed)]
        if post.mentioned_ids:
            conditions.append(User.id.in_(post.mentioned_ids))
        recipients = (await session.scalars(select(User).where(
            or_(*conditions), reader_filter(course), User.id != post.author_id).order_by(User.id))).all()
        link = f"/courses/{course.id}/discussions/{thread.id}#post-{post.id}"
        params = {"name": author.name if author else "?", "title": thread.title, "course": course.title}
        sent = 0
        for user in recipients:
            if user.id in (post.mentioned_ids or []):
                title = N_("%(name)s mentioned you in %(title)s")
            elif post.is_opening:
                continue  # a new thread tells only those it mentions
            else:
                title = N_("%(name)s replied in %(title)s")
            created = await notify(session, user, "discussion", key=f"discussion:post:{post.id}", title=title,
                                   body=N_("In the course %(course)s."), params=params, link=link,
                                   data={"thread_id": str(thread.id), "post_id": str(post.id)})
            sent += created is not None
    return {"notified": sent}
