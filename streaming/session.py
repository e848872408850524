"""One open streaming session: its pending text and its locked file (used by the logger).

What was appended is kept as given (text and bytes) and encoded only when written, so
:meth:`StreamingLogger.append <streaming.logger.StreamingLogger.append>` stays a list append.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from streaming import files


def as_bytes(data: object) -> bytes:
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


def join_chunks(chunks: list[str | bytes]) -> bytes:
    """One buffer to write from what was appended, text encoded as UTF-8."""
    try:
        return _encode("".join(chunks))  # type: ignore[arg-type]
    except TypeError:  # some chunks are bytes
        return b"".join(c if isinstance(c, bytes) else _encode(c) for c in chunks)


class OpenSession:
    """One open session: its pending chunks and its locked file descriptor.

    ``chunks``, ``size``, ``woke`` and ``closed`` are guarded by the logger's lock (the append
    hot path takes nothing else); ``fd``, ``bytes_written`` and ``last_activity`` by
    ``io_lock``, which is held across "take the buffer" and "write it" so that flushes never
    reorder data.
    """

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

    def __init__(self, session_id: str, path: Path, now: float) -> None:
        self.session_id = session_id
        self.path = path
        # Pending text and bytes as appended; ``size`` counts their len() (characters for
        # text), a close enough measure for the flush bound.
        self.chunks: list[str | bytes] = []
        self.size = 0
        self.fd: int | None = None
        self.io_lock = threading.Lock()
        self.last_activity = now
        self.bytes_written = 0
        self.woke = False
        self.closed = False

    def fields(self) -> dict[str, str]:
        """What identifies the session in a log record."""
        return {"session_id": self.session_id, "path": str(self.path)}

    def idle_since(self, cutoff: float) -> bool:
        """Nothing written since ``cutoff`` (a clock reading) and nothing pending."""
        return self.last_activity <= cutoff and not self.chunks

    def take(self) -> list[str | bytes]:
        """The pending chunks, leaving the buffer empty; call with the logger's lock held."""
        chunks = self.chunks
        self.chunks, self.size = [], 0
        self.woke = False
        return chunks

    def write(self, data: bytes) -> tuple[int, str]:
        """Write all of ``data``; return how many bytes were lost and why (``(0, "")``).

        Called with ``io_lock`` held. Never raises: a full disk loses data, not the session.
        """
        if self.fd is None:
            return len(data), "file is not open"
        view = memoryview(data)
        try:
            while view:
                written = os.write(self.fd, view)
                self.bytes_written += written
                view = view[written:]
        except OSError as exc:
            return len(view), exc.strerror or str(exc)
        finally:
            view.release()
        return 0, ""

    def delete_file(self) -> bool:
        """Delete the file while still holding its lock, if the path still names it.

        False when there is no file or the name now belongs to another file; other errors
        are raised.
        """
        if self.fd is None:
            return False
        try:
            return files.remove_held(self.path, os.fstat(self.fd))
        except FileNotFoundError:
            return False

    def close_file(self) -> None:
        """Close the descriptor, which releases the lock: the sweeper may now judge the file."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class OpenSessions:
    """A logger's open sessions: ``by_id``, and the ``lock`` that guards it and every
    session's buffer. (A plain dict inside, not a dict subclass: ``get`` on a subclass is
    measurably slower, and the append hot path calls it once per append.)"""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_id: dict[str, OpenSession] = {}

    def snapshot(self, keep: Callable[[OpenSession], bool] | None = None) -> list[OpenSession]:
        """The open sessions (those ``keep`` accepts), listed under the lock."""
        with self.lock:
            return [s for s in self.by_id.values() if keep is None or keep(s)]

    def end(self, session: OpenSession) -> list[str | bytes] | None:
        """Forget ``session`` and take what it has pending; None if it had already ended."""
        with self.lock:
            if self.by_id.get(session.session_id) is session:
                del self.by_id[session.session_id]
            if session.closed:
                return None
            session.closed = True
            return session.take()
