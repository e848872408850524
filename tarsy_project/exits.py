"""The exit codes of every TARSy Ops command, in one table (README.md, "Exit codes", lists them),
and the exception that carries one.

A script around a command (a CronJob, an init container, an alerting check) can tell a broken
job from a broken environment without reading the log line: each usual failure has its own code.
"""

from __future__ import annotations

from enum import IntEnum

from django.core.exceptions import ImproperlyConfigured


class ExitCode(IntEnum):
    """What a non-zero exit of ``manage.py <command>`` means."""

    OK = 0
    # The command ran and found or caused a failure: a job failed, an unknown session id,
    # cleanup_status saw a problem, the liveness heartbeat is stale.
    FAILURE = 1
    # The command was called or configured wrongly: a bad flag or argument, an unreadable or
    # invalid tarsy.yaml, SECRET_KEY missing for the web server.
    USAGE = 2
    # The database could not be reached (host down, port closed, wrong credentials, no such
    # database).
    DATABASE_UNREACHABLE = 3
    # The database is reachable but its schema is behind the code: run `manage.py migrate`.
    NOT_MIGRATED = 4
    # DATABASE_URL cannot be understood (an unknown scheme, no scheme at all).
    BAD_DATABASE_URL = 5


class ExpectedFailure(Exception):
    """A failure the operator can fix: its message is the whole story, one line, no traceback."""

    def __init__(self, message: str, *, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class SettingsError(ExpectedFailure, ImproperlyConfigured):
    """A setting the process cannot run with (raised while the settings load, or at start)."""
