"""The operator services behind the command and the admin: restore, soft delete, purge, counts."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from sessions import selectors
from sessions.models import AlertSession
from sessions.services import operators
from tests.factories import CHILD_TABLES, add_children, make_session


def _deleted_at(session_id: str):
    return AlertSession.all_objects.get(pk=session_id).deleted_at


def test_restore_brings_the_session_back_with_all_children(db):
    session = make_session()
    rows = add_children(session)
    counts = selectors.count_children(session_ids=[session.pk])
    assert operators.soft_delete_sessions(ids=[session.pk]).changed == [session.pk]
    assert not AlertSession.objects.filter(pk=session.pk).exists()  # hidden from live queries
    # A child still reaches its soft-deleted session (the base manager is unfiltered).
    assert type(rows["stage"]).objects.get(pk=rows["stage"].pk).session == session

    result = operators.restore_sessions(ids=[session.pk], hold_days=0, placed_by="alice")

    assert result.changed == [session.pk]
    assert AlertSession.objects.get(pk=session.pk).deleted_at is None
    assert selectors.count_children(session_ids=[session.pk]) == counts
    for name, row in rows.items():
        fresh = type(row).objects.get(pk=row.pk)  # every row is still there, unchanged
        owner = fresh.chat.session if name == "chat_user_message" else fresh.session
        assert owner == session
        assert not owner.is_deleted


def test_restore_reports_each_id(db):
    deleted = make_session(deleted_at=timezone.now())
    live = make_session()
    result = operators.restore_sessions(
        ids=["nope", deleted.pk, live.pk, deleted.pk], hold_days=0, placed_by="alice"
    )
    assert result.changed == [deleted.pk]
    assert result.unchanged == [live.pk]
    assert result.unknown == ["nope"]
    assert _deleted_at(deleted.pk) is None


def test_restore_dry_run_changes_nothing(db):
    stamp = timezone.now() - timedelta(days=2)
    deleted = make_session(deleted_at=stamp)
    result = operators.restore_sessions(
        ids=[deleted.pk], hold_days=30, placed_by="alice", dry_run=True
    )
    assert result.changed == [deleted.pk]
    assert _deleted_at(deleted.pk) == stamp


def test_soft_delete_reports_each_id_and_keeps_children(db):
    live = make_session()
    add_children(live)
    stamp = timezone.now() - timedelta(days=2)
    already = make_session(deleted_at=stamp)
    now = timezone.now()
    before = selectors.count_children(session_ids=[live.pk])

    result = operators.soft_delete_sessions(ids=[live.pk, already.pk, "nope"], now=now)

    assert (result.changed, result.unchanged, result.unknown) == ([live.pk], [already.pk], ["nope"])
    assert _deleted_at(live.pk) == now
    assert _deleted_at(already.pk) == stamp  # not re-stamped
    assert selectors.count_children(session_ids=[live.pk]) == before
    assert operators.soft_delete_sessions(ids=[live.pk]).changed == []  # idempotent


def test_count_children_counts_every_kind_per_session(db):
    a, b = make_session(), make_session()
    add_children(a)
    add_children(b)
    assert list(selectors.count_children(session_ids=[a.pk])) == CHILD_TABLES
    assert selectors.count_children(session_ids=[a.pk]) == dict.fromkeys(CHILD_TABLES, 1)
    assert selectors.count_children(session_ids=[a.pk, b.pk]) == dict.fromkeys(CHILD_TABLES, 2)
    assert selectors.count_children(session_ids=[]) == dict.fromkeys(CHILD_TABLES, 0)


def test_purge_sessions_removes_sessions_and_reports_child_counts(db):
    a, b, keep = make_session(), make_session(deleted_at=timezone.now()), make_session()
    for s in (a, b, keep):
        add_children(s)

    result = operators.purge_sessions(ids=[a.pk, b.pk, "nope", a.pk])

    assert (result.changed, result.unchanged, result.unknown) == ([a.pk, b.pk], [], ["nope"])
    assert result.children == dict.fromkeys(CHILD_TABLES, 2)
    assert list(AlertSession.all_objects.values_list("pk", flat=True)) == [keep.pk]
    assert selectors.count_children(session_ids=[keep.pk]) == dict.fromkeys(CHILD_TABLES, 1)
    assert selectors.count_children(session_ids=[a.pk, b.pk]) == dict.fromkeys(CHILD_TABLES, 0)
