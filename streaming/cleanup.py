"""The streaming-log sweep as the ``sweep`` cleanup job; no such job when logs are disabled.

It runs every ``system.streaming_logs.cleanup_interval_seconds``. An idle sweep leaves no run
record (thousands of them would say nothing): only one that deleted files (also under disk
pressure) or met errors does, besides the first after a start or a failure. The directory is
resolved once, when the job is built at start, and logged as resolved.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from retention.registry import Counts, Interrupted, Step, StepRun, registry
from streaming.sweeper import resolve_base_dir, sweep
from tarsy_project.config import TarsyConfig

log = logging.getLogger("streaming.sweeper")


def changed_something(counts: Counts) -> bool:
    """Whether a sweep deleted files or met errors (an idle one is not worth a record)."""
    return bool(counts.get("deleted") or counts.get("pressure_deleted") or counts.get("errors"))


registry.declare_job(
    "sweep",
    interval=lambda config: timedelta(seconds=config.streaming_logs.cleanup_interval_seconds),
    worth_recording=changed_something,
)


@registry.contribute("sweep")
def sweep_steps(config: TarsyConfig) -> list[Step]:
    logs = config.streaming_logs
    if not logs.enabled:
        return []
    directory = resolve_base_dir(logs.base_dir)
    log.info(
        "streaming log sweep directory",
        extra={"base_dir": str(logs.base_dir), "directory": str(directory)},
    )

    def sweep_files(run: StepRun) -> Counts:
        result = sweep(
            directory,
            retention=timedelta(minutes=logs.file_retention_minutes),
            now=run.now.timestamp(),
            dry_run=run.dry_run,
            should_stop=run.stop_requested,
            min_free_percent=logs.min_free_percent,
            max_dir_mb=logs.max_dir_mb,
            max_session_age=timedelta(hours=logs.max_session_age_hours),
        )
        counts = result.as_counts()
        if result.free_ratio is not None:
            # Counts are integers: the free space of the directory's filesystem in 1/1000.
            counts["free_space_permille"] = round(result.free_ratio * 1000)
        if run.stop_requested():
            raise Interrupted(counts)  # the sweep stopped early: say so in the run's outcome
        return counts

    return [Step("sweep", sweep_files)]
