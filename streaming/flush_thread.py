"""When a :class:`~streaming.logger.StreamingLogger` writes: its background thread.

Every ``interval`` seconds of ``clock`` the thread runs the interval work (write every buffer,
complete idle sessions); in between, when an append wakes it, the work for large buffers only.
What the work is stays in the logger; this module only decides when, so that a test can drive
the same decision with a fake clock through :meth:`FlushThread.tick`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class FlushThread(threading.Thread):
    """Runs ``on_interval`` once per ``interval`` of ``clock``, ``on_wake`` when woken early."""

    def __init__(
        self,
        *,
        interval: float,
        clock: Callable[[], float],
        on_interval: Callable[[], None],
        on_wake: Callable[[], None],
    ) -> None:
        super().__init__(name="streaming-log-flush", daemon=True)
        self._interval = interval
        self._clock = clock
        self._on_interval = on_interval
        self._on_wake = on_wake
        self._next_tick = clock() + interval
        self._tick_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False

    def wake(self) -> None:
        """Ask for the large-buffer work now instead of at the next interval."""
        self._wake.set()

    def stop(self) -> None:
        """End the thread after the work in hand (if started); returns once it has ended."""
        self._stopping = True
        self._wake.set()
        if self.is_alive():
            self.join()

    def tick(self) -> None:
        """Do the work that is due as of ``clock()``: the interval work if an interval has
        passed, else the large-buffer work. Ticks never overlap, so a test that moves a fake
        clock and then ticks finds the work done, whether it or the thread ran it."""
        with self._tick_lock:
            now = self._clock()
            if now >= self._next_tick:
                self._next_tick = now + self._interval
                self._on_interval()
            else:
                self._on_wake()

    def run(self) -> None:
        while True:
            self._wake.wait(max(0.0, self._next_tick - self._clock()))
            self._wake.clear()
            if self._stopping:
                return
            try:
                self.tick()
            except Exception:
                log.exception("streaming log flush failed; retrying at the next interval")
