"""Translation catalogs: the template lists every user-facing string, and every locale translates all of it.

The locale catalogs are strict: a message of the template that is missing, untranslated (in any plural form),
fuzzy, or whose translation does not use exactly the placeholders of its msgid, fails.
"""

from __future__ import annotations

import gettext
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tajiconnect.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "src/tajiconnect/locales"
POT = LOCALES / "messages.pot"
TRANSLATED = [locale for locale in SUPPORTED_LOCALES if locale != DEFAULT_LOCALE]
PLURAL_FORMS = {"sw": "nplurals=2; plural=(n != 1);", "fr": "nplurals=2; plural=(n > 1);"}

# A %-placeholder as Python formats it: %(name)s, %(n)d, %s, %5.2f, and the escaped %%.
PLACEHOLDER = re.compile(r"%(?:\(\w*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]")


def _read(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh)


def _po(locale: str) -> Path:
    return LOCALES / locale / "LC_MESSAGES" / "messages.po"


def _ids(path: Path) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in _read(path) if m.id}


def placeholders(text: str) -> set[str]:
    """The %-placeholders of ``text``; a lone "%" (which would break formatting) counts as one too."""
    found = set(PLACEHOLDER.findall(text))
    if "%" in PLACEHOLDER.sub("", text):
        found.add("%")
    return found


def problems(message: Message, num_plurals: int) -> list[str]:
    """What is wrong with the translation of ``message`` (empty when it is complete and consistent)."""
    if message.fuzzy:
        return ["is marked fuzzy"]
    if isinstance(message.id, str):
        if isinstance(message.string, tuple) or not message.string:
            return ["is not translated"]
        want, got = placeholders(message.id), placeholders(message.string)
        return [] if got == want else [f"uses placeholders {sorted(got)}, the msgid {sorted(want)}"]
    singular, plural = (placeholders(part) for part in message.id[:2])
    forms = message.string if isinstance(message.string, tuple) else (message.string,)
    if len(forms) != num_plurals or not all(forms):
        return [f"lacks plural forms (has {sum(1 for f in forms if f)} of {num_plurals})"]
    found = []
    for index, form in enumerate(forms):
        # msgstr[0] follows the msgid (or msgid_plural: the singular may show the number too); others the plural.
        allowed = (singular, plural) if index == 0 else (plural,)
        if placeholders(form) not in allowed:
            found.append(f"msgstr[{index}] uses {sorted(placeholders(form))}, expected {sorted(allowed[-1])}")
    return found


def test_catalog_template_is_up_to_date(tmp_path):
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "lazy_gettext",
         "--no-location", "-o", str(fresh), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    missing = _ids(fresh) - _ids(POT)
    assert not missing, f"run the extract command in babel.cfg; new strings: {sorted(missing)[:5]}"


def test_every_locale_catalog_covers_the_template():
    template = _ids(POT)
    for po in sorted(LOCALES.glob("*/LC_MESSAGES/messages.po")):
        assert template <= _ids(po), f"{po} lacks strings: run pybabel update"


def test_every_supported_locale_has_a_catalog():
    found = {po.parts[-3] for po in LOCALES.glob("*/LC_MESSAGES/messages.po")}
    assert found == set(TRANSLATED)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_header_declares_the_language_and_its_plural_rule(locale):
    catalog = _read(_po(locale))
    assert str(catalog.locale) == locale
    assert catalog.plural_forms == PLURAL_FORMS[locale]
    assert not catalog.fuzzy, "the catalog header is marked fuzzy: pybabel compile would skip the whole catalog"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(locale):
    template, catalog = _read(POT), _read(_po(locale))
    failures = []
    for original in template:
        if not original.id:
            continue
        message = catalog.get(original.id, original.context)
        if message is None:
            failures.append(f"{original.id!r} is missing: run bash scripts/i18n.sh")
            continue
        failures += [f"{original.id!r} {problem}" for problem in problems(message, catalog.num_plurals)]
    assert not failures, f"{len(failures)} problem(s) in {_po(locale)}:\n" + "\n".join(failures)


MEMBERS = ("%(num)d member", "%(num)d members")


@pytest.mark.parametrize(
    ("msgid", "msgstr", "expected"),
    [
        ("Hello %(name)s,", "Habari %(name)s,", []),
        ("Hello %(name)s,", "", ["is not translated"]),
        ("Hello %(name)s,", "Habari,", ["uses placeholders [], the msgid ['%(name)s']"]),
        ("Hello %(name)s,", "Bonjour %(nom)s,", ["uses placeholders ['%(nom)s'], the msgid ['%(name)s']"]),
        ("Use %(n)d.", "Utilisez %(n)s.", ["uses placeholders ['%(n)s'], the msgid ['%(n)d']"]),
        ("Done", "Terminé à 100 %", ["uses placeholders ['%'], the msgid []"]),
        (MEMBERS, ("Mwanachama %(num)d", "Wanachama %(num)d"), []),
        (MEMBERS, ("%(num)d membre", ""), ["lacks plural forms (has 1 of 2)"]),
        (MEMBERS, ("%(num)d membre", "membres"), ["msgstr[1] uses [], expected ['%(num)d']"]),
        # French uses msgstr[0] for 0 and 1: it must show the number when the msgid does.
        (MEMBERS, ("Un membre", "%(num)d membres"), ["msgstr[0] uses [], expected ['%(num)d']"]),
        # A singular msgid without the number: msgstr[0] may leave it out, or show it like the plural.
        (("One member", "%(num)d members"), ("Un membre", "%(num)d membres"), []),
        (("One member", "%(num)d members"), ("%(num)d membre", "%(num)d membres"), []),
    ],
)
def test_the_checks_catch_bad_translations(msgid, msgstr, expected):
    assert problems(Message(msgid, msgstr), 2) == expected
    assert problems(Message(msgid, msgstr, flags={"fuzzy"}), 2) == ["is marked fuzzy"]


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_compiles_and_applies_its_plural_rule(locale, tmp_path):
    # pybabel compile without --use-fuzzy: it refuses a fuzzy catalog and reports format errors as failures.
    mo = tmp_path / "messages.mo"
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "compile", "-i", str(_po(locale)), "-o", str(mo),
         "-l", locale],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0 and mo.stat().st_size > 0, result.stderr
    # It logs format errors (e.g. an unknown placeholder) and still exits 0: its log is checked too.
    assert not re.search(r"^error:|errors? encountered", result.stderr, re.MULTILINE), result.stderr

    buffer = io.BytesIO()
    write_mo(buffer, _read(_po(locale)))
    buffer.seek(0)
    translations = gettext.GNUTranslations(buffer)
    assert translations.gettext("Sign in") != "Sign in"
    one, many = (translations.ngettext("%(num)d member", "%(num)d members", n) for n in (1, 5))
    assert one != many
    # The rules differ at zero: "0 membre" in French, "Wanachama 0" in Kiswahili.
    zero = translations.ngettext("%(num)d member", "%(num)d members", 0)
    assert zero == (one if locale == "fr" else many)
    for n in (0, 1, 2, 21):
        assert str(n) in translations.ngettext("%(num)d member", "%(num)d members", n) % {"num": n}
