"""When each cleanup job is due: arithmetic on a monotonic clock (a fake clock in tests)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from retention.registry import Job


class Scheduler:
    """Due times per job: every job is due at start, then ``interval`` after its last start.

    A job long overdue is due once, not once per interval it missed. A job still running is
    never due (``running``): it is due again once it ended, if its next start has come.
    """

    def __init__(self, jobs: list[Job], clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.jobs: list[Job] = []
        self._last_start: dict[str, float] = {}
        self._next_due: dict[str, float] = {}
        self.replace(jobs)

    def replace(self, jobs: list[Job]) -> None:
        """Schedule ``jobs`` from now on (a configuration reload): a job kept by name is next
        due its new interval after its last start; a new job is due at once."""
        now = self.clock()
        self.jobs = list(jobs)
        self._next_due = {
            job.name: (
                self._last_start[job.name] + job.interval.total_seconds()
                if job.name in self._last_start
                else now
            )
            for job in self.jobs
        }

    def due(self, running: Collection[str] = ()) -> list[Job]:
        now = self.clock()
        return [
            job for job in self.jobs if job.name not in running and self._next_due[job.name] <= now
        ]

    def ran(self, job: Job, started: float) -> None:
        self._last_start[job.name] = started
        self._next_due[job.name] = started + job.interval.total_seconds()

    def seconds_until_next(self, running: Collection[str] = ()) -> float:
        """Until the next job is due; a running job already due again is left out (it is due
        when it ends: see :meth:`overdue`), so the wait is never zero for its sake."""
        now = self.clock()
        upcoming = [
            due for name, due in self._next_due.items() if not (name in running and due <= now)
        ]
        return max(0.0, min(upcoming, default=float("inf")) - now)

    def overdue(self, running: Collection[str]) -> bool:
        """Whether a running job is already due again (it ran longer than its interval)."""
        now = self.clock()
        return any(self._next_due[name] <= now for name in running if name in self._next_due)
