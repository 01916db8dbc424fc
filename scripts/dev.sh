#!/usr/bin/env bash
# Quick start: set up, migrate, seed the demo tenant and serve on http://localhost:8000
# (demo at http://demo.localhost:8000). Without DATABASE_URL a project-local PostgreSQL runs from .data/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TAJI_DEBUG="${TAJI_DEBUG:-1}"
export TAJI_SECURE_COOKIES="${TAJI_SECURE_COOKIES:-0}"
.venv/bin/tajiconnect db upgrade
.venv/bin/tajiconnect demo --port "${PORT:-8000}"
exec .venv/bin/tajiconnect run --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" --with-worker
