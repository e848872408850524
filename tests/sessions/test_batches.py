"""The batching engine's entry points (``tarsy_project.db.batches``), on the session tables."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions.models import AlertSession, Event
from tarsy_project.db import batches
from tests.factories import make_session


@pytest.mark.django_db
def test_update_refuses_empty_changes_and_changes_nothing() -> None:
    make_session()
    live = AlertSession.all_objects.filter(deleted_at__isnull=True)
    with pytest.raises(ValueError, match="delete_in_windows"):
        batches.update_in_windows(live, key="created_at", size=10, changes={})
    assert AlertSession.all_objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("size", [0, -1])
def test_a_batch_size_below_one_is_refused(size: int) -> None:
    rows = Event.objects.all()
    with pytest.raises(ValueError, match="at least 1"):
        batches.delete_in_windows(rows, key="created_at", size=size)
    with pytest.raises(ValueError, match="at least 1"):
        batches.delete_in_id_ranges(rows, size=size)


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, 2, 100])
def test_update_and_delete_in_windows_reach_every_row(size: int) -> None:
    now = timezone.now()
    sessions = [make_session(age=timedelta(days=days), now=now) for days in (1, 2, 2, 3, 9)]
    Event.objects.bulk_create(Event(session=sessions[0], channel="c") for _ in range(5))
    seen: list[int] = []
    changed = batches.update_in_windows(
        AlertSession.all_objects.filter(deleted_at__isnull=True),
        key="created_at",
        size=size,
        changes={"deleted_at": now},
        progress=seen.append,
    )
    assert changed == 5 and seen[-1] == 5
    assert set(AlertSession.all_objects.values_list("deleted_at", flat=True)) == {now}
    assert batches.delete_in_windows(Event.objects.all(), key="created_at", size=size) == 5
    assert not Event.objects.exists()


def test_exclusive_lock_is_held_by_one_connection_until_the_block_ends(other_host) -> None:
    try_lock = "SELECT pg_try_advisory_lock(hashtext('tests.batches'))"
    with batches.exclusive_lock("tests.batches", using="default") as ours:
        assert ours is True
        assert other_host.execute(try_lock).fetchone() == (False,)
    assert other_host.execute(try_lock).fetchone() == (True,)  # released at the block's end
    with batches.exclusive_lock("tests.batches", using="default") as ours:
        assert ours is False  # held elsewhere: no waiting


@pytest.mark.django_db
def test_no_rows_at_all_is_zero_windows_of_work() -> None:
    make_session()
    assert batches.delete_in_windows(Event.objects.none(), key="created_at", size=3) == 0
    assert batches.delete_in_id_ranges(Event.objects.filter(pk__in=[]), size=3) == 0
    assert AlertSession.all_objects.count() == 1
