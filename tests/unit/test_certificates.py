"""Certificates, pure parts: the verification code, the layout choice, the PDF's text in every layout."""

from __future__ import annotations

import datetime
import io

import pypdfium2
import pytest

from tajiconnect.domains.certificates import service
from tajiconnect.domains.certificates.pdf import CertificateContent, date_text, render_certificate
from tajiconnect.pdf import FONT_NAMES, register_fonts


def test_codes_are_long_unambiguous_and_different():
    codes = {service.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == service.CODE_LENGTH == 16
        assert set(code) <= set(service.CODE_ALPHABET)
    assert not set("01OIL") & set(service.CODE_ALPHABET)


def test_typed_codes_are_normalised_and_grouped_for_reading():
    assert service.normalise_code(" abcd-efgh ijkm-npqr ") == "ABCDEFGHIJKMNPQR"
    assert service.grouped("ABCDEFGHJKMNPQRS") == "ABCD-EFGH-JKMN-PQRS"


@pytest.mark.parametrize(("value", "expected"), [
    ("classic", "classic"), ("modern", "modern"), ("minimal", "minimal"), ("baroque", "classic"), (None, "classic"),
])
def test_the_layout_falls_back_to_classic(value, expected):
    assert service.choose_layout(value) == expected


def test_fonts_register_once_and_are_the_dejavu_faces():
    assert register_fonts() == register_fonts() == FONT_NAMES == (
        "DejaVuSans", "DejaVuSans-Bold", "DejaVuSerif", "DejaVuSerif-Bold")


def text_of(data: bytes) -> tuple[str, tuple[float, float]]:
    document = pypdfium2.PdfDocument(io.BytesIO(data))
    try:
        page = document[0]
        return page.get_textpage().get_text_range(), page.get_size()
    finally:
        document.close()


@pytest.mark.parametrize("layout", ["classic", "modern", "minimal"])
@pytest.mark.parametrize(("name", "title", "locale", "date"), [
    ("Amélie Öztürk-Ngũgĩ", "Introduction à la chimie", "fr", "30 novembre 2026"),
    ("Zawadi Wanjirũ Mwangi", "Hisabati ya msingi", "sw", "30 Novemba 2026"),
])
def test_names_with_diacritics_render_in_every_layout(layout, name, title, locale, date):
    data = render_certificate(CertificateContent(
        learner_name=name, title=title, completed_on=datetime.date(2026, 11, 30), organization="Shule ya Juu",
        code="ABCDEFGHJKMNPQRS", verify_url="https://juu.example.test/verify/ABCDEFGHJKMNPQRS", layout=layout,
        locale=locale))
    assert data.startswith(b"%PDF") and b"/FontFile2" in data  # the TrueType font is embedded
    text, (width, height) = text_of(data)
    for expected in (name, title, date, "Shule ya Juu", "ABCDEFGHJKMNPQRS", "https://juu.example.test/verify/"):
        assert expected in text, (expected, text)
    assert (width > height) == (layout != "minimal")  # minimal is portrait


def test_a_date_in_an_unknown_locale_is_iso():
    assert date_text(datetime.date(2026, 1, 2), "xx-nope") == "2026-01-02"
    assert date_text(datetime.date(2026, 1, 2), "en") == "January 2, 2026"


def test_the_backstop_runs_hourly_on_the_certificates_queue():
    from tajiconnect.domains.certificates import tasks
    from tajiconnect.tasks.base import REGISTRY
    from tajiconnect.tasks.schedule import SCHEDULED

    assert "issue_missing_certificates" in SCHEDULED["hourly"]
    assert REGISTRY["issue_certificate"].policy.queue == "certificates" == tasks.CERTIFICATES.queue
    assert REGISTRY["issue_missing_certificates"].policy.queue == "certificates"
