"""The cleanup loop: every job at start, then each on its own interval, until stopped.

The loop sleeps on the stop event, never ``time.sleep``, so a stop request is seen at once
while waiting, and wakes at least every ``MAX_WAIT`` seconds to beat the heartbeat file that
the liveness probe reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from django.utils import timezone

from retention.heartbeat import Heartbeat
from retention.listeners import CleanupListener
from retention.models import CleanupRun
from retention.registry import Job
from retention.runner import JobRunner
from retention.scheduler import Scheduler

MAX_WAIT = 30.0  # the loop wakes at least this often, to beat the heartbeat


class CleanupLoop:
    """Runs the jobs through their :class:`JobRunner`, once or until ``stop`` is set."""

    def __init__(
        self,
        jobs: list[Job],
        *,
        dry_run: bool = False,
        stop: threading.Event | None = None,
        heartbeat: Heartbeat | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = timezone.now,
        listeners: Iterable[CleanupListener] = (),
    ) -> None:
        self.jobs = list(jobs)
        self.stop = stop or threading.Event()
        self.heartbeat = heartbeat
        self.clock = clock
        self.runners = {
            job.name: JobRunner(
                job,
                dry_run=dry_run,
                stop=self.stop,
                beat=self.beat,
                clock=clock,
                wall_clock=wall_clock,
                listeners=listeners,
            )
            for job in self.jobs
        }

    def beat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.beat()

    def run_once(self) -> bool:
        """Run every job once; True when none failed."""
        self.beat()
        ok = True
        for job in self.jobs:
            if self.stop.is_set():
                break
            ok = self.runners[job.name].run() != CleanupRun.Outcome.FAILED and ok
        return ok

    def run_forever(self) -> None:
        """Run due jobs until ``stop`` is set: every job at start, then on its own interval."""
        scheduler = Scheduler(self.jobs, self.clock)
        while not self.stop.is_set():
            self.beat()
            for job in scheduler.due():
                if self.stop.is_set():
                    break
                started = self.clock()
                self.runners[job.name].run()
                scheduler.ran(job, started)
            self.stop.wait(min(scheduler.seconds_until_next(), MAX_WAIT))
