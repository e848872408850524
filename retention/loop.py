"""The cleanup loop: every job at start, then each on its own interval, until stopped.

Jobs run on threads of their own (:mod:`retention.workers`), side by side; the loop's thread
only schedules, watches and beats. It sleeps on the stop event, never ``time.sleep``, so a stop
request is seen at once, and wakes at least every ``MAX_WAIT`` seconds: to break the database
connection of a run silent past its bound (:mod:`retention.watchdog`), to apply a requested
configuration reload, and to beat the heartbeat file that the liveness probe reads.

The heartbeat means "the loop is alive and no job is stuck". It is touched at every wake-up, so
at least every ``MAX_WAIT`` seconds whatever the jobs do (a long sweep or batch included),
unless a run has stayed silent for ``STUCK_AFTER`` seconds although its connection was broken:
then it is withheld, and the liveness probe restarts the process.

After a stop request the loop starts nothing more, gives the running jobs ``STOP_GRACE``
seconds to end their current batch, then breaks their database connections and waits
``BREAK_WAIT`` more. A job still running after that is abandoned (its thread is a daemon) and
named in the log: the loop returns within five seconds whatever the database does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from django.utils import timezone

from retention.heartbeat import Heartbeat
from retention.listeners import CleanupListener, Listeners
from retention.models import CleanupRun
from retention.registry import Job
from retention.runner import JobRunner
from retention.scheduler import Scheduler
from retention.workers import JobThreads

log = logging.getLogger("retention.loop")

MAX_WAIT = 2.0  # the loop wakes (and beats the heartbeat) at least this often, in seconds
RUNNING_POLL = 0.5  # how often to look whether a job that is due again has ended its last run
STOP_GRACE = 3.0  # after a stop, how long running jobs get to end their current batch
BREAK_WAIT = 1.0  # then how long they get to end once their connections are broken
ONCE_POLL = 0.2  # how often a single pass looks at its running jobs and the stop request

ReloadJobs = Callable[[], list[Job] | None]


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
        reload_jobs: ReloadJobs | None = None,
    ) -> None:
        self.stop = stop or threading.Event()
        self.heartbeat = heartbeat
        self.clock = clock
        self.dry_run = dry_run
        self.wall_clock = wall_clock
        self.listeners = Listeners(listeners)
        # Called on the loop's thread when a reload was requested: the new jobs, or None to
        # keep the current ones.
        self.reload_jobs = reload_jobs
        self.workers = JobThreads()
        self.jobs: list[Job] = []
        self.runners: dict[str, JobRunner] = {}
        self.replace_jobs(jobs)
        self.abandoned: list[str] = []  # jobs still running when the loop returned
        self._reload = threading.Event()
        self._stuck: list[str] = []

    def replace_jobs(self, jobs: list[Job]) -> None:
        """Run ``jobs`` from now on; a job kept by name keeps its runner (and its run in
        progress, which ends with the steps it began with)."""
        self.jobs = list(jobs)
        runners = {}
        for job in self.jobs:
            runner = self.runners.get(job.name) or JobRunner(
                job,
                dry_run=self.dry_run,
                stop=self.stop,
                clock=self.clock,
                wall_clock=self.wall_clock,
                listeners=self.listeners,
            )
            runner.job = job
            runners[job.name] = runner
        self.runners = runners

    def request_reload(self) -> None:
        """Ask for ``reload_jobs`` at the next wake-up (safe from a signal handler)."""
        self._reload.set()

    def beat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.beat()

    def run_once(self) -> bool:
        """Run every job once, side by side; True when none failed."""
        self.beat()
        for job in self.jobs:
            if self.stop.is_set():
                break
            self.workers.start(self.runners[job.name])
        while self.workers.running() and not self.stop.is_set():
            self.watch()
            self.workers.join(ONCE_POLL)
        self.finish()
        return all(
            self.workers.outcomes.get(job.name) != CleanupRun.Outcome.FAILED for job in self.jobs
        )

    def run_forever(self) -> None:
        """Run due jobs until ``stop`` is set: every job at start, then on its own interval."""
        scheduler = Scheduler(self.jobs, self.clock)
        while not self.stop.is_set():
            self._apply_reload(scheduler)
            self.watch()
            self._start_due(scheduler)
            self.stop.wait(self._wait_seconds(scheduler))
        self.finish()

    def _start_due(self, scheduler: Scheduler) -> None:
        for job in scheduler.due(running=self.workers.running()):
            if self.stop.is_set():
                break
            started = self.clock()
            self.workers.start(self.runners[job.name])
            scheduler.ran(job, started)

    def _wait_seconds(self, scheduler: Scheduler) -> float:
        running = self.workers.running()
        wait = min(scheduler.seconds_until_next(running), MAX_WAIT)
        if scheduler.overdue(running):
            wait = min(wait, RUNNING_POLL)
        return wait

    def _apply_reload(self, scheduler: Scheduler) -> None:
        if not self._reload.is_set():
            return
        self._reload.clear()
        jobs = self.reload_jobs() if self.reload_jobs is not None else None
        if jobs is not None:
            self.replace_jobs(jobs)
            scheduler.replace(jobs)

    def watch(self) -> None:
        """Break the connections of runs silent past their bound; beat the heartbeat unless a
        run is stuck (see the module docstring)."""
        stuck = self.workers.enforce_bounds()
        if stuck and stuck != self._stuck:
            log.error(
                "heartbeat withheld: %s stuck although its database connection was broken",
                ", ".join(stuck),
                extra={"jobs": stuck},
            )
        self._stuck = stuck
        if not stuck:
            self.beat()

    def finish(self) -> None:
        """Give the running jobs a bounded time to end; abandon those that do not."""
        if not self.workers.running():
            return
        still = self.workers.join(STOP_GRACE)
        if still:
            self.workers.break_all()
            still = self.workers.join(BREAK_WAIT)
        if still:
            log.warning("%s still running: abandoned", ", ".join(still), extra={"jobs": still})
        self.abandoned = still
