"""Structured logging from LOG_LEVEL / LOG_FORMAT (DESIGN §3), through real processes.

The subprocesses run this checkout's ``manage.py`` (or a ``python -c`` snippet that calls
``django.setup()``) with ``DJANGO_SETTINGS_MODULE`` unset, so the production settings module
configures logging exactly as it does in a container.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tarsy_project.logging import configure_logging

REPO = Path(__file__).resolve().parent.parent

TEXT_LINE = re.compile(
    r"^(?P<timestamp>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) "
    r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) +"
    r"(?P<logger>[\w.]+): (?P<rest>.*)$"
)
ISO_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# Logs one line per level, with structured fields, a Python warning, a real SQL query through
# Django's own logger and an exception, so one run shows every kind of line.
SNIPPET = textwrap.dedent(
    """
    import logging, os, warnings
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tarsy_project.settings")  # as manage.py
    django.setup()
    from django.db import connection

    log = logging.getLogger("tarsy.probe")
    log.debug("probe-debug", extra={"step": "debug"})
    log.info(
        "probe-info",
        extra={"job": "retention", "deleted": 3, "duration_ms": 12.5, "session_id": "s-1"},
    )
    log.info("probe-quoted", extra={"note": "two words", "empty": "", "eq": "a=b"})
    log.warning("probe-warning")
    log.error("probe-error", extra={"job": "sweeper"})
    warnings.warn("probe-python-warning", UserWarning)
    connection.force_debug_cursor = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("probe-exception", extra={"job": "purge"})
    """
)


def make_env(**overrides: str) -> dict[str, str]:
    """The test process's environment for a child that loads ``tarsy_project.settings``."""
    env = dict(os.environ)
    for name in ("DJANGO_SETTINGS_MODULE", "LOG_LEVEL", "LOG_FORMAT", "PYTHONWARNINGS"):
        env.pop(name, None)
    env.pop("TARSY_CONFIG", None)
    env["SECRET_KEY"] = "tests-only-not-secret"
    # The snippet runs one query; logging does not depend on the engine, so keep it local.
    env["DATABASE_URL"] = "sqlite://:memory:"
    env.update(overrides)
    return env


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``args`` with this interpreter in the repository; fail the test on a non-zero exit."""
    result = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=make_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def run_check(**env: str) -> subprocess.CompletedProcess[str]:
    """``python manage.py check`` with the given environment."""
    return run(["manage.py", "check"], **env)


def run_snippet(**env: str) -> subprocess.CompletedProcess[str]:
    """The logging probe snippet with the given environment."""
    return run(["-c", SNIPPET], **env)


def json_lines(stderr: str) -> list[dict]:
    """Every stderr line as a JSON object; fails on any line that is not one."""
    lines = stderr.splitlines()
    assert lines, "expected log lines on stderr"
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"stderr line is not JSON: {line!r}")
        assert isinstance(record, dict), line
        records.append(record)
    return records


def by_message(records: list[dict], message: str) -> dict:
    """The only record whose message is ``message``."""
    found = [r for r in records if r["message"] == message]
    assert len(found) == 1, (message, records)
    return found[0]


# -- JSON --------------------------------------------------------------------------------------


def test_manage_py_check_json_every_line_is_an_object() -> None:
    result = run_check(LOG_FORMAT="json", LOG_LEVEL="debug")
    records = json_lines(result.stderr)
    for record in records:
        assert {"timestamp", "level", "logger", "message"} <= record.keys(), record
        assert ISO_TIMESTAMP.match(record["timestamp"]), record
        assert record["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
        assert isinstance(record["message"], str)
    # Settings read through django-environ log at debug: logging was set up before them.
    assert any(r["logger"] == "environ.environ" and r["level"] == "DEBUG" for r in records)
    assert "System check identified no issues" in result.stdout


def test_json_lines_carry_fields_warnings_django_and_exceptions() -> None:
    records = json_lines(run_snippet(LOG_FORMAT="json", LOG_LEVEL="debug").stderr)
    for record in records:
        assert {"timestamp", "level", "logger", "message"} <= record.keys(), record

    info = by_message(records, "probe-info")
    assert info["level"] == "INFO"
    assert info["logger"] == "tarsy.probe"
    assert info["job"] == "retention"
    assert info["deleted"] == 3
    assert info["duration_ms"] == 12.5
    assert info["session_id"] == "s-1"

    assert by_message(records, "probe-debug")["step"] == "debug"
    assert by_message(records, "probe-error")["job"] == "sweeper"
    assert by_message(records, "probe-warning")["level"] == "WARNING"

    python_warnings = [r for r in records if r["logger"] == "py.warnings"]
    assert len(python_warnings) == 1, records
    assert python_warnings[0]["level"] == "WARNING"
    assert "UserWarning: probe-python-warning" in python_warnings[0]["message"]

    queries = [r for r in records if r["logger"] == "django.db.backends"]
    assert any(r["level"] == "DEBUG" and r.get("sql") == "SELECT 1" for r in queries), queries

    failure = by_message(records, "probe-exception")
    assert failure["level"] == "ERROR"
    assert failure["job"] == "purge"
    assert failure["exception"].startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: division by zero" in failure["exception"]


# -- text --------------------------------------------------------------------------------------


def test_manage_py_check_text_lines_are_readable() -> None:
    lines = run_check(LOG_FORMAT="text", LOG_LEVEL="debug").stderr.splitlines()
    assert lines
    for line in lines:
        assert TEXT_LINE.match(line), line
    assert any(" DEBUG   environ.environ: get 'DEBUG'" in line for line in lines), lines


def test_text_lines_carry_fields_warnings_django_and_exceptions() -> None:
    stderr = run_snippet(LOG_FORMAT="text", LOG_LEVEL="debug").stderr
    lines = stderr.splitlines()
    parsed = {}
    for line in lines:
        match = TEXT_LINE.match(line)
        if match:
            parsed.setdefault(match["rest"].split(" ", 1)[0], []).append(match)
    info = parsed["probe-info"][0]
    assert info["level"] == "INFO"
    assert info["logger"] == "tarsy.probe"
    assert info["rest"] == "probe-info job=retention deleted=3 duration_ms=12.5 session_id=s-1"
    assert parsed["probe-quoted"][0]["rest"] == 'probe-quoted note="two words" empty="" eq="a=b"'
    assert parsed["probe-debug"][0]["rest"] == "probe-debug step=debug"
    assert parsed["probe-error"][0]["rest"] == "probe-error job=sweeper"

    warning_lines = [line for line in lines if " py.warnings: " in line]
    assert len(warning_lines) == 1, stderr
    assert TEXT_LINE.match(warning_lines[0])["level"] == "WARNING"
    assert "UserWarning: probe-python-warning" in warning_lines[0]

    query_lines = [line for line in lines if " django.db.backends: " in line]
    assert any(TEXT_LINE.match(line)["level"] == "DEBUG" for line in query_lines), stderr
    assert any('sql="SELECT 1"' in line for line in query_lines), stderr

    failure = parsed["probe-exception"][0]
    assert failure["level"] == "ERROR"
    assert failure["rest"] == "probe-exception job=purge"
    after = stderr.split("probe-exception job=purge\n", 1)[1]
    assert after.startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: division by zero" in after


# -- levels ------------------------------------------------------------------------------------


WARN_UP = {"probe-warning", "probe-error", "probe-exception"}
INFO_UP = {"probe-info", "probe-quoted"} | WARN_UP


@pytest.mark.parametrize(
    ("level", "shown"),
    [
        ("WARNING", WARN_UP),
        ("warn", WARN_UP),
        ("Warn", WARN_UP),
        ("Debug", {"probe-debug"} | INFO_UP),
        ("DEBUG", {"probe-debug"} | INFO_UP),
        ("error", {"probe-error", "probe-exception"}),
        ("ERROR", {"probe-error", "probe-exception"}),
        ("INFO", INFO_UP),
        (" info ", INFO_UP),
    ],
)
def test_log_level_is_case_insensitive(level: str, shown: set[str]) -> None:
    records = json_lines(run_snippet(LOG_FORMAT="JSON", LOG_LEVEL=level).stderr)
    probes = {r["message"] for r in records if r["logger"] == "tarsy.probe"}
    assert probes == shown, (level, probes)
    # Django's query log and django-environ's lines are at debug: filtered the same way.
    has_debug = any(r["level"] == "DEBUG" for r in records)
    assert has_debug == ("probe-debug" in shown), records
    assert any(r["logger"] == "django.db.backends" for r in records) == has_debug
    python_warning = any(r["logger"] == "py.warnings" for r in records)
    assert python_warning == ("probe-warning" in shown), records
    assert all(r["logger"] != "tarsy.logging" for r in records), records


def test_default_level_is_info_and_format_is_text() -> None:
    lines = run_snippet().stderr.splitlines()
    messages = [TEXT_LINE.match(line)["rest"] for line in lines if TEXT_LINE.match(line)]
    assert any(m.startswith("probe-info ") for m in messages), lines
    assert not any(m.startswith("probe-debug") for m in messages), lines
    assert not any(" DEBUG " in line for line in lines), lines


# -- bad values --------------------------------------------------------------------------------


def test_unknown_log_level_warns_once_and_uses_info() -> None:
    stderr = run_check(LOG_FORMAT="json", LOG_LEVEL="verbose").stderr
    records = json_lines(stderr)
    problems = [r for r in records if "LOG_LEVEL" in r["message"]]
    assert len(problems) == 1, records
    assert problems[0]["level"] == "WARNING"
    assert problems[0]["logger"] == "tarsy.logging"
    assert problems[0]["message"] == (
        "unknown LOG_LEVEL 'verbose', using 'info' (allowed: debug, error, info, warn, warning)"
    )
    assert stderr.count("verbose") == 1

    records = json_lines(run_snippet(LOG_FORMAT="json", LOG_LEVEL="verbose").stderr)
    probes = {r["message"] for r in records if r["logger"] == "tarsy.probe"}
    assert "probe-info" in probes
    assert "probe-debug" not in probes
    assert sum("LOG_LEVEL" in r["message"] for r in records) == 1


def test_unknown_log_format_warns_once_and_uses_text() -> None:
    lines = run_check(LOG_FORMAT="xml", LOG_LEVEL="debug").stderr.splitlines()
    for line in lines:
        assert TEXT_LINE.match(line), line
    problems = [line for line in lines if "LOG_FORMAT" in line]
    assert len(problems) == 1, lines
    assert problems[0].endswith(
        " WARNING tarsy.logging: unknown LOG_FORMAT 'xml', using 'text' (allowed: json, text)"
    )
    assert sum("xml" in line for line in lines) == 1


def test_both_unknown_warn_once_each() -> None:
    lines = run_check(LOG_FORMAT="yaml", LOG_LEVEL="loud").stderr.splitlines()
    assert len(lines) == 2, lines
    assert "unknown LOG_LEVEL 'loud', using 'info'" in lines[0]
    assert "unknown LOG_FORMAT 'yaml', using 'text'" in lines[1]
    for line in lines:
        assert TEXT_LINE.match(line)["level"] == "WARNING"


# -- in-process --------------------------------------------------------------------------------


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    """Put the root logger's handlers and level (and warnings' hook) back after the test."""
    root = logging.getLogger()
    handlers, level, showwarning = list(root.handlers), root.level, warnings.showwarning
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    warnings.showwarning = showwarning


@pytest.mark.usefixtures("restore_root_logger")
def test_configure_logging_json_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(environ={"LOG_FORMAT": "json", "LOG_LEVEL": "info"})
    log = logging.getLogger("tarsy.inprocess")
    log.debug("hidden")
    log.info("shown %s", "here", extra={"count": 2, "ids": ["a", "b"], "path": Path("/x")})
    records = json_lines(capsys.readouterr().err)
    assert [r["message"] for r in records if r["logger"] == "tarsy.inprocess"] == ["shown here"]
    shown = records[0]
    assert shown["count"] == 2
    assert shown["ids"] == ["a", "b"]
    assert shown["path"] == "/x"


@pytest.mark.usefixtures("restore_root_logger")
def test_json_core_keys_cannot_be_overwritten_by_extra(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(environ={"LOG_FORMAT": "json"})
    logging.getLogger("tarsy.inprocess").warning(
        "clash", extra={"level": "fine", "logger": "someone", "timestamp": "yesterday"}
    )
    (record,) = json_lines(capsys.readouterr().err)
    assert record["level"] == "WARNING"
    assert record["logger"] == "tarsy.inprocess"
    assert ISO_TIMESTAMP.match(record["timestamp"])
    assert record["extra_level"] == "fine"
    assert record["extra_logger"] == "someone"
    assert record["extra_timestamp"] == "yesterday"


@pytest.mark.usefixtures("restore_root_logger")
def test_text_values_cannot_forge_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(environ={"LOG_FORMAT": "text"})
    logging.getLogger("tarsy.inprocess").info(
        "value", extra={"reason": 'bad\n2026-01-01T00:00:00.000Z ERROR x: "forged"'}
    )
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].endswith(
        'tarsy.inprocess: value reason="bad\\n2026-01-01T00:00:00.000Z ERROR x: \\"forged\\""'
    )


@pytest.mark.usefixtures("restore_root_logger")
def test_configure_logging_replaces_its_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(environ={"LOG_FORMAT": "text"})
    configure_logging(environ={"LOG_FORMAT": "json", "LOG_LEVEL": "error"})
    assert len(logging.getLogger().handlers) == 1
    assert logging.getLogger().level == logging.ERROR
    log = logging.getLogger("tarsy.inprocess")
    log.warning("not shown")
    log.error("once")
    records = json_lines(capsys.readouterr().err)
    assert [r["message"] for r in records] == ["once"]


@pytest.mark.usefixtures("restore_root_logger")
def test_configure_logging_bad_values_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(environ={"LOG_FORMAT": "Logfmt", "LOG_LEVEL": "TRACE"})
    logging.getLogger("tarsy.inprocess").debug("not shown")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith(
        "WARNING tarsy.logging: unknown LOG_LEVEL 'TRACE', using 'info' "
        "(allowed: debug, error, info, warn, warning)"
    )
    assert lines[1].endswith(
        "WARNING tarsy.logging: unknown LOG_FORMAT 'Logfmt', using 'text' (allowed: json, text)"
    )


def _database_error() -> Exception:
    """A real multi-line database error: psycopg's, for a port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        psycopg.connect(host="127.0.0.1", port=port, user="nobody", dbname="x", connect_timeout=5)
    except psycopg.OperationalError as exc:
        assert "\n" in str(exc), "expected psycopg's error over several lines"
        return exc
    raise AssertionError("connected to a port where nothing listens")


@pytest.mark.usefixtures("restore_root_logger")
def test_multi_line_database_errors_are_one_line_in_both_formats(
    capsys: pytest.CaptureFixture[str],
) -> None:
    error = _database_error()
    configure_logging(environ={"LOG_FORMAT": "text"})
    logging.getLogger("tarsy.inprocess").error("retention failed: %s", error, extra={"job": "x"})
    (line,) = capsys.readouterr().err.splitlines()
    first, hint = (part.strip() for part in str(error).splitlines())
    assert line.endswith(f"tarsy.inprocess: retention failed: {first} | {hint} job=x"), line

    configure_logging(environ={"LOG_FORMAT": "json"})
    logging.getLogger("tarsy.inprocess").error("retention failed: %s", error)
    (record,) = json_lines(capsys.readouterr().err)
    assert record["message"] == f"retention failed: {error}"
