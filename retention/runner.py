"""Running one cleanup job once, safely.

A run freezes ``now`` at its start, so every step judges by the same instant; performs the
job's steps in order; logs one line (job, outcome, duration, dry run, counts) and progress
lines while it is long; records itself; and survives failures: a failing step ends the run as
failed, logged with its traceback, and the job is retried on its next tick with fresh
database connections. A stop request ends the run at the next batch boundary, as interrupted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from retention.listeners import CleanupListener, Listeners
from retention.models import CleanupRun
from retention.registry import Counts, Interrupted, Job, Progress, Step, StepRun
from retention.services import record_run

# The logger name the run lines have always carried; operators' log queries use it.
log = logging.getLogger("retention.scheduler")

PROGRESS_LOG_EVERY = 5.0  # seconds between progress lines of a long run
Outcome = CleanupRun.Outcome


def no_heartbeat() -> None:
    """Beat nothing (a runner without a heartbeat file)."""


@dataclass
class Run:
    """One run of a job: its frozen ``now``, the counts its steps reached, and how it ended."""

    now: datetime
    reported_at: float  # when the run last logged its progress (monotonic)
    counts: dict[str, int] = field(default_factory=dict)
    outcome: str = Outcome.SUCCESS
    error: str = ""
    failed_steps: list[str] = field(default_factory=list)

    # The count keys each step reported, in the order they came.
    keys_by_step: dict[str, list[str]] = field(default_factory=dict)

    def add(self, step: Step, counted: int | Counts) -> None:
        """Keep what ``step`` counted: one count under its name, or several by theirs."""
        if isinstance(counted, int):
            self.count(step, step.name, counted)
        else:
            for key, value in counted.items():
                self.count(step, key, value)

    def count(self, step: Step, key: str, value: int) -> None:
        self.counts[key] = value
        keys = self.keys_by_step.setdefault(step.name, [])
        if key not in keys:
            keys.append(key)

    def step_keys(self, step: Step) -> list[str]:
        return self.keys_by_step.get(step.name, [])

    def fail(self, exc: Exception) -> None:
        self.outcome = Outcome.FAILED
        self.error = f"{type(exc).__name__}: {exc}".strip()


class JobRunner:
    """Runs one job, once per :meth:`run`, and decides which of its runs are recorded."""

    def __init__(
        self,
        job: Job,
        *,
        dry_run: bool = False,
        stop: threading.Event | None = None,
        beat: Callable[[], None] = no_heartbeat,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = timezone.now,
        listeners: Iterable[CleanupListener] = (),
    ) -> None:
        self.job = job
        self.listeners = Listeners(listeners)
        self.dry_run = dry_run
        self.stop = stop or threading.Event()
        self.beat = beat
        self.clock = clock
        self.wall_clock = wall_clock
        # A run the job finds not worth recording is still recorded when it is the first after
        # a start or a failure (so cleanup_status sees recoveries without a row per idle run).
        self._record_next = True

    def run(self) -> str:
        """Run the job once; return its outcome. Never raises for a job's own failure."""
        close_old_connections()
        run = Run(now=self.wall_clock(), reported_at=self.clock())
        started = self.clock()
        self.listeners.job_started(self.job.name, run.now)
        try:
            self._perform_steps(run)
        except Interrupted as stopped:
            run.counts.update(stopped.counts)
            run.outcome = Outcome.INTERRUPTED
        except Exception as exc:  # a job's failure is logged and retried on its next tick
            run.fail(exc)
            log.error(
                "%s failed: %s",
                self.job.name,
                run.error,
                exc_info=True,
                extra={"job": self.job.name, "error": run.error},
            )
        finally:
            close_old_connections()
        duration = self.clock() - started
        self._log(run, duration_ms=int(duration * 1000))
        self._record(run)
        self.listeners.run_finished(
            self.job.name,
            run.outcome,
            run.now,
            duration,
            run.counts,
            run.failed_steps,
            self.dry_run,
        )
        return run.outcome

    def _perform_steps(self, run: Run) -> None:
        for step in self.job.steps:
            context = StepRun(
                now=run.now,
                dry_run=self.dry_run,
                progress=self._progress(run, step),
                stop_requested=self.stop.is_set,
            )
            try:
                run.add(step, step.perform(context))
            except Interrupted as stopped:
                run.add(step, stopped.counts)
                self._step_finished(run, step, error=None)
                raise
            except Exception as exc:
                run.failed_steps.append(step.name)
                self._step_finished(run, step, error=f"{type(exc).__name__}: {exc}".strip())
                raise
            self._step_finished(run, step, error=None)

    def _step_finished(self, run: Run, step: Step, *, error: str | None) -> None:
        """Tell the listeners what ``step`` counted (its keys only) and how it ended."""
        keys = run.step_keys(step)
        self.listeners.step_finished(
            self.job.name, step.name, {k: run.counts[k] for k in keys}, error, self.dry_run
        )

    def _progress(self, run: Run, step: Step) -> Progress:
        """A step's progress callback: keeps its count, says how far it is when the run is
        long (and beats the heartbeat), and stops the run between batches when asked."""

        def update(done: int) -> None:
            run.count(step, step.name, done)
            if self.clock() - run.reported_at >= PROGRESS_LOG_EVERY:
                run.reported_at = self.clock()
                self.beat()
                log.info(
                    "%s in progress",
                    self.job.name,
                    extra={"job": self.job.name, "step": step.name, "rows_done": done},
                )
            if self.stop.is_set():
                raise Interrupted

        return update

    def _log(self, run: Run, *, duration_ms: int) -> None:
        failed = run.outcome == Outcome.FAILED
        log.log(
            logging.ERROR if failed else logging.INFO,
            "%s %s",
            self.job.name,
            run.outcome,
            extra={
                "job": self.job.name,
                "outcome": run.outcome,
                "duration_ms": duration_ms,
                "dry_run": self.dry_run,
                **run.counts,
                **({"error": run.error} if run.error else {}),
            },
        )

    def _record(self, run: Run) -> None:
        """Record the run, unless it is a dry run or an unremarkable repeat of the last one."""
        failed = run.outcome == Outcome.FAILED
        if self.dry_run:
            return
        if not (failed or self._record_next or self.job.worth_recording(run.counts)):
            return
        try:
            record_run(
                job=self.job.name,
                started_at=run.now,
                finished_at=self.wall_clock(),
                outcome=run.outcome,
                counts=run.counts,
                error=run.error,
            )
            self._record_next = failed
        except DatabaseError as exc:
            self._record_next = True
            log.error(
                "could not record the %s run: %s",
                self.job.name,
                exc,
                extra={"job": self.job.name, "error": str(exc)},
            )
        finally:
            close_old_connections()
