"""Structured logs: one JSON object per line, text form, secrets redacted."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from stowage.core.kernel.logs import JsonFormatter, TextFormatter, configure_logging, redact


def record(
    msg: str = "hello %s", args: tuple[Any, ...] = ("world",), level: int = logging.INFO, **extra: Any
):
    rec = logging.LogRecord("stowage.test", level, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def as_json(rec: logging.LogRecord) -> dict[str, Any]:
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    data = json.loads(line)
    assert isinstance(data, dict)
    return data


def test_json_has_msg_level_logger_time_and_extras() -> None:
    data = as_json(record(method="GET", status=404, duration_ms=1.5, path="/api/x"))
    assert data["msg"] == "hello world"
    assert data["level"] == "info"
    assert data["logger"] == "stowage.test"
    assert datetime.fromisoformat(data["time"]).utcoffset() is not None
    assert data["method"] == "GET"
    assert data["status"] == 404
    assert data["duration_ms"] == 1.5
    assert data["path"] == "/api/x"
    # No LogRecord internals leak into the object.
    for internal in ("args", "levelno", "pathname", "lineno", "msecs", "thread", "processName", "exc_info"):
        assert internal not in data


@pytest.mark.parametrize(
    ("level", "name"),
    [(logging.DEBUG, "debug"), (logging.INFO, "info"), (logging.WARNING, "warn"), (logging.ERROR, "error")],
)
def test_level_names(level: int, name: str) -> None:
    assert as_json(record(level=level))["level"] == name


@pytest.mark.parametrize(
    "field",
    [
        "password",
        "new_password",
        "secret",
        "secret_key",
        "token",
        "csrf_token",
        "authorization",
        "Authorization",
        "cookie",
        "set_cookie",
        "signature",
        "password_hash",
    ],
)
def test_secret_fields_are_redacted(field: str) -> None:
    data = as_json(record(**{field: "hunter2-very-secret"}, user="alice"))
    assert data[field] == "REDACTED"
    assert data["user"] == "alice"
    assert "hunter2" not in json.dumps(data)
    text = TextFormatter().format(record(**{field: "hunter2-very-secret"}))
    assert "hunter2" not in text
    assert f"{field}=REDACTED" in text


@pytest.mark.parametrize("field", ["user", "bucket", "key", "remote", "request_id"])
def test_ordinary_fields_are_kept(field: str) -> None:
    assert redact(field, "value") == "value"


def test_non_json_values_are_stringified() -> None:
    data = as_json(record(when=datetime(2024, 1, 2, 3, 4, 5), items=[1, 2], obj=object()))
    assert data["when"] == "2024-01-02 03:04:05"
    assert data["items"] == [1, 2]
    assert data["obj"].startswith("<object object")


def test_json_includes_the_exception() -> None:
    try:
        raise ValueError("bad thing")
    except ValueError:
        rec = record(level=logging.ERROR)
        rec.exc_info = sys.exc_info()
    data = as_json(rec)
    assert "ValueError: bad thing" in data["error"]
    assert "Traceback" in data["error"]


def test_text_formatter() -> None:
    line = TextFormatter().format(record(level=logging.WARNING, status=503, path="/x"))
    stamp, level, rest = line.split(" ", 2)
    assert stamp.endswith("Z")
    datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    assert level == "WARN"
    assert rest == "hello world status=503 path=/x"


def test_text_formatter_appends_the_exception() -> None:
    try:
        raise KeyError("missing")
    except KeyError:
        rec = record(level=logging.ERROR)
        rec.exc_info = sys.exc_info()
    lines = TextFormatter().format(rec).splitlines()
    assert lines[0].split(" ", 2)[1:] == ["ERROR", "hello world"]
    assert "KeyError: 'missing'" in lines[-1]


@pytest.fixture
def restore_loggers() -> Iterator[None]:
    saved = {}
    for name in ("stowage", "hypercorn.error"):
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.mark.usefixtures("restore_loggers")
def test_configure_logging_json_through_the_logger_tree() -> None:
    stream = io.StringIO()
    configure_logging("warn", "json", stream=stream)
    log = logging.getLogger("stowage.anything")
    log.info("dropped below warn")
    log.warning("kept", extra={"token": "t0ps3cret", "bucket": "b"})
    logging.getLogger("hypercorn.error").error("from hypercorn")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(d["level"], d["msg"]) for d in lines] == [("warn", "kept"), ("error", "from hypercorn")]
    assert lines[0]["token"] == "REDACTED"
    assert lines[0]["bucket"] == "b"
    assert "t0ps3cret" not in stream.getvalue()


@pytest.mark.usefixtures("restore_loggers")
def test_configure_logging_text_and_debug() -> None:
    stream = io.StringIO()
    configure_logging("debug", "text", stream=stream)
    logging.getLogger("stowage.x").debug("details", extra={"n": 1})
    (line,) = stream.getvalue().splitlines()
    assert line.split(" ", 1)[1] == "DEBUG details n=1"
