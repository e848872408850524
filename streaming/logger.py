"""Per-session streaming log files, buffered so that appending never waits on the disk.

``append`` only buffers (a lock and a list append); a background thread writes the buffers out
every ``flush_interval_seconds``, or sooner when a session's buffer passes ``buffer_limit``.
While a session is open its file is held locked, which is how the sweeper tells it is active:
the rules are in :mod:`streaming.files`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta
from pathlib import Path
from types import TracebackType

from streaming import files
from streaming.config import StreamingLogsConfig

log = logging.getLogger(__name__)

DEFAULT_BUFFER_LIMIT = 64 * 1024


def _as_bytes(data: object) -> bytes:
    """Copy a bytes-like argument (the caller may reuse its buffer); refuse anything else."""
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"append() takes str or bytes, not {type(data).__name__}")


def _encode(text: str) -> bytes:
    try:
        # Round-trips bytes that were decoded with surrogateescape (e.g. from a pipe).
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")


def _join(chunks: list[str | bytes]) -> bytes:
    """One buffer to write from what was appended, text encoded as UTF-8."""
    try:
        return _encode("".join(chunks))  # type: ignore[arg-type]
    except TypeError:  # some chunks are bytes
        return b"".join(c if isinstance(c, bytes) else _encode(c) for c in chunks)


class _Session:
    """One open session: its pending bytes and its locked file descriptor."""

    __slots__ = (
        "bytes_written",
        "chunks",
        "closed",
        "fd",
        "io_lock",
        "last_activity",
        "path",
        "session_id",
        "size",
        "woke",
    )

    def __init__(self, session_id: str, path: Path) -> None:
        self.session_id = session_id
        self.path = path
        # Pending text and bytes as appended; ``size`` counts their len() (characters for
        # text), a close enough measure for the flush bound.
        self.chunks: list[str | bytes] = []
        self.size = 0
        self.fd: int | None = None
        # Held across "take the buffer" and "write it", so flushes never reorder data.
        self.io_lock = threading.Lock()
        self.last_activity = time.monotonic()
        self.bytes_written = 0
        self.woke = False
        self.closed = False


class StreamingLogger:
    """Buffers text per session and streams it to ``<base_dir>/<session_id>.log``.

    Thread-safe. Call :meth:`complete_session` when a session ends and :meth:`close` at
    shutdown (or use it as a context manager). ``idle_timeout`` overrides
    ``max_session_age_hours``: a session with no write for that long is completed
    automatically, so a leaked session cannot keep its file locked forever.
    """

    def __init__(
        self,
        config: StreamingLogsConfig,
        *,
        idle_timeout: timedelta | None = None,
        buffer_limit: int = DEFAULT_BUFFER_LIMIT,
    ) -> None:
        if buffer_limit < 1:
            raise ValueError(f"buffer_limit must be at least 1 byte, got {buffer_limit}")
        if idle_timeout is None:
            idle_timeout = timedelta(hours=config.max_session_age_hours)
        if idle_timeout <= timedelta(0):
            raise ValueError(f"idle_timeout must be positive, got {idle_timeout}")
        self.config = config
        self.base_dir = Path(config.base_dir)
        self.enabled = config.enabled
        self.idle_timeout = idle_timeout
        self.buffer_limit = buffer_limit
        # Past this, the appending thread writes the buffer itself: memory stays bounded even
        # when the flush thread cannot keep up.
        self._hard_limit = 4 * buffer_limit
        self._interval = float(config.flush_interval_seconds)
        self._idle_seconds = idle_timeout.total_seconds()
        self._delete_on_complete = not config.time_based_cleanup
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        #: Bytes that could not be written (disk full, I/O error); each loss is logged.
        self.lost_bytes = 0
        if self.enabled:
            self._thread = threading.Thread(
                target=self._run, name="streaming-log-flush", daemon=True
            )
            self._thread.start()
        log.debug(
            "streaming logger started",
            extra={
                "base_dir": str(self.base_dir),
                "enabled": self.enabled,
                "flush_interval_seconds": config.flush_interval_seconds,
                "idle_timeout_seconds": self._idle_seconds,
                "time_based_cleanup": config.time_based_cleanup,
            },
        )

    # -- public API ----------------------------------------------------------------------------

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
            text = _as_bytes(text)
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
            self._wake.set()

    def flush(self) -> None:
        """Write every session's buffer now."""
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            self._flush(session)

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
        return self._complete(session, reason="completed", delete=self._delete_on_complete)

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
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            self._complete(session, reason="logger closed", delete=False)
        log.debug(
            "streaming logger closed",
            extra={"sessions_closed": len(sessions), "lost_bytes": self.lost_bytes},
        )

    def __enter__(self) -> StreamingLogger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- sessions --------------------------------------------------------------------------------

    def _start(self, session_id: str, text: str | bytes) -> None:
        """Slow path of the first append: validate, register, open and lock the file."""
        path = self.path_for(session_id)
        with self._lock:
            if self._closed:
                raise RuntimeError("StreamingLogger is closed")
            session = self._sessions.get(session_id)
            is_new = session is None
            if session is None:
                session = self._sessions[session_id] = _Session(session_id, path)
            session.chunks.append(text)
            session.size += len(text)
        if not is_new:
            return
        with session.io_lock:
            try:
                session.fd = files.open_locked(path)
            except OSError:
                with self._lock:
                    if self._sessions.get(session_id) is session:
                        del self._sessions[session_id]
                    session.closed = True
                    dropped = session.size - len(text)
                    session.chunks, session.size = [], 0
                if dropped > 0:
                    self._lost(session, dropped, "file could not be opened")
                raise
        log.debug("streaming session opened", extra={"session_id": session_id, "path": str(path)})
        if session.size >= self._hard_limit:
            self._flush(session)
        elif session.size >= self.buffer_limit:
            self._wake.set()

    def _flush(self, session: _Session) -> None:
        with session.io_lock:
            with self._lock:
                chunks = session.chunks
                if not chunks:
                    return
                session.chunks, session.size = [], 0
                session.woke = False
            self._write(session, _join(chunks))
            session.last_activity = time.monotonic()

    def _write(self, session: _Session, data: bytes) -> None:
        """Write all of ``data``; called with ``session.io_lock`` held. Never raises."""
        if session.fd is None:
            self._lost(session, len(data), "file is not open")
            return
        view = memoryview(data)
        try:
            while view:
                written = os.write(session.fd, view)
                session.bytes_written += written
                view = view[written:]
        except OSError as exc:
            self._lost(session, len(view), exc.strerror or str(exc))
        finally:
            view.release()

    def _lost(self, session: _Session, count: int, reason: str) -> None:
        self.lost_bytes += count
        log.error(
            "streaming log data could not be written",
            extra={
                "session_id": session.session_id,
                "path": str(session.path),
                "lost_bytes": count,
                "reason": reason,
            },
        )

    def _complete(self, session: _Session, *, reason: str, delete: bool) -> bool:
        with session.io_lock:
            with self._lock:
                if self._sessions.get(session.session_id) is session:
                    del self._sessions[session.session_id]
                if session.closed:
                    return False
                session.closed = True
                chunks = session.chunks
                session.chunks, session.size = [], 0
            if chunks:
                self._write(session, _join(chunks))
            deleted = self._delete_file(session) if delete else False
            if session.fd is not None:
                os.close(session.fd)  # releases the lock: the sweeper may now judge the file
                session.fd = None
        log.log(
            logging.WARNING if reason == "idle" else logging.INFO,
            "streaming session completed after being idle"
            if reason == "idle"
            else "streaming session closed"
            if reason == "logger closed"
            else "streaming session completed",
            extra={
                "session_id": session.session_id,
                "path": str(session.path),
                "bytes_written": session.bytes_written,
                "reason": reason,
                "file_kept": not deleted,
            },
        )
        return True

    def _delete_file(self, session: _Session) -> bool:
        """Unlink the session's file if the path still names it (old, non-time-based mode)."""
        if session.fd is None:
            return False
        try:
            if not files.still_names(session.path, os.fstat(session.fd)):
                return False
            os.unlink(session.path)
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            log.warning(
                "streaming log file could not be deleted at completion",
                extra={
                    "session_id": session.session_id,
                    "path": str(session.path),
                    "error": exc.strerror or str(exc),
                },
            )
            return False

    # -- the flush thread ------------------------------------------------------------------------

    def _run(self) -> None:
        next_tick = time.monotonic() + self._interval
        while True:
            self._wake.wait(max(0.0, next_tick - time.monotonic()))
            self._wake.clear()
            if self._closed:
                return
            try:
                now = time.monotonic()
                if now >= next_tick:
                    next_tick = now + self._interval
                    self.flush()
                    self._complete_idle()
                else:
                    self._flush_large()
            except Exception:
                log.exception("streaming log flush failed; retrying at the next interval")

    def _flush_large(self) -> None:
        with self._lock:
            large = [s for s in self._sessions.values() if s.size >= self.buffer_limit]
        for session in large:
            self._flush(session)

    def _complete_idle(self) -> None:
        cutoff = time.monotonic() - self._idle_seconds
        with self._lock:
            idle = [
                s for s in self._sessions.values() if s.last_activity <= cutoff and not s.chunks
            ]
        for session in idle:
            self._complete(session, reason="idle", delete=self._delete_on_complete)
