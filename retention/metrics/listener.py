"""The cleanup runner's events as metrics: what each count key feeds, in one table.

A listener (:mod:`retention.listeners`): called on the jobs' threads, so it only updates
in-memory metrics under a lock and never touches the database. A dry run changes nothing, so it
counts nothing (no rows, files, runs, durations, successes or errors); its measurements (the
gauges) are real and are kept.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import retention.metrics.definitions as m
from retention.listeners import CleanupListener, RunFinished, StepFinished
from retention.registry import Job
from tarsy_project.config import TarsyConfig


@dataclass(frozen=True)
class Feed:
    """What a count feeds: a counter (added to) or a measurement (set, times ``scale``).
    ``per_step`` counters are labelled with the reporting job and step."""

    metric: str
    labels: Mapping[str, str] = field(default_factory=dict)
    per_step: bool = False
    scale: float = 1.0

    @property
    def is_measurement(self) -> bool:
        return self.metric in m.MEASUREMENT_HELP


def rows_changed() -> Feed:
    return Feed(m.ROWS_CHANGED, per_step=True)


# Every count key the metrics know. A key missing from a step's counts leaves its metric alone;
# a key missing here is not exported.
FEEDS: dict[str, Feed] = {
    # One-count steps: the key is the step's name.
    "soft_deleted": rows_changed(),
    "events_expired": rows_changed(),
    "purged": rows_changed(),
    "runs_expired": rows_changed(),
    "orphans_marked": rows_changed(),
    # The sweep.
    "deleted": Feed(m.FILES_DELETED, {"reason": "retention"}),
    "bytes_freed": Feed(m.BYTES_FREED, {"reason": "retention"}),
    "pressure_deleted": Feed(m.FILES_DELETED, {"reason": "pressure"}),
    "pressure_bytes_freed": Feed(m.BYTES_FREED, {"reason": "pressure"}),
    "skipped_active": Feed(m.FILES_SKIPPED_ACTIVE),
    "stale_active": Feed(m.STALE_ACTIVE_FILES),
    "files_on_disk": Feed(m.STREAMING_FILES),
    "bytes_on_disk": Feed(m.STREAMING_BYTES),
    "free_space_permille": Feed(m.FREE_RATIO, scale=0.001),
    # The retention job's backlog step: measurements, not changes.
    "backlog_due_for_soft_delete": Feed(m.BACKLOG_SOFT_DELETE),
    "backlog_due_for_purge": Feed(m.BACKLOG_PURGE),
    "backlog_events_past_ttl": Feed(m.BACKLOG_EVENTS),
    "backlog_sessions_held": Feed(m.SESSIONS_HELD),
}


class MetricsListener(CleanupListener):
    """Keeps :class:`~retention.metrics.definitions.CleanupMetrics` up to date with the runs."""

    def __init__(self, metrics: m.CleanupMetrics) -> None:
        self.metrics = metrics
        self._lock = threading.Lock()
        self._steps_by_job: dict[str, tuple[str, ...]] = {}
        # Per running job: the steps that ended without an error, with what they measured.
        self._passed: dict[str, list[tuple[str, dict[str, float]]]] = {}

    def jobs_configured(self, config: TarsyConfig, jobs: Sequence[Job]) -> None:
        """Intervals, and each job's series from 0 (so rates and alerts see them from the
        start); the series of jobs and steps no longer configured go (a stale failure streak
        would alert forever), and a reload keeps the streaks of the steps that stay."""
        configured = {job.name: tuple(step.name for step in job.steps) for job in jobs}
        with self._lock:
            previous, self._steps_by_job = self._steps_by_job, configured
        self._forget(previous, configured)
        for job in jobs:
            self._start_series(
                job, new_steps=set(configured[job.name]) - set(previous.get(job.name, ()))
            )

    def _forget(
        self, previous: Mapping[str, tuple[str, ...]], configured: Mapping[str, tuple[str, ...]]
    ) -> None:
        metrics = self.metrics
        for job, steps in previous.items():
            if job not in configured:
                metrics.job_interval.remove(job)
            for step in set(steps) - set(configured.get(job, ())):
                metrics.step_consecutive_failures.remove(job, step)
        metrics.measurements.keep_jobs(configured)

    def _start_series(self, job: Job, *, new_steps: set[str]) -> None:
        metrics = self.metrics
        metrics.job_interval.labels(job.name).set(job.interval.total_seconds())
        metrics.job_duration.labels(job.name)
        for outcome in m.OUTCOMES:
            metrics.job_runs.labels(job.name, outcome)
        for step in job.steps:
            metrics.step_errors.labels(job.name, step.name)
            if step.name in new_steps:
                metrics.step_consecutive_failures.labels(job.name, step.name).set(0)
            feed = FEEDS.get(step.name)
            if feed is not None and feed.per_step:
                metrics.rows_changed.labels(job.name, step.name)

    def job_started(self, job: str, now: datetime) -> None:
        with self._lock:
            self._passed[job] = []

    def step_finished(self, event: StepFinished) -> None:
        """Changes count at once (a failed step's committed batches did change rows);
        measurements wait for the run's end, where a step cut short is told apart."""
        job, step, counts, error, dry_run = (
            event.job,
            event.step,
            event.counts,
            event.error,
            event.dry_run,
        )
        measured: dict[str, float] = {}
        for key, value in counts.items():
            feed = FEEDS.get(key)
            if feed is None:
                continue
            if feed.is_measurement:
                measured[feed.metric] = value * feed.scale
            elif not dry_run:
                self._add(feed, value, job=job, step=step)
        if error is not None:
            if not dry_run:
                self.metrics.step_errors.labels(job, step).inc()
                self.metrics.step_consecutive_failures.labels(job, step).inc()
            return
        with self._lock:
            self._passed.setdefault(job, []).append((step, measured))

    def _add(self, feed: Feed, value: int, *, job: str, step: str) -> None:
        counter = self.metrics.counter(feed.metric)
        labels = {**({"job": job, "step": step} if feed.per_step else {}), **feed.labels}
        (counter.labels(**labels) if labels else counter).inc(value)

    def run_finished(self, event: RunFinished) -> None:
        job, outcome, dry_run = event.job, event.outcome, event.dry_run
        with self._lock:
            passed = self._passed.pop(job, [])
        if outcome == "interrupted":
            passed = passed[:-1]  # the last step reported is the one the stop cut short
        for step, measured in passed:
            for name, value in measured.items():
                self.metrics.measurements.set(name, value, job=job)
            if not dry_run:
                self.metrics.step_consecutive_failures.labels(job, step).set(0)
        if dry_run:
            return
        self.metrics.job_runs.labels(job, outcome).inc()
        self.metrics.job_duration.labels(job).observe(event.duration_s)
        if outcome == "success":
            self.metrics.job_last_success.labels(job).set(event.started_at.timestamp())
