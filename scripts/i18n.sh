#!/usr/bin/env bash
# Refresh the translation template and every locale catalog after adding or changing user-facing strings.
# Unwrapped (--no-wrap): one line per msgid and msgstr, so diffs and simple checks read each string whole.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pybabel extract -F babel.cfg -k lazy_gettext --no-location --project TajiConnect \
  --no-wrap -o src/tajiconnect/locales/messages.pot . >/dev/null 2>&1
.venv/bin/pybabel update -i src/tajiconnect/locales/messages.pot -d src/tajiconnect/locales --no-fuzzy-matching --ignore-obsolete --no-wrap >/dev/null 2>&1
echo "catalogs updated: translate src/tajiconnect/locales/<lang>/LC_MESSAGES/messages.po"
