#!/usr/bin/env bash
# Create .venv and install the locked dependencies (idempotent, a few seconds when already done).
# Says what it does, one line per step.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "setup: $*"; }

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
# uv (pinned) lives in its own small environment, so syncing .venv to the lock file never removes it.
if [ ! -x .tools/bin/uv ]; then
  say "installing the package installer (uv 0.13.9) in .tools"
  "$PYTHON" -m venv .tools
  .tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9" 2>/dev/null \
    || .tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
fi
UV=.tools/bin/uv
if [ ! -x .venv/bin/python ]; then
  say "creating the Python environment in .venv"
  "$UV" venv --quiet --python "$PYTHON" .venv
fi
# Re-sync only when the lock changed since the last successful sync.
stamp=.venv/.requirements.lock.sha256
want=$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing the dependencies from requirements.lock"
  # Bytecode is compiled at install: imports stay fast even where PYTHONDONTWRITEBYTECODE is set.
  "$UV" pip sync --quiet --python .venv/bin/python --compile-bytecode requirements.lock
  "$UV" pip install --quiet --python .venv/bin/python --no-deps -e .
  echo "$want" > "$stamp"
else
  say "dependencies up to date (.venv)"
fi
.venv/bin/python -m compileall -q -j 0 src >/dev/null || true
# Compile translation catalogs (English is the source language; others as they arrive).
if compgen -G "src/tajiconnect/locales/*/LC_MESSAGES/messages.po" >/dev/null; then
  say "compiling the translations"
  .venv/bin/pybabel compile --use-fuzzy -d src/tajiconnect/locales -D messages >/dev/null 2>&1 || true
fi
