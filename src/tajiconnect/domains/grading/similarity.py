"""The similarity check: pairs of an assignment's submitted texts that share long passages (possible copying).

How a pair is scored (pure, :func:`compare`):

* Texts are split into words (letters and digits, case folded; punctuation and white space ignored).
* The longest common subsequence of the two word lists (rapidfuzz ``LCSseq``) is split into runs of consecutive
  common words; runs of at least :data:`MIN_RUN` words are **passages**.
* The score (0-100) is the share of the shorter text's words that lie in passages: 100 for identical texts, near 0
  for unrelated ones (common words scattered here and there form no run), in between when only some paragraphs are
  shared or when paragraphs are reordered (the subsequence keeps one order, so a moved paragraph counts only once
  its order agrees).
* Texts under :data:`MIN_WORDS` words are not compared (too short to say anything).

The check (:func:`run_check`) compares every pair of an assignment's submitted texts inline, up to
:data:`MAX_SUBMISSIONS` submissions (about 45,000 pairs; a few seconds), keeps pairs scoring at least the threshold
in ``similarity_matches`` (one row per ordered pair, updated on each run) and removes the pairs that no longer
reach it. Quizzes' essay and code answers are not checked (matches point at submissions).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rapidfuzz.distance import LCSseq
from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.assessments.models import Submission
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.grading.analytics import staff_assessment
from tajiconnect.domains.grading.models import SimilarityMatch
from tajiconnect.i18n import gettext as _

WORD = re.compile(r"\w+", re.UNICODE)
MIN_RUN = 6
MIN_WORDS = 12
DEFAULT_THRESHOLD = 40
MAX_SUBMISSIONS = 300
PASSAGES_KEPT = 10
PASSAGE_CHARS = 2000
TEXT_CHARS = 50_000


@dataclass(frozen=True)
class Words:
    """A text's words (case folded) and where each starts and ends in the text."""

    text: str
    words: list[str]
    spans: list[tuple[int, int]]


@dataclass
class Comparison:
    score: float
    passages: list[dict[str, Any]] = field(default_factory=list)


def words_of(text: str) -> Words:
    text = text[:TEXT_CHARS]
    found = list(WORD.finditer(text))
    return Words(text, [m.group(0).casefold() for m in found], [m.span() for m in found])


def compare(a: Words, b: Words, threshold: float = 0) -> Comparison:
    """How much of the shorter text lies in passages shared with the other (see the module), with the passages;
    returns early with the subsequence's bound when that cannot reach ``threshold``."""
    shorter = min(len(a.words), len(b.words))
    if shorter < MIN_WORDS:
        return Comparison(0.0)
    bound = LCSseq.similarity(a.words, b.words) * 100 / shorter
    if bound < threshold:
        return Comparison(0.0)
    blocks = [blk for blk in LCSseq.opcodes(a.words, b.words).as_matching_blocks() if blk.size >= MIN_RUN]
    matched = sum(blk.size for blk in blocks)
    passages: list[dict[str, Any]] = []
    for blk in sorted(sorted(blocks, key=lambda x: -x.size)[:PASSAGES_KEPT], key=lambda x: x.a):
        a_start, a_end = a.spans[blk.a][0], a.spans[blk.a + blk.size - 1][1]
        b_start, b_end = b.spans[blk.b][0], b.spans[blk.b + blk.size - 1][1]
        passages.append({"a": a.text[a_start:a_end][:PASSAGE_CHARS], "b": b.text[b_start:b_end][:PASSAGE_CHARS],
                         "a_start": a_start, "b_start": b_start, "words": blk.size})
    return Comparison(round(min(100.0, matched * 100 / shorter), 2), passages)


def flagged_pairs(texts: Sequence[tuple[uuid.UUID, str]], threshold: float = DEFAULT_THRESHOLD
                  ) -> list[tuple[uuid.UUID, uuid.UUID, Comparison]]:
    """Every pair (first id < second id) of ``texts`` scoring at least ``threshold``, highest first."""
    prepared = sorted(((i, words_of(t)) for i, t in texts), key=lambda pair: pair[0])
    prepared = [(i, w) for i, w in prepared if len(w.words) >= MIN_WORDS]
    found = []
    for n, (first, a) in enumerate(prepared):
        for second, b in prepared[n + 1:]:
            result = compare(a, b, threshold)
            if result.score >= threshold and result.passages:
                found.append((first, second, result))
    found.sort(key=lambda x: -x[2].score)
    return found


# --- the check and its results -------------------------------------------------------------------------------------


class SimilarityError(ValueError):
    status = 400


class SimilarityNotFound(SimilarityError):
    status = 404


class SimilarityRefused(SimilarityError):
    status = 409


@dataclass
class MatchRow:
    match: SimilarityMatch
    name_a: str
    name_b: str


async def assignment_of(session: AsyncSession, user: Any, assessment_id: Any) -> tuple[Any, Any, str]:
    from tajiconnect.domains.grading.analytics import AnalyticsNotFound

    try:
        return await staff_assessment(session, user, assessment_id, ("assignment",))
    except AnalyticsNotFound as exc:
        raise SimilarityNotFound(str(exc)) from exc


async def run_check(session: AsyncSession, acting: Acting, assessment_id: Any,
                    threshold: float = DEFAULT_THRESHOLD) -> int:
    """Compare the assignment's submitted texts pairwise and store the pairs at or above ``threshold`` (see the
    module); how many pairs are flagged."""
    assessment, _course, _title = await assignment_of(session, acting.user, assessment_id)
    if not 1 <= threshold <= 100:
        raise SimilarityError(_("The threshold is a percent from 1 to 100."))
    count = int(await session.scalar(
        select(func.count()).select_from(Submission)
        .where(Submission.assessment_id == assessment.id, Submission.status == "submitted", Submission.text != "")
    ) or 0)
    if count > MAX_SUBMISSIONS:
        raise SimilarityRefused(
            _("More than %(max)d submissions: too many to compare here.") % {"max": MAX_SUBMISSIONS}
        )
    rows = (await session.execute(
        select(Submission.id, Submission.text)
        .where(Submission.assessment_id == assessment.id, Submission.status == "submitted", Submission.text != "")
    )).all()
    pairs = flagged_pairs([(r[0], r[1]) for r in rows], threshold)
    for first, second, result in pairs:
        await session.execute(
            insert(SimilarityMatch)
            .values(id=uuid.uuid4(), assessment_id=assessment.id, submission_a_id=first, submission_b_id=second,
                    score=Decimal(str(result.score)), passages=result.passages)
            .on_conflict_do_update(
                index_elements=["submission_a_id", "submission_b_id"],
                set_={"score": Decimal(str(result.score)), "passages": result.passages, "updated_at": func.now()},
            )
        )
    stale = delete(SimilarityMatch).where(SimilarityMatch.assessment_id == assessment.id)
    if pairs:
        stale = stale.where(tuple_(SimilarityMatch.submission_a_id, SimilarityMatch.submission_b_id).not_in(
            [(first, second) for first, second, _r in pairs]))
    await session.execute(stale)
    await record(session, acting.actor, "similarity.checked", target_type="assessment", target_id=assessment.id,
                 submissions=len(rows), flagged=len(pairs), threshold=threshold)
    return len(pairs)


async def matches(session: AsyncSession, user: Any, assessment_id: Any, *, page: int = 1, per_page: int = 20
                  ) -> tuple[Any, Any, str, list[MatchRow], int]:
    """The stored pairs of an assignment, highest score first, with both learners' names; and the total."""
    assessment, course, title = await assignment_of(session, user, assessment_id)
    sub_a, sub_b = aliased(Submission), aliased(Submission)
    user_a, user_b = aliased(User), aliased(User)
    where = SimilarityMatch.assessment_id == assessment.id
    total = int(await session.scalar(select(func.count()).select_from(SimilarityMatch).where(where)) or 0)
    rows = (await session.execute(
        select(SimilarityMatch, user_a.name, user_b.name)
        .join(sub_a, sub_a.id == SimilarityMatch.submission_a_id)
        .join(sub_b, sub_b.id == SimilarityMatch.submission_b_id)
        .join(user_a, user_a.id == sub_a.user_id)
        .join(user_b, user_b.id == sub_b.user_id)
        .where(where)
        .order_by(SimilarityMatch.score.desc(), SimilarityMatch.id)
        .limit(per_page).offset((page - 1) * per_page)
    )).all()
    return assessment, course, title, [MatchRow(r[0], r[1], r[2]) for r in rows], total
