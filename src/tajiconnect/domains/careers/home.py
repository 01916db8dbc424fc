"""The learner's career home (``/career``): how complete their résumé is, the career pathways they are closest
to, the next course or path that closes the biggest gap of the closest role not met yet, the jobs that match them
best (when their organization's board is open) and their applications with their steps.

A fixed number of statements whatever the organization's size: the pathways' matches in one, the gap of one role,
the best of the newest :data:`JOBS_CONSIDERED` offered jobs scored in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.careers import analysis, pathways
from tajiconnect.domains.careers.models import CareerPathway, PathwaySkill
from tajiconnect.domains.jobs import applications, board, matching
from tajiconnect.domains.resumes import service as resumes

TOP = 3
JOBS_CONSIDERED = 200


@dataclass
class CareerHome:
    completeness: int
    pathways: list[tuple[CareerPathway, int]] = field(default_factory=list)
    next_step: analysis.OfferView | None = None
    next_for: CareerPathway | None = None
    jobs_open: bool = False
    jobs: list[tuple[board.Listed, int]] = field(default_factory=list)  # with the match in percent
    applications: list[applications.Mine] = field(default_factory=list)


async def load(session: AsyncSession, user: Any) -> CareerHome:
    found = await resumes.content(session, await resumes.mine(session, user), user)
    home = CareerHome(completeness=resumes.completeness(found))
    await pathways.ensure_starter(session)
    roles = list((await session.scalars(select(CareerPathway).where(  # roles that require something
        CareerPathway.archived_at.is_(None), CareerPathway.id.in_(select(PathwaySkill.pathway_id))))).all())
    shares = await analysis.matches(session, user.id, [r.id for r in roles])
    ranked = sorted(roles, key=lambda r: (-shares.get(r.id, 0), r.name.lower()))
    home.pathways = [(r, shares.get(r.id, 0)) for r in ranked[:TOP]]
    closest = next((r for r in ranked if 0 < shares.get(r.id, 0) < 100), None)
    if closest is not None:
        gap = await analysis.analyse(session, closest, user)
        if gap.offers:
            home.next_step, home.next_for = gap.offers[0], closest
    home.jobs_open = await board.allowed(session)
    if home.jobs_open:
        have = await matching.levels_of(session, user.id)
        home.jobs = await board.best_matches(session, have, limit=TOP, considered=JOBS_CONSIDERED)
        home.applications = (await applications.mine(session, user, per_page=5))[0]
    return home
