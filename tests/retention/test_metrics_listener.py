"""The metrics listener on a fresh registry: exact values from the runner's events.

Most tests call the listener as the runner does (the listener API is positional), with no
database; the last ones run the real retention job through a JobRunner.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from retention.config import RetentionConfig
from retention.listeners import RunFinished, StepFinished
from retention.metrics import definitions
from retention.metrics.definitions import CleanupMetrics
from retention.metrics.listener import FEEDS, MetricsListener
from retention.models import CleanupRun
from retention.registry import Job, Step, StepRun
from retention.runner import JobRunner
from tarsy_project.config import TarsyConfig
from tests.metrics_contract import JOB_STEPS, METRICS
from tests.retention.conftest import job_for, seed_backlog
from tests.retention.metrics_support import contract_violations, scrape_registry

CONFIG = TarsyConfig()
STARTED = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)


def nothing(run: StepRun) -> int:
    return 0


def job(name: str, interval: timedelta = timedelta(hours=1)) -> Job:
    return Job(name, interval, tuple(Step(step, nothing) for step in JOB_STEPS[name]))


ALL_JOBS = [
    job("retention", timedelta(hours=12)),
    job("orphans"),
    job("sweep", timedelta(seconds=60)),
]

SWEEP_COUNTS = {
    "deleted": 3,
    "bytes_freed": 300,
    "pressure_deleted": 2,
    "pressure_bytes_freed": 50,
    "skipped_active": 4,
    "kept_young": 9,
    "errors": 0,
    "stale_active": 1,
    "files_on_disk": 12,
    "bytes_on_disk": 4096,
    "free_space_permille": 250,
}
BACKLOG_COUNTS = {
    "backlog_due_for_soft_delete": 40,
    "backlog_due_for_purge": 5,
    "backlog_events_past_ttl": 12345,
    "backlog_sessions_held": 2,
}


@pytest.fixture
def listener() -> MetricsListener:
    listener = MetricsListener(CleanupMetrics())
    listener.jobs_configured(CONFIG, ALL_JOBS)
    return listener


def value(listener: MetricsListener, name: str, **labels: str) -> float | None:
    return listener.metrics.registry.get_sample_value(name, labels)


def run(
    listener: MetricsListener,
    job_name: str,
    steps: list[tuple[str, dict[str, int], str | None]],
    *,
    outcome: str = "success",
    started_at: datetime = STARTED,
    duration_s: float = 1.5,
    dry_run: bool = False,
) -> None:
    """Tell ``listener`` a run of ``job_name`` as the runner would: start, steps, end."""
    listener.job_started(job_name, started_at)
    counts: dict[str, int] = {}
    for step, step_counts, error in steps:
        listener.step_finished(StepFinished(job_name, step, step_counts, error, dry_run))
        counts.update(step_counts)
    failed = [step for step, _, error in steps if error]
    listener.run_finished(
        RunFinished(job_name, outcome, started_at, duration_s, counts, tuple(failed), dry_run)
    )


def full_retention_run(listener: MetricsListener, **options: object) -> None:
    run(
        listener,
        "retention",
        [
            ("soft_deleted", {"soft_deleted": 7}, None),
            ("events_expired", {"events_expired": 11}, None),
            ("purged", {"purged": 2}, None),
            ("backlog", BACKLOG_COUNTS, None),
            ("runs_expired", {"runs_expired": 1}, None),
        ],
        **options,
    )


def test_every_contract_metric_is_exported_with_its_type_and_labels(
    listener: MetricsListener,
) -> None:
    full_retention_run(listener)
    run(listener, "orphans", [("orphans_marked", {"orphans_marked": 3}, None)])
    run(listener, "sweep", [("sweep", SWEEP_COUNTS, None)])
    assert contract_violations(scrape_registry(listener.metrics.registry), complete=True) == []


def test_the_code_defines_exactly_the_contract_names() -> None:
    fed = {feed.metric for feed in FEEDS.values()}
    defined = {
        value
        for name, value in vars(definitions).items()
        if name.isupper() and isinstance(value, str) and value.startswith("tarsy_ops_")
    }
    assert defined == set(METRICS)
    assert fed <= defined


def test_a_run_counts_its_rows_its_outcome_duration_and_start(listener: MetricsListener) -> None:
    full_retention_run(listener)
    expected = {"soft_deleted": 7, "events_expired": 11, "purged": 2, "runs_expired": 1}
    for step, rows in expected.items():
        assert value(listener, "tarsy_ops_rows_changed_total", job="retention", step=step) == rows
    assert value(listener, "tarsy_ops_job_runs_total", job="retention", outcome="success") == 1
    assert value(listener, "tarsy_ops_job_runs_total", job="retention", outcome="failed") == 0
    assert value(listener, "tarsy_ops_job_duration_seconds_count", job="retention") == 1
    assert value(listener, "tarsy_ops_job_duration_seconds_sum", job="retention") == 1.5
    assert value(
        listener, "tarsy_ops_job_duration_seconds_bucket", job="retention", le="1.0"
    ) == 0 and (
        value(listener, "tarsy_ops_job_duration_seconds_bucket", job="retention", le="2.5") == 1
    )
    assert (
        value(listener, "tarsy_ops_job_last_success_timestamp_seconds", job="retention")
        == STARTED.timestamp()
    )
    # The backlog step's counts are measurements: gauges, never rows changed.
    assert value(listener, "tarsy_ops_backlog_sessions_due_for_soft_delete") == 40
    assert value(listener, "tarsy_ops_backlog_sessions_due_for_purge") == 5
    assert value(listener, "tarsy_ops_backlog_events_past_ttl") == 12345
    assert value(listener, "tarsy_ops_sessions_held") == 2
    assert value(listener, "tarsy_ops_rows_changed_total", job="retention", step="backlog") is None

    later = STARTED + timedelta(hours=12)
    full_retention_run(listener, started_at=later, duration_s=0.5)
    assert value(listener, "tarsy_ops_rows_changed_total", job="retention", step="purged") == 4
    assert value(listener, "tarsy_ops_job_runs_total", job="retention", outcome="success") == 2
    assert value(listener, "tarsy_ops_job_duration_seconds_sum", job="retention") == 2.0
    assert (
        value(listener, "tarsy_ops_job_last_success_timestamp_seconds", job="retention")
        == later.timestamp()
    )


def test_the_sweep_feeds_files_bytes_by_reason_and_its_gauges(listener: MetricsListener) -> None:
    run(listener, "sweep", [("sweep", SWEEP_COUNTS, None)])
    run(listener, "sweep", [("sweep", {**SWEEP_COUNTS, "files_on_disk": 10}, None)])
    files, freed = "tarsy_ops_sweep_files_deleted_total", "tarsy_ops_sweep_bytes_freed_total"
    assert value(listener, files, reason="retention") == 6
    assert value(listener, freed, reason="retention") == 600
    assert value(listener, files, reason="pressure") == 4
    assert value(listener, freed, reason="pressure") == 100
    assert value(listener, "tarsy_ops_sweep_files_skipped_active_total") == 8
    assert value(listener, "tarsy_ops_sweep_stale_active_files") == 1
    assert value(listener, "tarsy_ops_streaming_files") == 10  # a gauge: the last sweep's
    assert value(listener, "tarsy_ops_streaming_bytes") == 4096
    assert value(listener, "tarsy_ops_streaming_filesystem_free_ratio") == 0.25
    # The sweep changes files, not rows.
    assert value(listener, "tarsy_ops_rows_changed_total", job="sweep", step="sweep") is None


def test_measurements_are_absent_until_measured_and_missing_keys_change_nothing(
    listener: MetricsListener,
) -> None:
    before = scrape_registry(listener.metrics.registry).families()
    assert set(before) & set(definitions.MEASUREMENT_HELP) == set()
    assert value(listener, "tarsy_ops_job_last_success_timestamp_seconds", job="sweep") is None
    # A sweep without the disk-pressure keys leaves those series where they were.
    run(listener, "sweep", [("sweep", {"deleted": 1, "bytes_freed": 10}, None)])
    assert value(listener, "tarsy_ops_sweep_files_deleted_total", reason="pressure") == 0
    assert value(listener, "tarsy_ops_streaming_filesystem_free_ratio") is None


def test_a_dry_run_counts_nothing_but_its_measurements_are_kept(
    listener: MetricsListener,
) -> None:
    full_retention_run(listener, dry_run=True)
    run(listener, "sweep", [("sweep", SWEEP_COUNTS, None)], dry_run=True)
    for family, (kind, samples) in scrape_registry(listener.metrics.registry).families().items():
        if kind in ("counter", "histogram"):
            assert samples and all(sample.value == 0 for sample in samples), family
    assert value(listener, "tarsy_ops_job_last_success_timestamp_seconds", job="retention") is None
    assert value(listener, "tarsy_ops_backlog_events_past_ttl") == 12345
    assert value(listener, "tarsy_ops_streaming_files") == 12


def test_a_failing_step_counts_an_error_and_leaves_the_last_success_alone(
    listener: MetricsListener,
) -> None:
    full_retention_run(listener)
    failing = [
        ("soft_deleted", {"soft_deleted": 3}, None),
        ("events_expired", {"events_expired": 4}, "OperationalError: lock timeout"),
    ]
    for hour in (1, 2):
        run(
            listener,
            "retention",
            failing,
            outcome="failed",
            started_at=STARTED + timedelta(hours=hour),
        )
    errors, streak = "tarsy_ops_step_errors_total", "tarsy_ops_step_consecutive_failures"
    assert value(listener, errors, job="retention", step="events_expired") == 2
    assert value(listener, streak, job="retention", step="events_expired") == 2
    assert value(listener, errors, job="retention", step="soft_deleted") == 0
    assert value(listener, streak, job="retention", step="soft_deleted") == 0
    # The batches a failed step committed did change rows.
    rows = "tarsy_ops_rows_changed_total"
    assert value(listener, rows, job="retention", step="events_expired") == 11 + 4 + 4
    assert value(listener, "tarsy_ops_job_runs_total", job="retention", outcome="failed") == 2
    assert (
        value(listener, "tarsy_ops_job_last_success_timestamp_seconds", job="retention")
        == STARTED.timestamp()
    )
    full_retention_run(listener, started_at=STARTED + timedelta(hours=3))
    assert value(listener, streak, job="retention", step="events_expired") == 0
    assert value(listener, errors, job="retention", step="events_expired") == 2


def test_an_interrupted_step_keeps_its_streak_and_its_partial_measurements_are_dropped(
    listener: MetricsListener,
) -> None:
    streak = "tarsy_ops_step_consecutive_failures"
    run(listener, "sweep", [("sweep", {}, "OSError: no such directory")], outcome="failed")
    run(
        listener,
        "sweep",
        [("sweep", {"deleted": 2, "bytes_freed": 20, "files_on_disk": 1}, None)],
        outcome="interrupted",
    )
    assert value(listener, streak, job="sweep", step="sweep") == 1
    assert value(listener, "tarsy_ops_streaming_files") is None  # counted half-way: not kept
    assert value(listener, "tarsy_ops_sweep_files_deleted_total", reason="retention") == 2
    assert value(listener, "tarsy_ops_job_runs_total", job="sweep", outcome="interrupted") == 1
    assert value(listener, "tarsy_ops_job_last_success_timestamp_seconds", job="sweep") is None


def test_a_reload_drops_what_jobs_and_steps_gone_left_and_keeps_the_rest(
    listener: MetricsListener,
) -> None:
    streak = "tarsy_ops_step_consecutive_failures"
    run(listener, "sweep", [("sweep", SWEEP_COUNTS, None)])
    failing = [("soft_deleted", {}, "OperationalError: gone"), ("purged", {}, None)]
    run(listener, "retention", failing, outcome="failed")
    run(listener, "retention", [("purged", {}, "OperationalError: gone")], outcome="failed")
    without_purge = Job(
        "retention",
        timedelta(hours=6),
        tuple(Step(s, nothing) for s in ("soft_deleted", "events_expired", "runs_expired")),
    )
    listener.jobs_configured(CONFIG, [without_purge])
    assert value(listener, "tarsy_ops_job_interval_seconds", job="retention") == 6 * 3600
    assert value(listener, "tarsy_ops_job_interval_seconds", job="sweep") is None
    assert value(listener, streak, job="sweep", step="sweep") is None
    assert value(listener, "tarsy_ops_streaming_files") is None
    assert value(listener, streak, job="retention", step="purged") is None
    assert value(listener, streak, job="retention", step="soft_deleted") == 1
    # Counters keep what they counted.
    assert value(listener, "tarsy_ops_sweep_files_deleted_total", reason="retention") == 3


def test_jobs_configured_starts_each_jobs_series_at_zero(listener: MetricsListener) -> None:
    assert value(listener, "tarsy_ops_job_interval_seconds", job="retention") == 12 * 3600
    assert value(listener, "tarsy_ops_job_interval_seconds", job="sweep") == 60
    for job_name, steps in JOB_STEPS.items():
        for outcome in ("success", "failed", "interrupted"):
            assert value(listener, "tarsy_ops_job_runs_total", job=job_name, outcome=outcome) == 0
        for step in steps:
            labels = {"job": job_name, "step": step}
            assert value(listener, "tarsy_ops_step_errors_total", **labels) == 0
            assert value(listener, "tarsy_ops_step_consecutive_failures", **labels) == 0
    assert (
        value(listener, "tarsy_ops_rows_changed_total", job="orphans", step="orphans_marked") == 0
    )


# -- the real retention job --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_real_retention_job_feeds_the_counts_of_its_record() -> None:
    seed_backlog(old_sessions=4, old_events=3)
    retention = job_for("retention", retention=RetentionConfig(session_retention_days=30))
    listener = MetricsListener(CleanupMetrics())
    listener.jobs_configured(CONFIG, [retention])
    assert JobRunner(retention, listeners=[listener]).run() == "success"
    record = CleanupRun.objects.get()
    for step in ("soft_deleted", "events_expired", "runs_expired"):
        labels = {"job": "retention", "step": step}
        assert value(listener, "tarsy_ops_rows_changed_total", **labels) == record.counts[step]
    assert record.counts["soft_deleted"] == 4 and record.counts["events_expired"] == 3
    assert (
        value(listener, "tarsy_ops_backlog_events_past_ttl")
        == 10
        == (record.counts["backlog_events_past_ttl"])
    )
    assert (
        value(listener, "tarsy_ops_job_last_success_timestamp_seconds", job="retention")
        == record.started_at.timestamp()
    )
    assert value(listener, "tarsy_ops_job_duration_seconds_sum", job="retention") == pytest.approx(
        record.duration_ms / 1000, abs=0.05
    )
