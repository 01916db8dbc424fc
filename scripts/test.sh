#!/usr/bin/env bash
# Set up and run the whole test suite. Extra arguments go to pytest.
# Without DATABASE_URL the tests start a project-local PostgreSQL; with REDIS_URL they also use Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Browser tests drive Debian's Chromium (never a downloaded browser).
if [ ! -x /usr/bin/chromium ] && [ "${TAJI_SKIP_BROWSER_INSTALL:-0}" != 1 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser tests..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; browser tests will be skipped" >&2
  else
    echo "warning: /usr/bin/chromium missing (run as root or install it); browser tests will be skipped" >&2
  fi
fi
# In parallel (pytest-xdist, one database per worker): TAJI_TEST_WORKERS=N (default: one per CPU; 0 = serial).
workers="${TAJI_TEST_WORKERS:-auto}"
if [ "$workers" = 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
exec .venv/bin/python -m pytest -n "$workers" "$@"
