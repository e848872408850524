"""Input read chunk by chunk until its end or a terminating signal (for ``stream_session``).

A terminating signal (SIGTERM, SIGHUP, SIGINT) must end the copy the way end of input does,
only sooner: what was read so far still reaches the file. So the signal handlers raise
nothing (an exception raised at an arbitrary point could leave the logger's locks held);
they note the signal, and ``set_wakeup_fd`` wakes the ``select`` the reader waits in between
reads. Reads only happen when the input is readable, so no read is ever cut short, and what
was already sent when the signal came is still copied.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import BinaryIO

CHUNK_SIZE = 64 * 1024
# After a terminating signal, at most this much of what is already waiting is still copied
# (a producer that keeps writing must not hold the exit up).
PENDING_LIMIT = 1024 * 1024
TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Stop:
    """Which terminating signal arrived, if any; the wakeup pipe's read end while handled."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.wakeup: int | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def record(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum


@contextmanager
def stop_on_signals(stop: Stop) -> Iterator[Stop]:
    """Inside, the terminating signals set ``stop.signum`` (only the main thread can handle
    signals: elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    previous = {signum: signal.signal(signum, stop.record) for signum in TERMINATING_SIGNALS}
    stop.wakeup = read_end
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(previous_fd)
        stop.wakeup = None
        os.close(read_end)
        os.close(write_end)


def chunks(stream: BinaryIO | None, stop: Stop) -> Iterator[bytes]:
    """What ``stream`` gives (None: the process's standard input), as it arrives, until its
    end or until ``stop`` notes a signal; then what is already waiting, up to
    :data:`PENDING_LIMIT`, so that what was sent before the signal is not lost."""
    if stream is not None:  # an in-process caller's stream: reads never wait
        read = getattr(stream, "read1", stream.read)
        while stop.signum is None and (chunk := read(CHUNK_SIZE)):
            yield chunk
        return
    fd = sys.stdin.fileno()
    while stop.signum is None:
        if stop.wakeup is not None:
            ready, _, _ = select.select([fd, stop.wakeup], [], [])
            if fd not in ready:
                continue  # woken by a signal: the loop's test sees it
        chunk = os.read(fd, CHUNK_SIZE)
        if not chunk:
            return
        yield chunk
    yield from _pending(fd)


def _pending(fd: int) -> Iterator[bytes]:
    """What can be read from ``fd`` without waiting, up to :data:`PENDING_LIMIT` bytes."""
    left = PENDING_LIMIT
    while left > 0 and select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, min(CHUNK_SIZE, left))
        if not chunk:
            return
        left -= len(chunk)
        yield chunk
