"""Process supervision for ``tajiconnect run``: children die with their parent, and a dead server worker is replaced.

* ``tajiconnect run`` is the parent of granian's server workers and of the task worker (``--with-worker``). Each
  child asks the kernel for ``SIGKILL`` (server workers) or ``SIGTERM`` (task worker, so it stops cleanly) the
  moment its parent dies (Linux ``PR_SET_PDEATHSIG``): a ``kill -9`` of ``run`` leaves no orphan behind to hold
  the port or run a second task worker.
* Granian respawns a server worker that exits unexpectedly (``respawn_failed_workers``), and
  :class:`ChildSupervisor` does the same for the task worker.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time

#: Set by ``tajiconnect run`` for its children: the parent's pid, checked after asking for the death signal.
PARENT_ENV = "TAJI_SUPERVISOR_PID"
_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL, parent: int | None = None) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies. Linux only; ``False`` elsewhere.

    When ``parent`` is given and is no longer our parent (it died before we asked), exit at once.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the parent is already gone: nobody supervises us
    return True


def supervised_child(sig: int = signal.SIGKILL) -> None:
    """In a child of ``tajiconnect run`` (the environment says so), die with that parent."""
    parent = os.environ.get(PARENT_ENV)
    if parent and parent.isdigit():
        die_with_parent(sig, int(parent))


class ChildSupervisor(threading.Thread):
    """Keeps one child process running: started at once, started again (with backoff) whenever it exits on its
    own; :meth:`stop` ends it for good (SIGTERM, then SIGKILL after ``timeout``).

    ``tajiconnect run --with-worker`` uses it for the task worker, as granian does for the server workers.
    """

    def __init__(self, argv: list[str], *, name: str = "task worker") -> None:
        super().__init__(name=f"supervise {name}", daemon=True)
        self.argv = argv
        self.label = name
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.restarts = 0
        self.proc: subprocess.Popen[bytes] = subprocess.Popen(argv)  # noqa: S603 - our own interpreter and module

    def run(self) -> None:
        delay = 1.0
        while not self.stopping.wait(0.5):
            code = self.proc.poll()
            if code is None:
                continue
            started = time.monotonic()
            print(f"[tajiconnect] the {self.label} exited with status {code}; restarting in {delay:.0f} s",
                  file=sys.stderr, flush=True)
            if self.stopping.wait(delay):
                return
            with self.lock:
                if self.stopping.is_set():
                    return
                self.proc = subprocess.Popen(self.argv)  # noqa: S603 - our own interpreter and module
                self.restarts += 1
            # Back off while it keeps dying at once; a child that lived a minute starts the count again.
            delay = 1.0 if time.monotonic() - started > 60 else min(delay * 2, 30.0)

    def stop(self, timeout: float = 15.0) -> None:
        with self.lock:
            self.stopping.set()
            proc = self.proc
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
