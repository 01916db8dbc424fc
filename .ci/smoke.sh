#!/usr/bin/env bash
# Start the app the way the Quick start does (embedded database), GET /health and the demo page, stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
export TAJI_DATA_DIR="$(mktemp -d)"
port=18765
log="$TAJI_DATA_DIR/run.log"
.venv/bin/tajiconnect db upgrade
.venv/bin/tajiconnect demo --port "$port" >/dev/null
.venv/bin/tajiconnect run --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$TAJI_DATA_DIR"; }
trap cleanup EXIT
.venv/bin/python - "$port" <<'PY'
import json, sys, time, urllib.request
port = int(sys.argv[1])
deadline = time.monotonic() + 60
while True:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            body = json.load(r)
            assert r.status == 200 and body["checks"]["database"]["status"] == "ok", body
            print("health:", json.dumps(body))
            break
    except (OSError, ValueError):
        if time.monotonic() > deadline:
            sys.exit("the app did not answer /health within 60s")
        time.sleep(0.5)
req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": f"demo.localhost:{port}"})
with urllib.request.urlopen(req, timeout=5) as r:
    page = r.read().decode()
    assert r.status == 200 and "Savannah Academy" in page, page[:300]
print("demo page: 200")
PY
kill -TERM "$pid"
wait "$pid" || true
trap - EXIT
rm -rf "$TAJI_DATA_DIR"
echo "smoke test passed"
