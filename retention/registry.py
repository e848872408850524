"""The cleanup work the apps contribute, and the jobs a configuration makes of it.

``run_cleanup`` knows only this registry: each app says what it cleans up in a ``cleanup``
module of its own (``sessions/cleanup.py``, ``streaming/cleanup.py``, ``retention/cleanup.py``),
found by :func:`autodiscover` the way ``admin.py`` modules are, when the retention app is
ready. An app *declares* a job (its name, interval, and when a run is worth a record) and
*contributes* steps to any job, declared by itself or by another app. A module rather than an
``AppConfig.ready()`` hook keeps each app's contribution in one place of its own, imported only
once every model is loaded, and leaves the apps' configs alone.

Order is ``INSTALLED_APPS`` order, as for every Django registry: jobs run in the order they
were declared, a job's steps in the order they were contributed. A job whose contributors give
no step for a configuration (streaming logs disabled: no sweep) is not built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils.module_loading import autodiscover_modules

from tarsy_project.config import TarsyConfig

Counts = Mapping[str, int]
Progress = Callable[[int], None]


class Interrupted(Exception):
    """A stop was requested: raised between batches, with what the step counted so far."""

    def __init__(self, counts: Counts | None = None) -> None:
        super().__init__("stop requested")
        self.counts = dict(counts or {})


@dataclass(frozen=True)
class StepRun:
    """What a step gets for one run: the run's frozen ``now``, and its progress and stop.

    A step shows it is alive by its database calls, its ``progress`` reports and its
    ``stop_requested`` checks: one silent for minutes is taken for stuck
    (:mod:`retention.watchdog`).
    """

    now: datetime
    dry_run: bool
    progress: Progress
    stop_requested: Callable[[], bool]


@dataclass(frozen=True)
class StepPreview:
    """What a step would change in a run: its first ``rows`` (each a mapping of column to
    value, in the order the step takes them) and how many there are in all (``total``)."""

    rows: tuple[Mapping[str, Any], ...]
    total: int


@dataclass(frozen=True)
class Step:
    """One piece of a job's work, contributed by the app that owns what it changes.

    ``perform`` does the work of one run and returns what it counted: an int is the step's one
    count, kept under the step's name (where its ``progress`` reports land too); a mapping is
    several counts by name. ``preview``, when the step has one, says which rows a run at the
    same ``now`` would change, at most ``limit`` of them (``run_cleanup --list``); it changes
    nothing.
    """

    name: str
    perform: Callable[[StepRun], int | Counts]
    preview: Callable[[StepRun, int], StepPreview] | None = None


def always(counts: Counts) -> bool:
    """Record every run."""
    return True


@dataclass(frozen=True)
class Job:
    """A job as the runner sees it: its steps, and how often it runs."""

    name: str
    interval: timedelta
    steps: tuple[Step, ...]
    # Whether a successful run that follows a recorded success is worth a row of its own.
    worth_recording: Callable[[Counts], bool] = always


StepsFor = Callable[[TarsyConfig], Iterable[Step]]


@dataclass(frozen=True)
class JobDeclaration:
    name: str
    interval: Callable[[TarsyConfig], timedelta]
    worth_recording: Callable[[Counts], bool]


class CleanupRegistry:
    """Jobs declared and steps contributed by the apps; :meth:`build_jobs` assembles them."""

    def __init__(self) -> None:
        self._jobs: dict[str, JobDeclaration] = {}
        self._steps: list[tuple[str, StepsFor]] = []

    def declare_job(
        self,
        name: str,
        *,
        interval: Callable[[TarsyConfig], timedelta],
        worth_recording: Callable[[Counts], bool] = always,
    ) -> None:
        """Declare job ``name``, run every ``interval(config)``."""
        if name in self._jobs:
            raise ValueError(f"cleanup job {name!r} is already declared")
        self._jobs[name] = JobDeclaration(name, interval, worth_recording)

    def contribute(self, job: str) -> Callable[[StepsFor], StepsFor]:
        """Decorate a function ``config -> steps`` that adds its steps to job ``job``."""

        def register(steps_for: StepsFor) -> StepsFor:
            self._steps.append((job, steps_for))
            return steps_for

        return register

    def build_jobs(self, config: TarsyConfig) -> list[Job]:
        """The jobs ``config`` asks for, each with its steps, in declaration order."""
        undeclared = sorted({job for job, _ in self._steps} - set(self._jobs))
        if undeclared:
            raise LookupError(f"steps contributed to undeclared cleanup jobs: {undeclared}")
        jobs = []
        for declared in self._jobs.values():
            steps = tuple(
                step
                for job, steps_for in self._steps
                if job == declared.name
                for step in steps_for(config)
            )
            if steps:
                jobs.append(
                    Job(declared.name, declared.interval(config), steps, declared.worth_recording)
                )
        return jobs


registry = CleanupRegistry()


def autodiscover() -> None:
    """Import every installed app's ``cleanup`` module, which registers its work."""
    autodiscover_modules("cleanup")
