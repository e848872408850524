"""The standalone migrations build TARSy's Phase 11 schema: the PostgreSQL catalog of the tables
they create equals the transcribed facts of a real TARSy database, apart from the differences
listed here, each with its reason."""

from __future__ import annotations

import re
from collections import Counter

from django.db import connection

from tests.tarsy_schema import RELEASE_TABLES, read_catalog
from tests.tarsy_schema.conftest import requires_postgresql
from tests.tarsy_schema.facts import SchemaFacts, facts_of, load_facts

pytestmark = requires_postgresql

# Columns TARSy has that the models leave out.
MISSING_COLUMNS = {
    "agent_executions.iteration_strategy": (
        "Phase 11 only: later releases renamed it llm_backend, so TARSy Ops must not read it "
        "(NOT NULL without a default: TARSy Ops never inserts executions)"
    ),
}

# Indexes (as "table: [UNIQUE ]btree (columns) [WHERE ...]") only one side has, with how many
# more that side has. Index names are not compared: Django limits them to 30 characters, and
# TARSy Ops finds indexes by their columns.
TARSY_ONLY_INDEXES = {
    "chats: UNIQUE btree (session_id)": (
        1,
        "TARSy has both a unique index and a UNIQUE constraint on chats.session_id; the "
        "constraint (a one-to-one link) is enough",
    ),
}
ADDED_INDEXES = {
    "alert_sessions: btree (completed_at) WHERE (deleted_at IS NULL)": (
        1,
        "retention rule 1 walks live finished sessions by completed_at (recommended in attached "
        "mode; TARSy has no index leading with completed_at)",
    ),
    "alert_sessions: btree (created_at)": (
        1,
        "the admin's session list, newest first, without sorting the whole table",
    ),
    **{
        f"{table}: btree ({column})": (
            1,
            "a foreign key a purge cascades or sets NULL through: without an index the "
            "database scans the whole table once per deleted parent row",
        )
        for table, column in (
            ("messages", "session_id"),
            ("mcp_interactions", "session_id"),
            ("llm_interactions", "last_message_id"),
            ("timeline_events", "llm_interaction_id"),
            ("timeline_events", "mcp_interaction_id"),
            ("stages", "chat_id"),
        )
    },
}
# Every foreign key Django declares is DEFERRABLE INITIALLY DEFERRED (TARSy's are NOT
# DEFERRABLE): only the existence check waits for the commit; ON DELETE CASCADE and SET NULL
# act at once all the same, so a delete removes and nulls the same rows at the same moment.
DJANGO_FOREIGN_KEYS = "DEFERRABLE INITIALLY DEFERRED"

_INDEX = re.compile(r"CREATE (?P<unique>UNIQUE )?INDEX \S+ USING (?P<rest>.*)")


def _index_shapes(facts: SchemaFacts) -> Counter[str]:
    shapes: Counter[str] = Counter()
    for table, definition in facts.indexes:
        match = _INDEX.fullmatch(definition)
        assert match, definition
        shapes[f"{table}: {match['unique'] or ''}{match['rest']}"] += 1
    return shapes


def _standalone():
    tables = RELEASE_TABLES["phase11"]
    catalog = read_catalog(connection, schema="public", tables=tables)
    return catalog, facts_of(catalog)


def test_tables_columns_types_nullability_and_defaults_are_tarsys(db):
    catalog, built = _standalone()
    tarsy = load_facts("phase11")
    assert set(catalog.tables) == tarsy.tables

    for table in sorted(tarsy.tables):
        expected = {
            column[0]: column[1:]
            for column in tarsy.columns[table]
            if f"{table}.{column[0]}" not in MISSING_COLUMNS
        }
        assert {column[0]: column[1:] for column in built.columns[table]} == expected, table
        # Declared in TARSy's order, too.
        assert [c[0] for c in built.columns[table]] == list(expected), table
    left_out = {
        f"{table}.{column[0]}"
        for table in tarsy.tables
        for column in tarsy.columns[table]
        if column[0] not in {c[0] for c in built.columns[table]}
    }
    assert left_out == set(MISSING_COLUMNS)


def test_primary_keys_and_foreign_keys_with_their_actions_are_tarsys(db):
    catalog, built = _standalone()
    tarsy = load_facts("phase11")
    assert built.primary_keys == tarsy.primary_keys
    assert all(
        catalog[t].primary_key.name == f"{t}_pkey" for t in tarsy.tables
    )  # PostgreSQL's own names, as TARSy's
    assert built.foreign_keys == tarsy.foreign_keys, built.foreign_keys ^ tarsy.foreign_keys
    deferrable = {fk.deferrable for table in catalog.tables.values() for fk in table.foreign_keys}
    assert deferrable == {DJANGO_FOREIGN_KEYS}
    # TARSy's two UNIQUE constraints, by their PostgreSQL names.
    unique = {
        (name, c.name, c.definition)
        for name, table in catalog.tables.items()
        for c in table.constraints
        if c.kind == "UNIQUE"
    }
    assert {
        ("chats", "chats_session_id_key", "UNIQUE (session_id)"),
        ("stages", "stages_chat_user_message_id_key", "UNIQUE (chat_user_message_id)"),
    } <= unique


def test_indexes_are_tarsys_plus_the_ones_retention_and_purge_need(db):
    _, built = _standalone()
    ours, tarsy = _index_shapes(built), _index_shapes(load_facts("phase11"))
    # TARSy's two unique indexes on (stage, agent) and (session, stage index) are UNIQUE
    # constraints here (Django's way to declare them): the same unique btree index.
    assert dict(tarsy - ours) == {shape: n for shape, (n, _) in TARSY_ONLY_INDEXES.items()}
    assert dict(ours - tarsy) == {shape: n for shape, (n, _) in ADDED_INDEXES.items()}
