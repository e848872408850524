"""Operations on sessions and events: the one place that changes them (DESIGN §4).

The cleanup loop, the management commands and the admin all call these functions; none of
them holds a query of its own. Retention work runs in batches, one short transaction each, so
a backlog of millions of rows never holds locks for long and a kill loses only the current
batch. Batches are windows over an indexed key (``completed_at``, ``created_at``,
``deleted_at``): each window starts where the previous one ended, so no batch rescans rows
already done and the loop ends without a last full scan. On PostgreSQL each batch locks its
rows with ``FOR UPDATE SKIP LOCKED``, so several cleanup pods never wait on each other and
never count a row twice, and ``lock_timeout``/``statement_timeout`` keep a stuck lock from
hanging the loop. Event expiry is the exception: events are an append-only buffer nobody
locks, so one pod at a time (an advisory try-lock; the others skip) deletes them by id ranges
without row locks, as fast as one DELETE (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, InterfaceError, connections, router, transaction
from django.db.models import QuerySet

from sessions.models import (
    STALE_UNFINISHED_STATUSES,
    AlertSession,
    Event,
    SessionStatus,
)

log = logging.getLogger(__name__)

# Per-transaction guards on PostgreSQL: give up on a lock held elsewhere instead of queueing.
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "60s"
# Purge deletes each session's children by cascade: a window of sessions holds far more rows
# than its size, so purge windows are this many times smaller than ``batch_size`` (50 sessions
# by default: with 200 child rows each, 10,000 rows and about 0.1 s a transaction).
PURGE_ROWS_PER_SESSION = 20
# Event expiry by id ranges: a window that found nothing to delete may grow to this many
# windows' worth of ids (a young tail or a gap), never one that deletes.
MAX_EMPTY_SPAN = 16

Progress = Callable[[int], None]


# -- the retention rules (DESIGN §4) -----------------------------------------------------------


def sessions_due_for_soft_delete(cutoff: datetime) -> list[tuple[QuerySet[AlertSession], str]]:
    """Rule 1, as disjoint passes of (eligible rows, indexed key to walk them by).

    Live sessions finished before ``cutoff`` (by ``completed_at``, the partial live index), then
    never-finished ``pending``/``cancelling`` ones created before it (by ``created_at``, one
    status at a time, so each pass is an ordered range of ``(status, created_at)``). Sessions
    ``in_progress`` are never touched, even with a stale ``completed_at``: orphan detection
    owns them.
    """
    live = AlertSession.all_objects.filter(deleted_at__isnull=True).exclude(
        status=SessionStatus.IN_PROGRESS
    )
    finished = live.filter(completed_at__lt=cutoff)
    stale = [
        live.filter(status=status, created_at__lt=cutoff).exclude(completed_at__lt=cutoff)
        for status in STALE_UNFINISHED_STATUSES
    ]
    return [(finished, "completed_at")] + [(rows, "created_at") for rows in stale]


def events_due_for_expiry(cutoff: datetime) -> QuerySet[Event]:
    """Rule 2: events created before ``cutoff``."""
    return Event.objects.filter(created_at__lt=cutoff)


def sessions_due_for_purge(cutoff: datetime) -> QuerySet[AlertSession]:
    """Rule 3: sessions soft-deleted before ``cutoff``."""
    return AlertSession.all_objects.filter(deleted_at__lt=cutoff)


# -- batching ------------------------------------------------------------------------------------


@contextmanager
def _batch_guards(using: str) -> Iterator[None]:
    """The guards of every batch transaction run inside the block (PostgreSQL only).

    ``lock_timeout``/``statement_timeout`` make a batch give up on a lock held elsewhere (or a
    stuck statement) instead of hanging the loop. ``synchronous_commit = off`` lets a batch's
    commit return without waiting for its WAL flush: with one commit per batch that wait was a
    large share of the time; a crash can lose the last few hundred milliseconds of committed
    batches, never part of one, and the next (idempotent) run simply does them again. Inside a
    caller's transaction the settings are local to it; otherwise they last until the block ends.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    local = connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, %s), set_config('statement_timeout', %s, %s), "
            "set_config('synchronous_commit', 'off', %s)",
            [LOCK_TIMEOUT, local, STATEMENT_TIMEOUT, local, local],
        )
    try:
        yield
    finally:
        if not local:
            # A broken connection has no settings left to reset (Django reconnects).
            with suppress(DatabaseError, InterfaceError), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config(name, reset_val, false) FROM pg_settings "
                    "WHERE name IN ('lock_timeout', 'statement_timeout', 'synchronous_commit')"
                )


def _in_key_windows(
    eligible: QuerySet,
    key: str,
    size: int,
    changes: dict[str, Any] | None,
    progress: Progress | None = None,
) -> int:
    """Update every ``eligible`` row with ``changes`` (``None``: delete it), in windows.

    A window is the next ``size`` eligible rows in ``key`` order (``key`` is indexed), in one
    transaction. ``changes`` must take a row out of ``eligible``, so each window starts at the
    last key of the previous one (``key >= lower``): rows done no longer match, ties at a window's
    edge are not lost, and no window rescans done rows. A window shorter than ``size`` reached
    the end of the eligible rows: the loop stops there, without a final empty scan. Returns the
    rows changed.

    On PostgreSQL a window is one statement, its own transaction (in autocommit)::

        WITH batch AS (SELECT ctid, key FROM t WHERE <eligible> AND key >= %s
                       ORDER BY key LIMIT %s FOR UPDATE SKIP LOCKED),
             done AS (UPDATE t SET ... WHERE ctid = ANY(ARRAY(SELECT ctid FROM batch))
                      RETURNING 1)
        SELECT (SELECT count(*) FROM done), count(*), max(key) FROM batch

    It walks the key's index, locks the window's rows with SKIP LOCKED (rows another pod or
    transaction holds are left to it; the scan goes on past them, so a short window still means
    the end) and changes them by ``ctid``, a direct heap access instead of a second index
    lookup per row (a TID scan over the array: joining ``batch`` on ctid instead runs a nested
    loop that measured 5-10 times slower); one round trip per window. Elsewhere (SQLite) a
    window is a transaction that reads the window's primary keys, then changes those rows that
    are still eligible.
    """
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    using = router.db_for_write(eligible.model)
    connection = connections[using]
    lower: Any = None
    total = 0
    with _batch_guards(using):
        if connection.vendor == "postgresql":
            statement = _window_statement(eligible, key, changes, connection)
        while True:
            if connection.vendor == "postgresql":
                sql, params = statement(lower, size)
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    done, picked, last = cursor.fetchone()
            else:
                window = eligible if lower is None else eligible.filter(**{f"{key}__gte": lower})
                with transaction.atomic(using=using):
                    rows = list(window.order_by(key).values_list("pk", key)[:size])
                    chosen = eligible.filter(pk__in=[pk for pk, _ in rows])
                    done = chosen.update(**changes) if changes else _delete_rows(chosen)
                picked, last = len(rows), rows[-1][1] if rows else None
            total += done
            if progress:
                progress(total)
            if picked < size:
                return total
            lower = last


def _window_statement(
    eligible: QuerySet, key: str, changes: dict[str, Any] | None, connection: Any
) -> Callable[[Any, int], tuple[str, list[Any]]]:
    """The PostgreSQL statement of one window (see ``_in_key_windows``), built once."""
    meta = eligible.model._meta
    qn = connection.ops.quote_name
    table, column = qn(meta.db_table), qn(meta.get_field(key).column)
    where, where_params = eligible.query.get_compiler(connection=connection).compile(
        eligible.query.where
    )
    if changes:
        fields = [meta.get_field(name) for name in changes]
        assignments = ", ".join(f"{qn(f.column)} = %s" for f in fields)
        change = f"UPDATE {table} SET {assignments}"
        change_params = [f.get_db_prep_save(changes[f.name], connection) for f in fields]
    else:
        change = f"DELETE FROM {table}"
        change_params = []

    def statement(lower: Any, size: int) -> tuple[str, list[Any]]:
        after = "" if lower is None else f" AND {column} >= %s"
        sql = (
            f"WITH batch AS (SELECT ctid, {column} AS k FROM {table} WHERE {where}{after} "
            f"ORDER BY {column} LIMIT %s FOR UPDATE SKIP LOCKED), "
            f"done AS ({change} WHERE ctid = ANY(ARRAY(SELECT ctid FROM batch)) RETURNING 1) "
            "SELECT (SELECT count(*) FROM done), count(*), max(k) FROM batch"
        )
        bounds = [] if lower is None else [lower]
        return sql, [*where_params, *bounds, size, *change_params]

    return statement


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
    passes = sessions_due_for_soft_delete(cutoff)
    if dry_run:
        return sum(eligible.count() for eligible, _ in passes)
    total = 0
    for eligible, key in passes:
        total += _in_key_windows(
            eligible, key, batch_size, {"deleted_at": now}, _offset(progress, total)
        )
    return total


def _offset(progress: Progress | None, done: int) -> Progress | None:
    """``progress`` for a later pass: reports the rows of the earlier passes too."""
    return None if progress is None else lambda count: progress(done + count)


def expire_events(
    ttl: timedelta,
    *,
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
    eligible = events_due_for_expiry(now - ttl)
    if dry_run:
        return eligible.count()
    using = router.db_for_write(Event)
    if connections[using].vendor != "postgresql":
        return _in_key_windows(eligible, "created_at", batch_size, None, progress)
    with _exclusive_step(using, "tarsy.expire_events") as ours:
        if not ours:
            log.info("another host is expiring events; skipping the step")
            return 0
        return _delete_in_id_ranges(eligible, batch_size, progress, using)


@contextmanager
def _exclusive_step(using: str, name: str) -> Iterator[bool]:
    """Yield whether this connection got the PostgreSQL advisory lock ``name`` (no waiting)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [name])
        (ours,) = cursor.fetchone()
    try:
        yield ours
    finally:
        if ours:
            # A broken connection has already released its session locks.
            with suppress(DatabaseError, InterfaceError), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [name])


def _delete_in_id_ranges(
    eligible: QuerySet, size: int, progress: Progress | None, using: str
) -> int:
    """Delete ``eligible`` rows in windows of consecutive ids, one short statement each.

    The windows cover every id from the smallest to the largest at the start (later rows are
    younger than the cutoff). A window spans ``size`` ids after one that deleted rows; after one
    that deleted nothing (young rows, or a gap in the ids) the span doubles, up to
    ``MAX_EMPTY_SPAN`` times ``size``, and the window starts at the next id that exists: a long
    young tail or a sparse id space costs few statements, and a transaction holds ``size`` rows
    in the usual layout (old events first) and never more than ``MAX_EMPTY_SPAN * size``.
    """
    connection = connections[using]
    meta = eligible.model._meta
    qn = connection.ops.quote_name
    table, pk = qn(meta.db_table), qn(meta.pk.column)
    where, params = eligible.query.get_compiler(connection=connection).compile(eligible.query.where)
    total = 0
    with _batch_guards(using), connection.cursor() as cursor:
        cursor.execute(f"SELECT min({pk}), max({pk}) FROM {table}")
        lower, last = cursor.fetchone()
        span = size
        while lower is not None and lower <= last:
            cursor.execute(
                f"DELETE FROM {table} WHERE {pk} >= %s AND {pk} < %s AND {where}",
                [lower, lower + span, *params],
            )
            deleted = cursor.rowcount
            total += deleted
            if progress:
                progress(total)
            if deleted:
                lower, span = lower + span, size
                continue
            cursor.execute(f"SELECT min({pk}) FROM {table} WHERE {pk} >= %s", [lower + span])
            (lower,) = cursor.fetchone()
            span = min(span * 2, size * MAX_EMPTY_SPAN)
    return total


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
    return _in_key_windows(eligible, "deleted_at", size, None, progress)


def _delete_rows(rows: QuerySet) -> int:
    """One DELETE statement: with no signals and only database cascades, Django's collector
    takes its fast path and loads nothing (test_cascade.test_orm_delete_does_not_load_children)."""
    deleted, _ = rows.delete()
    return deleted
