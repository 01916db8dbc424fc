"""Translations: gettext catalogs compiled from ``src/tajiconnect/locales`` (English is the source language).

The locale in scope is a context variable set per request (user, then tenant, then ``Accept-Language``) and per
task; ``_()`` and the Jinja ``{% trans %}``/``_()`` helpers read it at render time.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import cast

from babel.support import LazyProxy

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
SUPPORTED_LOCALES = ("en", "sw", "fr")

_locale: ContextVar[str] = ContextVar("taji_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """Compiled catalog for ``locale``; an untranslated (English) fallback when none is compiled."""
    try:
        return _gettext.translation(DOMAIN, localedir=LOCALES_DIR, languages=[locale])
    except OSError:
        return _gettext.NullTranslations()


def current_locale() -> str:
    return _locale.get()


@contextmanager
def locale_context(locale: str | None) -> Iterator[str]:
    chosen = locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE
    token = _locale.set(chosen)
    try:
        yield chosen
    finally:
        _locale.reset(token)


def gettext(message: str) -> str:
    return translations(_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_locale.get()).ngettext(singular, plural, n)


def lazy_gettext(message: str) -> str:
    """For strings defined at import time (labels, choices, exception details): translated when used.

    Typed as ``str``: the proxy stands in for text wherever text is expected, and ``str()`` of it translates into
    the locale in scope at that moment.
    """
    return cast(str, LazyProxy(gettext, message, enable_cache=False))


_ = gettext


def N_(message: str) -> str:
    """Marks ``message`` for the catalog (pybabel extract knows ``N_``) without translating it yet."""
    return message


def negotiate(accept_language: str | None) -> str | None:
    """Best supported locale from an ``Accept-Language`` header, or ``None``."""
    if not accept_language:
        return None
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        lang, _sep, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q <= 0:
            continue  # q=0 means "not acceptable" (RFC 9110)
        ranked.append((q, lang.strip().lower().split("-")[0]))
    for _q, lang in sorted(ranked, key=lambda item: -item[0]):
        if lang in SUPPORTED_LOCALES:
            return lang
    return None
