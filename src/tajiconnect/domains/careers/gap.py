"""Gap analysis: a learner's skills against what a role requires, and the learning that closes the gap (pure).

* :func:`gaps`: for each skill the role requires, the level required, the level the learner has (0 without
  evidence; self-declared levels are the caller's choice to pass or not), and what is missing (never negative).
  The role is met when nothing is missing.
* :func:`closes`: how many levels of the missing ones an offer (a course or a path, with the levels of the skills it
  builds) would close: for each gap, up to the level the offer builds, never beyond the level required.
* :func:`rank`: the offers that close anything, the most levels closed per hour of study first (an offer of unknown
  or tiny length counts as :data:`MIN_HOURS`), then the most levels, the shortest, the title.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MIN_HOURS = 0.5


@dataclass
class Gap:
    skill_id: Any  # a skill's id in one organization, or a key that crosses them (jobs.matching)
    required: int
    have: int

    @property
    def missing(self) -> int:
        return max(0, self.required - self.have)

    @property
    def met(self) -> bool:
        return self.missing == 0


@dataclass(frozen=True)
class Offer:
    kind: str  # course | path
    id: uuid.UUID
    title: str
    hours: float | None
    builds: Mapping[Any, int]


@dataclass(frozen=True)
class Ranked:
    offer: Offer
    closed: int
    per_hour: float


def gaps(required: Mapping[Any, int], have: Mapping[Any, int]) -> list[Gap]:
    """Each required skill with the level had and missing, the biggest gaps first."""
    found = [Gap(skill, level, have.get(skill, 0)) for skill, level in required.items()]
    return sorted(found, key=lambda g: (-g.missing, -g.required, str(g.skill_id)))


def met_share(found: Iterable[Gap]) -> float:
    """The share of required levels the learner has (1.0: the role is met; 1.0 too when nothing is required)."""
    items = list(found)
    total = sum(g.required for g in items)
    return 1.0 if total == 0 else sum(min(g.have, g.required) for g in items) / total


def closes(offer: Offer, found: Iterable[Gap]) -> int:
    """The levels of the missing ones ``offer`` would close."""
    return sum(max(0, min(offer.builds.get(g.skill_id, 0), g.required) - g.have) for g in found if not g.met)


def rank(offers: Iterable[Offer], found: Iterable[Gap]) -> list[Ranked]:
    """The offers that close something, best value first (see the module)."""
    items = list(found)
    ranked = []
    for offer in offers:
        closed = closes(offer, items)
        if closed:
            ranked.append(Ranked(offer, closed, closed / max(offer.hours or 0, MIN_HOURS)))
    return sorted(ranked, key=lambda r: (-r.per_hour, -r.closed, r.offer.hours or 0, r.offer.title.lower(),
                                         str(r.offer.id)))
