"""Holds: placing and releasing them, and retention leaving held sessions alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions import selectors
from sessions.models import AlertSession, SessionHold
from sessions.services import holds, operators, retention
from sessions.services.holds import HoldError
from tests.factories import add_children, make_session

RETENTION_DAYS = 30
PURGE_DAYS = 7
OLD = timedelta(days=RETENTION_DAYS + 10)


@pytest.fixture
def now() -> datetime:
    return timezone.now()


def _soft_delete(now: datetime, **options) -> int:
    return retention.soft_delete_old_sessions(
        retention_days=RETENTION_DAYS, now=now, batch_size=100, **options
    )


def _purge(now: datetime, **options) -> int:
    return retention.purge_deleted_sessions(
        after_days=PURGE_DAYS, now=now, batch_size=100, **options
    )


def _deleted(session: AlertSession) -> bool:
    return AlertSession.all_objects.get(pk=session.pk).deleted_at is not None


def _exists(session: AlertSession) -> bool:
    return AlertSession.all_objects.filter(pk=session.pk).exists()


def _hold(session: AlertSession, now: datetime, until: datetime | None = None) -> None:
    result = holds.place_hold(
        session_ids=[session.pk], until=until, reason="INC-42 review", placed_by="alice", now=now
    )
    assert result.changed == [session.pk]


# -- placing and releasing -----------------------------------------------------------------------


def test_place_hold_records_who_when_why_and_until_and_reports_each_id(db, now):
    a, b = make_session(), make_session(deleted_at=now)
    until = now + timedelta(days=3)
    result = holds.place_hold(
        session_ids=[a.pk, "ghost", b.pk, a.pk],
        until=until,
        reason="  legal hold 2026-17 ",
        placed_by="alice",
        now=now,
    )
    assert (result.changed, result.unchanged, result.unknown) == ([a.pk, b.pk], [], ["ghost"])
    assert result.held_until == {a.pk: until, b.pk: until}
    rows = SessionHold.objects.filter(session_id=a.pk).values(
        "placed_by", "placed_at", "reason", "until", "released_by", "released_at"
    )
    assert list(rows) == [
        {
            "placed_by": "alice",
            "placed_at": now,
            "reason": "legal hold 2026-17",
            "until": until,
            "released_by": "",
            "released_at": None,
        }
    ]
    assert not SessionHold.objects.filter(session_id="ghost").exists()


def test_a_hold_never_shortens_another(db, now):
    session = make_session()
    _hold(session, now, until=now + timedelta(days=10))
    shorter = holds.place_hold(
        session_ids=[session.pk],
        until=now + timedelta(days=2),
        reason="r",
        placed_by="bob",
        now=now,
    )
    assert shorter.unchanged == [session.pk]
    assert shorter.held_until == {session.pk: now + timedelta(days=10)}
    forever = holds.place_hold(
        session_ids=[session.pk], until=None, reason="legal", placed_by="bob", now=now
    )
    assert forever.changed == [session.pk]
    assert selectors.hold_ends(session_ids=[session.pk], now=now) == {session.pk: None}
    again = holds.place_hold(
        session_ids=[session.pk], until=None, reason="legal", placed_by="bob", now=now
    )
    assert again.unchanged == [session.pk]  # idempotent: no third row
    assert SessionHold.objects.filter(session_id=session.pk).count() == 2


@pytest.mark.parametrize(
    ("reason", "until_offset", "message"),
    [
        ("   ", timedelta(days=1), "a hold needs a reason"),
        ("ok", timedelta(0), "a hold must end in the future"),
        ("ok", -timedelta(days=1), "a hold must end in the future"),
    ],
)
def test_bad_holds_are_refused_and_change_nothing(db, now, reason, until_offset, message):
    session = make_session()
    with pytest.raises(HoldError, match=message):
        holds.place_hold(
            session_ids=[session.pk],
            until=now + until_offset,
            reason=reason,
            placed_by="alice",
            now=now,
        )
    assert not SessionHold.objects.exists()


def test_dry_run_hold_and_release_change_nothing(db, now):
    session = make_session()
    result = holds.place_hold(
        session_ids=[session.pk], until=None, reason="r", placed_by="a", now=now, dry_run=True
    )
    assert result.changed == [session.pk] and not SessionHold.objects.exists()
    _hold(session, now)
    released = holds.release_holds(session_ids=[session.pk], released_by="b", now=now, dry_run=True)
    assert released.changed == [session.pk]
    assert AlertSession.all_objects.held(now).filter(pk=session.pk).exists()


def test_release_ends_every_active_hold_and_keeps_them_as_history(db, now):
    held, free = make_session(), make_session()
    _hold(held, now, until=now + timedelta(days=5))
    _hold(held, now, until=None)
    later = now + timedelta(minutes=1)
    result = holds.release_holds(
        session_ids=[held.pk, free.pk, "ghost"], released_by="carol", now=later
    )
    assert (result.changed, result.unchanged, result.unknown) == ([held.pk], [free.pk], ["ghost"])
    rows = SessionHold.objects.filter(session_id=held.pk)
    assert sorted(rows.values_list("released_by", "released_at")) == [("carol", later)] * 2
    assert not AlertSession.all_objects.held(later).exists()
    assert holds.release_holds(session_ids=[held.pk], released_by="c").unchanged == [held.pk]


def test_a_hold_until_a_day_ends_when_that_day_begins_in_utc():
    assert holds.until_day(date(2027, 1, 5)) == datetime(2027, 1, 5, tzinfo=UTC)


def test_held_and_not_held_follow_the_end_and_the_release(db, now):
    forever, until_tomorrow, released, expired, free = (make_session() for _ in range(5))
    _hold(forever, now)
    _hold(until_tomorrow, now, until=now + timedelta(days=1))
    _hold(released, now)
    holds.release_holds(session_ids=[released.pk], released_by="x", now=now)
    SessionHold.objects.create(
        session=expired, placed_by="x", reason="r", placed_at=now - timedelta(days=9),
        until=now - timedelta(days=1),
    )  # fmt: skip
    held = set(AlertSession.all_objects.held(now).values_list("pk", flat=True))
    assert held == {forever.pk, until_tomorrow.pk}
    not_held = set(AlertSession.all_objects.not_held(now).values_list("pk", flat=True))
    assert not_held == {released.pk, expired.pk, free.pk}
    in_two_days = now + timedelta(days=2)
    assert set(AlertSession.all_objects.held(in_two_days).values_list("pk", flat=True)) == {
        forever.pk
    }
    assert set(SessionHold.objects.ended(now).values_list("session_id", flat=True)) == {
        released.pk,
        expired.pk,
    }


# -- retention leaves held sessions alone ----------------------------------------------------------


def test_a_held_live_session_past_retention_survives_and_goes_after_release(db, now):
    held, other = make_session(age=OLD, now=now), make_session(age=OLD, now=now)
    _hold(held, now)
    assert _soft_delete(now) == 1
    assert _deleted(other) and not _deleted(held)
    assert _soft_delete(now + timedelta(days=400)) == 0  # no end: still held much later
    assert not _deleted(held)

    holds.release_holds(session_ids=[held.pk], released_by="bob", now=now)
    assert _soft_delete(now + timedelta(minutes=1)) == 1
    assert _deleted(held)


def test_a_held_soft_deleted_session_is_never_purged_and_goes_after_release(db, now):
    gone = now - timedelta(days=PURGE_DAYS + 1)
    held, other = make_session(deleted_at=gone), make_session(deleted_at=gone)
    add_children(held)
    _hold(held, now)
    assert _purge(now) == 1
    assert not _exists(other) and _exists(held)
    assert _purge(now + timedelta(days=3650)) == 0
    assert selectors.count_children(session_ids=[held.pk])["stages"] == 1

    holds.release_holds(session_ids=[held.pk], released_by="bob", now=now)
    assert _purge(now + timedelta(minutes=1)) == 1
    assert not _exists(held)
    # The purged session's (released) hold goes too: nothing names a session that is gone.
    assert not SessionHold.objects.exists()


def test_a_hold_that_ended_no_longer_protects(db, now):
    session = make_session(age=OLD, now=now)
    _hold(session, now, until=now + timedelta(days=2))
    assert _soft_delete(now + timedelta(days=1)) == 0
    assert _soft_delete(now + timedelta(days=2)) == 1  # the end itself is no longer held
    assert _deleted(session)


def test_a_restored_old_session_survives_two_runs_and_goes_when_its_hold_ends(db, now):
    session = make_session(age=OLD, now=now)
    add_children(session)
    assert _soft_delete(now) == 1
    result = operators.restore_sessions(ids=[session.pk], hold_days=30, placed_by="alice", now=now)
    assert result.changed == [session.pk]
    assert result.held_until == {session.pk: now + timedelta(days=30)}
    hold = SessionHold.objects.get(session_id=session.pk)
    assert (hold.placed_by, hold.placed_at) == ("alice", now)
    assert hold.reason == "restored: kept from retention for 30 days"

    for later in (now + timedelta(hours=12), now + timedelta(days=1)):  # the next two runs
        assert _soft_delete(later) == 0
        assert not _deleted(session)
    assert _soft_delete(now + timedelta(days=30, seconds=1)) == 1
    assert _deleted(session)


def test_a_restore_without_hold_is_soft_deleted_again_by_the_next_run(db, now):
    session = make_session(age=OLD, now=now, deleted_at=now)
    result = operators.restore_sessions(ids=[session.pk], hold_days=0, placed_by="a", now=now)
    assert result.changed == [session.pk] and result.held_until == {}
    assert not SessionHold.objects.exists()
    assert _soft_delete(now) == 1


def test_a_restore_keeps_a_longer_hold_and_reports_it(db, now):
    session = make_session(deleted_at=now)
    _hold(session, now)  # a legal hold, no end
    result = operators.restore_sessions(ids=[session.pk], hold_days=30, placed_by="a", now=now)
    assert result.held_until == {session.pk: None}
    assert SessionHold.objects.filter(session_id=session.pk).count() == 1


def test_an_operator_purge_takes_the_sessions_holds_with_it(db, now):
    session, other = make_session(deleted_at=now), make_session()
    _hold(session, now)
    _hold(other, now)
    assert operators.purge_sessions(ids=[session.pk]).changed == [session.pk]
    assert list(SessionHold.objects.values_list("session_id", flat=True)) == [other.pk]


def test_dry_run_counts_equal_real_counts_with_holds_present(db, now):
    gone = now - timedelta(days=PURGE_DAYS + 1)
    for i in range(12):
        session = make_session(age=OLD, now=now, status="pending" if i % 4 == 0 else "completed")
        deleted = make_session(deleted_at=gone)
        if i % 3 == 0:
            _hold(session, now)
            _hold(deleted, now, until=now + timedelta(days=1))
    expected_soft, expected_purge = _soft_delete(now, dry_run=True), _purge(now, dry_run=True)
    assert (expected_soft, expected_purge) == (8, 8)
    assert _purge(now) == expected_purge
    assert _soft_delete(now) == expected_soft


def _window_statements(queries: list[dict]) -> list[str]:
    """The statements that read ``alert_sessions`` for a retention window."""
    return [q["sql"] for q in queries if "alert_sessions" in q["sql"]]


def test_retention_stays_one_statement_per_batch_whatever_the_number_of_holds(db, now):
    """Holds are excluded inside each window's statement (a NOT EXISTS), never row by row:
    the statements a run issues do not grow with the held sessions among the eligible."""
    for _ in range(7):
        make_session(age=OLD, now=now)
    with CaptureQueriesContext(connection) as few_holds:
        assert (
            retention.soft_delete_old_sessions(retention_days=RETENTION_DAYS, now=now, batch_size=3)
            == 7
        )
    for _ in range(7):
        make_session(age=OLD, now=now)
    for _ in range(40):
        _hold(make_session(age=OLD, now=now), now)
    with CaptureQueriesContext(connection) as many_holds:
        assert (
            retention.soft_delete_old_sessions(retention_days=RETENTION_DAYS, now=now, batch_size=3)
            == 7
        )
    assert len(many_holds.captured_queries) == len(few_holds.captured_queries)
    windows = _window_statements(many_holds.captured_queries)
    # 7 rows in windows of 3 (3, 3, 1), then one empty window for each stale status: one
    # statement each on PostgreSQL; on SQLite a read, and a write when the window has rows.
    expected = 3 + 2 if connection.vendor == "postgresql" else 3 * 2 + 2
    assert len(windows) == expected, windows
    assert all("session_holds" in sql for sql in windows), windows
    assert AlertSession.all_objects.held(now).live().count() == 40


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_the_hold_exclusion_is_an_anti_join(db, now):
    for _ in range(3):
        _hold(make_session(age=OLD, now=now), now)
    cutoff = now - timedelta(days=RETENTION_DAYS)
    (finished, _), *_ = selectors.soft_delete_passes(cutoff, now)
    for rows in (finished, AlertSession.all_objects.due_for_purge(now, now=now)):
        plan = rows.explain()
        assert "Anti Join" in plan, plan
