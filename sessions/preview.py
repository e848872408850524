"""Which sessions a cleanup step would change, for ``run_cleanup --once --dry-run --list``.

The rows come from the querysets the step's run walks, in the order it walks them, so the
preview names exactly the sessions a run at the same moment changes; the total is the count a
dry run reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import QuerySet

from retention.registry import StepPreview
from sessions.models import AlertSession
from sessions.querysets import last_sign_of_life

# What an operator needs to recognise a session: what it was, where it stands, how old it is.
COLUMNS = ("session_id", "status", "created_at", "completed_at", "alert_type")


def of_passes(
    passes: Iterable[tuple[QuerySet[AlertSession], str]],
    *,
    limit: int,
    also: Sequence[str] = (),
) -> StepPreview:
    """The first ``limit`` sessions of ``passes`` (each walked by its key), and their total."""
    rows: list[dict] = []
    total = 0
    for sessions, key in passes:
        total += sessions.count()
        room = limit - len(rows)
        if room > 0:
            rows += sessions.order_by(key, "pk").values(*COLUMNS, *also)[:room]
    return StepPreview(tuple(rows), total)


def of_orphans(stale: QuerySet[AlertSession], *, limit: int) -> StepPreview:
    """The orphans longest without a sign of life first, with their pod and last heartbeat."""
    ordered = stale.alias(seen=last_sign_of_life()).order_by("seen", "pk")
    rows = ordered.values(*COLUMNS, "pod_id", "last_interaction_at")[:limit]
    return StepPreview(tuple(rows), stale.count())
