"""Running one cleanup job once, safely.

A run freezes ``now`` at its start, so every step judges by the same instant, and performs the
job's steps in order, each on its own: a step that fails is logged with its traceback, the
step after it still runs (on a fresh database connection: the failed step's is closed), and
the run ends ``failed``, naming the failed steps in its log line and record. The job is retried
on its next tick. A stop request ends the run at the next batch boundary or between steps, as
``interrupted`` (``failed`` if a step failed before). Every run logs one line (job, outcome,
duration, dry run, counts) and progress lines while it is long, records itself, and tells its
listeners. Its database calls are watched (:class:`~retention.watchdog.RunWatch`) so that one
the server never answers can be broken from outside.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from django.db import DatabaseError
from django.utils import timezone

from retention.listeners import CleanupListener, Listeners, RunFinished, StepFinished
from retention.models import CleanupRun
from retention.registry import Interrupted, Job, Progress, Step, StepRun
from retention.run import Run, describe, log
from retention.services import record_run
from retention.watchdog import RunWatch

PROGRESS_LOG_EVERY = 5.0  # seconds between progress lines of a long run
Outcome = CleanupRun.Outcome


class JobRunner:
    """Runs one job, once per :meth:`run`, and decides which of its runs are recorded."""

    def __init__(
        self,
        job: Job,
        *,
        dry_run: bool = False,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = timezone.now,
        listeners: Iterable[CleanupListener] = (),
    ) -> None:
        self.job = job  # a configuration reload may replace it; a run keeps the one it began
        self.dry_run = dry_run
        self.stop = stop or threading.Event()
        self.clock = clock
        self.wall_clock = wall_clock
        self.listeners = Listeners(listeners)
        self.watch = RunWatch(clock)
        # A run the job finds not worth recording is still recorded when it is the first after
        # a start or a failure (so cleanup_status sees recoveries without a row per idle run).
        self._record_next = True

    def run(self) -> str:
        """Run the job once; return its outcome. Never raises for a job's own failure."""
        job = self.job
        run = Run(now=self.wall_clock(), reported_at=self.clock())
        started = self.clock()
        self.listeners.job_started(job.name, run.now)
        with self.watch.watching():
            self.watch.close_connections()  # a run starts on a connection of its own
            try:
                self._perform_steps(job, run)
            finally:
                self.watch.close_connections()
            duration = self.clock() - started
            run.log_line(job.name, dry_run=self.dry_run, duration_ms=int(duration * 1000))
            self._record(job, run)
        self.listeners.run_finished(
            RunFinished(
                job=job.name,
                outcome=run.outcome,
                started_at=run.now,
                duration_s=duration,
                counts=dict(run.counts),
                failed_steps=tuple(run.failed_steps),
                dry_run=self.dry_run,
            )
        )
        return run.outcome

    def _perform_steps(self, job: Job, run: Run) -> None:
        for index, step in enumerate(job.steps):
            if index and self.stop.is_set():
                run.interrupt()  # between steps: the rest is for the next run
                return
            if not self._perform(job, run, step):
                return

    def _perform(self, job: Job, run: Run, step: Step) -> bool:
        """Perform one step; False when it was interrupted (the run ends there)."""
        context = StepRun(
            now=run.now,
            dry_run=self.dry_run,
            progress=self._progress(job, run, step),
            stop_requested=self._stop_requested,
        )
        self.watch.mark()
        try:
            run.add(step, step.perform(context))
        except Interrupted as stopped:
            run.add(step, stopped.counts)
            return self._interrupted(job, run, step)
        except Exception as exc:  # one step's failure; the others still run
            if self.stop.is_set() and self.watch.was_broken:
                # The loop broke a call to get this thread back after a stop.
                return self._interrupted(job, run, step)
            self._failed(job, run, step, exc)
            return True
        finally:
            self.watch.close_connections()
        self._step_finished(job, run, step, error=None)
        return True

    def _interrupted(self, job: Job, run: Run, step: Step) -> bool:
        run.interrupt()
        self._step_finished(job, run, step, error=None)
        return False

    def _failed(self, job: Job, run: Run, step: Step, exc: Exception) -> None:
        error = describe(exc)
        run.fail(step, error)
        log.error(
            "%s failed: %s",
            job.name,
            error,
            exc_info=True,
            extra={"job": job.name, "step": step.name, "error": error},
        )
        self._step_finished(job, run, step, error=error)

    def _stop_requested(self) -> bool:
        self.watch.mark()  # a step that asks is alive
        return self.stop.is_set()

    def _step_finished(self, job: Job, run: Run, step: Step, *, error: str | None) -> None:
        """Tell the listeners what ``step`` counted (its own keys) and how it ended."""
        self.listeners.step_finished(
            StepFinished(
                job=job.name,
                step=step.name,
                counts=dict(run.step_counts(step)),
                error=error,
                dry_run=self.dry_run,
            )
        )

    def _progress(self, job: Job, run: Run, step: Step) -> Progress:
        """A step's progress callback: keeps its count, says how far it is when the run is
        long, and stops the run between batches when asked."""

        def update(done: int) -> None:
            self.watch.mark()
            run.count(step, step.name, done)
            if self.clock() - run.reported_at >= PROGRESS_LOG_EVERY:
                run.reported_at = self.clock()
                log.info(
                    "%s in progress",
                    job.name,
                    extra={"job": job.name, "step": step.name, "rows_done": done},
                )
            if self.stop.is_set():
                raise Interrupted

        return update

    def _record(self, job: Job, run: Run) -> None:
        """Record the run, unless it is a dry run or an unremarkable repeat of the last one."""
        failed = run.outcome == Outcome.FAILED
        if self.dry_run:
            return
        if not (failed or self._record_next or job.worth_recording(run.counts)):
            return
        try:
            record_run(
                job=job.name,
                started_at=run.now,
                finished_at=self.wall_clock(),
                outcome=run.outcome,
                counts=run.counts,
                error=run.error,
                failed_steps=run.failed_steps,
            )
            self._record_next = failed
        except DatabaseError as exc:
            self._record_next = True
            log.error(
                "could not record the %s run: %s",
                job.name,
                exc,
                extra={"job": job.name, "error": str(exc)},
            )
        finally:
            self.watch.close_connections()
