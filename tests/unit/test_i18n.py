"""Locale negotiation from Accept-Language, and the locale context variable."""

from __future__ import annotations

import pytest

from tajiconnect import i18n


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("sw", "sw"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("SW-ke", "sw"),
        ("de-DE, sw;q=0.5, fr;q=0.7", "fr"),  # best *supported* by quality
        ("en;q=0.2, sw;q=0.9", "sw"),  # order in the header does not matter, quality does
        ("de, nl;q=0.8", None),  # nothing supported
        ("*", None),
        ("", None),
        (None, None),
        ("fr;q=oops, sw;q=0.1", "sw"),  # a malformed quality does not win
        ("fr;q=0, en;q=0.5", "en"),  # q=0 means "not acceptable"
        ("sw;q=0", None),
    ],
)
def test_negotiate(header, expected):
    assert i18n.negotiate(header) == expected


def test_locale_context_sets_and_restores():
    assert i18n.current_locale() == i18n.DEFAULT_LOCALE
    with i18n.locale_context("sw") as chosen:
        assert chosen == "sw" == i18n.current_locale()
        with i18n.locale_context("fr"):
            assert i18n.current_locale() == "fr"
        assert i18n.current_locale() == "sw"
    assert i18n.current_locale() == i18n.DEFAULT_LOCALE


def test_locale_context_restores_after_an_error():
    with pytest.raises(RuntimeError), i18n.locale_context("fr"):
        raise RuntimeError("boom")
    assert i18n.current_locale() == i18n.DEFAULT_LOCALE


@pytest.mark.parametrize("locale", ["de", None, "", "sw_KE"])
def test_unsupported_locale_falls_back_to_default(locale):
    with i18n.locale_context(locale) as chosen:
        assert chosen == i18n.DEFAULT_LOCALE == i18n.current_locale()
