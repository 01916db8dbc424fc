"""Process supervision: a child dies with its parent; a supervised child that exits is started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tajiconnect.processes import ChildSupervisor

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_child_dies_when_its_parent_is_killed():
    parent_code = textwrap.dedent("""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", (
            "import os, signal, time; from tajiconnect.processes import die_with_parent; "
            "die_with_parent(signal.SIGKILL, %d); print(os.getpid(), flush=True); time.sleep(60)"
        ) % os.getpid()], stdout=subprocess.PIPE, text=True)
        print(child.stdout.readline().strip(), flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    assert _alive(child_pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 5
    while _alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child_pid)


def test_a_supervised_child_that_exits_is_started_again_and_stop_ends_it():
    supervisor = ChildSupervisor([sys.executable, "-c", "import time; time.sleep(0.3)"], name="test child")
    supervisor.start()
    deadline = time.monotonic() + 10
    while supervisor.restarts < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert supervisor.restarts >= 2
    supervisor.stop(timeout=5)
    last = supervisor.proc
    time.sleep(1.5)
    assert supervisor.proc is last and last.poll() is not None  # stopped for good: nothing started after stop()
