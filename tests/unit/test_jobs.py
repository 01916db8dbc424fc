"""The job board's pure rules: skill keys across organizations, the match score and its explanation, the steps an
application may take, a job's fields."""

from __future__ import annotations

import datetime

import pytest

from tajiconnect.domains.jobs.applications import may_move
from tajiconnect.domains.jobs.matching import key_of, score
from tajiconnect.domains.jobs.postings import JobError, clean_job


def test_skills_cross_organizations_by_code_else_by_name():
    assert key_of("data-cleaning", "Nettoyage de données") == key_of("data-cleaning", "Data cleaning")
    assert key_of(None, "  Cocoa   Grading ") == "name:cocoa grading"
    assert key_of(None, "Cocoa grading") != key_of("cocoa-grading", "Cocoa grading")


def test_the_match_weighs_each_skill_by_its_level_and_explains_itself():
    required = [("code:a", "A", 4), ("code:b", "B", 2), ("name:c", "C", 2)]
    found = score(required, {"code:a": 2, "code:b": 5, "name:x": 5})
    assert found.percent == 50  # (2 + 2 + 0) of 8
    assert [(m.name, m.have) for m in found.met] == [("B", 2)]
    assert sorted((m.name, m.missing) for m in found.missing) == [("A", 2), ("C", 2)]
    assert score([], {}).percent == 100 and score(required, {}).percent == 0
    assert score(required, {"code:a": 5, "code:b": 2, "name:c": 3}).percent == 100


@pytest.mark.parametrize(("current", "wanted", "allowed"), [
    ("applied", "screening", True), ("applied", "interview", True), ("interview", "offer", True),
    ("offer", "hired", True), ("screening", "rejected", True), ("offer", "rejected", True),
    ("interview", "screening", False), ("applied", "applied", False), ("applied", "withdrawn", False),
    ("hired", "rejected", False), ("rejected", "interview", False), ("withdrawn", "screening", False),
    ("applied", "nonsense", False),
])
def test_an_application_moves_forward_or_is_rejected_until_decided(current, wanted, allowed):
    assert may_move(current, wanted) is allowed


def job(**extra):
    return {"title": "Clerk", "location": "Yaoundé", **extra}


def test_a_jobs_fields_are_checked_one_by_one():
    fields = clean_job(job(salary_min="250,000", salary_max="400 000", currency="xaf", description="  **x**  "))
    assert (fields.salary_min, fields.salary_max, fields.currency, fields.description) == (
        250000, 400000, "XAF", "**x**")
    tomorrow = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)).date()
    assert clean_job(job(closes_on=tomorrow.isoformat())).closes_on == tomorrow
    assert clean_job({"title": "Remote clerk", "workplace": "remote"}).location == ""
    for values, field in [(job(title=" "), "title"), (job(salary_min="5", salary_max="4"), "salary_max"),
                          (job(salary_min="-1"), "salary_min"), (job(salary_min="²"), "salary_min"),
                          (job(salary_max=10**10), "salary_max"), (job(currency="KE"), "currency"),
                          (job(currency="12A"), "currency"), (job(workplace="moon"), "workplace"),
                          (job(kind="gig"), "kind"), (job(salary_period="week"), "salary_period"),
                          (job(closes_on="2020-01-01"), "closes_on"), (job(closes_on="2026-02-30"), "closes_on"),
                          (job(closes_on="tomorrow"), "closes_on"), ({"title": "Clerk"}, "location"),
                          (job(title="x" * 161), "title")]:
        with pytest.raises(JobError) as refused:
            clean_job(values)
        assert refused.value.field == field, values
