"""The question-bank API: ``/api/v1/question-banks`` (banks, their questions, import, export) and
``/api/v1/questions/{id}``.

Only the staff of a bank's course see or change it: any other bank or question id (another course's, another
organization's, a malformed one) is a 404 problem, and the lists hold only the caller's banks. Invalid values are
400 with ``field`` (``data.options[1].fraction``); a state that refuses the change is 409.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import Body, FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED
from msgspec import UNSET, Meta, UnsetType

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.questions import formats, service
from tajiconnect.domains.questions.formats import common
from tajiconnect.domains.questions.kinds import (
    ANSWER_MAX,
    HTML_MAX,
    NUMBER_MAX_CHARS,
    OPTIONS_MAX,
    TEMPLATE_MAX,
    TEXT_MAX,
    WORDS_MAX,
    InvalidQuestion,
    QuestionError,
)
from tajiconnect.domains.questions.models import Question, QuestionBank, QuestionKind, TextFormat
from tajiconnect.domains.questions.service import Acting
from tajiconnect.web.openapi import (
    BODY,
    GUARDED,
    NOT_BLANK,
    REQUIRES_BEARER,
    Timestamp,
    closed_form,
    problems,
    refusal,
    refuse_unknown_parts,
)
from tajiconnect.web.paging import PageParam

Title = Annotated[str, Meta(min_length=1, max_length=service.TITLE_MAX, pattern=NOT_BLANK)]
Description = Annotated[str, Meta(max_length=service.DESCRIPTION_MAX)]
Name = Annotated[str, Meta(max_length=common.NAME_MAX)]
Text = Annotated[str, Meta(min_length=1, max_length=TEXT_MAX, pattern=NOT_BLANK)]
Feedback = Annotated[str, Meta(max_length=TEXT_MAX)]
Category = Annotated[str, Meta(max_length=common.CATEGORY_MAX)]
Tag = Annotated[str, Meta(max_length=common.TAG_MAX)]
Tags = Annotated[list[Tag], Meta(max_length=common.TAGS_MAX)]
Points = Annotated[float, Meta(ge=0, le=10_000)]
Difficulty = Annotated[int, Meta(ge=1, le=5)]
Revision = Annotated[int, Meta(ge=1, le=2_000_000_000)]
Html = Annotated[str, Meta(max_length=HTML_MAX)]
Answer = Annotated[str, Meta(max_length=ANSWER_MAX)]
# A number, or one written as text. The length is said again around the union: the schema generator drops the
# constraints of a union's members (msgspec reads the member's; JSON Schema's maxLength concerns strings only).
Number = Annotated[Annotated[str, Meta(max_length=NUMBER_MAX_CHARS)] | float,
                   Parameter(max_length=NUMBER_MAX_CHARS)]
Id = Annotated[str, Meta(max_length=20)]
Template = Annotated[str, Meta(max_length=TEMPLATE_MAX)]
Words = Annotated[int, Meta(ge=0, le=WORDS_MAX)]
PerPage = Annotated[int, Parameter(ge=1, le=100, description="Items per page.")]
ImportFormat = Literal["gift", "aiken", "csv", "json"]
ImportMode = Literal["partial", "all_or_nothing"]
ExportFormat = Literal["gift", "json"]

NOT_FOUND = "No such question bank (question, course) here, or not one of a course the caller teaches."
UPLOAD_BODY_MAX = formats.MAX_BYTES + 64 * 1024


class OptionIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """An option of a single or multiple choice question; ``fraction`` is the credit, -1 to 1."""

    html: Html
    id: Id | UnsetType = UNSET
    fraction: Number | UnsetType = UNSET
    feedback_html: Html | UnsetType = UNSET


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A short answer (``text``, ``match``) or a numeric one (``value`` and ``tolerance``, or ``min`` and ``max``)."""

    text: Answer | UnsetType = UNSET
    match: Literal["exact", "ci", "pattern"] | UnsetType = UNSET
    value: Number | UnsetType = UNSET
    tolerance: Number | UnsetType = UNSET
    min: Number | UnsetType = UNSET
    max: Number | UnsetType = UNSET
    fraction: Number | UnsetType = UNSET
    feedback_html: Html | UnsetType = UNSET


class PairIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    prompt_html: Html
    answer: Answer
    id: Id | UnsetType = UNSET


class ItemIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    html: Html
    id: Id | UnsetType = UNSET


class DataIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The kind's answers; each kind uses its own members (docs/questions.md): single/multiple ``options``;
    true_false ``answer`` and its feedbacks; short and numeric ``answers``; matching ``pairs`` and ``distractors``;
    ordering ``items``; essay ``min_words``, ``max_words``, ``template``; code ``language``, ``template``. Texts
    shown to learners are HTML, sanitized when saved."""

    options: Annotated[list[OptionIn], Meta(max_length=OPTIONS_MAX)] | UnsetType = UNSET
    answer: bool | UnsetType = UNSET
    feedback_true_html: Html | UnsetType = UNSET
    feedback_false_html: Html | UnsetType = UNSET
    answers: Annotated[list[AnswerIn], Meta(max_length=OPTIONS_MAX)] | UnsetType = UNSET
    pairs: Annotated[list[PairIn], Meta(max_length=OPTIONS_MAX)] | UnsetType = UNSET
    distractors: Annotated[list[Answer], Meta(max_length=OPTIONS_MAX)] | UnsetType = UNSET
    items: Annotated[list[ItemIn], Meta(max_length=OPTIONS_MAX)] | UnsetType = UNSET
    min_words: Words | UnsetType | None = UNSET
    max_words: Words | UnsetType | None = UNSET
    template: Template | UnsetType = UNSET
    language: Annotated[str, Meta(max_length=40)] | UnsetType = UNSET
    shuffle: bool | UnsetType = UNSET


Data = DataIn


class BankOut(msgspec.Struct):
    id: uuid.UUID
    course_id: uuid.UUID
    title: str
    description: str
    question_count: int
    created_at: Timestamp
    updated_at: Timestamp


class CategoryOut(msgspec.Struct):
    name: str
    questions: int


class BankDetail(BankOut):
    """A bank with its categories (of questions not archived; "" holds those without one), by name."""

    categories: list[CategoryOut]


class BankPage(msgspec.Struct):
    items: list[BankOut]
    total: int
    page: int
    per_page: int


class BankCreate(msgspec.Struct, forbid_unknown_fields=True):
    course_id: uuid.UUID
    title: Title
    description: Description = ""


class BankPatch(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | UnsetType = UNSET
    description: Description | UnsetType = UNSET


class QuestionOut(msgspec.Struct):
    id: uuid.UUID
    bank_id: uuid.UUID
    kind: QuestionKind
    name: str
    text: str
    text_format: TextFormat
    text_html: str
    data: dict[str, Any]
    feedback_html: str
    points: str
    category: str
    tags: list[str]
    difficulty: int | None
    position: int
    revision: int
    archived_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class QuestionPage(msgspec.Struct):
    items: list[QuestionOut]
    total: int
    page: int
    per_page: int


class QuestionIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new question. ``text`` is in ``text_format`` (rendered and sanitized into ``text_html``); ``data`` holds
    the kind's answers; ``feedback_html`` (general feedback) is sanitized."""

    kind: QuestionKind
    text: Text
    data: Data = msgspec.field(default_factory=DataIn)
    text_format: TextFormat = "markdown"
    name: Name = ""
    feedback_html: Feedback = ""
    points: Points = 1.0
    category: Category = ""
    tags: Tags = msgspec.field(default_factory=list)
    difficulty: Difficulty | None = None


class QuestionPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Members left out stay as they are (a new ``kind`` needs its ``data``). ``revision``, when sent, must be the
    question's current one (else 409)."""

    kind: QuestionKind | UnsetType = UNSET
    text: Text | UnsetType = UNSET
    data: Data | UnsetType = UNSET
    text_format: TextFormat | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    feedback_html: Feedback | UnsetType = UNSET
    points: Points | UnsetType = UNSET
    category: Category | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    difficulty: Difficulty | UnsetType | None = UNSET
    revision: Revision | UnsetType = UNSET


class LineError(msgspec.Struct):
    """A question of the file that was not imported (or, in ``notices``, something skipped) and why; ``line`` is
    where it starts (JSON: its number in the list; 0: the whole file)."""

    line: int
    reason: str


class ImportOut(msgspec.Struct):
    format: ImportFormat
    mode: ImportMode
    imported: int
    errors: list[LineError]
    notices: list[LineError]
    question_ids: list[uuid.UUID]


class DeleteOut(msgspec.Struct):
    """``deleted``, or ``archived`` when an attempt answered the question (it stays for the attempts' records)."""

    result: Literal["deleted", "archived"]


@closed_form
@dataclass
class ImportForm:
    """``file``: the questions (UTF-8 or Windows-1252 text). ``format``: recognized from the file name and content
    when left out. ``mode``: ``partial`` imports the good questions and lists the bad; ``all_or_nothing`` imports
    none if any is bad."""

    file: UploadFile
    format: ImportFormat | None = None
    mode: ImportMode = "partial"


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def _ts(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def bank_json(bank: QuestionBank, count: int) -> BankOut:
    return BankOut(id=bank.id, course_id=bank.course_id, title=bank.title, description=bank.description,
                   question_count=count, created_at=bank.created_at.isoformat(),
                   updated_at=bank.updated_at.isoformat())


def question_json(q: Question) -> QuestionOut:
    return QuestionOut(
        id=q.id, bank_id=q.bank_id, kind=q.kind, name=q.name, text=q.text,  # type: ignore[arg-type]
        text_format=q.text_format, text_html=q.text_html, data=q.data,  # type: ignore[arg-type]
        feedback_html=q.feedback_html, points=str(q.points), category=q.category, tags=list(q.tags),
        difficulty=q.difficulty, position=q.position, revision=q.revision, archived_at=_ts(q.archived_at),
        created_at=q.created_at.isoformat(), updated_at=q.updated_at.isoformat(),
    )


def _fields(data: msgspec.Struct) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in data.__struct_fields__:
        value = getattr(data, name)
        if value is UNSET or name == "revision":
            continue
        if name == "feedback_html":
            name = "feedback"
        if name == "points":
            value = Decimal(str(value))
        if name == "data":
            value = msgspec.to_builtins(value)
        out[name] = value
    return out


WRITE = {404: NOT_FOUND}
REFUSED = ("The kind's rules refuse a value (one option must be 100%, fractions between -1 and 1, a range whose end "
           "is below its start, an unknown language...): `field` names it (`data.options[1].fraction`).")


class QuestionBanksApi(Controller):
    path = "/api/v1/question-banks"
    tags = ["questions"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.banks.list", summary="The question banks of the courses the caller teaches",
         **problems(*GUARDED))
    async def list_banks(
        self,
        request: Request,
        db_session: DbSession,
        course_id: Annotated[uuid.UUID | None, Parameter(description="Only this course's banks.")] = None,
        page: PageParam = 1,
        per_page: PerPage = 25,
    ) -> BankPage:
        rows, total = await service.list_banks(db_session, request.scope["user"], course_id=course_id, page=page,
                                               per_page=per_page)
        return BankPage(items=[bank_json(r.bank, r.questions) for r in rows], total=total, page=page,
                        per_page=per_page)

    @post("/", name="api.banks.create", summary="Create a question bank in a course the caller teaches",
          status_code=HTTP_201_CREATED,
          **problems(*BODY, *GUARDED, 404, notes={404: "No such course here, or not one the caller teaches."},
                     idempotent=True))
    async def create_bank(self, request: Request, db_session: DbSession, data: JSONBody[BankCreate]) -> BankOut:
        try:
            bank = await service.create_bank(db_session, acting(request), data.course_id, title=data.title,
                                             description=data.description)
        except QuestionError as exc:
            raise refusal(exc, status=409 if isinstance(exc, InvalidQuestion) else None) from exc
        return bank_json(bank, 0)


async def bank_detail(db_session: Any, bank: QuestionBank) -> BankDetail:
    categories = await service.categories(db_session, bank)
    plain = bank_json(bank, sum(n for _category, n in categories))
    return BankDetail(**msgspec.structs.asdict(plain),
                      categories=[CategoryOut(name, n) for name, n in categories])


class QuestionBankApi(Controller):
    path = "/api/v1/question-banks/{bank_id:str}"
    tags = ["questions"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.banks.get", summary="One question bank, with its categories",
         **problems(*GUARDED, 404, notes=WRITE))
    async def get_bank(self, request: Request, db_session: DbSession, bank_id: FromPath[str]) -> BankDetail:
        try:
            bank = await service.get_bank(db_session, request.scope["user"], bank_id)
        except QuestionError as exc:
            raise refusal(exc, status=409 if isinstance(exc, InvalidQuestion) else None) from exc
        return await bank_detail(db_session, bank)

    @patch("/", name="api.banks.update", summary="Rename a question bank or change its description",
           **problems(*BODY, *GUARDED, 404, notes=WRITE, idempotent=True))
    async def update_bank(
        self, request: Request, db_session: DbSession, bank_id: FromPath[str], data: JSONBody[BankPatch]
    ) -> BankDetail:
        changes = {k: getattr(data, k) for k in data.__struct_fields__ if getattr(data, k) is not UNSET}
        try:
            bank = await service.update_bank(db_session, acting(request), bank_id, changes)
        except QuestionError as exc:
            raise refusal(exc, status=409 if isinstance(exc, InvalidQuestion) else None) from exc
        return await bank_detail(db_session, bank)

    @delete("/", name="api.banks.delete", summary="Delete a question bank and its questions (when no quiz uses it)",
            **problems(*GUARDED, 404, 409, idempotent=True, notes={
                **WRITE, 409: "A quiz uses the bank, or attempts answered its questions."}))
    async def delete_bank(self, request: Request, db_session: DbSession, bank_id: FromPath[str]) -> None:
        try:
            await service.delete_bank(db_session, acting(request), bank_id)
        except QuestionError as exc:
            raise refusal(exc, status=409 if isinstance(exc, InvalidQuestion) else None) from exc


class BankQuestionsApi(Controller):
    path = "/api/v1/question-banks/{bank_id:str}/questions"
    tags = ["questions"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.banks.questions.list", summary="A bank's questions, filtered, by position",
         **problems(*GUARDED, 404, notes=WRITE))
    async def list_questions(
        self,
        request: Request,
        db_session: DbSession,
        bank_id: FromPath[str],
        category: Annotated[str | None, Parameter(max_length=200, description="A category and its "
                                                  "subcategories (a/b).")] = None,
        tag: Annotated[str | None, Parameter(max_length=40, description="A tag, any case.")] = None,
        difficulty: Annotated[int | None, Parameter(ge=1, le=5, description="Only this difficulty.")] = None,
        kind: Annotated[QuestionKind | None, Parameter(description="Only this kind.")] = None,
        q: Annotated[str | None, Parameter(max_length=100, description="Words of the name or text.")] = None,
        archived: Annotated[bool, Parameter(description="The archived questions instead.")] = False,
        page: PageParam = 1,
        per_page: PerPage = 25,
    ) -> QuestionPage:
        try:
            bank = await service.get_bank(db_session, request.scope["user"], bank_id)
        except QuestionError as exc:
            raise refusal(exc, status=409 if isinstance(exc, InvalidQuestion) else None) from exc
        rows, total = await service.list_questions(
            db_session, bank, category=category, tag=tag, difficulty=difficulty, kind=kind, q=q, archived=archived,
            page=page, per_page=per_page,
        )
        return QuestionPage(items=[question_json(q) for q in rows], total=total, page=page, per_page=per_page)

    @post("/", name="api.banks.questions.create", summary="Add a question to a bank", status_code=HTTP_201_CREATED,
          **problems(*BODY, *GUARDED, 404, 409, notes={**WRITE, 409: REFUSED}, idempotent=True))
    async def create_question(
        self, request: Request, db_session: DbSession, bank_id: FromPath[str], data: JSONBody[QuestionIn]
    ) -> QuestionOut:
        try:
            question = await service.create_question(db_session, acting(request), bank_id, _fields(data))
        except QuestionError as exc:
            raise refusal(exc, status=409 if isinstance(exc, InvalidQuestion) else None) from exc
        return question_json(question)


class BankImportApi(Controller):
    path = "/api/v1/question-banks/{bank_id:str}/import"
    tags = ["questions"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @post(
        "/",
        name="api.banks.import",
        summary="Import questions from a file (GIFT, Aiken, CSV or JSON)",
        description=(
            f"A multipart form: `file` (at most {formats.MAX_BYTES // 2**20} MiB and {formats.MAX_QUESTIONS:,} "
            "questions), `format` (recognized when left out), `mode`. Answers 200 with how many questions were "
            "imported and, for each question that was not, its line and why (in `all_or_nothing` mode, any error "
            "means nothing was imported). A file that cannot be read at all (not text) gives one error on line 0."
        ),
        status_code=200,
        request_max_body_size=UPLOAD_BODY_MAX,
        **problems(400, 413, *GUARDED, 404, idempotent=True, notes={
            **WRITE, 400: "No `file` part, a part the form does not declare, or a malformed form.",
            413: f"The file is over {formats.MAX_BYTES // 2**20} MiB."}),
    )
    async def import_file(
        self,
        request: Request,
        db_session: DbSession,
        bank_id: FromPath[str],
        data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ImportOut:
        await refuse_unknown_parts(request, ImportForm)
        upload = data.file
        if not isinstance(upload, UploadFile):
            raise HTTPException(status_code=400, detail="send the questions as the file part `file`")
        content = await upload.read(formats.MAX_BYTES + 1)
        if len(content) > formats.MAX_BYTES:
            raise HTTPException(status_code=413, detail=f"The file is over {formats.MAX_BYTES // 2**20} MiB.")
        try:
            outcome = await service.import_questions(
                db_session, acting(request), bank_id, content, filename=upload.filename or "", format=data.format,
                mode=data.mode,
            )
        except InvalidQuestion as exc:  # the file as a whole cannot be read: one error, on no line
            return ImportOut(format=data.format or "gift", mode=data.mode, imported=0,
                             errors=[LineError(0, str(exc))], notices=[], question_ids=[])
        except QuestionError as exc:
            raise refusal(exc, status=409 if isinstance(exc, InvalidQuestion) else None) from exc
        return ImportOut(
            format=outcome.format, mode=data.mode, imported=outcome.imported,  # type: ignore[arg-type]
            errors=[LineError(e.line, e.reason) for e in outcome.errors],
            notices=[LineError(e.line, e.reason) for e in outcome.notices],
            question_ids=[q.id for q in outcome.questions],
        )


class BankExportApi(Controller):
    path = "/api/v1/question-banks/{bank_id:str}/export"
    tags = ["questions"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get(
        "/",
        name="api.banks.export",
        summary="A bank's questions as a GIFT or JSON file",
        description=(
            "GIFT (text/plain) holds the kinds GIFT has (ordering and code questions are left out: the "
            "`Questions-Left-Out` header counts them); JSON holds everything and imports back as it was."
        ),
        media_type="application/octet-stream",  # a GIFT text or a JSON document: the file name says which
        **problems(*GUARDED, 404, notes=WRITE),
    )
    async def export(
        self,
        request: Request,
        db_session: DbSession,
        bank_id: FromPath[str],
        format: Annotated[ExportFormat, Parameter(description="gift or json.")] = "gift",
    ) -> Response[bytes]:
        try:
            result = await service.export_bank(db_session, request.scope["user"], bank_id, format)
        except QuestionError as exc:
            raise refusal(exc, status=409 if isinstance(exc, InvalidQuestion) else None) from exc
        return Response(
            result.content.encode(), media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{result.filename}"',
                     "Questions-Left-Out": str(result.skipped)},
        )


class QuestionApi(Controller):
    path = "/api/v1/questions/{question_id:str}"
    tags = ["questions"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.questions.get", summary="One question", **problems(*GUARDED, 404, notes=WRITE))
    async def get_question(self, request: Request, db_session: DbSession, question_id: FromPath[str]) -> QuestionOut:
        try:
            return question_json(await service.get_question(db_session, request.scope["user"], question_id))
        except QuestionError as exc:
            raise refusal(exc, status=409 if isinstance(exc, InvalidQuestion) else None) from exc

    @patch("/", name="api.questions.update", summary="Edit a question (with an optional revision check)",
           **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
               **WRITE, 409: f"{REFUSED} Or `revision` is not the question's current one (`field`: `revision`); "
                             "or a new `kind` comes without its `data`."}))
    async def update_question(
        self, request: Request, db_session: DbSession, question_id: FromPath[str], data: JSONBody[QuestionPatch]
    ) -> QuestionOut:
        revision = data.revision if data.revision is not UNSET else None
        try:
            question = await service.update_question(db_session, acting(request), question_id, _fields(data),
                                                     revision=revision)
        except QuestionError as exc:
            raise refusal(exc, status=409 if isinstance(exc, InvalidQuestion) else None) from exc
        return question_json(question)

    @delete("/", name="api.questions.delete", status_code=200,
            summary="Delete a question (archived instead when an attempt answered it)",
            **problems(*GUARDED, 404, notes=WRITE, idempotent=True))
    async def delete_question(
        self, request: Request, db_session: DbSession, question_id: FromPath[str]
    ) -> DeleteOut:
        try:
            result = await service.delete_question(db_session, acting(request), question_id)
        except QuestionError as exc:
            raise refusal(exc, status=409 if isinstance(exc, InvalidQuestion) else None) from exc
        return DeleteOut(result=result)  # type: ignore[arg-type]


CONTROLLERS = [QuestionBanksApi, QuestionBankApi, BankQuestionsApi, BankImportApi, BankExportApi, QuestionApi]
