"""Retention's own cleanup work: the ``retention`` job, and the expiry of old run records.

The ``retention`` job runs every ``system.retention.cleanup_interval``; every run is recorded.
The sessions app contributes the retention rules to it; run-record expiry comes after them.
"""

from __future__ import annotations

from retention.registry import Step, StepRun, registry
from retention.services import expire_cleanup_runs
from tarsy_project.config import TarsyConfig

registry.declare_job("retention", interval=lambda config: config.retention.cleanup_interval)


def expire_run_records(run: StepRun) -> int:
    """Records older than 30 days go with every retention run (one statement: a small table)."""
    return expire_cleanup_runs(now=run.now, dry_run=run.dry_run)


@registry.contribute("retention")
def run_record_expiry(config: TarsyConfig) -> list[Step]:
    return [Step("runs_expired", expire_run_records)]
