"""When each cleanup job is due: arithmetic on a monotonic clock (a fake clock in tests)."""

from __future__ import annotations

import time
from collections.abc import Callable

from retention.registry import Job


class Scheduler:
    """Due times per job: every job is due at start, then ``interval`` after its last start.

    A job long overdue is due once, not once per interval it missed.
    """

    def __init__(self, jobs: list[Job], clock: Callable[[], float] = time.monotonic) -> None:
        self.jobs = list(jobs)
        self.clock = clock
        start = clock()
        self._next_due = {job.name: start for job in self.jobs}

    def due(self) -> list[Job]:
        now = self.clock()
        return [job for job in self.jobs if self._next_due[job.name] <= now]

    def ran(self, job: Job, started: float) -> None:
        self._next_due[job.name] = started + job.interval.total_seconds()

    def seconds_until_next(self) -> float:
        return max(0.0, min(self._next_due.values()) - self.clock())
