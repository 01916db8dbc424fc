"""Career pathways: the starter roles shipped as data hold together with the starter skills."""

from __future__ import annotations

import csv

from tajiconnect.domains.careers.pathways import starter_requirements, starter_roles
from tajiconnect.domains.skills.taxonomy import LANGUAGES, STARTER


def test_the_starter_roles_hold_together():
    with (STARTER / "skills.csv").open(encoding="utf-8", newline="") as f:
        skills = {row["code"] for row in csv.DictReader(f)}
    roles = {r.code for r in starter_roles("en")}
    pairs = starter_requirements()
    assert len(roles) >= 25
    assert {p[0] for p in pairs} == roles  # every role requires skills
    assert {p[1] for p in pairs} <= skills
    assert len({(p[0], p[1]) for p in pairs}) == len(pairs)
    assert all(p[2] in range(1, 6) for p in pairs)
    for language in LANGUAGES:  # every name in every language, unique, short, described
        found = starter_roles(language)
        assert [r.code for r in found] == [r.code for r in starter_roles("en")]
        assert all(0 < len(r.name) <= 60 and r.description for r in found), language
        assert len({r.name.lower() for r in found}) == len(found), language
    assert starter_roles("xx") == starter_roles("en")
