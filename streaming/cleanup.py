"""The streaming-log sweep as the ``sweep`` cleanup job; no such job when logs are disabled.

It runs every ``system.streaming_logs.cleanup_interval_seconds``. An idle sweep leaves no run
record (thousands of them would say nothing): only one that deleted files or met errors does,
besides the first after a start or a failure.
"""

from __future__ import annotations

from datetime import timedelta

from retention.registry import Counts, Interrupted, Step, StepRun, registry
from streaming.sweeper import sweep
from tarsy_project.config import TarsyConfig


def changed_something(counts: Counts) -> bool:
    """Whether a sweep deleted files or met errors (an idle one is not worth a record)."""
    return bool(counts.get("deleted") or counts.get("errors"))


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

    def sweep_files(run: StepRun) -> Counts:
        counts = sweep(
            logs.base_dir,
            retention=timedelta(minutes=logs.file_retention_minutes),
            now=run.now.timestamp(),
            dry_run=run.dry_run,
            should_stop=run.stop_requested,
        ).as_counts()
        if run.stop_requested():
            raise Interrupted(counts)  # the sweep stopped early: say so in the run's outcome
        return counts

    return [Step("sweep", sweep_files)]
