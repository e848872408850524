"""Orphan detection: sessions whose worker stopped mid-investigation become ``timed_out``.

TARSy's rule, for deployments where TARSy's own workers do not run it: a live ``in_progress``
session whose worker has not sent a heartbeat (``last_interaction_at``) for longer than
``queue.orphan_threshold`` gets ``status = timed_out``, ``completed_at`` = the run's ``now`` and
``error_message`` "Orphaned: no heartbeat from pod <pod_id> since <RFC 3339 time>", and its
timeline events still ``streaming`` become ``timed_out``. A session that never sent a
heartbeat goes by its start (else its creation) instead, and one without a pod id is named
"pod unknown" (``querysets.last_sign_of_life``).

Each batch is one transaction: it locks the stale sessions (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL), which re-checks them against their newest row version, and changes them and their
timeline events. So several cleanup pods and TARSy's own workers doing the same at once never
mark a session twice or wait on each other, and a session whose heartbeat moved on, or that
TARSy's worker already timed out, is left alone. The message is built in SQL, from each row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import CharField, Func, QuerySet, Value
from django.db.models.functions import Coalesce, Concat
from django.db.models.sql.compiler import SQLCompiler

from sessions.models import AlertSession, TimelineEvent
from sessions.querysets import last_sign_of_life
from sessions.statuses import SessionStatus
from tarsy_project.db import batches
from tarsy_project.db.batches import Progress

TIMED_OUT = SessionStatus.TIMED_OUT.value
STREAMING = "streaming"  # a timeline event still being written
UNKNOWN_POD = "unknown"


class UtcRfc3339(Func):
    """A timestamp as RFC 3339 text in UTC, to the second (``2026-12-01T10:00:00Z``), the way
    Go's ``time.RFC3339`` prints it."""

    output_field = CharField()

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        utc = Func(*self.source_expressions, template="(%(expressions)s AT TIME ZONE 'UTC')")
        text = Func(utc, Value('YYYY-MM-DD"T"HH24:MI:SS"Z"'), function="to_char")
        return text.as_sql(compiler, connection, **extra)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        # Django keeps SQLite timestamps as UTC text, which strftime reads.
        text = Func(Value("%Y-%m-%dT%H:%M:%SZ"), *self.source_expressions, function="strftime")
        return text.as_sql(compiler, connection, **extra)


def orphan_message() -> Concat:
    """``Orphaned: no heartbeat from pod <pod_id> since <RFC 3339 time>``, from each row."""
    return Concat(
        Value("Orphaned: no heartbeat from pod "),
        Coalesce("pod_id", Value(UNKNOWN_POD)),
        Value(" since "),
        UtcRfc3339(last_sign_of_life()),
        output_field=CharField(),
    )


def orphans(*, threshold: timedelta, now: datetime) -> QuerySet[AlertSession]:
    """The sessions a run at ``now`` times out."""
    return AlertSession.all_objects.orphaned(stale_before=now - threshold)


def mark_orphans(
    *,
    threshold: timedelta,
    now: datetime,
    batch_size: int,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> int:
    """Time out the orphaned sessions (see the module); return how many were (or would be)."""
    stale = orphans(threshold=threshold, now=now)
    if dry_run:
        return stale.count()
    using = router.db_for_write(AlertSession)
    total = 0
    with batches.batch_guards(using=using):
        while True:
            marked, picked = _mark_batch(stale, now=now, size=batch_size, using=using)
            total += marked
            if progress:
                progress(total)
            if picked < batch_size or not marked:
                return total


def _mark_batch(
    stale: QuerySet[AlertSession], *, now: datetime, size: int, using: str
) -> tuple[int, int]:
    """One transaction: lock up to ``size`` stale sessions, time them and their streaming
    timeline events out; return (sessions marked, sessions picked)."""
    with transaction.atomic(using=using):
        locked = stale.select_for_update(skip_locked=True).order_by()
        ids = list(locked.values_list("pk", flat=True)[:size])
        if not ids:
            return 0, 0
        marked = stale.filter(pk__in=ids).update(
            status=TIMED_OUT, completed_at=now, error_message=orphan_message()
        )
        TimelineEvent.objects.filter(session_id__in=ids, status=STREAMING).update(
            status=TIMED_OUT, updated_at=now
        )
    return marked, len(ids)
