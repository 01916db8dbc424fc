"""Question banks and questions: authoring, import, export and lists.

Only the staff of a bank's course (:func:`tajiconnect.domains.courses.access.staff_filter`) see or change a bank
and its questions; any other bank or question id, another organization's included, is "not found". Every function
takes the request's session and leaves committing to it. A question that an attempt has answered is archived
instead of deleted (``attempt_answers`` refer to it). Imports, deletions and archiving are written to the audit log.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import any_ as sql_any
from sqlalchemy import exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.assessments.models import AttemptAnswer, QuizSlot
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.courses import access
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.questions import formats
from tajiconnect.domains.questions.formats import gift, native
from tajiconnect.domains.questions.formats.common import FileRefused, ParseError, QuestionDraft, check
from tajiconnect.domains.questions.kinds import InvalidQuestion, QuestionError
from tajiconnect.domains.questions.models import Question, QuestionBank
from tajiconnect.i18n import _

__all__ = ["Acting", "BankNotFound", "InvalidQuestion", "QuestionConflict", "QuestionError", "QuestionNotFound"]

TITLE_MAX = 200
DESCRIPTION_MAX = 2000
SEARCH_MAX = 100
IMPORT_MODES = ("partial", "all_or_nothing")
EXPORT_FORMATS = ("gift", "json")
QUESTION_FIELDS = ("kind", "name", "text", "text_format", "data", "feedback", "points", "category", "tags",
                   "difficulty")


class BankNotFound(QuestionError):
    """No such bank here, or not one of a course the caller teaches."""

    status = 404


class QuestionNotFound(QuestionError):
    status = 404


class QuestionConflict(QuestionError):
    """The request is valid but the current state refuses it."""

    status = 409


@dataclass
class ImportOutcome:
    format: str
    imported: int = 0
    errors: list[ParseError] = field(default_factory=list)
    notices: list[ParseError] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)


@dataclass
class BankRow:
    bank: QuestionBank
    course_title: str
    questions: int


# --- banks ----------------------------------------------------------------------------------------------------


def _bank_not_found() -> BankNotFound:
    return BankNotFound(_("No such question bank here."))


async def get_bank(session: AsyncSession, user: Any, bank_id: Any, *, lock: bool = False) -> QuestionBank:
    """The bank ``bank_id`` if ``user`` is on the staff of its course, else :class:`BankNotFound`."""
    bid = parse_uuid(bank_id)
    if bid is None:
        raise _bank_not_found()
    stmt = (select(QuestionBank).join(Course, Course.id == QuestionBank.course_id)
            .where(QuestionBank.id == bid, access.staff_filter(user)))
    if lock:
        stmt = stmt.with_for_update(of=QuestionBank)
    bank = await session.scalar(stmt)
    if bank is None:
        raise _bank_not_found()
    return bank


async def staff_course(session: AsyncSession, user: Any, course_id: Any) -> Course:
    cid = parse_uuid(course_id)
    course = None if cid is None else await session.scalar(
        select(Course).where(Course.id == cid, access.staff_filter(user)))
    if course is None:
        raise BankNotFound(_("No such course here."), "course_id")
    return course


async def list_banks(
    session: AsyncSession, user: Any, *, course_id: Any = None, page: int = 1, per_page: int = 25
) -> tuple[list[BankRow], int]:
    """Banks of the courses ``user`` teaches (of one course with ``course_id``), by title, with question counts."""
    conditions: list[Any] = [access.staff_filter(user)]
    if course_id is not None:
        cid = parse_uuid(course_id)
        if cid is None:
            return [], 0
        conditions.append(QuestionBank.course_id == cid)
    base = select(QuestionBank).join(Course, Course.id == QuestionBank.course_id).where(*conditions)
    total = int(await session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    counts = (select(func.count()).where(Question.bank_id == QuestionBank.id, Question.archived_at.is_(None))
              .correlate(QuestionBank).scalar_subquery())
    rows = await session.execute(
        select(QuestionBank, Course.title, counts).join(Course, Course.id == QuestionBank.course_id)
        .where(*conditions).order_by(QuestionBank.title, QuestionBank.id)
        .limit(per_page).offset((page - 1) * per_page)
    )
    return [BankRow(bank, title, int(n or 0)) for bank, title, n in rows.all()], total


def _title(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidQuestion(_("Enter a title."), "title")
    title = " ".join(value.split())
    if len(title) > TITLE_MAX:
        raise InvalidQuestion(_("At most %(n)s characters.") % {"n": TITLE_MAX}, "title")
    return title


def _description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > DESCRIPTION_MAX:
        raise InvalidQuestion(_("At most %(n)s characters.") % {"n": DESCRIPTION_MAX}, "description")
    return value.strip()


async def create_bank(
    session: AsyncSession, acting: Acting, course_id: Any, *, title: Any, description: Any = ""
) -> QuestionBank:
    course = await staff_course(session, acting.user, course_id)
    bank = QuestionBank(course_id=course.id, title=_title(title), description=_description(description))
    session.add(bank)
    await session.flush()
    await record(session, acting.actor, "questions.bank_created", target_type="question_bank", target_id=bank.id,
                 title=bank.title, course_id=str(course.id))
    return bank


async def update_bank(session: AsyncSession, acting: Acting, bank_id: Any, changes: dict[str, Any]) -> QuestionBank:
    bank = await get_bank(session, acting.user, bank_id, lock=True)
    if "title" in changes:
        bank.title = _title(changes["title"])
    if "description" in changes:
        bank.description = _description(changes["description"])
    await session.flush()
    return bank


async def delete_bank(session: AsyncSession, acting: Acting, bank_id: Any) -> None:
    """Delete a bank and its questions; refused (409) while a quiz uses it or an attempt answered one of them."""
    bank = await get_bank(session, acting.user, bank_id, lock=True)
    in_bank = select(Question.id).where(Question.bank_id == bank.id)
    answered = await session.scalar(select(exists().where(AttemptAnswer.question_id.in_(in_bank))))
    used = await session.scalar(select(exists().where(
        or_(QuizSlot.bank_id == bank.id, QuizSlot.question_id.in_(in_bank)))))
    if answered or used:
        raise QuestionConflict(_("This bank is used by a quiz or its questions were answered: it cannot be "
                                 "deleted. Archive or move its questions instead."))
    count = int(await session.scalar(select(func.count()).where(Question.bank_id == bank.id)) or 0)
    await session.delete(bank)
    await session.flush()
    await record(session, acting.actor, "questions.bank_deleted", target_type="question_bank", target_id=bank.id,
                 title=bank.title, questions=count)


async def categories(session: AsyncSession, bank: QuestionBank) -> list[tuple[str, int]]:
    """The bank's categories (of questions not archived) with their number of questions, by name."""
    rows = await session.execute(
        select(Question.category, func.count()).where(Question.bank_id == bank.id, Question.archived_at.is_(None))
        .group_by(Question.category).order_by(Question.category)
    )
    return [(category, int(n)) for category, n in rows.all()]


# --- questions ------------------------------------------------------------------------------------------------


def _question_not_found() -> QuestionNotFound:
    return QuestionNotFound(_("No such question here."))


async def get_question(session: AsyncSession, user: Any, question_id: Any, *, lock: bool = False) -> Question:
    qid = parse_uuid(question_id)
    if qid is None:
        raise _question_not_found()
    stmt = (select(Question).join(QuestionBank, QuestionBank.id == Question.bank_id)
            .join(Course, Course.id == QuestionBank.course_id).where(Question.id == qid, access.staff_filter(user)))
    if lock:
        stmt = stmt.with_for_update(of=Question)
    question = await session.scalar(stmt)
    if question is None:
        raise _question_not_found()
    return question


def _like(words: str) -> str:
    return "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def list_questions(
    session: AsyncSession,
    bank: QuestionBank,
    *,
    category: str | None = None,
    tag: str | None = None,
    difficulty: int | None = None,
    kind: str | None = None,
    q: str | None = None,
    archived: bool = False,
    page: int = 1,
    per_page: int = 25,
) -> tuple[list[Question], int]:
    """A page of the bank's questions (by position), filtered: ``category`` and its subcategories, a tag, a
    difficulty, a kind, words of the name or text; archived ones only with ``archived``."""
    conditions: list[Any] = [Question.bank_id == bank.id,
                             Question.archived_at.is_not(None) if archived else Question.archived_at.is_(None)]
    if category and category.strip("/ "):
        path = "/".join(p.strip() for p in category.split("/") if p.strip())
        conditions.append(or_(Question.category == path, Question.category.like(_like(path)[:-1] + "/%",
                                                                                   escape="\\")))
    if tag and tag.strip():
        conditions.append(literal(" ".join(tag.split()).lower()) == sql_any(Question.tags))
    if difficulty is not None:
        conditions.append(Question.difficulty == difficulty)
    if kind:
        conditions.append(Question.kind == kind)
    if q and q.strip():
        pattern = _like(q.strip()[:SEARCH_MAX])
        conditions.append(or_(Question.name.ilike(pattern, escape="\\"), Question.text.ilike(pattern, escape="\\")))
    total = int(await session.scalar(select(func.count()).select_from(Question).where(*conditions)) or 0)
    rows = await session.scalars(
        select(Question).where(*conditions).order_by(Question.position, Question.created_at, Question.id)
        .limit(per_page).offset((page - 1) * per_page)
    )
    return list(rows.all()), total


def draft_of(question: Question) -> QuestionDraft:
    return QuestionDraft(
        kind=question.kind, name=question.name, text=question.text, text_format=question.text_format,
        data=dict(question.data or {}), feedback=question.feedback_html, points=Decimal(question.points),
        category=question.category, tags=list(question.tags or []), difficulty=question.difficulty,
        text_html=question.text_html,
    )


def _apply(question: Question, draft: QuestionDraft) -> None:
    question.kind = draft.kind
    question.name = draft.name
    question.text = draft.text
    question.text_format = draft.text_format
    question.text_html = draft.text_html
    question.data = draft.data
    question.feedback_html = draft.feedback
    question.points = draft.points
    question.category = draft.category
    question.tags = draft.tags
    question.difficulty = draft.difficulty


async def _next_position(session: AsyncSession, bank: QuestionBank) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(Question.position), 0))
                                    .where(Question.bank_id == bank.id)) or 0) + 1


def _draft(fields: dict[str, Any], base: QuestionDraft | None = None) -> QuestionDraft:
    unknown = sorted(set(fields) - set(QUESTION_FIELDS))
    if unknown:
        raise InvalidQuestion(_("Unknown member %(name)s.") % {"name": unknown[0][:40]}, unknown[0][:40])
    if base is None:
        base = QuestionDraft(kind=fields.get("kind", ""), text=fields.get("text", ""))
    if "kind" in fields and fields["kind"] != base.kind and "data" not in fields:
        raise InvalidQuestion(_("A new kind needs its data."), "data")
    return check(dataclasses.replace(base, **fields))


async def create_question(session: AsyncSession, acting: Acting, bank_id: Any, fields: dict[str, Any]) -> Question:
    bank = await get_bank(session, acting.user, bank_id, lock=True)
    draft = _draft(fields)
    question = Question(bank_id=bank.id, position=await _next_position(session, bank))
    _apply(question, draft)
    session.add(question)
    await session.flush()
    return question


async def update_question(
    session: AsyncSession, acting: Acting, question_id: Any, changes: dict[str, Any], *, revision: int | None = None
) -> Question:
    question = await get_question(session, acting.user, question_id, lock=True)
    if revision is not None and revision != question.revision:
        raise QuestionConflict(_("Someone else saved this question since you opened it. Reload the page."),
                               "revision")
    draft = _draft(changes, draft_of(question))
    _apply(question, draft)
    question.revision += 1
    await session.flush()
    return question


async def delete_question(session: AsyncSession, acting: Acting, question_id: Any) -> str:
    """Delete a question, or archive it when an attempt answered it; answers ``deleted`` or ``archived``."""
    question = await get_question(session, acting.user, question_id, lock=True)
    answered = await session.scalar(select(exists().where(AttemptAnswer.question_id == question.id)))
    bank_ref, name = str(question.bank_id), question.name or question.text[:80]
    if answered:
        if question.archived_at is None:
            question.archived_at = datetime.datetime.now(datetime.UTC)
        await session.flush()
        await record(session, acting.actor, "questions.question_archived", target_type="question",
                     target_id=question.id, bank_id=bank_ref, name=name)
        return "archived"
    await session.delete(question)
    await session.flush()
    await record(session, acting.actor, "questions.question_deleted", target_type="question",
                 target_id=question.id, bank_id=bank_ref, name=name)
    return "deleted"


async def restore_question(session: AsyncSession, acting: Acting, question_id: Any) -> Question:
    question = await get_question(session, acting.user, question_id, lock=True)
    question.archived_at = None
    await session.flush()
    return question


# --- import and export ----------------------------------------------------------------------------------------


async def import_questions(
    session: AsyncSession,
    acting: Acting,
    bank_id: Any,
    content: bytes,
    *,
    filename: str = "",
    format: str | None = None,
    mode: str = "partial",
) -> ImportOutcome:
    """Add the questions of an uploaded file to the bank. ``partial``: the good ones, listing the bad;
    ``all_or_nothing``: none if any is bad. :class:`InvalidQuestion` (field ``file``) when the file cannot be read
    at all."""
    bank = await get_bank(session, acting.user, bank_id, lock=True)
    if mode not in IMPORT_MODES:
        raise InvalidQuestion(_("The mode is partial or all_or_nothing."), "mode")
    if format is not None and format not in formats.FORMATS:
        raise InvalidQuestion(_("The format is gift, aiken, csv or json."), "format")
    try:
        chosen, result = formats.parse(content, filename, format)
    except FileRefused as exc:
        raise InvalidQuestion(str(exc), "file") from exc
    outcome = ImportOutcome(format=chosen, errors=result.errors, notices=result.notices)
    if not result.questions and not result.errors:
        outcome.errors = [ParseError(0, _("The file holds no questions."))]
    if not (outcome.errors and mode == "all_or_nothing"):
        position = await _next_position(session, bank)
        for offset, draft in enumerate(result.questions):
            question = Question(bank_id=bank.id, position=position + offset)
            _apply(question, draft)
            session.add(question)
            outcome.questions.append(question)
        outcome.imported = len(outcome.questions)
        await session.flush()
    await record(session, acting.actor, "questions.imported", target_type="question_bank", target_id=bank.id,
                 format=chosen, mode=mode, imported=outcome.imported, errors=len(outcome.errors),
                 filename=(filename or "")[:200])
    return outcome


@dataclass
class Export:
    content: str
    filename: str
    media_type: str
    skipped: int


async def export_bank(session: AsyncSession, user: Any, bank_id: Any, format: str) -> Export:
    """The bank's questions (not archived) as GIFT (kinds it has) or JSON (everything)."""
    bank = await get_bank(session, user, bank_id)
    if format not in EXPORT_FORMATS:
        raise InvalidQuestion(_("The format is gift or json."), "format")
    rows = await session.scalars(
        select(Question).where(Question.bank_id == bank.id, Question.archived_at.is_(None))
        .order_by(Question.category, Question.position, Question.id)
    )
    drafts = [draft_of(q) for q in rows.all()]
    slug = re.sub(r"[^a-z0-9]+", "-", bank.title.lower()).strip("-")[:60] or "questions"  # ASCII: a header
    if format == "json":
        return Export(native.export_json(drafts), f"{slug}.json", "application/json", 0)
    text, skipped = gift.export(drafts)
    return Export(text, f"{slug}.gift.txt", "text/plain; charset=utf-8", skipped)
