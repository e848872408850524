"""One run of a cleanup job as it goes: its counts, its failed steps, and its log line."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from retention.models import CleanupRun
from retention.registry import Counts, Step

# The logger name the run lines have always carried; operators' log queries use it.
log = logging.getLogger("retention.scheduler")

Outcome = CleanupRun.Outcome


def describe(exc: BaseException) -> str:
    """An exception as a run's error says it: ``Type: message``."""
    return f"{type(exc).__name__}: {exc}".strip()


@dataclass
class Run:
    """One run of a job: its frozen ``now``, the counts its steps reached, and how it ended."""

    now: datetime
    reported_at: float  # when the run last logged its progress (monotonic)
    counts: dict[str, int] = field(default_factory=dict)
    outcome: str = Outcome.SUCCESS
    failed_steps: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "<step>: <Type>: <message>" per failure
    # The count keys each step reported, in the order they came.
    keys_by_step: dict[str, list[str]] = field(default_factory=dict)

    @property
    def error(self) -> str:
        """Every failed step with its error, in step order (empty when none failed)."""
        return "; ".join(self.errors)

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

    def step_counts(self, step: Step) -> dict[str, int]:
        """What ``step`` counted, under its own keys only."""
        return {key: self.counts[key] for key in self.keys_by_step.get(step.name, [])}

    def interrupt(self) -> None:
        """A stop request ended the run early: interrupted, unless a step already failed (a
        failure is what the run's outcome must say)."""
        if self.outcome != Outcome.FAILED:
            self.outcome = Outcome.INTERRUPTED

    def fail(self, step: Step, error: str) -> None:
        """``step`` failed with ``error``: the run fails, whatever the other steps do."""
        self.outcome = Outcome.FAILED
        self.failed_steps.append(step.name)
        self.errors.append(f"{step.name}: {error}")

    def log_line(self, job: str, *, dry_run: bool, duration_ms: int) -> None:
        """The one line every run ends with: job, outcome, duration, dry run, counts, and for a
        failed run its error and failed steps."""
        failed = self.outcome == Outcome.FAILED
        log.log(
            logging.ERROR if failed else logging.INFO,
            "%s %s",
            job,
            self.outcome,
            extra={
                "job": job,
                "outcome": self.outcome,
                "duration_ms": duration_ms,
                "dry_run": dry_run,
                **self.counts,
                **({"error": self.error, "failed_steps": self.failed_steps} if failed else {}),
            },
        )
