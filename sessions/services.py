"""Operations on sessions and events: the one place that changes them (DESIGN §4).

The cleanup loop, the management commands and the admin all call these functions; none of
them holds a query of its own. Retention work runs in batches, one short transaction each, so
a backlog of millions of rows never holds locks for long and a kill loses only the current
batch. Batches are windows over an indexed key (``completed_at``, ``created_at``,
``deleted_at``): each window starts where the previous one ended, so no batch rescans rows
already done and the loop ends without a last full scan. On PostgreSQL each batch locks its
rows with ``FOR UPDATE SKIP LOCKED``, so several cleanup pods never wait on each other and
never count a row twice, and ``lock_timeout``/``statement_timeout`` keep a stuck lock from
hanging the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Count, Model, Q, QuerySet

from sessions.models import (
    CHILD_MODELS,
    STALE_UNFINISHED_STATUSES,
    AlertSession,
    ChatUserMessage,
    Event,
)

# Per-transaction guards on PostgreSQL: give up on a lock held elsewhere instead of queueing.
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "60s"
# Purge deletes each session's children by cascade: a window of sessions holds far more rows
# than its size, so purge windows are this many times smaller than ``batch_size``.
PURGE_ROWS_PER_SESSION = 100

Progress = Callable[[int], None]


# -- the retention rules (DESIGN §4) -----------------------------------------------------------


def sessions_due_for_soft_delete(cutoff: datetime) -> QuerySet[AlertSession]:
    """Rule 1: live sessions finished before ``cutoff``, or pending/cancelling since before it."""
    return AlertSession.all_objects.filter(
        Q(completed_at__lt=cutoff) | Q(status__in=STALE_UNFINISHED_STATUSES, created_at__lt=cutoff),
        deleted_at__isnull=True,
    )


def events_due_for_expiry(cutoff: datetime) -> QuerySet[Event]:
    """Rule 2: events created before ``cutoff``."""
    return Event.objects.filter(created_at__lt=cutoff)


def sessions_due_for_purge(cutoff: datetime) -> QuerySet[AlertSession]:
    """Rule 3: sessions soft-deleted before ``cutoff``."""
    return AlertSession.all_objects.filter(deleted_at__lt=cutoff)


# -- batching ------------------------------------------------------------------------------------


def _begin_batch(using: str) -> None:
    """Set the per-transaction guards; called first in every batch's transaction."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true), "
                "set_config('statement_timeout', %s, true)",
                [LOCK_TIMEOUT, STATEMENT_TIMEOUT],
            )


def _in_key_windows(
    eligible: QuerySet,
    key: str,
    size: int,
    apply: Callable[[QuerySet], int],
    progress: Progress | None = None,
) -> int:
    """Run ``apply`` on consecutive windows of about ``size`` eligible rows ordered by ``key``.

    Each window is ``lower < key <= upper`` where ``upper`` is the ``size``-th key after
    ``lower`` (read from the key's index); ties at ``upper`` join the window, so every row
    is in exactly one window. Each window runs in its own transaction; ``apply`` receives the
    window's rows, locked with SKIP LOCKED where the database can, and returns rows changed.
    """
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    using = router.db_for_write(eligible.model)
    lower: Any = None
    total = 0
    while True:
        remaining = eligible if lower is None else eligible.filter(**{f"{key}__gt": lower})
        keys = remaining.order_by(key).values_list(key, flat=True)
        upper = keys[size - 1 : size].first()
        window = remaining if upper is None else remaining.filter(**{f"{key}__lte": upper})
        with transaction.atomic(using=using):
            _begin_batch(using)
            locked = window.order_by().select_for_update(skip_locked=True).values("pk")
            total += apply(eligible.model._base_manager.using(using).filter(pk__in=locked))
        if progress:
            progress(total)
        if upper is None:
            return total
        lower = upper


# -- scheduled retention ---------------------------------------------------------------------


def soft_delete_old_sessions(
    retention_days: int,
    *,
    now: datetime,
    batch_size: int,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> int:
    """Soft-delete sessions past retention (rule 1); return how many were (or would be)."""
    cutoff = now - timedelta(days=retention_days)
    if dry_run:
        return sessions_due_for_soft_delete(cutoff).count()

    def mark_deleted(rows: QuerySet) -> int:
        return rows.filter(deleted_at__isnull=True).update(deleted_at=now)

    live = AlertSession.all_objects.filter(deleted_at__isnull=True)
    # Two passes, each over its own index: finished sessions by completed_at (the partial
    # live index), then never-finished pending/cancelling ones by created_at.
    done = _in_key_windows(
        live.filter(completed_at__lt=cutoff), "completed_at", batch_size, mark_deleted, progress
    )
    stale = live.filter(status__in=STALE_UNFINISHED_STATUSES, created_at__lt=cutoff)

    def report(count: int) -> None:
        if progress:
            progress(done + count)

    return done + _in_key_windows(stale, "created_at", batch_size, mark_deleted, report)


def expire_events(
    ttl: timedelta,
    *,
    now: datetime,
    batch_size: int,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> int:
    """Hard-delete events older than ``ttl`` (rule 2); return how many were (or would be)."""
    eligible = events_due_for_expiry(now - ttl)
    if dry_run:
        return eligible.count()
    return _in_key_windows(eligible, "created_at", batch_size, _delete_rows, progress)


def purge_deleted_sessions(
    after_days: int,
    *,
    now: datetime,
    batch_size: int,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> int:
    """Hard-delete sessions soft-deleted more than ``after_days`` ago (rule 3).

    The children go by the database cascade. Returns the number of sessions.
    """
    eligible = sessions_due_for_purge(now - timedelta(days=after_days))
    if dry_run:
        return eligible.count()
    size = max(1, batch_size // PURGE_ROWS_PER_SESSION)
    return _in_key_windows(eligible, "deleted_at", size, _delete_rows, progress)


def _delete_rows(rows: QuerySet) -> int:
    """One DELETE statement: no signals and database cascades, so Django loads nothing."""
    return rows._raw_delete(rows.db)


# -- operators ---------------------------------------------------------------------------------


@dataclass
class OperatorResult:
    """What an operator action did, per id, in the order the ids were given."""

    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _apply_to_ids(
    ids: Iterable[str], *, wants_deleted: bool, new_value: datetime | None, dry_run: bool
) -> OperatorResult:
    wanted = list(dict.fromkeys(str(i) for i in ids))
    result = OperatorResult()
    with transaction.atomic():
        found = dict(
            AlertSession.all_objects.select_for_update()
            .filter(pk__in=wanted)
            .values_list("pk", "deleted_at")
        )
        for session_id in wanted:
            if session_id not in found:
                result.unknown.append(session_id)
            elif (found[session_id] is not None) == wants_deleted:
                result.changed.append(session_id)
            else:
                result.unchanged.append(session_id)
        if result.changed and not dry_run:
            AlertSession.all_objects.filter(pk__in=result.changed).update(deleted_at=new_value)
    return result


def restore_sessions(ids: Iterable[str], *, dry_run: bool = False) -> OperatorResult:
    """Bring soft-deleted sessions back (children were never touched, so they come back whole).

    ``changed``: restored; ``unchanged``: already live; ``unknown``: no such session.
    """
    return _apply_to_ids(ids, wants_deleted=True, new_value=None, dry_run=dry_run)


def soft_delete_sessions(
    ids: Iterable[str], *, now: datetime | None = None, dry_run: bool = False
) -> OperatorResult:
    """Soft-delete sessions chosen by an operator.

    ``changed``: soft-deleted; ``unchanged``: already deleted; ``unknown``: no such session.
    """
    from django.utils import timezone

    return _apply_to_ids(ids, wants_deleted=False, new_value=now or timezone.now(), dry_run=dry_run)


def count_children(session_ids: Iterable[str]) -> dict[type[Model], int]:
    """Rows of each child kind belonging to the given sessions (one COUNT per kind)."""
    ids = list(session_ids)
    counts: dict[type[Model], int] = {}
    for model in CHILD_MODELS:
        lookup = "chat__session__in" if model is ChatUserMessage else "session__in"
        counts[model] = model.objects.filter(**{lookup: ids}).aggregate(n=Count("pk"))["n"]
    return counts


def purge_sessions(ids: Iterable[str]) -> tuple[int, dict[type[Model], int]]:
    """Hard-delete the given sessions now (an operator's choice, superusers only in the admin).

    Returns the sessions deleted and the child rows that went with them, per kind, counted
    in the same transaction.
    """
    wanted = list(dict.fromkeys(str(i) for i in ids))
    with transaction.atomic():
        rows = AlertSession.all_objects.select_for_update().filter(pk__in=wanted)
        present = list(rows.values_list("pk", flat=True))
        children = count_children(present)
        deleted = _delete_rows(AlertSession.all_objects.filter(pk__in=present))
    return deleted, children
