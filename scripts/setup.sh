#!/usr/bin/env bash
# Create .venv and install the locked dependencies (idempotent, a few seconds when already done).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
fi
# Re-sync only when the lock changed since the last successful sync.
stamp=.venv/.requirements.lock.sha256
want=$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  VIRTUAL_ENV=.venv .venv/bin/uv pip sync --quiet requirements.lock
  VIRTUAL_ENV=.venv .venv/bin/uv pip install --quiet --no-deps -e .
  echo "$want" > "$stamp"
fi
# Compile translation catalogs (English is the source language; others as they arrive).
if compgen -G "src/tajiconnect/locales/*/LC_MESSAGES/messages.po" >/dev/null; then
  .venv/bin/pybabel compile --use-fuzzy -q -d src/tajiconnect/locales -D messages 2>/dev/null || true
fi
