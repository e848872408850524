"""What the cleanup runner tells those who watch it (metrics, for one): a listener API.

A listener learns of the jobs a configuration makes (at start and after every reload), and of
each run of a job: its start, each step's end with what it counted and whether it failed, and
the run's end with its outcome. The runner calls listeners on the job's own thread (jobs run on
threads of their own, side by side), so a listener must be thread-safe and quick; it must
never block on the database. A listener that raises never breaks a run: the exception is
logged and swallowed, and the other listeners are still called.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from retention.registry import Job
from tarsy_project.config import TarsyConfig

log = logging.getLogger(__name__)


@runtime_checkable
class CleanupListener(Protocol):
    """Told about the cleanup jobs and their runs; see :class:`BaseCleanupListener`."""

    def jobs_configured(self, config: TarsyConfig, jobs: Sequence[Job]) -> None: ...

    def job_started(self, job: str, now: datetime) -> None: ...

    def step_finished(
        self,
        job: str,
        step: str,
        counts: Mapping[str, int],
        error: str | None,
        dry_run: bool,
    ) -> None: ...

    def run_finished(
        self,
        job: str,
        outcome: str,
        started_at: datetime,
        duration_s: float,
        counts: Mapping[str, int],
        failed_steps: list[str],
        dry_run: bool,
    ) -> None: ...


class BaseCleanupListener:
    """A listener that does nothing: subclass it and override what you need.

    - ``jobs_configured(config, jobs)``: the jobs ``config`` makes (name, interval, steps), on
      the main thread, at start and after each successful configuration reload.
    - ``job_started(job, now)``: a run of ``job`` starts; ``now`` is its frozen instant.
    - ``step_finished(job, step, counts, error, dry_run)``: a step ended. ``counts`` is what it
      counted (``{step: n}`` for a one-count step, the step's own keys otherwise; for a step
      that failed or was interrupted, what it counted until then); ``error`` is
      ``"ExceptionType: message"`` when it failed, else ``None``. A step stopped by a stop
      request ends with ``error=None``, and the run's outcome says ``interrupted``.
    - ``run_finished(job, outcome, started_at, duration_s, counts, failed_steps, dry_run)``:
      the run ended (after its record was written, or not, for a dry run). ``outcome`` is
      ``success``, ``failed`` (``failed_steps`` names the steps, in order) or ``interrupted``;
      ``started_at`` is the run's frozen ``now``; ``counts`` are every step's counts.
    """

    def jobs_configured(self, config: TarsyConfig, jobs: Sequence[Job]) -> None:
        """The jobs a configuration makes."""

    def job_started(self, job: str, now: datetime) -> None:
        """A run of ``job`` starts."""

    def step_finished(
        self,
        job: str,
        step: str,
        counts: Mapping[str, int],
        error: str | None,
        dry_run: bool,
    ) -> None:
        """A step of a run ended."""

    def run_finished(
        self,
        job: str,
        outcome: str,
        started_at: datetime,
        duration_s: float,
        counts: Mapping[str, int],
        failed_steps: list[str],
        dry_run: bool,
    ) -> None:
        """A run ended."""


class Listeners:
    """Every registered listener as one: each call goes to all, and none can raise."""

    def __init__(self, listeners: Iterable[CleanupListener] = ()) -> None:
        self._listeners = list(listeners)

    def __iter__(self) -> Iterator[CleanupListener]:
        return iter(self._listeners)

    def _tell(self, event: str, *args: object) -> None:
        for listener in self._listeners:
            try:
                getattr(listener, event)(*args)
            except Exception as exc:  # a listener must never break a run
                log.warning(
                    "cleanup listener failed",
                    exc_info=True,
                    extra={
                        "listener": type(listener).__name__,
                        "event": event,
                        "error": f"{type(exc).__name__}: {exc}",
                    },
                )

    def jobs_configured(self, config: TarsyConfig, jobs: Sequence[Job]) -> None:
        self._tell("jobs_configured", config, list(jobs))

    def job_started(self, job: str, now: datetime) -> None:
        self._tell("job_started", job, now)

    def step_finished(
        self, job: str, step: str, counts: Mapping[str, int], error: str | None, dry_run: bool
    ) -> None:
        self._tell("step_finished", job, step, dict(counts), error, dry_run)

    def run_finished(
        self,
        job: str,
        outcome: str,
        started_at: datetime,
        duration_s: float,
        counts: Mapping[str, int],
        failed_steps: list[str],
        dry_run: bool,
    ) -> None:
        self._tell(
            "run_finished",
            job,
            outcome,
            started_at,
            duration_s,
            dict(counts),
            list(failed_steps),
            dry_run,
        )
