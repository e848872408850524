"""Orphan detection: in_progress sessions whose worker went silent become timed_out."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from sessions.models import AlertSession, TimelineEvent
from sessions.services import orphans
from sessions.statuses import SessionStatus
from tests.factories import add_children, make_session

THRESHOLD = timedelta(minutes=5)
# A heartbeat with microseconds: the message gives it to the second, as Go's RFC 3339 does.
STALE_BEAT = datetime(2026, 12, 1, 10, 0, 0, 654321, tzinfo=UTC)
NOW = STALE_BEAT + timedelta(minutes=7)
STALE_MESSAGE = "Orphaned: no heartbeat from pod tarsy-7d9f-abcde since 2026-12-01T10:00:00Z"


def _mark(now: datetime = NOW, **options) -> int:
    options.setdefault("batch_size", 100)
    return orphans.mark_orphans(threshold=THRESHOLD, now=now, **options)


def _in_progress(beat: datetime | None, **fields) -> AlertSession:
    fields.setdefault("pod_id", "tarsy-7d9f-abcde")
    fields.setdefault("started_at", STALE_BEAT - timedelta(minutes=30))
    return make_session(
        status=SessionStatus.IN_PROGRESS,
        now=NOW,
        age=timedelta(hours=1),
        last_interaction_at=beat,
        **fields,
    )


def _state(session: AlertSession) -> tuple:
    row = AlertSession.all_objects.get(pk=session.pk)
    return row.status, row.completed_at, row.error_message


def _timeline(session: AlertSession, status: str, n: int) -> None:
    stage = add_children(session)["stage"]
    for i in range(n):
        TimelineEvent.objects.create(
            session=session,
            stage=stage,
            sequence_number=10 + i,
            event_type="llm_thinking",
            status=status,
            content="...",
            updated_at=STALE_BEAT,
        )


def test_a_stale_session_is_timed_out_with_tarsys_message_and_its_streaming_events(db):
    session = _in_progress(STALE_BEAT)
    _timeline(session, "streaming", 2)  # add_children's own event is already "completed"
    assert _mark() == 1
    assert _state(session) == (SessionStatus.TIMED_OUT, NOW, STALE_MESSAGE)
    events = TimelineEvent.objects.filter(session=session)
    assert events.count() == 3
    assert events.filter(status="timed_out", updated_at=NOW).count() == 2
    assert events.filter(status="completed").count() == 1
    assert _mark() == 0  # idempotent


def test_a_session_that_never_sent_a_heartbeat_goes_by_its_start_and_an_unknown_pod(db):
    started = STALE_BEAT - timedelta(minutes=1)
    session = _in_progress(None, started_at=started, pod_id=None)
    never_started = _in_progress(None, started_at=None, created_at=STALE_BEAT)
    assert _mark() == 2
    assert _state(session) == (
        SessionStatus.TIMED_OUT,
        NOW,
        "Orphaned: no heartbeat from pod unknown since 2026-12-01T09:59:00Z",
    )
    assert _state(never_started)[2] == (
        "Orphaned: no heartbeat from pod tarsy-7d9f-abcde since 2026-12-01T10:00:00Z"
    )


def test_fresh_other_statuses_and_soft_deleted_sessions_are_untouched(db):
    fresh = _in_progress(NOW - THRESHOLD + timedelta(seconds=1))
    others = [
        make_session(status=status, now=NOW, last_interaction_at=STALE_BEAT, pod_id="p")
        for status in SessionStatus
        if status != SessionStatus.IN_PROGRESS
    ]
    deleted = _in_progress(STALE_BEAT, deleted_at=NOW - timedelta(days=1))
    _timeline(deleted, "streaming", 1)
    untouched = [fresh, *others, deleted]
    before = [_state(s) for s in untouched]
    assert _mark() == 0
    assert [_state(s) for s in untouched] == before
    assert TimelineEvent.objects.filter(status="streaming").count() == 1


def test_the_threshold_edge_is_not_stale(db):
    on_the_edge = _in_progress(NOW - THRESHOLD)
    assert _mark() == 0
    assert _state(on_the_edge)[0] == SessionStatus.IN_PROGRESS


def test_dry_run_counts_what_the_real_run_then_marks_and_changes_nothing(db):
    stale = [_in_progress(STALE_BEAT - timedelta(seconds=i)) for i in range(5)]
    _in_progress(NOW)
    assert _mark(dry_run=True) == 5
    assert all(_state(s)[0] == SessionStatus.IN_PROGRESS for s in stale)
    assert _mark(batch_size=2) == 5
    assert all(_state(s) == (SessionStatus.TIMED_OUT, NOW, _state(s)[2]) for s in stale)


def test_a_heartbeat_refreshed_during_the_run_is_left_alone(db):
    """Batches of one: after the first batch, the other session's worker beats again."""
    first, second = _in_progress(STALE_BEAT), _in_progress(STALE_BEAT)
    refreshed: list[str] = []

    def beat_again(done: int) -> None:
        if not refreshed:
            alive = AlertSession.all_objects.filter(status=SessionStatus.IN_PROGRESS).get()
            alive.last_interaction_at = NOW
            alive.save(update_fields=["last_interaction_at"])
            refreshed.append(alive.pk)

    assert _mark(batch_size=1, progress=beat_again) == 1
    (alive,) = refreshed
    marked = first if alive == second.pk else second
    assert _state(marked)[0] == SessionStatus.TIMED_OUT
    assert AlertSession.all_objects.get(pk=alive).status == SessionStatus.IN_PROGRESS


def test_a_session_timed_out_elsewhere_in_the_meantime_is_not_marked_again(db):
    session = _in_progress(STALE_BEAT)
    AlertSession.all_objects.filter(pk=session.pk).update(
        status=SessionStatus.TIMED_OUT, completed_at=STALE_BEAT, error_message="by TARSy"
    )
    assert _mark() == 0
    assert _state(session) == (SessionStatus.TIMED_OUT, STALE_BEAT, "by TARSy")


def _worker_heartbeat(other: psycopg.Connection, session_id: str, beat: datetime) -> None:
    other.execute(
        "UPDATE alert_sessions SET last_interaction_at = %s WHERE session_id = %s",
        [beat, session_id],
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_a_session_a_worker_is_beating_on_is_skipped_not_waited_for(other_host):
    """TARSy's worker holds the row (its heartbeat transaction): the batch skips it at once,
    and after the worker commits the session is fresh, so nothing marks it."""
    now = timezone.now()
    busy, idle = _in_progress(now - timedelta(hours=1)), _in_progress(now - timedelta(hours=1))
    with other_host.transaction():
        _worker_heartbeat(other_host, busy.pk, now)
        done = threading.Event()
        marked: list[int] = []

        def run() -> None:
            try:
                marked.append(_mark(now=now, batch_size=10))
            finally:
                connection.close()  # this thread's own connection
            done.set()

        thread = threading.Thread(target=run)
        thread.start()
        assert done.wait(10), "the batch waited on the worker's lock"
        thread.join()
    assert marked == [1]
    assert _state(idle)[0] == SessionStatus.TIMED_OUT
    row = AlertSession.all_objects.get(pk=busy.pk)
    assert (row.status, row.last_interaction_at) == (SessionStatus.IN_PROGRESS, now)
