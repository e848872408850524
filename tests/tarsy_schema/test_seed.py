"""The seeded data is what its summary says, and deleting sessions removes (and nulls) exactly
the rows the summary attributes to them, through every table of the release."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.tarsy_schema import (
    AGES,
    RELEASE_TABLES,
    RELEASES,
    STATUSES,
    Catalog,
    RowKey,
    SeededSession,
    SeedSummary,
    create_tarsy_schema,
    read_catalog,
    seed_tarsy_data,
)
from tests.tarsy_schema.conftest import requires_postgresql
from tests.tarsy_schema.db import quote_ident

pytestmark = requires_postgresql

Links = dict[str, dict[RowKey, object]]  # "table.column" -> {row key: value}


@dataclass(frozen=True)
class Seeded:
    pg: psycopg.Connection
    schema: str
    catalog: Catalog
    summary: SeedSummary

    def query(self, sql: str, params: Iterable[object] = ()) -> list[tuple]:
        """Run ``sql`` with ``{s}`` standing for the quoted schema."""
        return self.pg.execute(sql.format(s=quote_ident(self.schema)), list(params)).fetchall()

    def keys(self) -> dict[str, set[RowKey]]:
        """Every table's primary key values, as the summary spells them."""
        found = {}
        for name, table in self.catalog.tables.items():
            columns = ", ".join(table.primary_key.columns)
            rows = self.query(f"SELECT {columns} FROM {{s}}.{name}")
            found[name] = {row[0] if len(row) == 1 else tuple(row) for row in rows}
        return found

    def links(self) -> Links:
        """The value of every ON DELETE SET NULL column, by row key."""
        values: Links = {}
        for name, table in self.catalog.tables.items():
            for fk in table.foreign_keys:
                if fk.on_delete == "SET NULL":
                    (key,), (column,) = table.primary_key.columns, fk.columns
                    rows = self.query(f"SELECT {key}, {column} FROM {{s}}.{name}")
                    values[f"{name}.{column}"] = dict(rows)
        return values


@pytest.fixture(params=RELEASES)
def seeded(request, pg, new_schema) -> Seeded:
    schema = new_schema()
    create_tarsy_schema(pg, release=request.param, schema=schema)
    now = datetime.now(UTC)
    summary = seed_tarsy_data(pg, release=request.param, now=now, schema=schema)
    return Seeded(pg, schema, read_catalog(pg, schema=schema), summary)


def _mismatch(expected: dict[str, set], actual: dict[str, set]) -> str:
    return "; ".join(
        f"{table}: {len(actual[table] - keys)} unexpected, {len(keys - actual[table])} missing"
        for table, keys in expected.items()
        if keys != actual[table]
    )


def test_seed_fills_every_table_with_every_status_and_age(seeded):
    summary = seeded.summary
    expected = {table: set(keys) for table, keys in summary.rows.items()}
    actual = seeded.keys()

    assert set(summary.rows) == RELEASE_TABLES[summary.release] == set(actual)
    assert actual == expected, _mismatch(expected, actual)
    assert all(summary.table_counts().values())
    assert {(s.status, s.age) for s in summary.sessions.values()} == {
        (status, age.name) for status in STATUSES for age in AGES
    }
    # Every session owns rows in every table.
    for session in summary.sessions.values():
        assert all(session.row_counts().values()), (session.status, session.age)


def test_summary_matches_the_rows_retention_reads(seeded):
    summary = seeded.summary
    rows = seeded.query(
        "SELECT session_id, status, created_at, started_at, completed_at, deleted_at, pod_id,"
        " last_interaction_at FROM {s}.alert_sessions"
    )
    assert {row[0]: row[1:] for row in rows} == {
        s.session_id: (
            s.status,
            s.created_at,
            s.started_at,
            s.completed_at,
            s.deleted_at,
            s.pod_id,
            s.last_interaction_at,
        )
        for s in summary.sessions.values()
    }
    events = dict(seeded.query("SELECT id, created_at FROM {s}.events"))
    assert events == {i: t for s in summary.sessions.values() for i, t in s.events.items()}
    if summary.release == "latest":  # the generated search_vector is filled in
        (matches,) = seeded.query(
            "SELECT count(*) FROM {s}.alert_sessions"
            " WHERE search_vector @@ to_tsquery('simple', 'crashloop')"
        )
        assert matches == (len(summary.sessions),)


def test_seed_has_both_sides_of_every_retention_rule(seeded):
    summary, now = seeded.summary, seeded.summary.now
    cutoff = now - timedelta(days=30)

    def soft_delete_due(s: SeededSession) -> bool:
        old = (s.completed_at is not None and s.completed_at < cutoff) or (
            s.status in {"pending", "cancelling"} and s.created_at < cutoff
        )
        return s.deleted_at is None and s.status != "in_progress" and old

    for status in STATUSES:
        outcomes = {soft_delete_due(s) for s in summary.select(status=status)}
        assert outcomes == ({False} if status == "in_progress" else {True, False}), status
    spared = [s for s in summary.select(status="in_progress") if s.created_at < cutoff]
    assert any(s.deleted_at is None for s in spared)
    purge_cutoff = now - timedelta(days=90)
    soft_deleted = [s for s in summary.sessions.values() if s.deleted_at is not None]
    assert {s.deleted_at < purge_cutoff for s in soft_deleted} == {True, False}
    event_times = [t for s in summary.sessions.values() for t in s.events.values()]
    assert {t < now - timedelta(hours=1) for t in event_times} == {True, False}

    # Heartbeats: live active sessions fresh, older ones stale past a 5-minute threshold.
    for session in summary.select(status="in_progress") + summary.select(status="cancelling"):
        age = now - session.last_interaction_at
        assert age < timedelta(minutes=1) if session.age == "live" else age > timedelta(minutes=5)
    streaming = seeded.query(
        "SELECT DISTINCT session_id FROM {s}.timeline_events WHERE status = 'streaming'"
    )
    assert {row[0] for row in streaming} == {
        s.session_id for s in summary.sessions.values() if s.status in {"in_progress", "cancelling"}
    }


def test_deleting_each_session_removes_exactly_its_rows_and_nulls_its_links(seeded):
    summary = seeded.summary
    remaining = {table: set(keys) for table, keys in summary.rows.items()}
    links = seeded.links()
    assert set(links) == {column for s in summary.sessions.values() for column in s.nulled}

    for session in summary.sessions.values():
        for column, keys in session.nulled.items():  # the check below can fail: not NULL yet
            assert all(links[column][key] is not None for key in keys if key in links[column])
        (deleted,) = seeded.query(
            "WITH d AS (DELETE FROM {s}.alert_sessions WHERE session_id = %s RETURNING 1)"
            " SELECT count(*) FROM d",
            [session.session_id],
        )
        assert deleted == (1,)
        for table, keys in session.rows.items():
            remaining[table] -= keys
        actual = seeded.keys()
        assert actual == remaining, (
            f"{session.status}/{session.age}: {_mismatch(remaining, actual)}"
        )
        expected_links = {
            column: {
                key: None if key in session.nulled.get(column, ()) else value
                for key, value in values.items()
                if key in remaining[column.split(".")[0]]
            }
            for column, values in links.items()
        }
        links = seeded.links()
        assert links == expected_links, (session.status, session.age)

    assert not any(remaining.values())


def test_purging_long_soft_deleted_sessions_removes_their_trees(seeded):
    summary = seeded.summary
    cutoff = summary.now - timedelta(days=90)
    purged = [s for s in summary.sessions.values() if s.deleted_at and s.deleted_at < cutoff]
    assert {s.age for s in purged} == {"long_soft_deleted"}
    assert len(purged) == len(STATUSES)
    links = seeded.links()

    rows = seeded.query(
        "DELETE FROM {s}.alert_sessions WHERE deleted_at < %s RETURNING session_id", [cutoff]
    )

    assert {row[0] for row in rows} == {s.session_id for s in purged}
    expected = {
        table: set(keys) - set().union(*(s.rows[table] for s in purged))
        for table, keys in summary.rows.items()
    }
    actual = seeded.keys()
    assert actual == expected, _mismatch(expected, actual)
    nulled = {(column, key) for s in purged for column, keys in s.nulled.items() for key in keys}
    after = seeded.links()
    for column, values in after.items():
        for key, value in values.items():
            assert value == (None if (column, key) in nulled else links[column][key]), column
