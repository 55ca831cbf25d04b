"""Structured logging to stdout in ``json`` or ``text`` form, with secrets redacted.

Fields are passed with ``extra={...}``. Any field whose name suggests a secret (password, secret,
token, authorization, signature, cookie, hash) is replaced by ``REDACTED`` before it is written.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["JsonFormatter", "TextFormatter", "configure_logging", "redact"]

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SECRET_WORDS = ("password", "secret", "token", "authorization", "signature", "cookie", "hash", "csrf")
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


def redact(name: str, value: Any) -> Any:
    """Return ``REDACTED`` for fields whose name marks them as secret."""
    lowered = name.lower()
    if any(word in lowered for word in _SECRET_WORDS):
        return "REDACTED"
    if isinstance(value, dict):
        return {k: redact(str(k), v) for k, v in value.items()}
    return value


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: redact(k, v) for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _level_name(record: logging.LogRecord) -> str:
    return "warn" if record.levelno == logging.WARNING else record.levelname.lower()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, msg, logger, then the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": _level_name(record),
            "msg": record.getMessage(),
            "logger": record.name,
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time LEVEL msg key=value …`` for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        parts = [stamp, _level_name(record).upper(), record.getMessage()]
        parts += [f"{k}={v}" for k, v in _fields(record).items()]
        text = " ".join(str(p) for p in parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure_logging(level: str = "info", fmt: str = "json", stream: TextIO | None = None) -> None:
    """Route the ``stowage`` logger tree (and Hypercorn's error log) to one stdout handler."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    for name in ("stowage", "hypercorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(_LEVELS.get(level, logging.INFO))
        logger.propagate = False
