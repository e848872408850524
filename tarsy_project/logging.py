"""Process-wide structured logging from ``LOG_LEVEL`` and ``LOG_FORMAT``.

One handler on the root logger, writing to stderr, so Django's loggers, third-party loggers
and Python warnings all come out in the same format: ``text`` for people (``key=value``
pairs after the message) or ``json`` (one object per line, via python-json-logger) for
containers. Every ``extra={...}`` field a caller passes is kept. A record is one line in
both formats (a database error's message spans several lines); only a traceback, which
``text`` prints after its record, takes more.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
FORMATS = ("text", "json")
DEFAULT_LEVEL = "info"
DEFAULT_FORMAT = "text"

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Return the structured fields a caller attached with ``extra=``."""
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def one_line(text: str) -> str:
    """A multi-line message (psycopg's errors end in a tab-indented hint) as one line: its
    lines, stripped, joined by " | ". A message cannot start a forged log line either."""
    lines = [line.strip() for line in text.strip().splitlines()]
    return " | ".join(line for line in lines if line)


def _text_value(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        # Compact JSON reads well as it is, and JSON escapes newlines itself.
        return json.dumps(value, default=str, separators=(",", ":"))
    text = str(value)
    if text == "" or any(c.isspace() or c in '"=' for c in text):
        # Newlines escaped too: a value must not be able to start a forged log line.
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'
    return text


class TextFormatter(logging.Formatter):
    """``<timestamp> <LEVEL> <logger>: <message> key=value ...`` for people."""

    def format(self, record: logging.LogRecord) -> str:
        message = one_line(record.getMessage())
        line = f"{_timestamp(record)} {record.levelname:<7} {record.name}: {message}"
        fields = extra_fields(record)
        if fields:
            line += " " + " ".join(f"{k}={_text_value(v)}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class JsonLineFormatter(JsonFormatter):
    """One JSON object per record: timestamp, level, logger, message and every extra field."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
            timestamp=False,
        )

    def add_fields(
        self,
        log_data: dict[str, Any],
        record: logging.LogRecord,
        message_dict: dict[str, Any],
    ) -> None:
        log_data["timestamp"] = _timestamp(record)
        super().add_fields(log_data, record, message_dict)
        # An extra= field named like a core key must not overwrite it (log pipelines key on
        # them): the core value wins and the caller's value is kept as ``extra_<key>``.
        extras = extra_fields(record)
        core = {"timestamp": _timestamp(record), "level": record.levelname, "logger": record.name}
        if "exc_info" in message_dict:
            core["exception"] = message_dict["exc_info"]
        for key, value in core.items():
            if key in extras:
                log_data[f"extra_{key}"] = extras[key]
                log_data[key] = value


def _parse(
    environ: Mapping[str, str], name: str, allowed: Mapping[str, Any] | tuple, default: str
) -> tuple[str, str | None]:
    raw = environ.get(name, "")
    value = raw.strip().lower()
    if not value:
        return default, None
    if value in allowed:
        return value, None
    choices = ", ".join(sorted(allowed))
    return default, f"unknown {name} {raw!r}, using {default!r} (allowed: {choices})"


def configure_logging(environ: Mapping[str, str] | None = None) -> None:
    """Install the stderr handler on the root logger; warn once about bad env values."""
    environ = os.environ if environ is None else environ
    level_name, level_problem = _parse(environ, "LOG_LEVEL", LEVELS, DEFAULT_LEVEL)
    log_format, format_problem = _parse(environ, "LOG_FORMAT", FORMATS, DEFAULT_FORMAT)

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter() if log_format == "json" else TextFormatter())

    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[level_name])
    logging.captureWarnings(True)

    # A misconfiguration is reported even when LOG_LEVEL filters out warnings.
    log = logging.getLogger("tarsy.logging")
    for problem in (level_problem, format_problem):
        if problem:
            log.log(max(logging.WARNING, root.level), problem)
