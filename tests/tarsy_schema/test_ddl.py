"""TARSy's schema as the DDL builds it: the transcribed facts hold, and the catalog snapshot
sees every kind of alteration while ignoring data and unrelated objects."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import psycopg
import pytest
from django.db import connection

from tests.tarsy_schema import (
    RELEASE_TABLES,
    RELEASES,
    Catalog,
    create_tarsy_schema,
    diff_catalogs,
    read_catalog,
    seed_tarsy_data,
)
from tests.tarsy_schema.conftest import requires_postgresql
from tests.tarsy_schema.db import quote_ident
from tests.tarsy_schema.facts import facts_of, load_facts

pytestmark = requires_postgresql

LATEST_ONLY = RELEASE_TABLES["latest"] - RELEASE_TABLES["phase11"]


def _build(pg: psycopg.Connection, schema: str, release: str) -> Catalog:
    create_tarsy_schema(pg, release=release, schema=schema)  # type: ignore[arg-type]
    return read_catalog(pg, schema=schema)


@pytest.mark.parametrize("release", RELEASES)
def test_each_release_reads_back_as_its_facts(pg, new_schema, release):
    catalog = _build(pg, new_schema(), release)
    facts, built = load_facts(release), facts_of(catalog)

    assert len(catalog.tables) == {"phase11": 10, "latest": 14}[release]
    assert set(catalog.tables) == RELEASE_TABLES[release] == facts.tables
    for table in sorted(facts.tables):
        assert built.columns[table] == facts.columns[table], table
    assert built.primary_keys == facts.primary_keys
    assert built.foreign_keys == facts.foreign_keys, built.foreign_keys ^ facts.foreign_keys
    assert built.indexes == facts.indexes, built.indexes ^ facts.indexes

    # Nothing beyond the facts: the two UNIQUE constraints behind their `_key` indexes, no
    # checks, triggers, policies, storage options, and every index valid.
    others = {
        (name, c.name, c.definition)
        for name, table in catalog.tables.items()
        for c in table.constraints
        if c.kind != "PRIMARY KEY"
    }
    assert others == {
        ("chats", "chats_session_id_key", "UNIQUE (session_id)"),
        ("stages", "stages_chat_user_message_id_key", "UNIQUE (chat_user_message_id)"),
    }
    for name, table in catalog.tables.items():
        assert table.primary_key is not None and table.primary_key.name == f"{name}_pkey"
        assert not (table.triggers or table.properties or table.referenced_by), name
        assert all(index.valid for index in table.indexes), name


FK_ACTIONS = {"phase11": {"CASCADE": 18, "SET NULL": 5}, "latest": {"CASCADE": 24, "SET NULL": 8}}
SEARCH_VECTORS = {
    "phase11": set(),
    "latest": {
        ("alert_sessions", "to_tsvector('simple'::regconfig, alert_data)"),
        ("investigation_memories", "to_tsvector('simple'::regconfig, content)"),
    },
}


@pytest.mark.parametrize("release", RELEASES)
def test_deleting_a_session_row_cascades_in_the_database(pg, new_schema, release):
    catalog = _build(pg, new_schema(), release)
    fks = [fk for table in catalog.tables.values() for fk in table.foreign_keys]

    assert Counter(fk.on_delete for fk in fks) == FK_ACTIONS[release]
    # Every table but one points at alert_sessions, ON DELETE CASCADE; the chat's messages
    # go with the chat.
    to_sessions = {fk.table: fk.on_delete for fk in fks if fk.ref_table == "alert_sessions"}
    assert set(to_sessions.values()) == {"CASCADE"}
    assert set(to_sessions) == RELEASE_TABLES[release] - {"alert_sessions", "chat_user_messages"}
    chat_messages = catalog["chat_user_messages"].foreign_keys
    assert {(fk.ref_table, fk.on_delete) for fk in chat_messages} == {("chats", "CASCADE")}
    if release == "latest":
        # The four later tables cascade from a session; injections also through the memory.
        assert LATEST_ONLY <= set(to_sessions)
        injections = catalog["alert_session_injected_memories"].foreign_keys
        assert {(fk.ref_table, fk.on_delete) for fk in injections} == {
            ("alert_sessions", "CASCADE"),
            ("investigation_memories", "CASCADE"),
        }


@pytest.mark.parametrize("release", RELEASES)
def test_identity_generated_columns_and_session_indexes(pg, new_schema, release):
    catalog = _build(pg, new_schema(), release)

    events_id = catalog["events"].column("id")
    assert (events_id.identity, events_id.not_null, events_id.default) == ("BY DEFAULT", True, None)
    vectors = {
        (name, column.generated)
        for name, table in catalog.tables.items()
        for column in table.columns
        if column.type == "tsvector"
    }
    assert vectors == SEARCH_VECTORS[release]

    sessions = catalog["alert_sessions"]
    assert sessions.index("alertsession_status_created_at").columns == ("status", "created_at")
    assert [i.name for i in sessions.indexes if i.columns[0] == "completed_at"] == []
    assert sessions.index("alertsession_deleted_at").definition.endswith(
        "(deleted_at) WHERE (deleted_at IS NOT NULL)"
    )


def test_a_copy_in_another_schema_compares_equal_and_releases_differ_readably(pg, new_schema):
    first, second = _build(pg, new_schema(), "phase11"), _build(pg, new_schema(), "phase11")
    latest = _build(pg, new_schema(), "latest")

    assert first.schema != second.schema
    assert first == second and diff_catalogs(first, second) == []
    lines = diff_catalogs(first, latest)
    assert first != latest
    assert [line for line in lines if line.startswith("table ")] == [
        f"table {name}: added" for name in sorted(LATEST_ONLY)
    ]
    assert "agent_executions: column iteration_strategy removed (character varying NOT NULL)" in (
        lines
    )
    assert (
        "alert_sessions: index idx_sessions_search added "
        "(CREATE INDEX idx_sessions_search USING gin (search_vector))"
    ) in lines


def test_catalog_ignores_data_and_unrelated_objects(pg, new_schema):
    schema = new_schema()
    before = _build(pg, schema, "latest")
    tarsy_tables = RELEASE_TABLES["latest"]
    summary = seed_tarsy_data(pg, release="latest", now=datetime.now(UTC), schema=schema)
    q = quote_ident(schema)
    pg.execute(
        f"DELETE FROM {q}.alert_sessions WHERE session_id = %s", [next(iter(summary.sessions))]
    )
    pg.execute(f"UPDATE {q}.alert_sessions SET deleted_at = now() WHERE status = 'completed'")
    pg.execute(f"VACUUM ANALYZE {q}.alert_sessions")
    pg.execute(f"CREATE TABLE {q}.ops_unrelated (id bigint PRIMARY KEY, note text)")
    pg.execute(f"CREATE INDEX ops_unrelated_note ON {q}.ops_unrelated (note)")

    after = read_catalog(pg, schema=schema, tables=tarsy_tables)
    assert after == before, diff_catalogs(before, after)
    # The whole schema does see the new table, and an ALTER on TARSy's shows in both.
    assert diff_catalogs(before, read_catalog(pg, schema=schema)) == ["table ops_unrelated: added"]
    pg.execute(f"ALTER TABLE {q}.alert_sessions ADD COLUMN ops_marker text")
    altered = read_catalog(pg, schema=schema, tables=tarsy_tables)
    assert altered != before
    assert diff_catalogs(before, altered) == ["alert_sessions: column ops_marker added (text NULL)"]


ALTERATIONS = {
    "add column": (
        ["ALTER TABLE alert_sessions ADD COLUMN ops_marker text"],
        "alert_sessions: column ops_marker added",
    ),
    "drop column": (
        ["ALTER TABLE alert_sessions DROP COLUMN slack_message_fingerprint"],
        "alert_sessions: column slack_message_fingerprint removed",
    ),
    "rename column": (
        ["ALTER TABLE stages RENAME COLUMN stage_name TO name"],
        "stages: column name added",
    ),
    "column type": (
        ["ALTER TABLE messages ALTER COLUMN content TYPE varchar"],
        "messages: column content changed: text NOT NULL -> character varying NOT NULL",
    ),
    "not null": (
        ["ALTER TABLE alert_sessions ALTER COLUMN alert_type SET NOT NULL"],
        "alert_sessions: column alert_type changed",
    ),
    "default": (
        ["ALTER TABLE alert_sessions ALTER COLUMN status SET DEFAULT 'queued'"],
        "alert_sessions: column status changed",
    ),
    "index on completed_at": (
        ["CREATE INDEX ops_completed_at ON alert_sessions (completed_at)"],
        "alert_sessions: index ops_completed_at added",
    ),
    "index rename": (
        ["ALTER INDEX alertsession_status RENAME TO alertsession_status_v2"],
        "alert_sessions: index alertsession_status removed",
    ),
    "on delete action": (
        [
            "ALTER TABLE events DROP CONSTRAINT events_session_id_fkey",
            "ALTER TABLE events ADD CONSTRAINT events_session_id_fkey FOREIGN KEY (session_id)"
            " REFERENCES alert_sessions (session_id) ON DELETE RESTRICT",
        ],
        "events: foreign key events_session_id_fkey changed: events(session_id) -> "
        "alert_sessions(session_id) ON DELETE CASCADE -> events(session_id) -> "
        "alert_sessions(session_id) ON DELETE RESTRICT",
    ),
    "check constraint": (
        ["ALTER TABLE alert_sessions ADD CONSTRAINT ops_check CHECK (status <> '') NOT VALID"],
        "alert_sessions: constraint ops_check added "
        "(CHECK (((status)::text <> ''::text)) NOT VALID)",
    ),
    "trigger": (
        [
            "CREATE FUNCTION ops_noop() RETURNS trigger LANGUAGE plpgsql AS "
            "'BEGIN RETURN NEW; END'",
            "CREATE TRIGGER ops_trigger BEFORE UPDATE ON alert_sessions "
            "FOR EACH ROW EXECUTE FUNCTION ops_noop()",
        ],
        "alert_sessions: trigger ops_trigger added (CREATE TRIGGER ops_trigger BEFORE UPDATE "
        "ON alert_sessions FOR EACH ROW",
    ),
    "row level security": (
        ["ALTER TABLE alert_sessions ENABLE ROW LEVEL SECURITY"],
        "alert_sessions: property ROW LEVEL SECURITY added",
    ),
    "storage option": (
        ["ALTER TABLE events SET (fillfactor = 70)"],
        "events: property WITH (fillfactor=70) added",
    ),
    "foreign key from outside": (
        ["CREATE TABLE ops_audit (session_id varchar REFERENCES alert_sessions (session_id))"],
        "alert_sessions: referenced by ops_audit.ops_audit_session_id_fkey added "
        "(ops_audit(session_id) -> alert_sessions(session_id) ON DELETE NO ACTION)",
    ),
    "drop table": (
        ["DROP TABLE session_review_activities"],
        "table session_review_activities: removed",
    ),
}


@pytest.mark.parametrize("statements, expected", ALTERATIONS.values(), ids=ALTERATIONS.keys())
def test_catalog_reveals_each_kind_of_alteration(pg, new_schema, statements, expected):
    schema = new_schema()
    before = _build(pg, schema, "latest")
    tables = RELEASE_TABLES["latest"]

    with pg.transaction(force_rollback=True), pg.cursor() as cursor:
        cursor.execute("SELECT set_config('search_path', %s, true)", [quote_ident(schema)])
        for statement in statements:
            cursor.execute(statement)
        altered = read_catalog(cursor, schema=schema, tables=tables)
    lines = diff_catalogs(before, altered)

    assert altered != before
    assert any(line.startswith(expected) for line in lines), lines
    assert read_catalog(pg, schema=schema, tables=tables) == before  # rolled back


def test_a_django_cursor_reads_the_same_catalog(pg, new_schema):
    schema = new_schema()
    built = _build(pg, schema, "latest")

    with connection.cursor() as cursor:
        through_django = read_catalog(cursor, schema=schema)
    assert through_django == built
    assert read_catalog(connection, schema=schema, tables={"events"}) == Catalog(
        schema=schema, tables={"events": built["events"]}
    )


def test_build_and_seed_through_a_django_cursor(db):
    schema = "tarsy_fixture_django"  # inside the test's transaction: rolled back with it
    with connection.cursor() as cursor:
        create_tarsy_schema(cursor, release="phase11", schema=schema)
        summary = seed_tarsy_data(cursor, release="phase11", now=datetime.now(UTC), schema=schema)
        catalog = read_catalog(cursor, schema=schema)
        cursor.execute(f"SELECT count(*) FROM {schema}.timeline_events")
        (timeline_rows,) = cursor.fetchone()
        cursor.execute("SHOW search_path")
        (path,) = cursor.fetchone()

    assert facts_of(catalog) == load_facts("phase11")
    assert timeline_rows == len(summary.rows["timeline_events"]) > 0
    assert schema not in path  # the helpers put the caller's search_path back
