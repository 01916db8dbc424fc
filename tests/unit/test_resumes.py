"""The résumé's pure rules: months, entries, languages, the website, and how complete it is."""

from __future__ import annotations

import datetime
import uuid

import pytest

from tajiconnect.domains.resumes.models import Resume, ResumeEntry
from tajiconnect.domains.resumes.service import (
    CertificateLine,
    ResumeContent,
    ResumeError,
    SkillLine,
    clean_entry,
    clean_languages,
    clean_text,
    clean_website,
    completeness,
    parse_month,
)


def test_months_are_yyyy_mm_within_reason():
    assert parse_month("2024-02", "m") == datetime.date(2024, 2, 1)
    assert parse_month("", "m") is None
    for bad in ("2024-13", "2024-2", "1900-01", "24-02", "2024-02-01", "\uff12\uff10\uff12\uff14-02", 202402):
        with pytest.raises(ResumeError):
            parse_month(bad, "m")


def test_an_entry_has_a_title_and_its_months_in_order():
    entry = clean_entry("experience", {"title": " Clerk ", "start_month": "2022-01", "current": True,
                                       "description": "Line one\r\n\r\n\r\n\r\nLine two"})
    assert entry.title == "Clerk" and entry.current and entry.end_month is None
    assert entry.description == "Line one\n\nLine two"
    for kind, values, field in [("hobby", {"title": "x"}, "kind"), ("education", {"title": ""}, "title"),
                                ("experience", {"title": "x", "start_month": "2022-05", "end_month": "2022-01"},
                                 "end_month"),
                                ("experience", {"title": "x", "end_month": "2022-01", "current": True}, "end_month")]:
        with pytest.raises(ResumeError) as refused:
            clean_entry(kind, values)
        assert refused.value.field == field


def test_languages_each_once_with_a_level():
    assert clean_languages([{"name": " Kiswahili ", "level": "native"}, {"name": "", "level": "basic"}]) == [
        {"name": "Kiswahili", "level": "native"}]
    twice = [{"name": "A", "level": "basic"}, {"name": "a", "level": "fluent"}]
    for bad in ([{"name": "A", "level": "perfect"}], twice, ["Kiswahili"], [{"name": "A", "level": "basic"}] * 11,
                "Kiswahili"):
        with pytest.raises(ResumeError):
            clean_languages(bad)


def test_a_website_is_an_http_address():
    assert clean_website(" https://me.example/work ") == "https://me.example/work"
    assert clean_website("") == ""
    for bad in ("javascript:alert(1)", "ftp://me.example", "me.example", "https://"):
        with pytest.raises(ResumeError):
            clean_website(bad)
    with pytest.raises(ResumeError):
        clean_text(3, 10, "x")


def test_completeness_counts_the_sections_filled():
    empty = Resume(user_id=uuid.uuid4(), headline="", summary="", phone="", location="", website="",
                   languages=[], hidden_certificate_ids=[])
    content = ResumeContent(empty, "A", "a@example.org", {"experience": [], "education": [], "reference": []})
    assert completeness(content) == 0
    full = Resume(user_id=uuid.uuid4(), headline="h", summary="s", phone="1", location="", website="",
                  languages=[{"name": "A", "level": "basic"}], hidden_certificate_ids=[])
    entry = ResumeEntry(kind="experience", title="t")
    cert = CertificateLine(uuid.uuid4(), "C", datetime.date(2024, 1, 1), "X", "https://x", hidden=False)
    content = ResumeContent(full, "A", "a@example.org", {"experience": [entry], "education": [entry], "reference": []},
                            [SkillLine("S", 3, False)], [cert])
    assert completeness(content) == 100
    cert.hidden = True
    assert completeness(content) == 88
