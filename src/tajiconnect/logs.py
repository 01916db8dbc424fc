"""Structured logs: every line carries the tenant and the request (or task) id when there is one.

Request middleware and the task wrapper bind ``tenant`` and ``request_id``/``job_id`` with structlog's context
variables; the stdlib bridge means server and library log lines get them too. Secrets never reach a log: the
settings object masks them and the ``redact`` processor drops keys that look secret.
"""

from __future__ import annotations

import logging
import logging.config

import structlog

_SECRET_KEYS = ("password", "secret", "token", "authorization", "cookie", "totp", "api_key")


def redact(_logger: object, _method: str, event: dict) -> dict:
    for key in list(event):
        if any(part in key.lower() for part in _SECRET_KEYS):
            event[key] = "**********"
    return event


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    shared: list = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structured": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
                    "foreign_pre_chain": shared,
                }
            },
            "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "structured"}},
            "root": {"handlers": ["default"], "level": level},
            "loggers": {
                "sqlalchemy.engine": {"level": "WARNING"},
                "httpx": {"level": "WARNING"},
                "saq": {"level": "INFO"},
                "_granian": {"level": level},
                "granian.access": {"level": level},
            },
        }
    )


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
