"""The retention rules as steps of the ``retention`` cleanup job.

Soft-delete, event expiry, then purge (only when ``purge_after_days`` is set), each a call to
its service in :mod:`sessions.services.retention` with the run's frozen ``now``, its progress
callback (which also stops the run between batches) and ``system.retention``'s batch size.
Then ``backlog`` measures what the next run will face (:mod:`sessions.backlog`).
"""

from __future__ import annotations

from typing import Any

from retention.registry import Interrupted, Step, StepRun, registry
from sessions import backlog
from sessions.services import retention as rules
from tarsy_project.config import TarsyConfig


@registry.contribute("retention")
def retention_rules(config: TarsyConfig) -> list[Step]:
    settings = config.retention

    def in_batches(run: StepRun) -> dict[str, Any]:
        return {
            "now": run.now,
            "batch_size": settings.batch_size,
            "dry_run": run.dry_run,
            "progress": run.progress,
        }

    def soft_delete(run: StepRun) -> int:
        days = settings.session_retention_days
        return rules.soft_delete_old_sessions(retention_days=days, **in_batches(run))

    def expire_events(run: StepRun) -> int:
        return rules.expire_events(ttl=settings.event_ttl, **in_batches(run))

    def purge(run: StepRun) -> int:
        days = settings.purge_after_days
        return rules.purge_deleted_sessions(after_days=days, **in_batches(run))

    def measure_backlog(run: StepRun) -> dict[str, int]:
        """Measurements, not changes: what the next run (one ``cleanup_interval`` on) would
        change, as ``backlog_*`` counts (read by the metrics' backlog gauges). Dry runs too."""
        if run.stop_requested():
            raise Interrupted
        next_run = run.now + settings.cleanup_interval
        return backlog.retention_backlog(at=next_run, retention=settings)

    steps = [Step("soft_deleted", soft_delete), Step("events_expired", expire_events)]
    if settings.purge_after_days is not None:
        steps.append(Step("purged", purge))
    steps.append(Step("backlog", measure_backlog))
    return steps
