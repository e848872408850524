"""The scheduler, the loop and the runner on a fake clock: due times, run at start, frozen ``now``.

The loop and runner tests use ``transaction=True``: a run closes stale connections, which a
test wrapped in a transaction cannot survive.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from retention.config import RetentionConfig
from retention.loop import MAX_WAIT, RUNNING_POLL, CleanupLoop
from retention.models import CleanupRun
from retention.registry import Job, Step, StepRun
from retention.runner import JobRunner
from retention.scheduler import Scheduler
from sessions.models import AlertSession, Event
from tests.factories import make_session
from tests.retention.conftest import FakeClock, job_for


class FakeStop(threading.Event):
    """A stop event whose ``wait`` advances the fake clock instead of sleeping, and that
    sets itself once the clock reaches ``until``. Jobs run on threads of their own: before the
    clock moves, the runs started at this tick end (``loop``), so each run sees the time it
    was started at."""

    def __init__(self, clock: FakeClock, until: float) -> None:
        super().__init__()
        self.clock = clock
        self.until = until
        self.waits: list[float] = []
        self.loop: CleanupLoop | None = None

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None and timeout >= 0
        if self.loop is not None:
            assert self.loop.workers.join(10) == [], "a run did not end"
        self.waits.append(timeout)
        self.clock.advance(timeout)
        if self.clock.now >= self.until:
            self.set()
        return self.is_set()


def run_forever(loop: CleanupLoop, stop: FakeStop) -> None:
    stop.loop = loop
    loop.run_forever()


def recording_job(
    name: str, interval: float, calls: list[tuple[str, float]], clock: FakeClock, cost: float = 0
) -> Job:
    """A job that notes when it ran and takes ``cost`` seconds of fake time."""

    def run(run: StepRun) -> int:
        calls.append((name, clock.now))
        clock.advance(cost)
        return 1

    return Job(name, timedelta(seconds=interval), (Step(name, run),))


def test_every_job_is_due_at_start() -> None:
    clock = FakeClock()
    calls: list[tuple[str, float]] = []
    jobs = [recording_job("a", 10, calls, clock), recording_job("b", 3, calls, clock)]
    scheduler = Scheduler(jobs, clock)
    assert [job.name for job in scheduler.due()] == ["a", "b"]
    assert scheduler.seconds_until_next() == 0


def test_due_times_follow_each_jobs_own_interval_from_its_start() -> None:
    clock = FakeClock(0)
    calls: list[tuple[str, float]] = []
    a, b = recording_job("a", 10, calls, clock), recording_job("b", 3, calls, clock)
    scheduler = Scheduler([a, b], clock)
    scheduler.ran(a, started=0)
    scheduler.ran(b, started=0)
    clock.advance(2)  # the job itself took time: the interval counts from its start
    assert scheduler.due() == []
    assert scheduler.seconds_until_next() == 1
    clock.advance(1)
    assert [job.name for job in scheduler.due()] == ["b"]
    scheduler.ran(b, started=3)
    assert scheduler.seconds_until_next() == 3
    clock.advance(7)
    assert [job.name for job in scheduler.due()] == ["a", "b"]
    clock.advance(100)  # long overdue: due once, not once per missed interval
    assert [job.name for job in scheduler.due()] == ["a", "b"]


@pytest.mark.django_db(transaction=True)
def test_loop_runs_every_job_at_start_then_on_its_interval() -> None:
    clock = FakeClock(0)
    calls: list[tuple[str, float]] = []
    jobs = [recording_job("retention", 10, calls, clock), recording_job("sweep", 3, calls, clock)]
    stop = FakeStop(clock, until=20)
    run_forever(CleanupLoop(jobs, stop=stop, clock=clock), stop)
    # Side by side, each on its own interval from its own start.
    assert sorted(calls, key=lambda call: (call[1], call[0])) == [
        ("retention", 0),
        ("sweep", 0),
        ("sweep", 3),
        ("sweep", 6),
        ("sweep", 9),
        ("retention", 10),
        ("sweep", 12),
        ("sweep", 15),
        ("sweep", 18),
    ]
    # It slept (on the event) exactly until the next due time each time, never busy-looped.
    assert all(wait > 0 for wait in stop.waits)


@pytest.mark.django_db(transaction=True)
def test_a_long_run_of_one_job_never_delays_another() -> None:
    """Real threads and the real clock: while one job's run hangs, the other keeps its
    interval; the hung job is not started again before its run ends."""
    release = threading.Event()
    started: list[str] = []
    sweeps: list[float] = []

    def hangs(run: StepRun) -> int:
        started.append("slow")
        release.wait(30)
        return 1

    def quick(run: StepRun) -> int:
        sweeps.append(time.monotonic())
        return 1

    stop = threading.Event()
    jobs = [
        Job("slow", timedelta(seconds=0.1), (Step("slow", hangs),)),
        Job("quick", timedelta(seconds=0.2), (Step("quick", quick),)),
    ]
    loop = CleanupLoop(jobs, dry_run=True, stop=stop)
    runner = threading.Thread(target=loop.run_forever)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while len(sweeps) < 5:
            assert time.monotonic() < deadline, sweeps
            time.sleep(0.05)
        assert started == ["slow"]  # due again many times, but still running: not restarted
        assert "slow" in loop.workers.running()
    finally:
        release.set()
        stop.set()
        runner.join(10)
    assert not runner.is_alive()
    gaps = [b - a for a, b in zip(sweeps, sweeps[1:], strict=False)]
    assert max(gaps) < 0.2 + RUNNING_POLL + 0.5, gaps  # its interval, plus a wake-up's delay


@pytest.mark.django_db(transaction=True)
def test_loop_wakes_at_least_every_max_wait_and_beats_the_heartbeat(tmp_path) -> None:
    from retention.heartbeat import Heartbeat

    clock = FakeClock(0)
    calls: list[tuple[str, float]] = []
    beats: list[float] = []

    class CountingHeartbeat(Heartbeat):
        def beat(self) -> None:
            beats.append(clock.now)
            super().beat()

    stop = FakeStop(clock, until=3 * MAX_WAIT + 1)
    loop = CleanupLoop(
        [recording_job("retention", 3600, calls, clock)],
        stop=stop,
        clock=clock,
        heartbeat=CountingHeartbeat(tmp_path / "hb"),
    )
    run_forever(loop, stop)
    assert calls == [("retention", 0)]
    assert stop.waits[:3] == [MAX_WAIT, MAX_WAIT, MAX_WAIT]
    assert beats[:4] == [0, MAX_WAIT, 2 * MAX_WAIT, 3 * MAX_WAIT]
    assert (tmp_path / "hb").exists()


@pytest.mark.django_db(transaction=True)
def test_a_stop_starts_no_job_after_it() -> None:
    clock = FakeClock(0)
    calls: list[tuple[str, float]] = []
    stop = FakeStop(clock, until=100)

    def stopping(run: StepRun) -> int:
        calls.append(("first", clock.now))
        if clock.now >= 1:
            stop.set()
        return 1

    jobs = [
        Job("first", timedelta(seconds=1), (Step("first", stopping),)),
        recording_job("second", 2, calls, clock),
    ]
    run_forever(CleanupLoop(jobs, stop=stop, clock=clock), stop)
    assert sorted(calls, key=lambda call: (call[1], call[0])) == [
        ("first", 0),
        ("second", 0),
        ("first", 1),
    ]


@pytest.mark.django_db(transaction=True)
def test_every_step_of_a_run_gets_the_same_frozen_now() -> None:
    """A wall clock that jumps a day at every call: a step that asked it again would see it."""
    ticks: list[datetime] = []
    start = datetime(2030, 1, 1, tzinfo=UTC)

    def wall_clock() -> datetime:
        ticks.append(start + timedelta(days=len(ticks)))
        return ticks[-1]

    seen: list[datetime] = []

    def run(run: StepRun) -> int:
        seen.append(run.now)
        run.progress(1)
        return 1

    steps = tuple(Step(name, run) for name in ("one", "two", "three"))
    runner = JobRunner(Job("steps", timedelta(hours=1), steps), dry_run=True, wall_clock=wall_clock)
    assert runner.run() == CleanupRun.Outcome.SUCCESS
    assert seen == [start, start, start]


@pytest.mark.django_db(transaction=True)
def test_retention_steps_all_use_the_runs_frozen_now() -> None:
    """The real retention job with ``now`` frozen 10 days in the past: each rule must judge by
    that ``now``, not by the real time or a later tick of the wall clock."""
    real_now = timezone.now()
    frozen_now = real_now - timedelta(days=10)
    calls: list[datetime] = []

    def wall_clock() -> datetime:
        calls.append(frozen_now if not calls else real_now + timedelta(days=100))
        return calls[-1]

    # Rule 1 (365 days): past retention at frozen now, and only past it at the real now.
    due = make_session(age=timedelta(days=380), now=real_now)
    not_yet = make_session(age=timedelta(days=370), now=real_now)
    # Rule 2 (1h): an event 5 days old is younger than frozen_now - 1h.
    old_event = Event.objects.create(
        session=due, channel="c", created_at=frozen_now - timedelta(hours=2)
    )
    future_event = Event.objects.create(
        session=due, channel="c", created_at=real_now - timedelta(days=5)
    )
    # Rule 3 (purge after 1 day): deleted 2 days before frozen now, and 1 day after it.
    purged = make_session(age=timedelta(days=400), deleted_at=frozen_now - timedelta(days=2))
    kept = make_session(age=timedelta(days=400), deleted_at=frozen_now + timedelta(days=1))
    # Run records (30 days): one older than 30 days at frozen now, one only at the real now.
    for age in (31, 25):
        CleanupRun.objects.create(
            job="retention",
            host="h",
            started_at=frozen_now - timedelta(days=age),
            finished_at=frozen_now - timedelta(days=age),
            outcome="success",
        )

    job = job_for("retention", retention=RetentionConfig(purge_after_days=1, batch_size=1))
    assert JobRunner(job, wall_clock=wall_clock).run() == CleanupRun.Outcome.SUCCESS

    assert AlertSession.all_objects.get(pk=due.pk).deleted_at == frozen_now
    assert AlertSession.all_objects.get(pk=not_yet.pk).deleted_at is None
    assert not Event.objects.filter(pk=old_event.pk).exists()
    assert Event.objects.filter(pk=future_event.pk).exists()
    assert not AlertSession.all_objects.filter(pk=purged.pk).exists()
    assert AlertSession.all_objects.filter(pk=kept.pk).exists()
    record = CleanupRun.objects.get(started_at=frozen_now)
    # The backlog is measured at frozen now + 12h: nothing due (at the real now, not_yet and
    # future_event would be).
    assert record.counts == {
        "soft_deleted": 1,
        "events_expired": 1,
        "purged": 1,
        "backlog_due_for_soft_delete": 0,
        "backlog_due_for_purge": 0,
        "backlog_events_past_ttl": 0,
        "backlog_sessions_held": 0,
        "runs_expired": 1,
    }
    assert CleanupRun.objects.filter(started_at=frozen_now - timedelta(days=25)).exists()
