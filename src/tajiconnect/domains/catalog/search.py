"""The course catalog: what a member finds (``courses.access.catalog_filter``), searched and filtered.

Full-text search reads ``courses.search_vector`` (built by PostgreSQL with the configuration of each course's
language, ``simple`` where there is none, e.g. Kiswahili). The query is parsed with ``websearch_to_tsquery`` in
the *same* configuration as each course it is matched against, so "programmes" finds a French course about
"programme" (French stemming) and an English one about "programming" (English stemming), and a Kiswahili query
matches words as written. Results are ranked (``ts_rank``). When nothing matches (and for type-ahead), a prefix
match (``word:*`` in ``simple``) and the title's substring take over, so "intro" finds "Introduction".
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, any_, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.courses.access import catalog_filter, enrolled_filter
from tajiconnect.domains.courses.models import SEARCH_CONFIGS, Course, search_config_sql

QUERY_MAX = 200
SUGGESTIONS = 8
_WORD = re.compile(r"\w+", re.UNICODE)


def _config(name: str) -> Any:
    assert re.fullmatch(r"[a-z]+", name)  # a constant of this module, never user input
    return literal_column(f"'{name}'::regconfig")


def text_match(q: str) -> ColumnElement[bool]:
    """``q`` (web search syntax: words, "phrases", -not, or) against each course in its own language's
    configuration. One branch per configuration, each usable with the GIN index."""
    branches = [
        and_(Course.language == code, Course.search_vector.op("@@")(func.websearch_to_tsquery(_config(config), q)))
        for code, config in SEARCH_CONFIGS.items()
    ]
    branches.append(
        and_(
            Course.language.not_in(list(SEARCH_CONFIGS)),
            Course.search_vector.op("@@")(func.websearch_to_tsquery(_config("simple"), q)),
        )
    )
    return or_(*branches)


def rank(q: str) -> Any:
    return func.ts_rank(
        Course.search_vector,
        func.websearch_to_tsquery(literal_column(search_config_sql(f"{Course.__tablename__}.language")), q),
    )


def prefix_query(q: str) -> str | None:
    """``word1:* & word2:*`` from the words of ``q`` (letters and digits only), or ``None`` without any."""
    words = [w.lower() for w in _WORD.findall(q)][:8]
    return " & ".join(f"{w}:*" for w in words) if words else None


def prefix_match(q: str) -> ColumnElement[bool]:
    tsq = prefix_query(q)
    title = func.lower(Course.title).contains(q.strip().lower(), autoescape=True)
    if tsq is None:
        return title
    return or_(Course.search_vector.op("@@")(func.to_tsquery(_config("simple"), tsq)), title)


@dataclass
class CatalogQuery:
    q: str = ""
    category: str | None = None
    level: str | None = None
    language: str | None = None
    tag: str | None = None
    page: int = 1
    per_page: int = 12

    def filters(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.category:
            where.append(Course.category == self.category)
        if self.level:
            where.append(Course.level == self.level)
        if self.language:
            where.append(Course.language == self.language)
        if self.tag:
            where.append(any_(Course.tags) == self.tag.lower())
        return where


@dataclass
class CourseCard:
    course: Course
    enrolled: bool

    @property
    def rating(self) -> float | None:
        c = self.course
        return round(c.rating_sum / c.rating_count, 1) if c.rating_count else None


@dataclass
class Results:
    cards: list[CourseCard]
    total: int
    prefix: bool  # the full-text search found nothing: these are prefix matches


def _base(user: Any, query: CatalogQuery) -> Select:
    return (
        select(Course, enrolled_filter(user.id).label("enrolled"))
        .where(catalog_filter(user), Course.status == "published", *query.filters())
    )


async def _run(session: AsyncSession, stmt: Select, query: CatalogQuery) -> tuple[list[CourseCard], int]:
    total = int(await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)
    rows = await session.execute(stmt.limit(query.per_page).offset((query.page - 1) * query.per_page))
    return [CourseCard(c, bool(e)) for c, e in rows.all()], total


async def search(session: AsyncSession, user: Any, query: CatalogQuery) -> Results:
    """One page of the published courses ``user`` finds, filtered and (with ``q``) ranked. Two queries (three when
    the full-text search finds nothing and the prefix match runs)."""
    q = query.q.strip()[:QUERY_MAX]
    base = _base(user, query)
    if not q:
        cards, total = await _run(session, base.order_by(func.lower(Course.title), Course.id), query)
        return Results(cards, total, False)
    cards, total = await _run(
        session, base.where(text_match(q)).order_by(rank(q).desc(), func.lower(Course.title), Course.id), query
    )
    if total:
        return Results(cards, total, False)
    cards, total = await _run(
        session, base.where(prefix_match(q)).order_by(func.lower(Course.title), Course.id), query
    )
    return Results(cards, total, True)


async def suggestions(session: AsyncSession, user: Any, q: str) -> list[tuple[uuid.UUID, str]]:
    """Type-ahead: up to :data:`SUGGESTIONS` titles of findable published courses matching ``q`` as typed (prefix
    words or title substring), full-text matches first."""
    q = q.strip()[:QUERY_MAX]
    if len(q) < 2:
        return []
    stmt = (
        select(Course.id, Course.title)
        .where(catalog_filter(user), Course.status == "published", or_(prefix_match(q), text_match(q)))
        .order_by(rank(q).desc(), func.lower(Course.title))
        .limit(SUGGESTIONS)
    )
    return [(r.id, r.title) for r in (await session.execute(stmt)).all()]


@dataclass
class Facets:
    categories: list[str]
    languages: list[str]
    tags: list[str]


async def facets(session: AsyncSession, user: Any) -> Facets:
    """The values the filters offer, from the courses ``user`` finds (three small queries)."""
    visible = and_(catalog_filter(user), Course.status == "published")
    categories = await session.scalars(
        select(Course.category).where(visible, Course.category.is_not(None)).distinct().order_by(Course.category)
        .limit(200)
    )
    languages = await session.scalars(select(Course.language).where(visible).distinct().order_by(Course.language))
    tag = func.unnest(Course.tags).label("tag")
    tags = await session.scalars(select(select(tag).where(visible).subquery().c.tag).distinct().order_by("tag")
                                 .limit(200))
    return Facets([c for c in categories.all() if c], list(languages.all()), list(tags.all()))
