"""Reads behind the services and the admin: the retention passes, children per session.

The rules themselves (live, due for soft delete, due for purge) are ``AlertSessionQuerySet``'s;
this module shapes them for the batch walk and counts what hangs below sessions: the rows of
every table that cascades from ``alert_sessions`` in the actual database (``sessions.cascade``),
models or not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery

from sessions.cascade import CascadeGraph, read_graph
from sessions.models import CHILD_MODELS, AlertSession, Event, SessionChild, SessionHold
from sessions.querysets import finished_before, left_unfinished_before
from sessions.statuses import STALE_UNFINISHED_STATUSES


def soft_delete_passes(
    cutoff: datetime, now: datetime | None = None
) -> list[tuple[QuerySet[AlertSession], str]]:
    """Rule 1 (``due_for_soft_delete``) as disjoint passes of (rows, indexed key to walk by).

    Sessions finished before ``cutoff`` by ``completed_at`` (the partial live index), then the
    never-finished ones created before it by ``created_at``, one stale status at a time, so each
    pass is an ordered range of ``(status, created_at)``; a stale session that also has an old
    ``completed_at`` belongs to the first pass only. Sessions held at ``now`` (default: now) are
    in none. Together they are exactly the rule's rows.
    """
    candidates = AlertSession.all_objects.retention_candidates().not_held(now)
    finished = finished_before(cutoff)
    stale = [
        candidates.filter(left_unfinished_before(cutoff, status)).exclude(finished)
        for status in STALE_UNFINISHED_STATUSES
    ]
    return [(candidates.filter(finished), "completed_at")] + [
        (rows, "created_at") for rows in stale
    ]


def events_due_for_expiry(cutoff: datetime) -> QuerySet[Event]:
    """Rule 2: events created before ``cutoff``."""
    return Event.objects.filter(created_at__lt=cutoff)


def session_id_lookup(model: type[SessionChild]) -> str:
    """The lookup from ``model``'s rows to their session's id (``chat__session_id`` for chat
    messages, ``session_id`` for the others)."""
    return f"{model.session_path}_id"


def cascade_graph() -> CascadeGraph:
    """The foreign keys of the database the sessions live in, seen from ``alert_sessions``."""
    return read_graph(connections[router.db_for_read(AlertSession)])


def child_tables(graph: CascadeGraph | None = None) -> list[str]:
    """The tables that lose rows with a session: the child models' first, in their order,
    then any other (a later TARSy release's) by name."""
    found = (graph or cascade_graph()).tables()
    by_model = [m._meta.db_table for m in CHILD_MODELS if m._meta.db_table in found]
    return by_model + sorted(set(found) - set(by_model))


def child_model(table: str) -> type[SessionChild] | None:
    """The model of a child table, if TARSy Ops has one."""
    return next((m for m in CHILD_MODELS if m._meta.db_table == table), None)


def child_label(table: str) -> str:
    """How people read a child table's name: ``LLM interactions``, ``investigation memories``."""
    model = child_model(table)
    if model is not None:
        return str(model._meta.verbose_name_plural)
    return table.rpartition(".")[2].strip('"').replace("_", " ")


def count_children(*, session_ids: Iterable[str]) -> dict[str, int]:
    """Rows each child table loses with the given sessions, by table (``child_tables`` order;
    one statement)."""
    ids = list(dict.fromkeys(str(i) for i in session_ids))
    return count_owned_rows(AlertSession.all_objects.filter(pk__in=ids))


def count_owned_rows(sessions: QuerySet[AlertSession]) -> dict[str, int]:
    """Rows each child table loses with ``sessions``: every row an ``ON DELETE CASCADE``
    reaches from them, along any path, counted in one statement."""
    connection = connections[router.db_for_read(AlertSession)]
    graph = read_graph(connection)
    counts = dict.fromkeys(child_tables(graph), 0)
    try:
        keys = sessions.order_by().values("pk").query.get_compiler(connection=connection)
        sql, params = keys.as_sql()
    except EmptyResultSet:
        return counts
    with connection.cursor() as cursor:
        cursor.execute(graph.count_sql(sql, connection), params)
        counts.update(zip(graph.tables(), cursor.fetchone(), strict=True))
    return counts


def hold_ends(*, session_ids: Iterable[str], now: datetime) -> dict[str, datetime | None]:
    """When the hold of each given session that is held at ``now`` ends: the latest end of
    its active holds, None for no end. Sessions not held are left out."""
    ends: dict[str, datetime | None] = {}
    active = SessionHold.objects.active(now).filter(session_id__in=list(session_ids))
    for session_id, until in active.values_list("session_id", "until"):
        ends[session_id] = later(ends.get(session_id, until), until)
    return ends


def later(a: datetime | None, b: datetime | None) -> datetime | None:
    """The later of two hold ends, None (no end) being the latest."""
    return None if a is None or b is None else max(a, b)


def with_hold_state(sessions: QuerySet[AlertSession], now: datetime) -> QuerySet[AlertSession]:
    """``sessions`` with ``is_held`` and ``held_until`` (the end of the longest active hold,
    None for no end) computed in the same query: two index probes per row listed."""
    active = SessionHold.objects.active(now).filter(session=OuterRef("pk"))
    longest = active.order_by(F("until").desc(nulls_first=True)).values("until")[:1]
    return sessions.annotate(is_held=Exists(active), held_until=Subquery(longest))


def listed_holds(*, include_ended: bool, now: datetime) -> QuerySet[SessionHold]:
    """The holds active at ``now`` (or every hold, history too), newest first."""
    holds = SessionHold.objects.all() if include_ended else SessionHold.objects.active(now)
    return holds.order_by("-placed_at", "-pk")
