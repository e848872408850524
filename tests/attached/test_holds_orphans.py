"""Holds and orphan detection on TARSy's own tables, at each release.

Holds are TARSy Ops' rows (here in the test database's own schema, behind TARSy's tables on
the search path, as TARSy Ops' schema is attached); retention joins them to TARSy's
``alert_sessions`` in each statement. Orphan detection times out exactly the seeded sessions
whose heartbeat went stale.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sessions.models import AlertSession, TimelineEvent
from sessions.services import holds, orphans, retention
from tests.attached.conftest import requires_postgresql
from tests.attached.tarsy_here import tarsy_tables_here
from tests.tarsy_schema import RELEASES, SeedSummary

pytestmark = requires_postgresql

STALE_UNFINISHED = {"pending", "cancelling"}


@pytest.fixture(params=RELEASES)
def seeded(request, db) -> SeedSummary:
    return tarsy_tables_here(request.param, now=datetime.now(UTC))


def _deleted() -> set[str]:
    return set(
        AlertSession.all_objects.filter(deleted_at__isnull=False).values_list("pk", flat=True)
    )


def test_retention_leaves_held_sessions_alone_on_tarsys_tables(seeded) -> None:
    now = seeded.now
    (held,) = seeded.select(status="completed", age="past_retention")
    (held_pending,) = seeded.select(status="pending", age="ancient")
    holds.place_hold(
        session_ids=[held.session_id, held_pending.session_id],
        until=None,
        reason="INC-9",
        placed_by="alice",
        now=now,
    )
    before = _deleted()
    done = retention.soft_delete_old_sessions(retention_days=30, now=now, batch_size=2)
    expected = {
        s.session_id
        for s in seeded.sessions.values()
        if s.deleted_at is None
        and s.age in ("past_retention", "ancient")
        and (s.completed_at is not None or s.status in STALE_UNFINISHED)
    } - {held.session_id, held_pending.session_id}
    assert _deleted() - before == expected
    assert done == len(expected)

    (held_deleted,) = seeded.select(status="failed", age="long_soft_deleted")
    holds.place_hold(
        session_ids=[held_deleted.session_id], until=None, reason="legal", placed_by="a", now=now
    )
    purged = retention.purge_deleted_sessions(after_days=100, now=now, batch_size=100)
    assert purged == len(seeded.select(age="long_soft_deleted")) - 1
    assert AlertSession.all_objects.filter(pk=held_deleted.session_id).exists()


def test_orphan_detection_times_out_the_stale_sessions_of_tarsys_tables(seeded) -> None:
    now = seeded.now
    stale = {
        s.session_id
        for s in seeded.sessions.values()
        if s.status == "in_progress" and s.deleted_at is None and s.age != "live"
    }
    untouched = {
        pk: (status, message)
        for pk, status, message in AlertSession.all_objects.exclude(pk__in=stale).values_list(
            "pk", "status", "error_message"
        )
    }
    assert orphans.mark_orphans(threshold=timedelta(minutes=5), now=now, batch_size=2) == len(stale)
    for session_id in stale:
        row = AlertSession.all_objects.get(pk=session_id)
        seen = seeded.sessions[session_id].last_interaction_at.astimezone(UTC)
        assert (row.status, row.completed_at) == ("timed_out", now)
        assert row.error_message == (
            f"Orphaned: no heartbeat from pod {seeded.sessions[session_id].pod_id} "
            f"since {seen:%Y-%m-%dT%H:%M:%SZ}"
        )
        assert not TimelineEvent.objects.filter(session_id=session_id, status="streaming").exists()
    assert TimelineEvent.objects.filter(session_id__in=stale, status="timed_out").count() == len(
        stale
    )
    after = dict(
        (pk, (status, message))
        for pk, status, message in AlertSession.all_objects.exclude(pk__in=stale).values_list(
            "pk", "status", "error_message"
        )
    )
    assert after == untouched
