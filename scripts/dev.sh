#!/usr/bin/env bash
# Quick start: set up, migrate, seed the demo tenant and serve on http://localhost:8000
# (demo at http://demo.localhost:8000). Without DATABASE_URL a project-local PostgreSQL runs from .data/.
# Says what it does, one line per step.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "dev: $*"; }
PORT="${PORT:-8000}"
say "setting up the Python environment"
bash scripts/setup.sh
export TAJI_DEBUG="${TAJI_DEBUG:-1}"
export TAJI_SECURE_COOKIES="${TAJI_SECURE_COOKIES:-0}"
if [ -z "${DATABASE_URL:-}" ]; then
  say "starting the embedded PostgreSQL in ${TAJI_DATA_DIR:-.data}/postgres and migrating the database"
else
  say "migrating the database (DATABASE_URL)"
fi
.venv/bin/tajiconnect db upgrade
say "seeding the demo organization"
.venv/bin/tajiconnect demo --port "$PORT"
say "serving at http://${TAJI_BASE_DOMAIN:-localhost}:$PORT with a task worker (Ctrl-C stops)"
exec .venv/bin/tajiconnect run --host "${HOST:-127.0.0.1}" --port "$PORT" --with-worker
