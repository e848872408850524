"""Scheduled retention: the three rules the cleanup loop applies to sessions and events.

Rule 1 soft-deletes sessions past retention, rule 2 hard-deletes old events, rule 3 purges
sessions soft-deleted long enough ago. Each runs in short batches (``tarsy_project.db.batches``):
a backlog of millions of rows never holds locks for long, several cleanup pods share the work
without waiting on each other, and a kill loses only the current batch. Event expiry is the
exception: events are an append-only buffer nobody locks, so one pod at a time (an advisory
try-lock; the others skip) deletes them by id ranges without row locks, as fast as one DELETE
(docs/benchmarks.md).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connections, router
from django.db.models import QuerySet

from sessions import selectors
from sessions.models import AlertSession, Event, SessionHold
from tarsy_project.db import batches
from tarsy_project.db.batches import Progress

log = logging.getLogger(__name__)

# Purge deletes each session's children by cascade: a window of sessions holds far more rows
# than its size, so purge windows are this many times smaller than ``batch_size`` (50 sessions
# by default: with 200 child rows each, 10,000 rows and about 0.1 s a transaction).
PURGE_ROWS_PER_SESSION = 20


def soft_delete_old_sessions(
    *,
    retention_days: int,
    now: datetime,
    batch_size: int,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> int:
    """Soft-delete sessions past retention (rule 1); return how many were (or would be).

    A dry run counts the passes the real run walks (an index range count each); one count of
    ``due_for_soft_delete`` over the whole rule measured up to twice as slow on a million rows.
    """
    passes = sessions_to_soft_delete(retention_days=retention_days, now=now)
    if dry_run:
        return sum(eligible.count() for eligible, _ in passes)
    total = 0
    for eligible, key in passes:
        total += batches.update_in_windows(
            eligible,
            key=key,
            size=batch_size,
            changes={"deleted_at": now},
            progress=_offset(progress, total),
        )
    return total


def sessions_to_soft_delete(
    *, retention_days: int, now: datetime
) -> list[tuple[QuerySet[AlertSession], str]]:
    """Rule 1's sessions at ``now``, as the passes the run walks (``soft_delete_passes``)."""
    return selectors.soft_delete_passes(now - timedelta(days=retention_days), now)


def _offset(progress: Progress | None, done: int) -> Progress | None:
    """``progress`` for a later pass: reports the rows of the earlier passes too."""
    return None if progress is None else lambda count: progress(done + count)


def expire_events(
    *,
    ttl: timedelta,
    now: datetime,
    batch_size: int,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> int:
    """Hard-delete events older than ``ttl`` (rule 2); return how many were (or would be).

    On PostgreSQL one host at a time expires events (an advisory try-lock: the others skip the
    step, they never wait), deleting by ranges of ids, the table's physical order, without
    locking rows one by one first: events are an append-only buffer nobody else locks or
    updates. An event inserted during the run is younger than the cutoff (the next run has it).
    """
    eligible = selectors.events_due_for_expiry(now - ttl)
    if dry_run:
        return eligible.count()
    using = router.db_for_write(Event)
    if connections[using].vendor != "postgresql":
        return batches.delete_in_windows(
            eligible, key="created_at", size=batch_size, progress=progress
        )
    with batches.exclusive_lock("tarsy.expire_events", using=using) as ours:
        if not ours:
            log.info("another host is expiring events; skipping the step")
            return 0
        return batches.delete_in_id_ranges(eligible, size=batch_size, progress=progress)


def purge_deleted_sessions(
    *,
    after_days: int,
    now: datetime,
    batch_size: int,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> int:
    """Hard-delete sessions soft-deleted more than ``after_days`` ago (rule 3), unless held.

    The children go by the database cascade. The holds of sessions that no longer exist (the
    ended holds of the sessions purged, or of sessions deleted by other means) go after them:
    holds have no foreign-key constraint to cascade from TARSy's table. Returns the number of
    sessions.
    """
    eligible = sessions_to_purge(after_days=after_days, now=now)
    if dry_run:
        return eligible.count()
    size = max(1, batch_size // PURGE_ROWS_PER_SESSION)
    purged = batches.delete_in_windows(eligible, key="deleted_at", size=size, progress=progress)
    SessionHold.objects.of_missing_sessions().delete()
    return purged


def sessions_to_purge(*, after_days: int, now: datetime) -> QuerySet[AlertSession]:
    """Rule 3's sessions at ``now``."""
    return AlertSession.all_objects.due_for_purge(now - timedelta(days=after_days), now=now)
