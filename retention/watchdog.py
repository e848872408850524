"""Signs of life of a running job, and a way to free it from a database that never answers.

A database server that is frozen (stopped, or a host that vanished with its TCP peer still
acknowledging) leaves a client waiting on its socket for ever: neither ``statement_timeout``
(the server enforces it) nor TCP keepalives (the peer's kernel still answers) end the wait,
and a cancel request needs a new connection to the same frozen server. So each run is watched
from outside its thread: the run marks a sign of life at every database call's start and end,
every progress report and every stop check, and the loop's watchdog shuts down the socket of a
run's connection when the run has been silent for :data:`CALL_BOUND` (or when a stop request
must get the thread back). The blocked wait then returns, the driver raises, and the step
fails like any other database error. A run still silent :data:`STUCK_AFTER` seconds after its
last sign of life is *stuck*: the loop stops beating the heartbeat, so liveness restarts the
process.

A step therefore shows it is alive at least every :data:`CALL_BOUND` seconds: by its database
calls, by its progress reports, or by asking whether a stop was requested.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

log = logging.getLogger("retention.watchdog")

# The longest a run may go without a sign of life before its connection is broken. Longer than
# any single statement the server itself lets run (retention batches carry a 60 s
# statement_timeout), so only a call the server cannot answer, or one it never bounded, is cut.
CALL_BOUND = 90.0
# A run silent for this long was not freed by breaking its connection: it is stuck.
STUCK_AFTER = CALL_BOUND + 30.0


class RunWatch:
    """One job's runs, one at a time: when the running one last showed life, and its connection.

    The run's own thread calls :meth:`watching` (around the run), :meth:`mark` and
    :meth:`close_connections`; the loop's thread calls :meth:`silent_for` and
    :meth:`break_connection`. A lock keeps a break from meeting a descriptor the run closed and
    the system reused.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._last_sign: float | None = None  # None: no run in progress
        self._database: Any = None  # the running thread's connection wrapper
        self._broken_at: float | None = None  # the sign of life a break was made after

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Watch a run on the calling thread: its database calls are signs of life."""
        database = connections[DEFAULT_DB_ALIAS]
        with self._lock:
            self._database = database
            self._last_sign = self.clock()
            self._broken_at = None
        try:
            with database.execute_wrapper(self._around_call):
                yield
        finally:
            with self._lock:
                self._last_sign = None
                self._database = None

    def _around_call(self, execute: Callable, sql: str, params: Any, many: bool, context: Any):
        self.mark()
        try:
            return execute(sql, params, many, context)
        finally:
            self.mark()

    def mark(self) -> None:
        """A sign of life of the running run."""
        with self._lock:
            if self._last_sign is not None:
                self._last_sign = self.clock()

    def silent_for(self) -> float | None:
        """Seconds since the running run last showed life; None when none is running."""
        with self._lock:
            return None if self._last_sign is None else self.clock() - self._last_sign

    @property
    def was_broken(self) -> bool:
        """Whether the current (or last) run's connection was broken from outside."""
        with self._lock:
            return self._broken_at is not None

    def break_connection(self) -> bool:
        """Shut down the socket of the running run's connection, so that a call blocked on it
        returns with an error. True when there was such a socket and this is the first break
        since the run's last sign of life (the caller logs it then)."""
        with self._lock:
            fd = _socket_of(self._database)
            if fd is None:
                return False
            try:
                with socket.socket(fileno=os.dup(fd)) as sock:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                return False  # already shut down, or not a socket any more
            first = self._broken_at != self._last_sign
            self._broken_at = self._last_sign
            return first

    def close_connections(self) -> None:
        """Close the calling thread's database connections (a failed step leaves no broken
        transaction to the next; a finished run holds no connection while it waits)."""
        with self._lock:
            connections.close_all()


def _socket_of(database: Any) -> int | None:
    """The descriptor of a PostgreSQL connection's socket, if it has one open."""
    raw = getattr(database, "connection", None)
    pgconn = getattr(raw, "pgconn", None)
    if pgconn is None:
        return None  # no connection, or not PostgreSQL (SQLite has no server to wait for)
    try:
        return pgconn.socket
    except Exception:  # psycopg raises when the connection is closed or lost
        return None
