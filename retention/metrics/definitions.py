"""run_cleanup's Prometheus metrics: names, types, labels and help, on a registry of their own.

A registry per :class:`CleanupMetrics` (never the library's global one), so each process, test
or reload starts from a clean set. Labels stay low-cardinality: ``job``, ``step``, ``outcome``,
``reason``; never a session id.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

ROWS_CHANGED = "tarsy_ops_rows_changed_total"
FILES_DELETED = "tarsy_ops_sweep_files_deleted_total"
BYTES_FREED = "tarsy_ops_sweep_bytes_freed_total"
FILES_SKIPPED_ACTIVE = "tarsy_ops_sweep_files_skipped_active_total"
JOB_DURATION = "tarsy_ops_job_duration_seconds"
JOB_RUNS = "tarsy_ops_job_runs_total"
JOB_LAST_SUCCESS = "tarsy_ops_job_last_success_timestamp_seconds"
JOB_INTERVAL = "tarsy_ops_job_interval_seconds"
STEP_ERRORS = "tarsy_ops_step_errors_total"
STEP_CONSECUTIVE_FAILURES = "tarsy_ops_step_consecutive_failures"

STALE_ACTIVE_FILES = "tarsy_ops_sweep_stale_active_files"
BACKLOG_SOFT_DELETE = "tarsy_ops_backlog_sessions_due_for_soft_delete"
BACKLOG_PURGE = "tarsy_ops_backlog_sessions_due_for_purge"
BACKLOG_EVENTS = "tarsy_ops_backlog_events_past_ttl"
SESSIONS_HELD = "tarsy_ops_sessions_held"
STREAMING_FILES = "tarsy_ops_streaming_files"
STREAMING_BYTES = "tarsy_ops_streaming_bytes"
FREE_RATIO = "tarsy_ops_streaming_filesystem_free_ratio"

OUTCOMES = ("success", "failed", "interrupted")
SWEEP_REASONS = ("retention", "pressure")
# From a quick sweep (tens of milliseconds) to a first catch-up run over millions of rows.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

NOT_DRY = " Dry runs are not counted."
AT_RETENTION_RUN = (
    " Measured at the end of each retention run (dry runs too), with the cutoffs of the next"
    " run (one cleanup_interval later)."
)

# The measurements: label-less gauges, absent until first measured.
MEASUREMENT_HELP = {
    STALE_ACTIVE_FILES: "Streaming log files still locked by a writer although unmodified for"
    " longer than max_session_age_hours, at the last sweep.",
    BACKLOG_SOFT_DELETE: "Sessions the next retention run would soft-delete (holds excluded)."
    + AT_RETENTION_RUN,
    BACKLOG_PURGE: "Sessions the next retention run would purge (0 when purge is off)."
    + AT_RETENTION_RUN,
    BACKLOG_EVENTS: "Events the next retention run would expire (older than event_ttl). Exact up"
    " to 10000; above that, on PostgreSQL, an estimate (the query planner's row estimate)."
    + AT_RETENTION_RUN,
    SESSIONS_HELD: "Sessions under an active hold, at the last retention run.",
    STREAMING_FILES: "*.log files in the streaming directory, at the last sweep.",
    STREAMING_BYTES: "Total size of the *.log files in the streaming directory in bytes, at the"
    " last sweep.",
    FREE_RATIO: "Free space of the streaming directory's filesystem (0..1), at the last sweep.",
}


class Measurements(Collector):
    """Label-less gauges that are absent until a run measures them, and forgotten with the job
    that measured them (a gauge read as 0 before the first sweep would say "disk full")."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[str, float]] = {}  # name -> (job that measured it, value)

    def set(self, name: str, value: float, *, job: str) -> None:
        if name not in MEASUREMENT_HELP:
            raise KeyError(f"not a measurement: {name}")
        with self._lock:
            self._values[name] = (job, value)

    def value(self, name: str) -> float | None:
        with self._lock:
            measured = self._values.get(name)
        return None if measured is None else measured[1]

    def keep_jobs(self, jobs: Iterable[str]) -> None:
        """Forget what jobs other than ``jobs`` measured (they are no longer configured)."""
        kept = set(jobs)
        with self._lock:
            self._values = {n: jv for n, jv in self._values.items() if jv[0] in kept}

    def describe(self) -> Iterator[GaugeMetricFamily]:
        for name, help_text in MEASUREMENT_HELP.items():
            yield GaugeMetricFamily(name, help_text)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            values = dict(self._values)
        for name, (_job, value) in sorted(values.items()):
            yield GaugeMetricFamily(name, MEASUREMENT_HELP[name], value=value)


class CleanupMetrics:
    """Every metric of run_cleanup, registered on :attr:`registry`."""

    def __init__(self) -> None:
        # No ``*_created`` series (a switch of the library, for the whole process): they would
        # double the series and no alert reads them.
        disable_created_metrics()
        self.registry = CollectorRegistry()
        self._define_changes(self.registry)
        self._define_runs(self.registry)
        self._define_steps(self.registry)
        self.measurements = Measurements()
        self.registry.register(self.measurements)

    def _define_changes(self, registry: CollectorRegistry) -> None:
        """What the steps changed: counters fed by the runs' counts."""
        self.rows_changed = Counter(
            ROWS_CHANGED,
            "Rows changed by a cleanup step: sessions soft-deleted (step soft_deleted), events"
            " expired (events_expired), sessions purged (purged), run records expired"
            " (runs_expired), sessions marked orphaned (orphans_marked)." + NOT_DRY,
            ["job", "step"],
            registry=registry,
        )
        self.files_deleted = Counter(
            FILES_DELETED,
            "Streaming log files deleted by the sweep (reason retention: past the debugging"
            " window; pressure: emergency cleanup under disk pressure)." + NOT_DRY,
            ["reason"],
            registry=registry,
        )
        self.bytes_freed = Counter(
            BYTES_FREED,
            "Bytes freed by the sweep's deletions, by reason." + NOT_DRY,
            ["reason"],
            registry=registry,
        )
        self.files_skipped_active = Counter(
            FILES_SKIPPED_ACTIVE,
            "Old streaming log files the sweep kept because a writer holds their lock." + NOT_DRY,
            registry=registry,
        )
        for reason in SWEEP_REASONS:
            self.files_deleted.labels(reason)
            self.bytes_freed.labels(reason)

    def _define_runs(self, registry: CollectorRegistry) -> None:
        """How the jobs ran."""
        self.job_duration = Histogram(
            JOB_DURATION,
            "Wall time of a cleanup job's run." + NOT_DRY,
            ["job"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.job_runs = Counter(
            JOB_RUNS,
            "Cleanup job runs by outcome (success, failed, interrupted)." + NOT_DRY,
            ["job", "outcome"],
            registry=registry,
        )
        self.job_last_success = Gauge(
            JOB_LAST_SUCCESS,
            "Unix time when the last successful run of the job started (absent until the first"
            " success)." + NOT_DRY,
            ["job"],
            registry=registry,
        )
        self.job_interval = Gauge(
            JOB_INTERVAL,
            "The job's configured interval in seconds.",
            ["job"],
            registry=registry,
        )

    def _define_steps(self, registry: CollectorRegistry) -> None:
        """How the steps ran."""
        self.step_errors = Counter(
            STEP_ERRORS,
            "Runs in which the step failed." + NOT_DRY,
            ["job", "step"],
            registry=registry,
        )
        self.step_consecutive_failures = Gauge(
            STEP_CONSECUTIVE_FAILURES,
            "Failed runs of the step in a row (0 after a success; an interrupted run leaves it"
            " alone)." + NOT_DRY,
            ["job", "step"],
            registry=registry,
        )

    def counter(self, name: str) -> Counter:
        """The counter called ``name`` that counts are added to (by the listener's table)."""
        counters = {
            ROWS_CHANGED: self.rows_changed,
            FILES_DELETED: self.files_deleted,
            BYTES_FREED: self.bytes_freed,
            FILES_SKIPPED_ACTIVE: self.files_skipped_active,
        }
        return counters[name]
