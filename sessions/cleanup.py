"""The sessions' cleanup work: the retention rules, and orphan detection as a job of its own.

Retention: soft-delete, event expiry, then purge (only when ``purge_after_days`` is set), steps
of the ``retention`` job, each a call to its service in :mod:`sessions.services.retention` with
the run's frozen ``now``, its progress callback (which also stops the run between batches) and
``system.retention``'s batch size. Then ``backlog`` measures what the next run will face
(:mod:`sessions.backlog`).

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

from retention.config import RetentionConfig
from retention.registry import Counts, Interrupted, Step, StepPreview, StepRun, registry
from sessions import backlog, preview
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


class RetentionSteps:
    """The ``retention`` job's steps for one configuration of ``system.retention``."""

    def __init__(self, settings: RetentionConfig) -> None:
        self.settings = settings

    def in_batches(self, run: StepRun) -> dict[str, Any]:
        return {
            "now": run.now,
            "batch_size": self.settings.batch_size,
            "dry_run": run.dry_run,
            "progress": run.progress,
        }

    def soft_delete(self, run: StepRun) -> int:
        days = self.settings.session_retention_days
        return rules.soft_delete_old_sessions(retention_days=days, **self.in_batches(run))

    def soft_delete_preview(self, run: StepRun, limit: int) -> StepPreview:
        days = self.settings.session_retention_days
        passes = rules.sessions_to_soft_delete(retention_days=days, now=run.now)
        return preview.of_passes(passes, limit=limit)

    def expire_events(self, run: StepRun) -> int:
        return rules.expire_events(ttl=self.settings.event_ttl, **self.in_batches(run))

    def purge(self, run: StepRun) -> int:
        days = self.settings.purge_after_days
        return rules.purge_deleted_sessions(after_days=days, **self.in_batches(run))

    def purge_preview(self, run: StepRun, limit: int) -> StepPreview:
        due = rules.sessions_to_purge(after_days=self.settings.purge_after_days, now=run.now)
        return preview.of_passes([(due, "deleted_at")], limit=limit, also=("deleted_at",))

    def measure_backlog(self, run: StepRun) -> dict[str, int]:
        """Measurements, not changes: what the next run (one ``cleanup_interval`` on) would
        change, as ``backlog_*`` counts (read by the metrics' backlog gauges). Dry runs too."""
        if run.stop_requested():
            raise Interrupted
        next_run = run.now + self.settings.cleanup_interval
        return backlog.retention_backlog(at=next_run, retention=self.settings)

    def steps(self) -> list[Step]:
        steps = [
            Step("soft_deleted", self.soft_delete, preview=self.soft_delete_preview),
            Step("events_expired", self.expire_events),
        ]
        if self.settings.purge_after_days is not None:
            steps.append(Step("purged", self.purge, preview=self.purge_preview))
        steps.append(Step("backlog", self.measure_backlog))
        return steps


@registry.contribute("retention")
def retention_rules(config: TarsyConfig) -> list[Step]:
    return RetentionSteps(config.retention).steps()


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
