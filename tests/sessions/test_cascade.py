"""The database, not Django, cascades a session's deletion (DB_CASCADE / DB_SET_NULL)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions.models import (
    CHILD_MODELS,
    AlertSession,
    LLMInteraction,
    Message,
    Stage,
    TimelineEvent,
)
from tests.factories import add_children, add_execution, add_message, add_stage, make_session


def _rows_per_table() -> dict[str, int]:
    """Rows in every child table, counted in SQL so no Django relation logic is involved."""
    counts = {}
    with connection.cursor() as cursor:
        for model in CHILD_MODELS:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            counts[model._meta.db_table] = cursor.fetchone()[0]
    return counts


def _raw_delete_session(session_id: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM alert_sessions WHERE session_id = %s", [session_id])
        return cursor.rowcount


@pytest.fixture
def two_sessions(db):
    """Session A and session B, each with a full tree; B's cross-links point into A."""
    a, b = make_session(), make_session()
    rows_a, rows_b = add_children(a), add_children(b)
    # A chat message answers one stage at most (a unique column): B's stage takes A's over.
    Stage.objects.filter(pk=rows_a["stage"].pk).update(chat_user_message=None)
    Stage.objects.filter(pk=rows_b["stage"].pk).update(
        chat=rows_a["chat"], chat_user_message=rows_a["chat_user_message"]
    )
    TimelineEvent.objects.filter(pk=rows_b["timeline_event"].pk).update(
        llm_interaction=rows_a["llm_interaction"], mcp_interaction=rows_a["mcp_interaction"]
    )
    LLMInteraction.objects.filter(pk=rows_b["llm_interaction"].pk).update(
        last_message=rows_a["message"]
    )
    return a, rows_a, b, rows_b


def test_sqlite_enforces_foreign_keys(db):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1


def test_raw_sql_delete_cascades_to_all_nine_tables(two_sessions):
    a, rows_a, b, rows_b = two_sessions
    assert _rows_per_table() == {m._meta.db_table: 2 for m in CHILD_MODELS}

    assert _raw_delete_session(a.pk) == 1

    # Every child row of A went, in all nine tables; B's rows are all still there.
    assert _rows_per_table() == {m._meta.db_table: 1 for m in CHILD_MODELS}
    for row in rows_a.values():
        assert not type(row).objects.filter(pk=row.pk).exists(), type(row).__name__
    for row in rows_b.values():
        assert type(row).objects.filter(pk=row.pk).exists(), type(row).__name__
    assert AlertSession.all_objects.filter(pk=b.pk).exists()


def test_raw_sql_delete_sets_cross_links_to_null(two_sessions):
    a, rows_a, b, rows_b = two_sessions
    _raw_delete_session(a.pk)

    stage = Stage.objects.get(pk=rows_b["stage"].pk)
    assert (stage.chat_id, stage.chat_user_message_id) == (None, None)
    timeline = TimelineEvent.objects.get(pk=rows_b["timeline_event"].pk)
    assert (timeline.llm_interaction_id, timeline.mcp_interaction_id) == (None, None)
    assert LLMInteraction.objects.get(pk=rows_b["llm_interaction"].pk).last_message_id is None
    # B's own parent links are untouched.
    assert timeline.session_id == b.pk and timeline.execution_id == rows_b["execution"].pk


def test_raw_sql_delete_of_a_message_nulls_last_message(db):
    session = make_session()
    rows = add_children(session)
    # The message's own parent cascades don't apply: delete just the message row.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM messages WHERE message_id = %s", [rows["message"].pk])
    llm = LLMInteraction.objects.get(pk=rows["llm_interaction"].pk)
    assert llm.last_message_id is None
    assert not Message.objects.filter(pk=rows["message"].pk).exists()


def test_orm_delete_does_not_load_children(db):
    """Deleting through Django issues the same queries whatever the number of children."""

    def queries_to_delete(extra_stages: int) -> int:
        session = make_session()
        add_children(session)
        for _ in range(extra_stages):
            add_message(add_execution(add_stage(session, stage_name="more")), role="user")
        with CaptureQueriesContext(connection) as ctx:
            AlertSession.all_objects.filter(pk=session.pk).delete()
        assert not Stage.objects.filter(session_id=session.pk).exists()
        return len(ctx.captured_queries)

    assert queries_to_delete(0) == queries_to_delete(5)
