"""The sessions' cleanup work: the retention rules, and orphan detection as a job of its own.

Retention: soft-delete, event expiry, then purge (only when ``purge_after_days`` is set), steps
of the ``retention`` job, each a call to its service in :mod:`sessions.services.retention` with
the run's frozen ``now``, its progress callback (which also stops the run between batches) and
``system.retention``'s batch size.

Orphan detection (:mod:`sessions.services.orphans`) is the ``orphans`` job, run every
``queue.orphan_detection_interval`` with ``queue.orphan_threshold``, the keys TARSy's own
workers read; there is no such job with ``system.retention.orphan_detection: false``. A run
that timed nothing out leaves no run record (one every few minutes would say nothing), except
the first after a start or a failure.

The steps that change sessions can say which ones they would change (``Step.preview``, for
``run_cleanup --once --dry-run --list``), from the very querysets their run walks.
"""

from __future__ import annotations

from typing import Any

from retention.registry import Counts, Step, StepPreview, StepRun, registry
from sessions import preview
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

    def soft_delete_preview(run: StepRun, limit: int) -> StepPreview:
        days = settings.session_retention_days
        passes = rules.sessions_to_soft_delete(retention_days=days, now=run.now)
        return preview.of_passes(passes, limit=limit)

    def expire_events(run: StepRun) -> int:
        return rules.expire_events(ttl=settings.event_ttl, **in_batches(run))

    def purge(run: StepRun) -> int:
        days = settings.purge_after_days
        return rules.purge_deleted_sessions(after_days=days, **in_batches(run))

    def purge_preview(run: StepRun, limit: int) -> StepPreview:
        due = rules.sessions_to_purge(after_days=settings.purge_after_days, now=run.now)
        return preview.of_passes([(due, "deleted_at")], limit=limit, also=("deleted_at",))

    steps = [
        Step("soft_deleted", soft_delete, preview=soft_delete_preview),
        Step("events_expired", expire_events),
    ]
    if settings.purge_after_days is not None:
        steps.append(Step("purged", purge, preview=purge_preview))
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

    def mark_preview(run: StepRun, limit: int) -> StepPreview:
        stale = orphans.orphans(threshold=threshold, now=run.now)
        return preview.of_orphans(stale, limit=limit)

    return [Step(ORPHANS_STEP, mark, preview=mark_preview)]
