"""Structured JSON logs with the request id on every line, and secrets kept out of them."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

from runtime.context import current_request_id

# Anything that looks like one of our keys or a bearer token is masked before a line is written.
_SECRET_PATTERNS = [
    re.compile(r"wbk_[A-Za-z0-9]+_[A-Za-z0-9_-]+"),
    re.compile(r"(?i)(bearer\s+)[^\s\"']+"),
]
_SECRET_FIELDS = {"authorization", "x-api-key", "api_key", "secret", "password", "salt", "sign", "key"}


def _mask(value: str) -> str:
    for pattern in _SECRET_PATTERNS:
        value = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "***", value)
    return value


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for k, v in list(event.items()):
        if k.lower() in _SECRET_FIELDS:
            event[k] = "***"
        elif isinstance(v, str):
            event[k] = _mask(v)
    return event


def _add_request_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    rid = current_request_id()
    if rid is not None:
        event.setdefault("request_id", rid)
    return event


def _dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


class _Stdout:
    """Writes to whatever ``sys.stdout`` is at the time of the write, not at configuration time: a process
    that swaps it (a test capturing output) must not leave loggers writing to a closed stream."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_request_id,
        structlog.processors.format_exc_info,
        _redact,
    ]
    renderer: Any = structlog.processors.JSONRenderer(serializer=_dumps) if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.processors.EventRenamer("msg"), renderer] if json else [*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(_Stdout()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Route stdlib logging (uvicorn, arq, sqlalchemy) through the same renderer.
    handler = logging.StreamHandler(_Stdout())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Access lines are replaced by our own request log line (with request id and latency).
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # At DEBUG the root level would switch on SQLAlchemy's statement log, parameters included
    # (sessions, webhook secrets): never through the service's level.
    for name in ("sqlalchemy.engine", "sqlalchemy.pool"):
        logging.getLogger(name).setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
