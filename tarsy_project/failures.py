"""The usual failures of a command, each as one log line and its exit code (``exits.ExitCode``).

A database that is down, a schema that was never migrated, a bad DATABASE_URL or tarsy.yaml: an
operator needs one line that says what to fix, not a traceback. ``describe_failure`` recognises
them; ``exit_on_failure`` logs the line and exits, for ``manage.py`` itself (Django's commands,
settings that do not load) and for every ``StructuredCommand``. Anything it does not recognise
is a bug and keeps its traceback. With ``LOG_LEVEL=debug`` the traceback is logged too.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType

from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from tarsy_project.config_fields import ConfigError
from tarsy_project.exits import ExitCode, ExpectedFailure

log = logging.getLogger("tarsy.command")

# What the drivers say when a table or column the code expects is not there.
_SQLITE_SCHEMA_BEHIND = re.compile(r"^(no such (table|column)|table \S+ has no column named)")
_POSTGRESQL_SCHEMA_BEHIND = {"42P01", "42703"}  # undefined_table, undefined_column


@dataclass(frozen=True)
class Failure:
    """One line for the log and the code to exit with."""

    exit_code: int
    message: str


def describe_failure(exc: BaseException) -> Failure | None:
    """The line and exit code for a failure an operator can fix; None for anything else."""
    if isinstance(exc, ExpectedFailure):
        return Failure(exc.exit_code, str(exc))
    if isinstance(exc, CommandError):
        return Failure(exc.returncode, str(exc))
    if isinstance(exc, ConfigError):
        return Failure(ExitCode.USAGE, f"invalid configuration: {exc}")
    if isinstance(exc, DatabaseError):
        return describe_database_error(exc)
    return None


def describe_database_error(exc: DatabaseError) -> Failure:
    """Unreachable (host and port named, never the password), not migrated, or other."""
    wrapper, connecting = _failed_connection(exc.__traceback__)
    detail = _driver_message(exc)
    if _schema_behind(exc, detail):
        return Failure(
            ExitCode.NOT_MIGRATED,
            f"database is not migrated: {detail}; run `manage.py migrate`",
        )
    if connecting or _connection_lost(exc):
        return Failure(
            ExitCode.DATABASE_UNREACHABLE,
            f"database unreachable: {_where(wrapper)}: {_reason(detail)}",
        )
    return Failure(ExitCode.FAILURE, f"database error: {detail}")


@contextmanager
def exit_on_failure(command: str) -> Iterator[None]:
    """Turn a recognised failure inside the block into its log line and exit code."""
    try:
        yield
    except Exception as exc:
        failure = describe_failure(exc)
        if failure is None:
            raise
        report_failure(failure, command=command, exc=exc)
        sys.exit(int(failure.exit_code))


def report_failure(failure: Failure, *, command: str, exc: BaseException | None = None) -> None:
    """Log ``failure`` as one ERROR line (plus the traceback at LOG_LEVEL=debug)."""
    log.error(
        "%s",
        failure.message,
        extra={"command": command, "exit_code": int(failure.exit_code)},
        exc_info=exc if exc is not None and log.isEnabledFor(logging.DEBUG) else None,
    )


def _driver_message(exc: BaseException) -> str:
    """The driver's first line (psycopg adds a LINE/caret block, or a hint on a tab)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip()


def _schema_behind(exc: DatabaseError, detail: str) -> bool:
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    return sqlstate in _POSTGRESQL_SCHEMA_BEHIND or bool(_SQLITE_SCHEMA_BEHIND.match(detail))


def _connection_lost(exc: DatabaseError) -> bool:
    """A PostgreSQL error raised by the client library itself (no SQLSTATE): the server went
    away, or the connection broke. Errors the server sends (lock timeouts...) carry one."""
    cause = exc.__cause__
    return type(cause).__module__.startswith("psycopg") and getattr(cause, "sqlstate", 1) is None


def _failed_connection(tb: TracebackType | None) -> tuple[BaseDatabaseWrapper, bool]:
    """The connection the failure happened on (found in the traceback's frames; the default
    one when none is), and whether it failed while connecting."""
    found: BaseDatabaseWrapper | None = None
    connecting = False
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if isinstance(owner, CursorWrapper):
            owner = owner.db
        if isinstance(owner, BaseDatabaseWrapper):
            found = owner
            connecting = connecting or tb.tb_frame.f_code.co_name == "get_new_connection"
        tb = tb.tb_next
    return found or connections[DEFAULT_DB_ALIAS], connecting


def _where(wrapper: BaseDatabaseWrapper) -> str:
    """Where the database is, without credentials: ``host:port`` or the SQLite file."""
    settings = wrapper.settings_dict
    if wrapper.vendor == "sqlite":
        return f"cannot open SQLite database {settings['NAME']}"
    host = settings.get("HOST") or "localhost"
    port = settings.get("PORT") or {"postgresql": 5432}.get(wrapper.vendor, "default port")
    return f"cannot connect to {host}:{port} (database {settings.get('NAME')!s})"


def _reason(detail: str) -> str:
    """psycopg's 'connection to server at "h", port p failed: <reason>' without the preamble
    (host and port are said already), and without the server's FATAL prefix."""
    reason = detail.rsplit(" failed: ", 1)[-1]
    return re.sub(r"^(FATAL|ERROR):\s+", "", reason)
