"""The cleanup jobs: what each one calls, on what interval.

A job only gathers counts from services; it holds no query of its own. ``retention`` runs
the three retention rules (sessions.services.retention) and expires old run records;
``sweep`` runs the streaming-log file sweeper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from retention.config import RetentionConfig
from streaming.config import StreamingLogsConfig
from tarsy_project.config import TarsyConfig

Progress = Callable[[int], None]


class Interrupted(Exception):
    """Raised between batches when a stop was requested."""


@dataclass
class JobRun:
    """One run in progress: its frozen ``now``, and the counts its steps have reached."""

    now: datetime
    dry_run: bool
    report: Callable[[str, int], None] = lambda step, done: None
    stop_requested: Callable[[], bool] = lambda: False
    counts: dict[str, int] = field(default_factory=dict)

    def progress(self, step: str) -> Progress:
        """A callback for a service's ``progress``: keeps the step's count current."""

        def update(done: int) -> None:
            self.counts[step] = done
            self.report(step, done)

        return update

    def finish_step(self, step: str, done: int) -> None:
        self.counts[step] = done


@dataclass(frozen=True)
class Job:
    name: str
    interval: timedelta
    run: Callable[[JobRun], None]
    # Retention runs are always recorded; a sweep only when it is worth a row.
    worth_recording: Callable[[dict[str, int]], bool] = lambda counts: True


def retention_job(config: RetentionConfig) -> Job:
    def run(job: JobRun) -> None:
        from retention.services import expire_cleanup_runs
        from sessions.services import retention

        common = {"now": job.now, "batch_size": config.batch_size, "dry_run": job.dry_run}
        job.finish_step(
            "soft_deleted",
            retention.soft_delete_old_sessions(
                retention_days=config.session_retention_days,
                progress=job.progress("soft_deleted"),
                **common,
            ),
        )
        job.finish_step(
            "events_expired",
            retention.expire_events(
                ttl=config.event_ttl, progress=job.progress("events_expired"), **common
            ),
        )
        if config.purge_after_days is not None:
            job.finish_step(
                "purged",
                retention.purge_deleted_sessions(
                    after_days=config.purge_after_days, progress=job.progress("purged"), **common
                ),
            )
        job.finish_step("runs_expired", expire_cleanup_runs(now=job.now, dry_run=job.dry_run))

    return Job("retention", config.cleanup_interval, run)


def sweep_job(config: StreamingLogsConfig) -> Job:
    def run(job: JobRun) -> None:
        from streaming.sweeper import sweep

        result = sweep(
            config.base_dir,
            retention=timedelta(minutes=config.file_retention_minutes),
            now=job.now.timestamp(),
            dry_run=job.dry_run,
            should_stop=job.stop_requested,
        )
        job.counts.update(result.as_counts())
        if job.stop_requested():
            raise Interrupted  # the sweep stopped early: say so in the run's outcome

    def worth_recording(counts: dict[str, int]) -> bool:
        return bool(counts.get("deleted") or counts.get("errors"))

    return Job("sweep", timedelta(seconds=config.cleanup_interval_seconds), run, worth_recording)


def build_jobs(config: TarsyConfig) -> list[Job]:
    """The jobs the configuration asks for; no sweep when streaming logs are disabled."""
    jobs = [retention_job(config.retention)]
    if config.streaming_logs.enabled:
        jobs.append(sweep_job(config.streaming_logs))
    return jobs
