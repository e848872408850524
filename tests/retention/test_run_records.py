"""CleanupRun records: which runs are recorded, with what, and their 30-day expiry.

``transaction=True`` throughout: a run closes stale connections.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from retention.config import RetentionConfig
from retention.loop import CleanupLoop
from retention.models import CleanupRun
from retention.registry import Job
from retention.runner import JobRunner
from retention.services import host_name
from sessions.models import AlertSession
from streaming.config import StreamingLogsConfig
from tests.retention.conftest import deleted_count, job_for, seed_backlog

pytestmark = pytest.mark.django_db(transaction=True)


def old_log(directory: Path, name: str, size: int = 100) -> Path:
    """A ``.log`` file last written an hour ago (past a 10-minute retention)."""
    path = directory / name
    path.write_bytes(b"x" * size)
    past = time.time() - 3600
    os.utime(path, (past, past))
    return path


def retention_job(config: RetentionConfig) -> Job:
    return job_for("retention", retention=config)


def sweep_job(config: StreamingLogsConfig) -> Job:
    return job_for("sweep", streaming_logs=config)


def test_every_retention_run_is_recorded_with_its_counts() -> None:
    seed_backlog(old_sessions=3, old_events=2)
    runner = JobRunner(retention_job(RetentionConfig(session_retention_days=30)))
    assert runner.run() == "success"
    assert runner.run() == "success"  # idle, and still recorded

    first, second = CleanupRun.objects.order_by("started_at")
    assert (first.job, first.outcome, first.host, first.error) == (
        "retention",
        "success",
        host_name(),
        "",
    )
    # The backlog step measures the next run (12h on): seed_backlog's 10 young events are due.
    backlog = {
        "backlog_due_for_soft_delete": 0,
        "backlog_due_for_purge": 0,
        "backlog_events_past_ttl": 10,
        "backlog_sessions_held": 0,
    }
    assert first.counts == {"soft_deleted": 3, "events_expired": 2, **backlog, "runs_expired": 0}
    assert second.counts == {"soft_deleted": 0, "events_expired": 0, **backlog, "runs_expired": 0}
    assert first.finished_at >= first.started_at
    assert second.started_at >= first.finished_at


def test_idle_sweeps_are_recorded_once_and_a_sweep_that_deleted_files_always(
    tmp_path: Path,
) -> None:
    runner = JobRunner(sweep_job(StreamingLogsConfig(base_dir=tmp_path, file_retention_minutes=10)))
    for _ in range(3):
        assert runner.run() == "success"
    first = CleanupRun.objects.get()
    assert first.job == "sweep" and first.counts["deleted"] == 0

    old_log(tmp_path, "a.log", 100)
    old_log(tmp_path, "b.log", 50)
    (tmp_path / "young.log").write_bytes(b"y")
    assert runner.run() == "success"
    assert runner.run() == "success"  # idle again: not recorded
    runs = list(CleanupRun.objects.order_by("started_at"))
    assert len(runs) == 2
    counts = dict(runs[1].counts)
    assert 0 <= counts.pop("free_space_permille") <= 1000  # the filesystem's, whatever it is
    assert counts == {
        "deleted": 2,
        "bytes_freed": 150,
        "skipped_active": 0,
        "kept_young": 1,
        "errors": 0,
        "pressure_deleted": 0,
        "pressure_bytes_freed": 0,
        "stale_active": 0,
        "files_on_disk": 1,
        "bytes_on_disk": 1,
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["young.log"]


def test_a_failed_sweep_is_recorded_and_so_is_the_next_idle_one(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    runner = JobRunner(sweep_job(StreamingLogsConfig(base_dir=not_a_dir)))
    assert runner.run() == "failed"
    assert runner.run() == "failed"
    not_a_dir.unlink()
    not_a_dir.mkdir()
    assert runner.run() == "success"  # the recovery is recorded
    assert runner.run() == "success"  # then idle again: not recorded
    outcomes = list(CleanupRun.objects.order_by("started_at").values_list("outcome", "error"))
    assert [o for o, _ in outcomes] == ["failed", "failed", "success"]
    assert "NotADirectoryError" in outcomes[0][1]


def test_a_dry_run_records_nothing(tmp_path: Path) -> None:
    seed_backlog(old_sessions=2)
    old_log(tmp_path, "a.log")
    jobs = [
        retention_job(RetentionConfig(session_retention_days=30)),
        sweep_job(StreamingLogsConfig(base_dir=tmp_path)),
    ]
    assert CleanupLoop(jobs, dry_run=True).run_once()
    assert CleanupRun.objects.count() == 0
    assert deleted_count() == 0
    assert (tmp_path / "a.log").exists()


def test_retention_expires_run_records_older_than_30_days() -> None:
    now = timezone.now()
    for days in (45, 31, 29, 1):
        CleanupRun.objects.create(
            job="sweep",
            host="gone-pod",
            started_at=now - timedelta(days=days),
            finished_at=now - timedelta(days=days),
            outcome="success",
        )
    assert JobRunner(retention_job(RetentionConfig())).run() == "success"
    assert sorted(
        (now - r.started_at).days for r in CleanupRun.objects.filter(host="gone-pod")
    ) == [1, 29]
    record = CleanupRun.objects.get(job="retention")
    assert record.counts["runs_expired"] == 2


def test_a_stop_ends_the_run_after_a_whole_batch_and_records_it_interrupted() -> None:
    seed_backlog(old_sessions=25)
    stop = threading.Event()
    stop.set()  # requested before the run: the first batch still completes, then it stops
    job = retention_job(RetentionConfig(session_retention_days=30, batch_size=10))
    assert JobRunner(job, stop=stop).run() == "interrupted"
    assert deleted_count() == 10
    record = CleanupRun.objects.get()
    assert record.outcome == "interrupted"
    assert record.counts == {"soft_deleted": 10}
    # Every deleted session carries the run's one frozen now.
    assert set(
        AlertSession.all_objects.filter(deleted_at__isnull=False).values_list(
            "deleted_at", flat=True
        )
    ) == {record.started_at}


@pytest.mark.django_db(transaction=True)
def test_a_stop_during_a_sweep_ends_it_as_interrupted(tmp_path: Path) -> None:
    """SIGTERM mid-sweep: the sweep returns at the next file and the run says interrupted."""
    for i in range(5):
        path = tmp_path / f"old-{i}.log"
        path.write_bytes(b"x")
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    stop = threading.Event()
    stop.set()
    runner = JobRunner(sweep_job(StreamingLogsConfig(base_dir=tmp_path)), stop=stop)

    assert runner.run() == CleanupRun.Outcome.INTERRUPTED
    assert len(list(tmp_path.glob("*.log"))) == 5
    (run,) = CleanupRun.objects.filter(job="sweep")
    assert run.outcome == CleanupRun.Outcome.INTERRUPTED and run.counts["deleted"] == 0
