"""Retention rules 1-3 through the services, on both sides of each cutoff and for every status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions import selectors
from sessions.models import AlertSession, Event, SessionStatus
from sessions.services import retention
from tests.factories import add_children, make_session

RETENTION_DAYS = 30
BEFORE = timedelta(days=RETENTION_DAYS, minutes=5)  # created (and completed) before the cutoff
AFTER = timedelta(days=RETENTION_DAYS, minutes=-5)  # created (and completed) after the cutoff

# Rule 1: which (status, side of the cutoff) pairs are soft-deleted.
EXPECTED = {
    (SessionStatus.PENDING, BEFORE): True,
    (SessionStatus.PENDING, AFTER): False,
    (SessionStatus.IN_PROGRESS, BEFORE): False,  # orphan detection owns these
    (SessionStatus.IN_PROGRESS, AFTER): False,
    (SessionStatus.CANCELLING, BEFORE): True,
    (SessionStatus.CANCELLING, AFTER): False,
    (SessionStatus.COMPLETED, BEFORE): True,
    (SessionStatus.COMPLETED, AFTER): False,
    (SessionStatus.FAILED, BEFORE): True,
    (SessionStatus.FAILED, AFTER): False,
    (SessionStatus.CANCELLED, BEFORE): True,
    (SessionStatus.CANCELLED, AFTER): False,
    (SessionStatus.TIMED_OUT, BEFORE): True,
    (SessionStatus.TIMED_OUT, AFTER): False,
}


@pytest.fixture
def now():
    return timezone.now()


def _make_all(now) -> dict[str, bool]:
    """One session per (status, side); returns session id -> expected to be soft-deleted."""
    expected = {}
    for (status, age), deleted in EXPECTED.items():
        # completed_at (terminal statuses) is created_at + 1 min: still on the same side.
        session = make_session(status=status, age=age, now=now)
        expected[session.pk] = deleted
    return expected


def _deleted_ids() -> set[str]:
    return set(
        AlertSession.all_objects.filter(deleted_at__isnull=False).values_list("pk", flat=True)
    )


@pytest.mark.parametrize(
    ("status", "age", "deleted"),
    [(status, age, deleted) for (status, age), deleted in EXPECTED.items()],
    ids=[f"{status.value}-{'old' if age == BEFORE else 'recent'}" for status, age in EXPECTED],
)
def test_rule1_per_status_and_side_of_cutoff(db, now, status, age, deleted):
    session = make_session(status=status, age=age, now=now)
    count = retention.soft_delete_old_sessions(
        retention_days=RETENTION_DAYS, now=now, batch_size=100
    )
    session.refresh_from_db()
    assert count == int(deleted)
    assert session.deleted_at == (now if deleted else None)


def test_rule1_uses_completed_at_for_finished_sessions(db, now):
    """A session created long ago but completed recently is kept; the reverse is deleted."""
    created_old_completed_recent = make_session(
        age=timedelta(days=90), now=now, completed_at=now - timedelta(days=1)
    )
    old_completion = make_session(
        age=timedelta(days=90), now=now, completed_at=now - timedelta(days=RETENTION_DAYS + 1)
    )
    assert (
        retention.soft_delete_old_sessions(retention_days=RETENTION_DAYS, now=now, batch_size=100)
        == 1
    )
    assert _deleted_ids() == {old_completion.pk}
    assert created_old_completed_recent.pk not in _deleted_ids()


def test_rule1_all_at_once_and_idempotent(db, now):
    expected = _make_all(now)
    already = make_session(age=timedelta(days=400), now=now, deleted_at=now - timedelta(days=3))
    count = retention.soft_delete_old_sessions(
        retention_days=RETENTION_DAYS, now=now, batch_size=100
    )
    assert count == sum(expected.values()) == 6
    assert _deleted_ids() == {pk for pk, deleted in expected.items() if deleted} | {already.pk}
    # An already soft-deleted session keeps its original marker.
    already.refresh_from_db()
    assert already.deleted_at == now - timedelta(days=3)

    before = dict(AlertSession.all_objects.values_list("pk", "deleted_at"))
    later = now + timedelta(minutes=1)
    assert (
        retention.soft_delete_old_sessions(retention_days=RETENTION_DAYS, now=later, batch_size=100)
        == 0
    )
    assert dict(AlertSession.all_objects.values_list("pk", "deleted_at")) == before


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_rule1_batching_gives_the_same_result(db, now, batch_size):
    expected = _make_all(now)
    # Ties on the window key: several sessions completed at the same instant.
    same_instant = now - timedelta(days=RETENTION_DAYS + 2)
    ties = {
        make_session(age=timedelta(days=40), now=now, completed_at=same_instant).pk
        for _ in range(5)
    }
    seen: list[int] = []
    count = retention.soft_delete_old_sessions(
        retention_days=RETENTION_DAYS, now=now, batch_size=batch_size, progress=seen.append
    )
    wanted = {pk for pk, deleted in expected.items() if deleted} | ties
    assert count == len(wanted) == 11
    assert _deleted_ids() == wanted
    assert seen and seen[-1] == count  # progress reports the running total


def test_rule1_dry_run_changes_nothing_and_predicts_the_count(db, now):
    expected = _make_all(now)
    predicted = retention.soft_delete_old_sessions(
        retention_days=RETENTION_DAYS, now=now, batch_size=2, dry_run=True
    )
    assert _deleted_ids() == set()
    actual = retention.soft_delete_old_sessions(
        retention_days=RETENTION_DAYS, now=now, batch_size=2
    )
    assert predicted == actual == sum(expected.values())


def test_rule1_as_one_queryset_is_the_union_of_the_disjoint_passes(db, now):
    expected = _make_all(now)
    both = make_session(status=SessionStatus.PENDING, age=timedelta(days=90), now=now)
    AlertSession.all_objects.filter(pk=both.pk).update(completed_at=now - timedelta(days=80))
    cutoff = now - timedelta(days=RETENTION_DAYS)

    due = set(AlertSession.all_objects.due_for_soft_delete(cutoff).values_list("pk", flat=True))
    passes = [
        set(rows.values_list("pk", flat=True)) for rows, _ in selectors.soft_delete_passes(cutoff)
    ]

    assert due == {pk for pk, deleted in expected.items() if deleted} | {both.pk}
    assert set().union(*passes) == due
    assert sum(len(rows) for rows in passes) == len(due)  # disjoint: nothing counted twice


def test_managers_and_the_live_rule(db, now):
    live = make_session(now=now)
    deleted = make_session(now=now, deleted_at=now)
    assert list(AlertSession.objects.values_list("pk", flat=True)) == [live.pk]
    assert set(AlertSession.all_objects.values_list("pk", flat=True)) == {live.pk, deleted.pk}
    assert list(AlertSession.all_objects.live().values_list("pk", flat=True)) == [live.pk]
    assert [s.pk for s in AlertSession.all_objects.soft_deleted()] == [deleted.pk]
    assert not AlertSession.objects.soft_deleted().exists()  # the default manager is live only
    later = now + timedelta(seconds=1)
    assert [s.pk for s in AlertSession.all_objects.due_for_purge(later)] == [deleted.pk]
    assert not AlertSession.all_objects.due_for_purge(now).exists()


def test_soft_delete_leaves_every_child_row(db, now):
    session = make_session(age=timedelta(days=RETENTION_DAYS + 1), now=now)
    rows = add_children(session)
    before = selectors.count_children(session_ids=[session.pk])
    assert (
        retention.soft_delete_old_sessions(retention_days=RETENTION_DAYS, now=now, batch_size=10)
        == 1
    )
    assert selectors.count_children(session_ids=[session.pk]) == before
    assert all(n >= 1 for n in before.values())
    for row in rows.values():
        row.refresh_from_db()  # raises if the row went
    assert rows["stage"].chat_id == rows["chat"].pk


# -- rule 2: events --------------------------------------------------------------------------------


TTL = timedelta(hours=1)


def _events(now) -> tuple[set[int], set[int]]:
    session = make_session(now=now)
    old, young = set(), set()
    for minutes in (61, 90, 600, 61):  # 61 twice: a tie on created_at
        old.add(
            Event.objects.create(
                session=session, channel="c", created_at=now - timedelta(minutes=minutes)
            ).pk
        )
    for minutes in (59, 1, 0):
        young.add(
            Event.objects.create(
                session=session, channel="c", created_at=now - timedelta(minutes=minutes)
            ).pk
        )
    return old, young


@pytest.mark.parametrize("batch_size", [1, 2, 1000])
def test_rule2_expires_only_old_events(db, now, batch_size):
    old, young = _events(now)
    assert retention.expire_events(ttl=TTL, now=now, batch_size=batch_size) == len(old)
    assert set(Event.objects.values_list("pk", flat=True)) == young
    assert retention.expire_events(ttl=TTL, now=now, batch_size=batch_size) == 0


def test_rule2_dry_run(db, now):
    old, young = _events(now)
    assert retention.expire_events(ttl=TTL, now=now, batch_size=2, dry_run=True) == len(old)
    assert set(Event.objects.values_list("pk", flat=True)) == old | young
    assert retention.expire_events(ttl=TTL, now=now, batch_size=2) == len(old)


# -- rule 3: purge ---------------------------------------------------------------------------------


PURGE_DAYS = 7


def _purge_fixture(now) -> tuple[set[str], set[str]]:
    """Sessions soft-deleted before and after the purge cutoff, and live old ones."""
    due, kept = set(), set()
    for days in (8, 30, 8, 365):
        session = make_session(
            age=timedelta(days=400), now=now, deleted_at=now - timedelta(days=days)
        )
        add_children(session)
        due.add(session.pk)
    for days in (6, 0):
        session = make_session(
            age=timedelta(days=400), now=now, deleted_at=now - timedelta(days=days)
        )
        add_children(session)
        kept.add(session.pk)
    for status in (SessionStatus.COMPLETED, SessionStatus.PENDING, SessionStatus.IN_PROGRESS):
        session = make_session(status=status, age=timedelta(days=400), now=now)
        add_children(session)
        kept.add(session.pk)
    return due, kept


@pytest.mark.parametrize("batch_size", [2, 1000])
def test_rule3_purges_only_sessions_deleted_before_the_cutoff(db, now, batch_size):
    due, kept = _purge_fixture(now)
    count = retention.purge_deleted_sessions(after_days=PURGE_DAYS, now=now, batch_size=batch_size)
    assert count == len(due)
    assert set(AlertSession.all_objects.values_list("pk", flat=True)) == kept
    # Their children went with them; the kept sessions' children are all there.
    assert all(n == 0 for n in selectors.count_children(session_ids=due).values())
    assert all(n == len(kept) for n in selectors.count_children(session_ids=kept).values())
    assert (
        retention.purge_deleted_sessions(after_days=PURGE_DAYS, now=now, batch_size=batch_size) == 0
    )


def test_rule3_dry_run(db, now):
    due, kept = _purge_fixture(now)
    assert (
        retention.purge_deleted_sessions(after_days=PURGE_DAYS, now=now, batch_size=2, dry_run=True)
        == 4
    )
    assert AlertSession.all_objects.count() == len(due) + len(kept)
    assert retention.purge_deleted_sessions(after_days=PURGE_DAYS, now=now, batch_size=2) == 4


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "deleted"),
    [(SessionStatus.IN_PROGRESS, False), (SessionStatus.PENDING, True)],
    ids=["in_progress-never-touched", "pending-counted-once"],
)
def test_an_unfinished_session_with_an_old_completed_at(status, deleted) -> None:
    """Orphan detection owns in_progress sessions, whatever their completed_at says. A pending
    one is due by both halves of rule 1, but the passes are disjoint: the dry-run count equals
    what the real run changes."""
    now = timezone.now()
    odd = make_session(status=status, age=timedelta(days=800), now=now)
    AlertSession.all_objects.filter(pk=odd.pk).update(completed_at=now - timedelta(days=700))
    dry = retention.soft_delete_old_sessions(
        retention_days=365, now=now, batch_size=10, dry_run=True
    )
    assert dry == int(deleted)
    assert retention.soft_delete_old_sessions(retention_days=365, now=now, batch_size=10) == dry
    assert (AlertSession.all_objects.get(pk=odd.pk).deleted_at is not None) == deleted
