"""The cleanup loop: when each job is due, and running it safely (DESIGN §5).

``Scheduler`` only does arithmetic on a monotonic clock (a fake clock in tests).
``CleanupService`` runs due jobs, each with ``now`` frozen at its start, logs one line per run,
records it, survives failures (a failed job is retried on its next tick, with fresh database
connections), and stops at the next batch boundary once ``stop`` is set.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from retention.heartbeat import Heartbeat
from retention.jobs import Interrupted, Job, JobRun
from retention.models import CleanupRun

log = logging.getLogger(__name__)

PROGRESS_LOG_EVERY = 5.0  # seconds between progress lines of a long run
MAX_WAIT = 30.0  # the loop wakes at least this often, to beat the heartbeat


class Scheduler:
    """Due times per job: every job is due at start, then ``interval`` after its last start."""

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


class CleanupService:
    def __init__(
        self,
        jobs: list[Job],
        *,
        dry_run: bool = False,
        stop: threading.Event | None = None,
        heartbeat: Heartbeat | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = timezone.now,
    ) -> None:
        self.jobs = jobs
        self.dry_run = dry_run
        self.stop = stop or threading.Event()
        self.heartbeat = heartbeat
        self.clock = clock
        self.wall_clock = wall_clock
        # A sweep is recorded when it changed something, failed, or is the first after a
        # start or a failure (so cleanup_status sees recoveries without a row per idle sweep).
        self._record_next = {job.name: True for job in jobs}

    def beat(self) -> None:
        if self.heartbeat:
            self.heartbeat.beat()

    def run_job(self, job: Job) -> str:
        """Run one job once; return its outcome. Never raises for a job's own failure."""
        close_old_connections()
        last_progress = self.clock()

        def report(step: str, done: int) -> None:
            nonlocal last_progress
            if self.clock() - last_progress >= PROGRESS_LOG_EVERY:
                last_progress = self.clock()
                self.beat()
                log.info(
                    "%s in progress",
                    job.name,
                    extra={"job": job.name, "step": step, "rows_done": done},
                )
            if self.stop.is_set():
                raise Interrupted

        run = JobRun(
            now=self.wall_clock(),
            dry_run=self.dry_run,
            report=report,
            stop_requested=self.stop.is_set,
        )
        started = self.clock()
        error = ""
        try:
            job.run(run)
            outcome = CleanupRun.Outcome.SUCCESS
        except Interrupted:
            outcome = CleanupRun.Outcome.INTERRUPTED
        except Exception as exc:  # a job's failure is logged and retried on its next tick
            outcome = CleanupRun.Outcome.FAILED
            error = f"{type(exc).__name__}: {exc}".strip()
            log.error(
                "%s failed: %s",
                job.name,
                error,
                exc_info=True,
                extra={"job": job.name, "error": error},
            )
        finally:
            close_old_connections()
        duration_ms = int((self.clock() - started) * 1000)
        log.log(
            logging.ERROR if outcome == CleanupRun.Outcome.FAILED else logging.INFO,
            "%s %s",
            job.name,
            outcome,
            extra={
                "job": job.name,
                "outcome": outcome,
                "duration_ms": duration_ms,
                "dry_run": self.dry_run,
                **run.counts,
                **({"error": error} if error else {}),
            },
        )
        self._record(job, run, outcome, error)
        return outcome

    def _record(self, job: Job, run: JobRun, outcome: str, error: str) -> None:
        failed = outcome == CleanupRun.Outcome.FAILED
        if self.dry_run:
            return
        if not (failed or self._record_next[job.name] or job.worth_recording(run.counts)):
            return
        from retention.services import record_run

        try:
            record_run(
                job=job.name,
                started_at=run.now,
                finished_at=self.wall_clock(),
                outcome=outcome,
                counts=run.counts,
                error=error,
            )
            self._record_next[job.name] = failed
        except DatabaseError as exc:
            self._record_next[job.name] = True
            log.error(
                "could not record the %s run: %s",
                job.name,
                exc,
                extra={"job": job.name, "error": str(exc)},
            )
        finally:
            close_old_connections()

    def run_once(self) -> bool:
        """Run every job once; True when none failed."""
        self.beat()
        ok = True
        for job in self.jobs:
            if self.stop.is_set():
                break
            ok = self.run_job(job) != CleanupRun.Outcome.FAILED and ok
        return ok

    def run_forever(self) -> None:
        """Run due jobs until ``stop`` is set (SIGTERM/SIGINT): every job at start, then on
        its own interval."""
        scheduler = Scheduler(self.jobs, self.clock)
        while not self.stop.is_set():
            self.beat()
            for job in scheduler.due():
                if self.stop.is_set():
                    break
                started = self.clock()
                self.run_job(job)
                scheduler.ran(job, started)
            self.stop.wait(min(scheduler.seconds_until_next(), MAX_WAIT))
