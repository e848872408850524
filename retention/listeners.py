"""What the cleanup runner tells those who watch it (metrics, for one): a listener API.

A listener learns of the jobs a configuration makes (at start and after every reload), and of
each run of a job: its start, each step's end with what it counted and whether it failed, and
the run's end with its outcome. The runner calls listeners on the job's own thread (jobs run on
threads of their own, side by side), so a listener must be thread-safe and quick; it must
never block on the database. A listener subclasses :class:`CleanupListener`; one that raises
never breaks a run: the exception is logged and swallowed, and the other listeners are still
called.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from retention.registry import Job
from tarsy_project.config import TarsyConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepFinished:
    """A step of a run ended. ``counts`` is what it counted (``{step: n}`` for a one-count
    step, the step's own keys otherwise; for a step that failed or was interrupted, what it
    counted until then); ``error`` is ``"ExceptionType: message"`` when it failed, else
    ``None``. A step stopped by a stop request ends with ``error=None``, and the run's outcome
    says ``interrupted``."""

    job: str
    step: str
    counts: Mapping[str, int]
    error: str | None
    dry_run: bool


@dataclass(frozen=True)
class RunFinished:
    """A run ended (after its record was written, or not, for a dry run). ``outcome`` is
    ``success``, ``failed`` (``failed_steps`` names the steps, in order) or ``interrupted``;
    ``started_at`` is the run's frozen ``now``; ``counts`` are every step's counts."""

    job: str
    outcome: str
    started_at: datetime
    duration_s: float
    counts: Mapping[str, int]
    failed_steps: tuple[str, ...]
    dry_run: bool


class CleanupListener:
    """A listener that does nothing: subclass it and override what you need.

    ``jobs_configured`` comes on the main thread, at start and after each successful
    configuration reload; the others on the thread of the job they are about.
    """

    def jobs_configured(self, config: TarsyConfig, jobs: Sequence[Job]) -> None:
        """The jobs ``config`` makes (name, interval, steps)."""

    def job_started(self, job: str, now: datetime) -> None:
        """A run of ``job`` starts; ``now`` is its frozen instant."""

    def step_finished(self, event: StepFinished) -> None:
        """A step of a run ended."""

    def run_finished(self, event: RunFinished) -> None:
        """A run ended."""


class Listeners(CleanupListener):
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

    def step_finished(self, event: StepFinished) -> None:
        self._tell("step_finished", event)

    def run_finished(self, event: RunFinished) -> None:
        self._tell("run_finished", event)
