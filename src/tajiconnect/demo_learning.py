"""The demo's courses, learning path, progress and reviews, from ``tenants/demo/learning.toml``.

Made once, through the same services people use (the course builder's, the storage service, assignments, lesson
completion), so the demo shows what the product really makes: rendered and sanitized lessons, media in storage
(the PDF's pages are rendered by the worker), enrollments from a class's assignment, completions in the outbox,
streaks from lessons completed on earlier days. When the tenant already has a course, nothing is changed.
"""

from __future__ import annotations

import datetime
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.audit.service import Acting, Actor
from tajiconnect.domains.courses import service as courses
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments import service as enrollments
from tajiconnect.domains.groups.models import Group
from tajiconnect.domains.paths import service as paths
from tajiconnect.domains.progress import service as progress
from tajiconnect.domains.storage.service import Storage
from tajiconnect.tenancy.branding import TENANTS_DIR

DEMO_ACTOR = Actor(email="demo-setup")


def learning_definition(slug: str, tenants_dir: Path = TENANTS_DIR) -> dict[str, Any]:
    path = tenants_dir / slug / "learning.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


async def seed_learning(
    session: AsyncSession, storage: Storage, spec: dict[str, Any], people: dict[str, User], media_dir: Path,
    *, now: datetime.datetime | None = None,
) -> bool:
    """Create the demo's learning content in the tenant in scope; False when it already has courses."""
    if not spec or await session.scalar(select(func.count()).select_from(Course)):
        return False
    now = now or datetime.datetime.now(datetime.UTC)
    course_ids: dict[str, Any] = {}
    lessons: dict[str, list[Any]] = {}
    for entry in spec.get("courses", []):
        owner = people[entry["owner"]]
        acting = Acting(owner, DEMO_ACTOR)
        course = await courses.create_course(
            session, acting, title=entry["title"], summary=entry.get("summary", ""),
            description=entry.get("description", "").strip(), category=entry.get("category"),
            tags=entry.get("tags", []), level=entry.get("level", "beginner"), language=entry.get("language", "en"),
            estimated_minutes=entry.get("estimated_minutes"),
        )
        course_ids[entry["key"]], lessons[entry["key"]] = course.id, []
        for module_entry in entry.get("modules", []):
            module = await courses.add_module(session, acting, course.id, title=module_entry["title"])
            for item in module_entry.get("lessons", []):
                fields: dict[str, Any] = {"body": item.get("body", "").strip(),
                                          "estimated_minutes": item.get("minutes")}
                if "url" in item:
                    fields["url"] = item["url"]
                if "file" in item:
                    data = (media_dir / item["file"]).read_bytes()
                    stored = await storage.save(session, data, filename=item["file"], purpose=item["kind"],
                                                user=owner)
                    fields["file_id"] = stored.id
                    fields["allow_download"] = bool(item.get("allow_download", False))
                lesson = await courses.add_lesson(session, acting, module.id, kind=item["kind"], title=item["title"],
                                                  **fields)
                lessons[entry["key"]].append(lesson.id)
        await courses.set_status(session, acting, course.id, "publish")

    for entry in spec.get("paths", []):
        owner = people[entry["owner"]]
        acting = Acting(owner, DEMO_ACTOR)
        path = await paths.create_path(session, acting, title=entry["title"], summary=entry.get("summary"))
        await paths.set_stages(session, acting, path.id, [
            paths.StageInput(title=stage["title"], course_ids=[course_ids[key] for key in stage["courses"]])
            for stage in entry.get("stages", [])
        ])
        await paths.publish(session, acting, path.id)
        groups = (await session.scalars(select(Group).where(Group.name.in_(entry.get("assign_to_groups", []))))).all()
        due = now + datetime.timedelta(days=int(entry.get("due_in_days", 30)))
        await enrollments.assign(session, acting, path_id=path.id, group_ids=[g.id for g in groups], due_at=due)

    # Progress: lessons completed over the last days (so streaks are real), oldest first.
    for entry in spec.get("progress", []):
        learner = people[entry["learner"]]
        days = max(1, int(entry.get("streak_days", 1)))
        done = [
            lesson_id
            for key, positions in entry.get("completed", {}).items()
            for index, lesson_id in enumerate(lessons[key], 1)
            if positions == "all" or index in positions
        ]
        for n, lesson_id in enumerate(done):
            day = days - 1 - min(n, days - 1)  # spread over the streak's days, the last ones today
            await progress.complete_lesson(session, learner, lesson_id, now=now - datetime.timedelta(days=day))

    for entry in spec.get("reviews", []):
        learner = people[entry["learner"]]
        await courses.save_review(session, Acting(learner, DEMO_ACTOR), course_ids[entry["course"]],
                                  rating=entry["rating"], body=entry.get("body", ""))
    return True
