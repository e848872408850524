"""Change or delete many rows in short batches, one transaction each.

Work over a large backlog runs in batches so that millions of rows never hold locks for long and
a kill loses only the current batch. Batches are windows over an indexed key (a timestamp, say):
each window starts where the previous one ended, so no batch rescans rows already done and the
loop ends without a last full scan (``update_in_windows``, ``delete_in_windows``). On PostgreSQL
each window locks its rows with ``FOR UPDATE SKIP LOCKED``, so several hosts running the same
work never wait on each other and never count a row twice, and ``lock_timeout`` /
``statement_timeout`` keep a stuck lock from hanging the loop (``batch_guards``).

An append-only table nobody locks or updates can go faster: one host at a time (an advisory
try-lock, ``exclusive_lock``; the others skip the work) deletes by ranges of ids, without row
locks, about as fast as one DELETE (``delete_in_id_ranges``; figures in docs/benchmarks.md).

Nothing here knows an app: callers pass the querysets of the rows to change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import DatabaseError, InterfaceError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet

# Per-transaction guards on PostgreSQL: give up on a lock held elsewhere instead of queueing.
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "60s"
# Deletes by id ranges: a window that found nothing to delete may grow to this many windows'
# worth of ids (a young tail or a gap), never one that deletes.
MAX_EMPTY_SPAN = 16

Progress = Callable[[int], None]
# One window: (lower bound of the key or None, size) -> (rows changed, rows picked, last key).
Window = Callable[[Any, int], tuple[int, int, Any]]


@contextmanager
def batch_guards(*, using: str) -> Iterator[None]:
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


@contextmanager
def exclusive_lock(name: str, *, using: str) -> Iterator[bool]:
    """Yield whether this connection got the PostgreSQL advisory lock ``name`` (no waiting).

    A try-lock: a host that does not get it should skip the work, not wait. PostgreSQL only.
    """
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


def update_in_windows(
    rows: QuerySet,
    *,
    key: str,
    size: int,
    changes: Mapping[str, Any],
    progress: Progress | None = None,
) -> int:
    """Set ``changes`` on every row of ``rows``, in windows of ``size`` rows by ``key``.

    ``changes`` must take a row out of ``rows`` (soft delete: ``deleted_at`` on live rows), see
    ``_walk_windows``. ``progress`` gets the running total after each window. Returns the rows
    changed.
    """
    if not changes:
        raise ValueError(
            "update_in_windows needs at least one change (to delete rows, call delete_in_windows)"
        )
    return _walk_windows(rows, key, size, _Update(dict(changes)), progress)


def delete_in_windows(
    rows: QuerySet, *, key: str, size: int, progress: Progress | None = None
) -> int:
    """Delete every row of ``rows``, in windows of ``size`` rows by ``key``; return how many.

    The database's own cascades remove dependent rows (Django loads none of them).
    """
    return _walk_windows(rows, key, size, _Delete(), progress)


@dataclass(frozen=True)
class _Update:
    """What a window does to its rows: set ``changes``."""

    changes: dict[str, Any]

    def sql(self, model: type[Model], connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        meta, qn = model._meta, connection.ops.quote_name
        fields = [meta.get_field(name) for name in self.changes]
        assignments = ", ".join(f"{qn(f.column)} = %s" for f in fields)
        params = [f.get_db_prep_save(self.changes[f.name], connection) for f in fields]
        return f"UPDATE {qn(meta.db_table)} SET {assignments}", params

    def apply(self, rows: QuerySet) -> int:
        return rows.update(**self.changes)


class _Delete:
    """What a window does to its rows: delete them."""

    def sql(self, model: type[Model], connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        return f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}", []

    def apply(self, rows: QuerySet) -> int:
        """One DELETE statement: with no signals and only database cascades, Django's collector
        takes its fast path and loads nothing (tests/sessions/test_cascade.py shows it)."""
        deleted, _ = rows.delete()
        return deleted


def _walk_windows(
    rows: QuerySet, key: str, size: int, change: _Update | _Delete, progress: Progress | None
) -> int:
    """Apply ``change`` to every row of ``rows``, in windows; return the rows changed.

    A window is the next ``size`` rows in ``key`` order (``key`` is indexed), in one transaction.
    The change must take a row out of ``rows``, so each window starts at the last key of the
    previous one (``key >= lower``): rows done no longer match, ties at a window's edge are not
    lost, and no window rescans done rows. A window shorter than ``size`` reached the end of the
    rows: the loop stops there, without a final empty scan.
    """
    _check_size(size)
    using = router.db_for_write(rows.model)
    connection = connections[using]
    with batch_guards(using=using):
        if connection.vendor == "postgresql":
            window = _statement_window(rows, key, change, connection)
        else:
            window = _transaction_window(rows, key, change, using)
        lower: Any = None
        total = 0
        while True:
            done, picked, last = window(lower, size)
            total += done
            if progress:
                progress(total)
            if picked < size:
                return total
            lower = last


def _statement_window(
    rows: QuerySet, key: str, change: _Update | _Delete, connection: BaseDatabaseWrapper
) -> Window:
    """A window on PostgreSQL: one statement, its own transaction (in autocommit)::

        WITH batch AS (SELECT ctid, key FROM t WHERE <rows> AND key >= %s
                       ORDER BY key LIMIT %s FOR UPDATE SKIP LOCKED),
             done AS (UPDATE t SET ... WHERE ctid = ANY(ARRAY(SELECT ctid FROM batch))
                      RETURNING 1)
        SELECT (SELECT count(*) FROM done), count(*), max(key) FROM batch

    It walks the key's index, locks the window's rows with SKIP LOCKED (rows another host or
    transaction holds are left to it; the scan goes on past them, so a short window still means
    the end) and changes them by ``ctid``, a direct heap access instead of a second index
    lookup per row (a TID scan over the array: joining ``batch`` on ctid instead runs a nested
    loop that measured 5-10 times slower); one round trip per window. Built once per walk.
    """
    meta, qn = rows.model._meta, connection.ops.quote_name
    table, column = qn(meta.db_table), qn(meta.get_field(key).column)
    where, where_params = _where(rows, connection)
    change_sql, change_params = change.sql(rows.model, connection)

    def window(lower: Any, size: int) -> tuple[int, int, Any]:
        after = "" if lower is None else f" AND {column} >= %s"
        sql = (
            f"WITH batch AS (SELECT ctid, {column} AS k FROM {table} WHERE {where}{after} "
            f"ORDER BY {column} LIMIT %s FOR UPDATE SKIP LOCKED), "
            f"done AS ({change_sql} WHERE ctid = ANY(ARRAY(SELECT ctid FROM batch)) RETURNING 1) "
            "SELECT (SELECT count(*) FROM done), count(*), max(k) FROM batch"
        )
        bounds = [] if lower is None else [lower]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*where_params, *bounds, size, *change_params])
            return cursor.fetchone()

    return window


def _transaction_window(rows: QuerySet, key: str, change: _Update | _Delete, using: str) -> Window:
    """A window elsewhere (SQLite): a transaction that reads the window's primary keys, then
    changes those rows that still belong to ``rows``."""

    def window(lower: Any, size: int) -> tuple[int, int, Any]:
        todo = rows if lower is None else rows.filter(**{f"{key}__gte": lower})
        with transaction.atomic(using=using):
            picked = list(todo.order_by(key).values_list("pk", key)[:size])
            done = change.apply(rows.filter(pk__in=[pk for pk, _ in picked]))
        return done, len(picked), picked[-1][1] if picked else None

    return window


def delete_in_id_ranges(rows: QuerySet, *, size: int, progress: Progress | None = None) -> int:
    """Delete every row of ``rows`` in windows of consecutive ids, one short statement each.

    For an append-only table nobody else locks or updates (no row locks are taken), whose ids
    follow insertion order; run it under ``exclusive_lock`` so one host at a time does it. The
    windows cover every id from the smallest to the largest at the start (rows inserted later
    are left to the next run). A window spans ``size`` ids after one that deleted rows; after
    one that deleted nothing (rows not due, or a gap in the ids) the span doubles, up to
    ``MAX_EMPTY_SPAN`` times ``size``, and the window starts at the next id that exists: a long
    tail of rows not yet due or a sparse id space costs few statements, and a transaction holds
    ``size`` rows when the rows due come first and never more than ``MAX_EMPTY_SPAN * size``.
    Returns the rows deleted.
    """
    _check_size(size)
    using = router.db_for_write(rows.model)
    connection = connections[using]
    meta, qn = rows.model._meta, connection.ops.quote_name
    table, pk = qn(meta.db_table), qn(meta.pk.column)
    where, params = _where(rows, connection)
    total = 0
    with batch_guards(using=using), connection.cursor() as cursor:
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


def _where(rows: QuerySet, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
    """The SQL condition of ``rows`` and its parameters (``TRUE``/``FALSE`` for all/none)."""
    try:
        return rows.query.get_compiler(connection=connection).compile(rows.query.where)
    except FullResultSet:
        return "TRUE", []
    except EmptyResultSet:
        return "FALSE", []


def _check_size(size: int) -> None:
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
