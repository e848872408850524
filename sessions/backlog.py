"""What the next retention run faces: the counts behind the backlog gauges (reads only).

Each is one cheap query: an indexed count of sessions per rule, and for events (a table that
can hold millions of rows) a count that stops at :data:`EXACT_UP_TO`, beyond which PostgreSQL's
query planner estimates (an exact count would scan the backlog at every run).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.db import connections
from django.db.models import QuerySet

from retention.config import RetentionConfig
from sessions import selectors
from sessions.models import AlertSession

EXACT_UP_TO = 10_000


def retention_backlog(*, at: datetime, retention: RetentionConfig) -> dict[str, int]:
    """What a retention run at ``at`` would change under ``retention``'s rules, by the step's
    count keys (``backlog_*``)."""
    purge_after = retention.purge_after_days
    return {
        "backlog_due_for_soft_delete": due_for_soft_delete(
            at - timedelta(days=retention.session_retention_days), at=at
        ),
        "backlog_due_for_purge": (
            0 if purge_after is None else due_for_purge(at - timedelta(days=purge_after), at=at)
        ),
        "backlog_events_past_ttl": estimated_count(
            selectors.events_due_for_expiry(at - retention.event_ttl)
        ),
        "backlog_sessions_held": sessions_held(at=at),
    }


def due_for_soft_delete(cutoff: datetime, *, at: datetime) -> int:
    """Sessions rule 1 would soft-delete with ``cutoff`` (held ones left out, as at ``at``)."""
    return AlertSession.all_objects.due_for_soft_delete(cutoff, now=at).count()


def due_for_purge(cutoff: datetime, *, at: datetime) -> int:
    """Sessions rule 3 would purge with ``cutoff`` (held ones left out, as at ``at``)."""
    return AlertSession.all_objects.due_for_purge(cutoff, now=at).count()


def sessions_held(*, at: datetime) -> int:
    """Sessions under a hold still active at ``at`` (a small table of TARSy Ops' own)."""
    return AlertSession.all_objects.held(now=at).count()


def estimated_count(rows: QuerySet, *, exact_up_to: int = EXACT_UP_TO) -> int:
    """``rows.count()`` when at most ``exact_up_to``; above that, on PostgreSQL, the planner's
    row estimate (never below ``exact_up_to + 1``), elsewhere the exact count."""
    counted = rows.values("pk")[: exact_up_to + 1].count()
    if counted <= exact_up_to:
        return counted
    if connections[rows.db].vendor != "postgresql":
        return rows.count()
    (plan,) = json.loads(rows.explain(format="json"))
    return max(counted, int(plan["Plan"]["Plan Rows"]))
