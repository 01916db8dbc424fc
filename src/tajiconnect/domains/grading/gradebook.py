"""The gradebook's arithmetic, without the database: category percents, the final percent and its letter.

Rules (docs/gradebook.md repeats them for teachers):

* An item's percent is the learner's score (after any late penalty) over the grade's maximum, times 100. Items with
  a maximum of 0 or a weight of 0 count for nothing.
* **Ungraded items are left out**: only the grades the caller passes (the service passes released grades) count. A
  missing grade is never a zero, even past the due date (a teacher who wants a zero gives one).
* A category's percent is the mean of its items' percents, weighted by each item's ``weight``, after leaving out the
  category's ``drop_lowest`` lowest percents. At least one graded item always stays. Among equal percents the
  item that comes later in the course (``Item.order``, then id) is dropped first, so the result is deterministic.
* Items without a category (or whose category no longer exists) form the "Uncategorized" bucket, with no drops.
* The final percent is the mean of the buckets that have a graded item, weighted by their categories' weights,
  normalized over those buckets (a category without grades yet does not pull the final down). The Uncategorized
  bucket weighs the mean weight of the named categories with grades (1 when it is alone). When every bucket with
  grades weighs 0, they count equally.
* The letter is the first of the scale (highest minimum first) whose ``min_percent`` the percent reaches; below
  every minimum, the scale's last letter. An override replaces the final percent (and so the letter).

Percents are Decimals rounded half up to 2 places at the end (``CENT``).
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from tajiconnect.i18n import gettext as _

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
LETTER_MAX = 5
SCALE_MAX = 20
PERCENT_MAX = Decimal(1000)  # extra credit may pass 100 %, within the columns' limits

#: (letter, minimum percent), highest first.
DEFAULT_SCALE: tuple[tuple[str, Decimal], ...] = (
    ("A", Decimal(90)), ("B", Decimal(80)), ("C", Decimal(70)), ("D", Decimal(60)), ("F", Decimal(0)),
)


@dataclass(frozen=True)
class Item:
    """A graded item of the course (an assessment that counts in the gradebook). ``id`` is any hashable key that
    ``scores`` uses too (the service passes the item's position: cheaper to hash than a UUID)."""

    id: Hashable
    category_id: uuid.UUID | None
    max_points: Decimal
    weight: Decimal = Decimal(1)
    #: Its place in the course (lesson order): breaks ties when dropping.
    order: int = 0


@dataclass(frozen=True)
class Category:
    id: uuid.UUID
    name: str
    weight: Decimal
    drop_lowest: int = 0


@dataclass(frozen=True)
class Score:
    """A learner's score on an item, out of ``max_points`` (the grade's own maximum; the item's when None)."""

    points: Decimal
    max_points: Decimal | None = None


@dataclass
class Bucket:
    """A category's (or Uncategorized's, ``category_id`` None) result for one learner."""

    category_id: uuid.UUID | None
    percent: Decimal | None
    counted: list[Hashable] = field(default_factory=list)
    dropped: list[Hashable] = field(default_factory=list)


@dataclass
class Result:
    buckets: dict[uuid.UUID | None, Bucket]
    #: The computed final percent (None: nothing graded yet).
    computed: Decimal | None
    #: The override when there is one, else ``computed``.
    final: Decimal | None
    letter: str | None
    overridden: bool = False


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def item_percent(item: Item, score: Score) -> Decimal | None:
    maximum = score.max_points if score.max_points is not None else item.max_points
    if maximum is None or maximum <= 0:
        return None
    return score.points * HUNDRED / maximum


def weighted_mean(pairs: Sequence[tuple[Decimal, Decimal]]) -> Decimal | None:
    """Mean of ``(value, weight)`` pairs weighted by weight; equal weights when they sum to 0; None when empty."""
    if not pairs:
        return None
    total = sum((w for _v, w in pairs), Decimal(0))
    if total <= 0:
        return sum((v for v, _w in pairs), Decimal(0)) / len(pairs)
    return sum((v * w for v, w in pairs), Decimal(0)) / total


def category_percent(items: Sequence[Item], scores: Mapping[Any, Score], drop_lowest: int = 0) -> Bucket:
    """One bucket: its graded items' weighted mean after dropping the ``drop_lowest`` lowest (see the module)."""
    graded: list[tuple[Decimal, Item]] = []
    for item in items:
        score = scores.get(item.id)
        if score is None or item.weight <= 0:
            continue
        percent = item_percent(item, score)
        if percent is not None:
            graded.append((percent, item))
    bucket = Bucket(category_id=items[0].category_id if items else None, percent=None)
    if not graded:
        return bucket
    # Lowest first; among equal percents the later item first (it is dropped before an earlier one).
    graded.sort(key=lambda pair: (pair[0], -pair[1].order, str(pair[1].id)), reverse=False)
    drops = max(0, min(drop_lowest, len(graded) - 1))
    dropped, kept = graded[:drops], graded[drops:]
    bucket.dropped = [item.id for _p, item in dropped]
    bucket.counted = [item.id for _p, item in kept]
    bucket.percent = weighted_mean([(p, item.weight) for p, item in kept])
    return bucket


def compute(
    items: Sequence[Item],
    categories: Sequence[Category],
    scores: Mapping[Any, Score],
    *,
    scale: Sequence[tuple[str, Decimal]] = DEFAULT_SCALE,
    override: Decimal | None = None,
) -> Result:
    """A learner's buckets, final percent and letter (see the module's rules)."""
    known = {c.id: c for c in categories}
    by_bucket: dict[uuid.UUID | None, list[Item]] = {c.id: [] for c in categories}
    by_bucket[None] = []
    for item in items:
        key = item.category_id if item.category_id in known else None
        by_bucket[key].append(item)
    buckets: dict[uuid.UUID | None, Bucket] = {}
    for key, members in by_bucket.items():
        drop = known[key].drop_lowest if key is not None else 0
        bucket = category_percent(members, scores, drop)
        bucket.category_id = key
        buckets[key] = bucket
    graded = [b for b in buckets.values() if b.percent is not None]
    named = [known[b.category_id].weight for b in graded if b.category_id is not None]
    pairs: list[tuple[Decimal, Decimal]] = []
    for b in graded:
        assert b.percent is not None
        if b.category_id is None:
            weight = sum(named, Decimal(0)) / len(named) if named else Decimal(1)
        else:
            weight = known[b.category_id].weight
        pairs.append((b.percent, weight))
    mean = weighted_mean(pairs)
    computed = cents(mean) if mean is not None else None
    for b in buckets.values():
        if b.percent is not None:
            b.percent = cents(b.percent)
    final = cents(override) if override is not None else computed
    return Result(buckets=buckets, computed=computed, final=final, letter=letter_for(final, scale),
                  overridden=override is not None)


def letter_for(percent: Decimal | None, scale: Sequence[tuple[str, Decimal]] = DEFAULT_SCALE) -> str | None:
    if percent is None or not scale:
        return None
    for letter, minimum in scale:
        if percent >= minimum:
            return letter
    return scale[-1][0]


# --- the letter scale as stored (``gradebook_settings.letter_scale``) and as typed ---------------------------------


class ScaleInvalid(ValueError):
    """A letter scale that cannot be used; the message says why (for the person editing it)."""


def scale_from_json(rows: Iterable[Mapping[str, Any]] | None) -> tuple[tuple[str, Decimal], ...]:
    """The stored scale (``[{"letter", "min_percent"}]``), highest first; the default when empty or unreadable."""
    parsed: list[tuple[str, Decimal]] = []
    for row in rows or []:
        try:
            parsed.append((str(row["letter"]), Decimal(str(row["min_percent"]))))
        except (KeyError, TypeError, InvalidOperation):
            return DEFAULT_SCALE
    if not parsed:
        return DEFAULT_SCALE
    return tuple(sorted(parsed, key=lambda pair: pair[1], reverse=True))


def scale_to_json(scale: Sequence[tuple[str, Decimal]]) -> list[dict[str, str]]:
    return [{"letter": letter, "min_percent": str(minimum)} for letter, minimum in scale]


def validate_scale(rows: Sequence[tuple[str, Any]]) -> tuple[tuple[str, Decimal], ...]:
    """(letter, minimum) rows as typed: 1-5 visible characters, distinct letters and minimums in 0-1000, at least
    one row, at most :data:`SCALE_MAX`. Returned highest first."""
    if not rows:
        raise ScaleInvalid(_("Give at least one letter."))
    if len(rows) > SCALE_MAX:
        raise ScaleInvalid(_("A scale has at most %(max)d letters.") % {"max": SCALE_MAX})
    result: list[tuple[str, Decimal]] = []
    for letter, minimum in rows:
        letter = str(letter).strip()
        if not letter or len(letter) > LETTER_MAX or any(ch.isspace() or not ch.isprintable() for ch in letter):
            raise ScaleInvalid(_("A letter is 1 to %(max)d characters without spaces.") % {"max": LETTER_MAX})
        value = parse_percent(minimum)
        if value is None:
            raise ScaleInvalid(_("“%(letter)s”: the minimum must be a percent from 0 to 1000.") % {"letter": letter})
        result.append((letter, value))
    if len({letter for letter, _m in result}) != len(result):
        raise ScaleInvalid(_("Each letter may appear once."))
    if len({minimum for _l, minimum in result}) != len(result):
        raise ScaleInvalid(_("Two letters cannot have the same minimum."))
    return tuple(sorted(result, key=lambda pair: pair[1], reverse=True))


def parse_percent(value: Any) -> Decimal | None:
    """A percent from 0 to 1000 with at most 2 decimals (text or number), or None."""
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0 or number > PERCENT_MAX:
        return None
    if number != number.quantize(CENT, ROUND_HALF_UP):
        return None
    return number.quantize(CENT)
