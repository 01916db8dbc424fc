"""The demo tenant gets grade levels and classes, its teacher leading a class of its learners; re-seeding adds
nothing twice."""

from __future__ import annotations

from sqlalchemy import func, select

from tajiconnect.demo import DEMO_SLUG, seed_demo
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.groups import service
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.tenancy.service import load_tenant
from tests.integration.groups.conftest import tenant_session


async def test_demo_groups_are_seeded_once(engine):
    await seed_demo(engine)
    await seed_demo(engine)
    tenant = await load_tenant(engine, DEMO_SLUG)
    async with tenant_session(engine, tenant) as session:
        groups = {g.name: g for g in (await session.scalars(select(Group))).all()}
        count = await session.scalar(select(func.count()).select_from(GroupMembership))
        teacher = await session.scalar(select(User).where(User.email == "teacher@demo.tajiconnect.test"))
        led = [n.group.name for n in await service.visible_groups(session, teacher)]
        east = await service.get_group(session, teacher, groups["7 East"].id)
        rows, total = await service.list_members(session, east, role="member")
    assert {"Grade 7", "7 East", "7 West", "Grade 8", "8 North"} <= set(groups)
    assert (groups["Grade 7"].kind, groups["7 East"].kind, groups["7 East"].parent_id) == (
        "grade", "class", groups["Grade 7"].id
    )
    assert count == 5  # 2 leaders and 3 learners, once each
    assert led == ["7 East"]
    assert total == 2 and {r.user.email for r in rows} == {
        "student@demo.tajiconnect.test", "student2@demo.tajiconnect.test"
    }
