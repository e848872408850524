"""run_cleanup's Prometheus metrics and alerts, the one list the tests hold of them.

The alert rules (deploy/kubernetes/components/monitoring) may use only these metrics, labels
and label values; the code must export exactly these. Labels stay low-cardinality (never a
session id).
"""

from __future__ import annotations

from dataclasses import dataclass

# Jobs and their steps, as the values of the `job` and `step` labels.
JOB_STEPS: dict[str, tuple[str, ...]] = {
    "retention": ("soft_delete", "expire_events", "purge", "expire_runs"),
    "orphans": ("orphan_detection",),
    "sweep": ("sweep",),
}
OUTCOMES = ("success", "failed", "interrupted")
SWEEP_REASONS = ("retention", "pressure")

LABEL_VALUES: dict[str, frozenset[str]] = {
    "job": frozenset(JOB_STEPS),
    "step": frozenset(step for steps in JOB_STEPS.values() for step in steps),
    "outcome": frozenset(OUTCOMES),
    "reason": frozenset(SWEEP_REASONS),
}


@dataclass(frozen=True)
class Metric:
    kind: str  # counter, gauge or histogram
    labels: tuple[str, ...] = ()


METRICS: dict[str, Metric] = {
    "tarsy_ops_rows_changed_total": Metric("counter", ("job", "step")),
    "tarsy_ops_sweep_files_deleted_total": Metric("counter", ("reason",)),
    "tarsy_ops_sweep_bytes_freed_total": Metric("counter", ("reason",)),
    "tarsy_ops_sweep_files_skipped_active_total": Metric("counter"),
    "tarsy_ops_sweep_stale_active_files": Metric("gauge"),
    "tarsy_ops_job_duration_seconds": Metric("histogram", ("job",)),
    "tarsy_ops_job_runs_total": Metric("counter", ("job", "outcome")),
    "tarsy_ops_job_last_success_timestamp_seconds": Metric("gauge", ("job",)),
    "tarsy_ops_job_interval_seconds": Metric("gauge", ("job",)),
    "tarsy_ops_step_errors_total": Metric("counter", ("job", "step")),
    "tarsy_ops_step_consecutive_failures": Metric("gauge", ("job", "step")),
    "tarsy_ops_backlog_sessions_due_for_soft_delete": Metric("gauge"),
    "tarsy_ops_backlog_sessions_due_for_purge": Metric("gauge"),
    "tarsy_ops_backlog_events_past_ttl": Metric("gauge"),
    "tarsy_ops_sessions_held": Metric("gauge"),
    "tarsy_ops_streaming_files": Metric("gauge"),
    "tarsy_ops_streaming_bytes": Metric("gauge"),
    "tarsy_ops_streaming_filesystem_free_ratio": Metric("gauge"),
}

HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

# Alerts of the PrometheusRule: these must exist; OPTIONAL_ALERTS may.
ALERTS = frozenset(
    {
        "TarsyOpsRetentionNotSucceeding",
        "TarsyOpsStepFailing",
        "TarsyOpsStaleActiveStreamingFiles",
        "TarsyOpsStreamingDirectoryGrowing",
    }
)
OPTIONAL_ALERTS = frozenset({"TarsyOpsMetricsAbsent"})


def series_names(name: str) -> set[str]:
    """The series names a metric is queried by (a histogram's buckets, sum and count)."""
    if METRICS[name].kind == "histogram":
        return {name + suffix for suffix in HISTOGRAM_SUFFIXES}
    return {name}


def metric_of_series(series: str) -> str | None:
    """The contract metric a series name belongs to, or None."""
    for name in METRICS:
        if series in series_names(name):
            return name
    return None
