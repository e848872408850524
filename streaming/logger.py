"""Per-session streaming log files, buffered so that appending never waits on the disk.

``append`` only buffers (a lock and a list append); a background thread
(:mod:`streaming.flush_thread`) writes the buffers out every ``flush_interval_seconds``, or
sooner when a session's buffer passes ``buffer_limit``. While a session is open its file is
held locked, which is how the sweeper tells it is active: the rules are in
:mod:`streaming.files`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from streaming import files
from streaming.config import StreamingLogsConfig
from streaming.flush_thread import FlushThread
from streaming.session import OpenSession, OpenSessions, as_bytes, join_chunks

log = logging.getLogger(__name__)

DEFAULT_BUFFER_LIMIT = 64 * 1024
# Past this many times buffer_limit, the appending thread writes the buffer itself: memory
# stays bounded even when the flush thread cannot keep up.
HARD_LIMIT_FACTOR = 4

# How a session's end is logged, by the reason it ended.
_ENDINGS = {
    "completed": (logging.INFO, "streaming session completed"),
    "idle": (logging.WARNING, "streaming session completed after being idle"),
    "logger closed": (logging.INFO, "streaming session closed"),
}


def _idle_timeout(config: StreamingLogsConfig, given: timedelta | None) -> timedelta:
    """The idle timeout: as given, else ``max_session_age_hours``; it must be positive."""
    timeout = timedelta(hours=config.max_session_age_hours) if given is None else given
    if timeout <= timedelta(0):
        raise ValueError(f"idle_timeout must be positive, got {timeout}")
    return timeout


class StreamingLogger:
    """Buffers text per session and streams it to ``<base_dir>/<session_id>.log``.

    Thread-safe. Call :meth:`complete_session` when a session ends and :meth:`close` at
    shutdown (or use it as a context manager). ``idle_timeout`` overrides
    ``max_session_age_hours``: a session with no write for that long is completed
    automatically, so a leaked session cannot keep its file locked forever. ``clock`` is a
    monotonic clock in seconds, for the flush interval and the idle timeout.
    """

    def __init__(
        self,
        config: StreamingLogsConfig,
        *,
        idle_timeout: timedelta | None = None,
        buffer_limit: int = DEFAULT_BUFFER_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if buffer_limit < 1:
            raise ValueError(f"buffer_limit must be at least 1 byte, got {buffer_limit}")
        self.config = config
        self.base_dir = Path(config.base_dir)
        self.enabled = config.enabled
        self.idle_timeout = _idle_timeout(config, idle_timeout)
        self.buffer_limit = buffer_limit
        self._hard_limit = HARD_LIMIT_FACTOR * buffer_limit
        self._clock = clock
        self._open = OpenSessions()
        # The table's own lock and dict, for the append hot path.
        self._lock, self._sessions = self._open.lock, self._open.by_id
        self._closed = False
        #: Bytes that could not be written (disk full, I/O error); each loss is logged.
        self.lost_bytes = 0
        self._thread = FlushThread(
            interval=float(config.flush_interval_seconds),
            clock=clock,
            on_interval=self._on_interval,
            on_wake=self._flush_large,
        )
        if self.enabled:
            self._thread.start()
        self._log_started()

    def _log_started(self) -> None:
        log.debug(
            "streaming logger started",
            extra={
                "base_dir": str(self.base_dir),
                "enabled": self.enabled,
                "flush_interval_seconds": self.config.flush_interval_seconds,
                "idle_timeout_seconds": self.idle_timeout.total_seconds(),
                "time_based_cleanup": self.config.time_based_cleanup,
            },
        )

    def path_for(self, session_id: str) -> Path:
        """The file a session's log goes to; raises :class:`~streaming.files.InvalidSessionId`."""
        return files.log_path(self.base_dir, session_id)

    def append(self, session_id: str, text: str | bytes) -> None:
        """Buffer ``text`` for the session; the first append opens (and locks) its file.

        Raises :class:`~streaming.files.InvalidSessionId` for a bad id, :class:`OSError` if the
        file cannot be opened, :class:`RuntimeError` after :meth:`close`. A no-op when
        streaming is disabled.
        """
        if not self.enabled:
            return
        if type(text) is not str and type(text) is not bytes:
            text = as_bytes(text)
        # The hot path: one lock, one list append. Encoding and joining happen at flush time.
        lock = self._lock
        lock.acquire()
        try:
            session = self._sessions.get(session_id)
            if session is not None:
                session.chunks.append(text)
                size = session.size = session.size + len(text)
                if size < self.buffer_limit:
                    return
        finally:
            lock.release()
        if session is None:
            self._start(session_id, text)
        elif size >= self._hard_limit:
            self._flush(session)
        elif not session.woke:
            session.woke = True
            self._thread.wake()

    def flush(self) -> None:
        """Write every session's buffer now."""
        for session in self._open.snapshot():
            self._flush(session)

    def tick(self) -> None:
        """Do the flush thread's due work once, as of ``clock()`` (for a fake clock's tests).

        When a flush interval has passed: write every buffer, then complete idle sessions;
        otherwise write only the buffers past ``buffer_limit``.
        """
        self._thread.tick()

    def complete_session(self, session_id: str) -> bool:
        """Flush, close and unlock the session's file; False if the session was not open.

        The file is kept for the sweeper's retention window, or deleted at once when
        ``time_based_cleanup`` is false.
        """
        if not self.enabled:
            return False
        files.validate_session_id(session_id)
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            log.debug("complete_session: session not open", extra={"session_id": session_id})
            return False
        return self._complete(
            session, reason="completed", delete=not self.config.time_based_cleanup
        )

    def active_sessions(self) -> list[str]:
        """Ids of the sessions whose files are open (and locked) right now."""
        with self._lock:
            return sorted(self._sessions)

    def close(self) -> None:
        """Flush everything, close every file and stop the flush thread; idempotent.

        Sessions still open are closed, not completed: their files are kept even with
        ``time_based_cleanup`` false (an interrupted session's log is worth reading), and the
        sweeper removes them after the retention window.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._thread.stop()
        sessions = self._open.snapshot()
        for session in sessions:
            self._complete(session, reason="logger closed", delete=False)
        log.debug(
            "streaming logger closed",
            extra={"sessions_closed": len(sessions), "lost_bytes": self.lost_bytes},
        )

    def __enter__(self) -> StreamingLogger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start(self, session_id: str, text: str | bytes) -> None:
        """Slow path of the first append: validate, register, open and lock the file."""
        path = self.path_for(session_id)
        with self._lock:
            if self._closed:
                raise RuntimeError("StreamingLogger is closed")
            session = self._sessions.get(session_id)
            is_new = session is None
            if session is None:
                session = self._sessions[session_id] = OpenSession(session_id, path, self._clock())
            session.chunks.append(text)
            session.size += len(text)
        if not is_new:
            return
        with session.io_lock:
            try:
                session.fd = files.open_locked(path)
            except OSError:
                self._abandon(session, first=len(text))
                raise
        log.debug("streaming session opened", extra=session.fields())
        if session.size >= self._hard_limit:
            self._flush(session)
        elif session.size >= self.buffer_limit:
            self._thread.wake()

    def _abandon(self, session: OpenSession, *, first: int) -> None:
        """Forget a session whose file did not open; count what others appended meanwhile
        (after the ``first`` append, whose caller gets the error) as lost."""
        dropped = sum(map(len, self._open.end(session) or [])) - first
        if dropped > 0:
            self._lost(session, dropped, "file could not be opened")

    def _flush(self, session: OpenSession) -> None:
        with session.io_lock:
            with self._lock:
                if not session.chunks:
                    return
                chunks = session.take()
            self._write(session, join_chunks(chunks))
            session.last_activity = self._clock()

    def _write(self, session: OpenSession, data: bytes) -> None:
        """Write ``data`` and account for what could not be; ``session.io_lock`` is held."""
        lost, reason = session.write(data)
        if lost:
            self._lost(session, lost, reason)

    def _lost(self, session: OpenSession, count: int, reason: str) -> None:
        self.lost_bytes += count
        log.error(
            "streaming log data could not be written",
            extra={**session.fields(), "lost_bytes": count, "reason": reason},
        )

    def _complete(self, session: OpenSession, *, reason: str, delete: bool) -> bool:
        """Write what is pending, delete the file if asked, and release it; False if the
        session had already ended."""
        with session.io_lock:
            chunks = self._open.end(session)
            if chunks is None:
                return False
            if chunks:
                self._write(session, join_chunks(chunks))
            deleted = self._delete_file(session) if delete else False
            session.close_file()
        level, message = _ENDINGS[reason]
        log.log(
            level,
            message,
            extra={
                **session.fields(),
                "bytes_written": session.bytes_written,
                "reason": reason,
                "file_kept": not deleted,
            },
        )
        return True

    def _delete_file(self, session: OpenSession) -> bool:
        """Delete a completed session's file (when ``time_based_cleanup`` is off)."""
        try:
            return session.delete_file()
        except OSError as exc:
            log.warning(
                "streaming log file could not be deleted at completion",
                extra={**session.fields(), "error": exc.strerror or str(exc)},
            )
            return False

    def _on_interval(self) -> None:
        self.flush()
        self._complete_idle()

    def _flush_large(self) -> None:
        for session in self._open.snapshot(lambda s: s.size >= self.buffer_limit):
            self._flush(session)

    def _complete_idle(self) -> None:
        cutoff = self._clock() - self.idle_timeout.total_seconds()
        for session in self._open.snapshot(lambda s: s.idle_since(cutoff)):
            self._complete(session, reason="idle", delete=not self.config.time_based_cleanup)
