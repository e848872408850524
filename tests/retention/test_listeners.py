"""The listener API: what a run tells its listeners, and a failing listener breaks nothing.

``transaction=True``: a run closes stale connections.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from retention.config import RetentionConfig
from retention.listeners import CleanupListener, RunFinished, StepFinished
from retention.models import CleanupRun
from retention.registry import Job, Step, StepRun
from retention.runner import JobRunner
from streaming.config import StreamingLogsConfig
from tarsy_project.config import TarsyConfig
from tests.retention.conftest import job_for, seed_backlog

pytestmark = pytest.mark.django_db(transaction=True)


class Recorder(CleanupListener):
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def jobs_configured(self, config: TarsyConfig, jobs: Sequence[Job]) -> None:
        self.calls.append(("jobs_configured", [job.name for job in jobs]))

    def job_started(self, job: str, now: datetime) -> None:
        self.calls.append(("job_started", job, now))

    def step_finished(self, event: StepFinished) -> None:
        e = event
        self.calls.append(("step_finished", e.job, e.step, dict(e.counts), e.error, e.dry_run))

    def run_finished(self, event: RunFinished) -> None:
        e = event
        self.calls.append(
            (
                "run_finished",
                e.job,
                e.outcome,
                e.started_at,
                e.duration_s,
                dict(e.counts),
                list(e.failed_steps),
            )
        )


class Broken(CleanupListener):
    def job_started(self, job: str, now: datetime) -> None:
        raise RuntimeError("listener bug")

    def run_finished(self, *args: object) -> None:
        raise RuntimeError("listener bug at the end")


# The backlog step's measurements after a run over seed_backlog: 12h on (the default interval),
# its 10 young events are past the 1h TTL; nothing else is due.
NEXT_RUN_BACKLOG = {
    "backlog_due_for_soft_delete": 0,
    "backlog_due_for_purge": 0,
    "backlog_events_past_ttl": 10,
    "backlog_sessions_held": 0,
}


def test_a_listener_hears_the_start_every_step_and_the_end_of_a_run() -> None:
    seed_backlog(old_sessions=3, old_events=2)
    recorder = Recorder()
    assert isinstance(recorder, CleanupListener)
    job = job_for("retention", retention=RetentionConfig(session_retention_days=30))
    runner = JobRunner(job, listeners=[recorder])
    assert runner.run() == "success"
    record = CleanupRun.objects.get()
    started, *steps, finished = recorder.calls
    assert started == ("job_started", "retention", record.started_at)
    assert steps == [
        ("step_finished", "retention", "soft_deleted", {"soft_deleted": 3}, None, False),
        ("step_finished", "retention", "events_expired", {"events_expired": 2}, None, False),
        ("step_finished", "retention", "backlog", NEXT_RUN_BACKLOG, None, False),
        ("step_finished", "retention", "runs_expired", {"runs_expired": 0}, None, False),
    ]
    name, job_name, outcome, started_at, duration, counts, failed = finished
    assert (name, job_name, outcome, started_at) == (
        "run_finished",
        "retention",
        "success",
        record.started_at,
    )
    assert counts == record.counts and failed == []
    assert 0 <= duration < 60


def test_a_multi_count_step_reports_its_own_keys(tmp_path: Path) -> None:
    recorder = Recorder()
    job = job_for("sweep", streaming_logs=StreamingLogsConfig(base_dir=tmp_path))
    assert JobRunner(job, dry_run=True, listeners=[recorder]).run() == "success"
    (step,) = [call for call in recorder.calls if call[0] == "step_finished"]
    assert step[2] == "sweep" and step[5] is True
    assert set(step[3]) == {
        "deleted",
        "bytes_freed",
        "skipped_active",
        "kept_young",
        "errors",
        "pressure_deleted",
        "pressure_bytes_freed",
        "stale_active",
        "files_on_disk",
        "bytes_on_disk",
        "free_space_permille",
    }


def test_a_failing_step_is_named_to_the_listener() -> None:
    def broken(run: StepRun) -> int:
        raise ValueError("no such table")

    recorder = Recorder()
    job = Job("custom", timedelta(hours=1), (Step("breaks", broken),))
    assert JobRunner(job, dry_run=True, listeners=[recorder]).run() == "failed"
    step = next(call for call in recorder.calls if call[0] == "step_finished")
    assert step[2:5] == ("breaks", {}, "ValueError: no such table")
    assert recorder.calls[-1][2] == "failed" and recorder.calls[-1][6] == ["breaks"]


def test_a_listener_that_raises_is_logged_and_breaks_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seed_backlog(old_sessions=2)
    recorder = Recorder()
    job = job_for("retention", retention=RetentionConfig(session_retention_days=30))
    with caplog.at_level(logging.WARNING, logger="retention.listeners"):
        outcome = JobRunner(job, listeners=[Broken(), recorder]).run()
    assert outcome == "success"
    assert CleanupRun.objects.get().counts["soft_deleted"] == 2
    # The listener after the broken one still heard everything.
    assert [call[0] for call in recorder.calls] == [
        "job_started",
        "step_finished",
        "step_finished",
        "step_finished",
        "step_finished",
        "run_finished",
    ]
    failures = [r for r in caplog.records if r.getMessage() == "cleanup listener failed"]
    assert [(r.listener, r.event) for r in failures] == [
        ("Broken", "job_started"),
        ("Broken", "run_finished"),
    ]
    assert "listener bug" in failures[0].error
