"""The loop's watchdog: a run silent past its bound has its connection broken, and one that
stays silent withholds the heartbeat. The loop's clock is fake (bounds are minutes); the runs,
threads and database are real. ``transaction=True``: runs close their connections.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from retention.heartbeat import Heartbeat
from retention.loop import CleanupLoop
from retention.models import CleanupRun
from retention.registry import Job, Step, StepRun
from retention.watchdog import CALL_BOUND, STUCK_AFTER
from tests.retention.conftest import FakeClock, requires_postgresql

pytestmark = pytest.mark.django_db(transaction=True)


class CountingHeartbeat(Heartbeat):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.beats = 0

    def beat(self) -> None:
        self.beats += 1
        super().beat()


def sleeping_backends() -> list[int]:
    """Backends of the test database running this file's ``pg_sleep`` (the server keeps a
    broken connection's statement running until it next writes to the client)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND query LIKE %s",
            ["SELECT pg_sleep(20) /* watchdog test */%"],
        )
        return [pid for (pid,) in cursor.fetchall()]


@pytest.fixture
def no_sleepers_left() -> Iterator[None]:
    yield
    with connection.cursor() as cursor:
        for pid in sleeping_backends():
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


@requires_postgresql
def test_a_call_silent_past_its_bound_is_broken_and_the_run_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, no_sleepers_left: None
) -> None:
    def waits_for_ever(run: StepRun) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(20) /* watchdog test */")
        return 1

    clock = FakeClock(0)
    heartbeat = CountingHeartbeat(tmp_path / "hb")
    job = Job("hangs", timedelta(hours=1), (Step("hangs", waits_for_ever),))
    loop = CleanupLoop([job], clock=clock, heartbeat=heartbeat)
    assert loop.workers.start(loop.runners["hangs"])
    deadline = time.monotonic() + 10
    while not sleeping_backends():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    loop.watch()  # within its bound: left alone
    assert loop.workers.join(0.5) == ["hangs"]

    clock.advance(CALL_BOUND + 1)
    with caplog.at_level(logging.WARNING, logger="retention.watchdog"):
        loop.watch()
        started = time.monotonic()
        assert loop.workers.join(5) == []
    assert time.monotonic() - started < 5  # freed long before pg_sleep's 20 s
    assert loop.workers.outcomes["hangs"] == "failed"
    record = CleanupRun.objects.get()
    assert record.failed_steps == ["hangs"] and "OperationalError" in record.error
    (warning,) = [r for r in caplog.records if "its database connection was broken" in r.message]
    assert (warning.job, warning.bound_s) == ("hangs", CALL_BOUND)
    assert heartbeat.beats == 2  # the run was not stuck: every wake-up beat


def test_a_run_that_stays_silent_withholds_the_heartbeat_until_it_moves_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()
    proceed = threading.Event()

    def silent(run: StepRun) -> int:
        proceed.set()
        release.wait(30)  # no database call, no progress, no stop check: no sign of life
        return 1

    clock = FakeClock(0)
    heartbeat = CountingHeartbeat(tmp_path / "hb")
    loop = CleanupLoop(
        [Job("silent", timedelta(hours=1), (Step("silent", silent),))],
        dry_run=True,
        clock=clock,
        heartbeat=heartbeat,
    )
    try:
        assert loop.workers.start(loop.runners["silent"])
        assert proceed.wait(10)
        clock.advance(CALL_BOUND + 1)
        loop.watch()  # past the bound (nothing to break: no connection), not yet stuck
        assert heartbeat.beats == 1
        clock.advance(STUCK_AFTER - CALL_BOUND)
        with caplog.at_level(logging.ERROR, logger="retention.loop"):
            loop.watch()
            loop.watch()
        assert heartbeat.beats == 1  # withheld while stuck
        withheld = [r for r in caplog.records if r.message.startswith("heartbeat withheld")]
        assert len(withheld) == 1 and withheld[0].jobs == ["silent"]  # said once, not per wake
    finally:
        release.set()
    assert loop.workers.join(10) == []
    loop.watch()
    assert heartbeat.beats == 2  # the run ended: beats again
    assert loop.workers.outcomes["silent"] == "success"
