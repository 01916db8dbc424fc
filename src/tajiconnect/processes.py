"""Process supervision for ``tajiconnect run``: children die with their parent, and a dead server worker is replaced.

* ``tajiconnect run`` is the parent of granian's server workers and of the task worker (``--with-worker``). Each
  child asks the kernel for ``SIGKILL`` (server workers) or ``SIGTERM`` (task worker, so it stops cleanly) the
  moment its parent dies (Linux ``PR_SET_PDEATHSIG``): a ``kill -9`` of ``run`` leaves no orphan behind to hold
  the port or run a second task worker.
* Granian respawns a server worker that exits unexpectedly (``respawn_failed_workers``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

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
