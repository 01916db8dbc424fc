"""The catalog: full-text search per course language (English and French stemming, Kiswahili as written), prefix
fallback and type-ahead, filters, visibility, ratings."""

from __future__ import annotations

import re

import pytest

from tests.integration.learning.conftest import db, make_course


def titles(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/courses/[^"]+">([^<]+)</a></h2>', html)


@pytest.fixture
async def shelf(engine, company):
    t = company.tenant
    await make_course(engine, t, "Programming for beginners", summary="Write your first programs", language="en",
                      category="Technology", tags=["python"], level="beginner", rating_count=2, rating_sum=9)
    await make_course(engine, t, "Developing leaders", summary="Lead a team", language="en", category="Management",
                      level="advanced")
    await make_course(engine, t, "Le développement personnel", summary="Les programmes de formation", language="fr",
                      category="Management", tags=["soft-skills"])
    await make_course(engine, t, "Kilimo bora", summary="Mbinu za kilimo cha kisasa", language="sw",
                      category="Agriculture")
    await make_course(engine, t, "Secret draft about programming", status="draft")
    await make_course(engine, t, "Hidden programming", visibility="hidden")
    await make_course(engine, t, "Programming for the support team", visibility="groups",
                      visible_group_ids=[company.other_team_id])
    return company


async def test_search_stems_in_each_course_language(signed_in, shelf):
    async with signed_in(shelf.learners[0]) as client:
        async def find(**params):
            response = await client.get("/courses", params=params)
            assert response.status_code == 200
            return response.text

        # English stemming: "program" finds "programs"/"Programming"; drafts, hidden and other groups' courses never.
        assert titles(await find(q="program")) == ["Programming for beginners"]
        assert titles(await find(q="developed")) == ["Developing leaders"]
        # French stemming: "développer" matches "développement"; "programme" matches "programmes".
        assert titles(await find(q="développer")) == ["Le développement personnel"]
        assert titles(await find(q="programme")) == ["Le développement personnel"]
        # Kiswahili (simple): words as written; a partial word falls back to the prefix match.
        assert titles(await find(q="kilimo")) == ["Kilimo bora"]
        page = await find(q="kili")
        assert titles(page) == ["Kilimo bora"] and "No exact match" in page
        assert titles(await find(q="-beginners program")) == []
        assert "No course matches." in await find(q="zzzz")


async def _join(session, group_id, user_id):
    from tajiconnect.domains.groups.models import GroupMembership

    session.add(GroupMembership(group_id=group_id, user_id=user_id, role="member"))


async def test_filters_rating_and_type_ahead(signed_in, engine, shelf):
    async with signed_in(shelf.learners[0]) as client:
        page = await client.get("/courses")
        assert titles(page.text) == [
            "Developing leaders", "Kilimo bora", "Le développement personnel", "Programming for beginners",
        ]
        assert "Rated 4.5 of 5 (2)" in page.text
        assert 'value="Agriculture"' in page.text and 'value="soft-skills"' in page.text
        assert titles((await client.get("/courses", params={"category": "Management"})).text) == [
            "Developing leaders", "Le développement personnel",
        ]
        assert titles((await client.get("/courses", params={"level": "advanced"})).text) == ["Developing leaders"]
        assert titles((await client.get("/courses", params={"language": "fr"})).text) == [
            "Le développement personnel"
        ]
        assert titles((await client.get("/courses", params={"tag": "Python"})).text) == ["Programming for beginners"]
        fragment = await client.get("/courses", params={"q": "lead"}, headers={"HX-Request": "true",
                                                                                "HX-Target": "catalog-results"})
        assert "<html" not in fragment.text and titles(fragment.text) == ["Developing leaders"]
        suggest = await client.get("/courses/suggest", params={"q": "progr"})
        assert "Programming for beginners" in suggest.text and "Hidden" not in suggest.text
        assert "Secret" not in suggest.text
        assert (await client.get("/courses/suggest", params={"q": "k"})).text.strip() == ""
        assert (await client.get("/courses", params={"page": "0"})).status_code == 400
    # A member of the support team finds the course made visible to it; nobody else does (above).
    supporter = shelf.outsider
    await db(engine, shelf.tenant, lambda s: _join(s, shelf.other_team_id, supporter.id))
    async with signed_in(supporter) as client:
        assert "Programming for the support team" in (await client.get("/courses", params={"q": "programming"})).text
    async with signed_in(shelf.admin) as client:
        page = await client.get("/courses", params={"q": "programming"})
        assert "Programming for the support team" in page.text  # admins find every published course
