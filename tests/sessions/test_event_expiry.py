"""Event expiry (rule 2) beyond the basic rule: id ranges with gaps, stragglers, one host."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions.models import Event
from sessions.services import retention
from tests.factories import make_session


def _events(session, ages_in_hours: list[float]) -> list[Event]:
    now = timezone.now()
    return Event.objects.bulk_create(
        Event(session=session, channel="c", created_at=now - timedelta(hours=h))
        for h in ages_in_hours
    )


@pytest.mark.django_db
def test_gaps_in_ids_and_out_of_order_events_are_all_expired() -> None:
    """Sparse ids, young rows between old ones, an old event with the newest id: all caught."""
    session = make_session()
    rows = _events(session, [5] * 30 + [0] * 10 + [5] * 30 + [0] * 5)
    # Gaps: remove two runs of ids from the middle of the old ones.
    Event.objects.filter(pk__in=[r.pk for r in rows[5:15] + rows[45:60]]).delete()
    straggler = _events(session, [9])[0]  # old created_at, newest id
    expected = set(
        Event.objects.filter(created_at__lt=timezone.now() - timedelta(hours=1)).values_list(
            "pk", flat=True
        )
    )
    assert straggler.pk in expected and len(expected) == 36

    deleted = retention.expire_events(ttl=timedelta(hours=1), now=timezone.now(), batch_size=4)

    assert deleted == len(expected)
    left = set(Event.objects.values_list("pk", flat=True))
    assert not left & expected
    assert len(left) == 15  # every young event kept
    assert retention.expire_events(ttl=timedelta(hours=1), now=timezone.now(), batch_size=4) == 0


def test_a_host_that_finds_another_expiring_events_skips_the_step(other_host) -> None:
    """One host at a time: the others neither wait nor delete, and count nothing."""
    session = make_session()
    _events(session, [5] * 20)
    other_host.execute("SELECT pg_advisory_lock(hashtext('tarsy.expire_events'))")
    assert retention.expire_events(ttl=timedelta(hours=1), now=timezone.now(), batch_size=5) == 0
    assert Event.objects.count() == 20
    other_host.execute("SELECT pg_advisory_unlock(hashtext('tarsy.expire_events'))")
    assert retention.expire_events(ttl=timedelta(hours=1), now=timezone.now(), batch_size=5) == 20
    assert Event.objects.count() == 0
