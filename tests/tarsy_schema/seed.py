"""Fill TARSy's tables with realistic sessions, and say row by row what each session owns.

One session per (age, status) pair, each with rows in every table of the release, and each
linked (``ON DELETE SET NULL``) to its predecessor's rows, the first to the last's. At the
latest release every session is also injected with its predecessor's memory, so deleting a
session removes that injection row as well as its own. The summary records, per session, the
keys of the rows a ``DELETE FROM alert_sessions`` of it removes and of the rows it nulls, so
a test can work out the outcome of any retention rule row by row.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import product

from tests.tarsy_schema.db import Cursor, DatabaseHandle, cursor_for, search_path
from tests.tarsy_schema.ddl import RELEASE_TABLES, Release, check_release
from tests.tarsy_schema.seed_plan import Row, SessionPlan, cross_links, session_row
from tests.tarsy_schema.seed_rows import child_rows

STATUSES = ("pending", "in_progress", "cancelling", "completed", "failed", "cancelled", "timed_out")


@dataclass(frozen=True)
class Age:
    name: str
    created_ago: timedelta
    deleted_ago: timedelta | None = None  # soft-deleted this long ago


AGES: tuple[Age, ...] = (
    Age("live", timedelta(minutes=20)),
    Age("young", timedelta(days=2)),
    Age("past_retention", timedelta(days=45)),  # past a 30-day retention
    Age("ancient", timedelta(days=400)),  # past TARSy's default 365 days as well
    Age("recently_soft_deleted", timedelta(days=60), deleted_ago=timedelta(days=3)),
    Age("long_soft_deleted", timedelta(days=400), deleted_ago=timedelta(days=200)),
)

RowKey = str | int | tuple[str, str]  # a primary key value; composite keys as tuples

_KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "alert_sessions": ("session_id",),
    "chats": ("chat_id",),
    "chat_user_messages": ("message_id",),
    "stages": ("stage_id",),
    "agent_executions": ("execution_id",),
    "messages": ("message_id",),
    "llm_interactions": ("interaction_id",),
    "mcp_interactions": ("interaction_id",),
    "timeline_events": ("event_id",),
    "events": ("id",),
    "investigation_memories": ("memory_id",),
    "alert_session_injected_memories": ("alert_session_id", "investigation_memory_id"),
    "session_scores": ("score_id",),
    "session_review_activities": ("activity_id",),
}


@dataclass(frozen=True)
class SeededSession:
    session_id: str
    status: str
    age: str  # one of AGES' names
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    deleted_at: datetime | None
    pod_id: str | None
    last_interaction_at: datetime | None
    #: Keys of the rows, by table, that deleting this session's row removes (its own
    #: alert_sessions row included). A row can be in two sessions' sets (injected memories).
    rows: Mapping[str, frozenset[RowKey]]
    #: Keys of other sessions' rows, by "table.column", that deleting this session sets NULL.
    nulled: Mapping[str, frozenset[RowKey]]
    #: This session's events: id -> created_at.
    events: Mapping[int, datetime]

    def row_counts(self) -> dict[str, int]:
        return {table: len(keys) for table, keys in self.rows.items()}


@dataclass(frozen=True)
class SeedSummary:
    release: Release
    now: datetime
    sessions: Mapping[str, SeededSession]  # by session_id, in AGES x STATUSES order
    rows: Mapping[str, frozenset[RowKey]]  # every seeded row's key, by table

    def table_counts(self) -> dict[str, int]:
        return {table: len(keys) for table, keys in self.rows.items()}

    def select(self, *, status: str | None = None, age: str | None = None) -> list[SeededSession]:
        return [
            s
            for s in self.sessions.values()
            if (status is None or s.status == status) and (age is None or s.age == age)
        ]


def seed_tarsy_data(
    handle: DatabaseHandle, *, release: Release, now: datetime, schema: str = "public"
) -> SeedSummary:
    """Insert len(AGES) x len(STATUSES) sessions with full trees into ``schema``'s tables.

    ``now`` (timezone-aware) is the moment the ages count back from.
    """
    check_release(release)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    plans = [
        SessionPlan(
            status=status,
            age=age.name,
            created_at=now - age.created_ago,
            deleted_at=None if age.deleted_ago is None else now - age.deleted_ago,
            now=now,
            latest=release == "latest",
            number=number,
        )
        for number, (age, status) in enumerate(product(AGES, STATUSES))
    ]
    predecessors = {plan.session_id: plans[i - 1] for i, plan in enumerate(plans)}
    tables = _rows_by_table(plans, predecessors, release)
    with cursor_for(handle) as cursor, search_path(cursor, schema):
        for table, rows in tables.items():
            _insert(cursor, table, rows)
        for plan in plans:
            for link in cross_links(plan, predecessors[plan.session_id]):
                assignments = ", ".join(f"{column} = %s" for column in link.values)
                cursor.execute(
                    f"UPDATE {link.table} SET {assignments} WHERE {link.key_column} = %s",
                    [*link.values.values(), link.key],
                )
    return _summary(plans, predecessors, tables, release, now)


def _rows_by_table(
    plans: list[SessionPlan], predecessors: dict[str, SessionPlan], release: Release
) -> dict[str, list[Row]]:
    """Every row to insert, by table, tables in an order their foreign keys allow."""
    tables: dict[str, list[Row]] = defaultdict(list)
    tables["alert_sessions"] = [session_row(plan) for plan in plans]
    for plan in plans:
        for table, rows in child_rows(plan).items():
            tables[table] += rows
    if release == "latest":
        tables["alert_session_injected_memories"] = [
            {
                "alert_session_id": p.session_id,
                "investigation_memory_id": predecessors[p.session_id].memory,
            }
            for p in plans
        ]
    assert set(tables) == RELEASE_TABLES[release], set(tables) ^ RELEASE_TABLES[release]
    return dict(tables)


def _insert(cursor: Cursor, table: str, rows: list[Row]) -> None:
    """Insert ``rows`` (same keys each); dicts and lists go in as jsonb. Events get their
    identity ids back, written into the rows."""
    columns = list(rows[0])
    is_json = [any(isinstance(row[c], dict | list) for row in rows) for c in columns]
    values = ", ".join("%s::jsonb" if json_ else "%s" for json_ in is_json)
    params = [
        [json.dumps(row[c]) if json_ else row[c] for c, json_ in zip(columns, is_json, strict=True)]
        for row in rows
    ]
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"
    if table != "events":
        cursor.executemany(sql, params)
        return
    # One statement, so RETURNING hands back every id; matched on (session, time), unique.
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        + ", ".join(f"({values})" for _ in rows)
        + " RETURNING id, session_id, created_at",
        [value for row_params in params for value in row_params],
    )
    ids = {(session, created): id_ for id_, session, created in cursor.fetchall()}
    for row in rows:
        row["id"] = ids[row["session_id"], row["created_at"]]


def _key(table: str, row: Row) -> RowKey:
    values = tuple(row[column] for column in _KEY_COLUMNS[table])
    return values[0] if len(values) == 1 else values  # type: ignore[return-value]


def _summary(
    plans: list[SessionPlan],
    predecessors: dict[str, SessionPlan],
    tables: dict[str, list[Row]],
    release: Release,
    now: datetime,
) -> SeedSummary:
    owned = _owned_rows(plans, tables)
    nulled: dict[str, dict[str, set[RowKey]]] = {p.session_id: defaultdict(set) for p in plans}
    for plan in plans:
        predecessor = predecessors[plan.session_id]
        for link in cross_links(plan, predecessor):
            for column in link.values:
                nulled[predecessor.session_id][f"{link.table}.{column}"].add(link.key)
    events: dict[str, dict[int, datetime]] = defaultdict(dict)
    for event in tables["events"]:
        events[event["session_id"]][event["id"]] = event["created_at"]
    sessions = {
        p.session_id: SeededSession(
            session_id=p.session_id,
            status=p.status,
            age=p.age,
            created_at=p.created_at,
            started_at=p.started_at,
            completed_at=p.completed_at,
            deleted_at=p.deleted_at,
            pod_id=p.pod_id,
            last_interaction_at=p.last_interaction_at,
            rows={table: frozenset(owned[p.session_id][table]) for table in tables},
            nulled={column: frozenset(keys) for column, keys in nulled[p.session_id].items()},
            events=events[p.session_id],
        )
        for p in plans
    }
    all_rows = {t: frozenset(_key(t, row) for row in rows) for t, rows in tables.items()}
    return SeedSummary(release=release, now=now, sessions=sessions, rows=all_rows)


def _owned_rows(
    plans: list[SessionPlan], tables: dict[str, list[Row]]
) -> dict[str, defaultdict[str, set[RowKey]]]:
    """Per session, by table, the keys of the rows that deleting the session removes: rows
    naming it (session_id, source_session_id, alert_session_id), its chat's messages, and
    injections of the memory learned from it."""
    owner_of_chat = {p.chat: p.session_id for p in plans}
    owner_of_memory = {p.memory: p.session_id for p in plans}
    owned: dict[str, defaultdict[str, set[RowKey]]] = {
        p.session_id: defaultdict(set) for p in plans
    }
    for table, rows in tables.items():
        for row in rows:
            if table == "chat_user_messages":
                owners = {owner_of_chat[row["chat_id"]]}
            elif table == "alert_session_injected_memories":
                owners = {row["alert_session_id"], owner_of_memory[row["investigation_memory_id"]]}
            else:
                owners = {row.get("session_id") or row["source_session_id"]}
            for owner in owners:
                owned[owner][table].add(_key(table, row))
    return owned
