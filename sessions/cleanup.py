"""The sessions' cleanup work: the retention rules, and orphan detection as a job of its own.

Retention: soft-delete, event expiry, then purge (only when ``purge_after_days`` is set), steps
of the ``retention`` job, each a call to its service in :mod:`sessions.services.retention` with
the run's frozen ``now``, its progress callback (which also stops the run between batches) and
``system.retention``'s batch size.

Orphan detection (:mod:`sessions.services.orphans`) is the ``orphans`` job, run every
``queue.orphan_detection_interval`` with ``queue.orphan_threshold``, the keys TARSy's own
workers read; there is no such job with ``system.retention.orphan_detection: false``. A run
that timed nothing out leaves no run record (one every few minutes would say nothing), except
the first after a start or a failure."""

from __future__ import annotations

from typing import Any

from retention.registry import Counts, Step, StepRun, registry
from sessions.services import orphans
from sessions.services import retention as rules
from tarsy_project.config import TarsyConfig

ORPHANS_STEP = "orphans_marked"


def marked_something(counts: Counts) -> bool:
    """Whether an orphan detection run timed sessions out (an idle one is not worth a record)."""
    return bool(counts.get(ORPHANS_STEP))


registry.declare_job(
    "orphans",
    interval=lambda config: config.orphans.orphan_detection_interval,
    worth_recording=marked_something,
)


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

    steps = [Step("soft_deleted", soft_delete), Step("events_expired", expire_events)]
    if settings.purge_after_days is not None:
        steps.append(Step("purged", purge))
    return steps


@registry.contribute("orphans")
def orphan_detection(config: TarsyConfig) -> list[Step]:
    if not config.retention.orphan_detection:
        return []
    threshold = config.orphans.orphan_threshold

    def mark(run: StepRun) -> int:
        return orphans.mark_orphans(
            threshold=threshold,
            now=run.now,
            batch_size=config.retention.batch_size,
            dry_run=run.dry_run,
            progress=run.progress,
        )

    return [Step(ORPHANS_STEP, mark)]
