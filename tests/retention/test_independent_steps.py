"""A run's steps are independent: one that fails leaves the others to run, be logged, counted.

The run ends ``failed``, its log line and record name the failed steps and why, and
``cleanup_status`` shows them. ``transaction=True``: a run closes its connections.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from retention.models import CleanupRun
from retention.registry import Interrupted, Job, Step, StepRun
from retention.runner import JobRunner
from sessions.models import AlertSession, Event
from tests.factories import make_session
from tests.retention.conftest import REPO, deleted_count, seed_backlog, write_config

pytestmark = pytest.mark.django_db(transaction=True)


def counting(name: str, value: int) -> Step:
    return Step(name, lambda run: value)


def breaking(name: str, exc: Exception) -> Step:
    def perform(run: StepRun) -> int:
        run.progress(4)  # some work done before it broke
        raise exc

    return Step(name, perform)


def test_a_failed_step_leaves_the_others_to_run_and_the_run_names_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    steps = (
        counting("first", 1),
        breaking("second", ValueError("bad row")),
        counting("third", 3),
        breaking("fourth", OSError("disk gone")),
    )
    runner = JobRunner(Job("custom", timedelta(hours=1), steps))
    assert runner.run() == "failed"
    record = CleanupRun.objects.get()
    assert record.outcome == "failed"
    assert record.counts == {"first": 1, "second": 4, "third": 3, "fourth": 4}
    assert record.failed_steps == ["second", "fourth"]
    assert record.error == "second: ValueError: bad row; fourth: OSError: disk gone"

    failures = [r for r in caplog.records if r.getMessage().startswith("custom failed:")]
    assert [(r.step, r.error) for r in failures] == [
        ("second", "ValueError: bad row"),
        ("fourth", "OSError: disk gone"),
    ]
    assert all(r.exc_info for r in failures)
    (line,) = [r for r in caplog.records if getattr(r, "outcome", None)]
    assert (line.outcome, line.failed_steps, line.error) == (
        "failed",
        ["second", "fourth"],
        record.error,
    )
    assert (line.first, line.third) == (1, 3)


def test_a_step_that_breaks_its_transaction_leaves_the_next_a_working_connection() -> None:
    """The failed step's connection is closed: the next step starts on a fresh one."""

    def poisons(run: StepRun) -> int:
        connection.set_autocommit(False)  # and never commits nor rolls back
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")
        return 0

    def reads(run: StepRun) -> int:
        return AlertSession.all_objects.count()

    make_session()
    job = Job("custom", timedelta(hours=1), (Step("poisons", poisons), Step("reads", reads)))
    assert JobRunner(job).run() == "failed"
    record = CleanupRun.objects.get()
    assert record.failed_steps == ["poisons"]
    assert record.counts["reads"] == 1


def test_a_stop_between_steps_ends_the_run_as_interrupted() -> None:
    stop = threading.Event()

    def stops(run: StepRun) -> int:
        stop.set()  # SIGTERM arrives while this step finishes its last batch
        return 2

    steps = (Step("stops", stops), counting("never", 9))
    assert JobRunner(Job("custom", timedelta(hours=1), steps), stop=stop).run() == "interrupted"
    record = CleanupRun.objects.get()
    assert (record.outcome, record.counts, record.failed_steps) == (
        "interrupted",
        {"stops": 2},
        [],
    )


def test_a_run_stopped_after_a_failed_step_is_failed_not_interrupted() -> None:
    def interrupted(run: StepRun) -> int:
        raise Interrupted({"interrupted": 5})

    steps = (
        breaking("breaks", ValueError("x")),
        Step("interrupted", interrupted),
        counting("never", 1),
    )
    assert JobRunner(Job("custom", timedelta(hours=1), steps)).run() == "failed"
    record = CleanupRun.objects.get()
    assert record.failed_steps == ["breaks"]
    assert record.counts == {"breaks": 4, "interrupted": 5}


def test_cleanup_status_shows_the_failed_steps() -> None:
    started = timezone.now() - timedelta(minutes=5)
    CleanupRun.objects.create(
        job="retention",
        host="pod-a",
        started_at=started,
        finished_at=started + timedelta(seconds=2),
        outcome="failed",
        counts={"soft_deleted": 0, "events_expired": 7},
        error="soft_deleted: ProgrammingError: boom",
        failed_steps=["soft_deleted"],
    )
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("cleanup_status", stdout=out)
    output = out.getvalue()
    assert "failed(soft_deleted)" in output.splitlines()[1]
    assert (
        "PROBLEM retention: last run on pod-a failed: soft_deleted: ProgrammingError: boom"
        in output
    )


# -- the whole process: a trigger makes soft-delete fail ----------------------------------------


@pytest.fixture
def failing_soft_delete() -> Iterator[None]:
    """Every UPDATE of alert_sessions raises (soft-delete fails; purge only deletes)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION tarsy_test_refuse() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'updates refused by test'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER tarsy_test_refuse BEFORE UPDATE ON alert_sessions "
                "FOR EACH ROW EXECUTE FUNCTION tarsy_test_refuse()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER tarsy_test_refuse BEFORE UPDATE ON alert_sessions "
                "BEGIN SELECT RAISE(ABORT, 'updates refused by test'); END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("DROP TRIGGER IF EXISTS tarsy_test_refuse ON alert_sessions")
                cursor.execute("DROP FUNCTION IF EXISTS tarsy_test_refuse()")
            else:
                cursor.execute("DROP TRIGGER IF EXISTS tarsy_test_refuse")


@pytest.mark.slow
def test_once_with_soft_delete_failing_still_expires_and_purges_and_exits_1(
    manage_py: list[str],
    cleanup_env: dict[str, str],
    tmp_path: Path,
    sweep_dir: Path,
    failing_soft_delete: None,
) -> None:
    backlog = seed_backlog(old_sessions=5, old_events=6)
    purgeable = make_session(age=timedelta(days=400), deleted_at=timezone.now() - timedelta(days=9))
    config = write_config(
        tmp_path, sweep_dir=sweep_dir, extra_retention="    purge_after_days: 7\n"
    )
    argv = [*manage_py, "run_cleanup", "--once", "--config", str(config)]
    done = subprocess.run(
        argv, env=cleanup_env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert done.returncode == 1, done.stderr
    # Soft-delete failed; event expiry and purge still did their work in the same run.
    assert deleted_count() == 0, done.stderr
    assert Event.objects.count() == backlog.young_events, done.stderr
    assert not AlertSession.all_objects.filter(pk=purgeable.pk).exists(), done.stderr

    record = CleanupRun.objects.get(job="retention")
    assert record.outcome == "failed"
    assert record.failed_steps == ["soft_deleted"]
    assert record.error.startswith("soft_deleted: ")
    assert "updates refused by test" in record.error
    assert (record.counts["events_expired"], record.counts["purged"]) == (6, 1)

    failure = next(r for r in records if r.get("step") == "soft_deleted")
    assert failure["level"] == "ERROR" and failure["message"].startswith("retention failed:")
    assert "updates refused by test" in failure["error"] and "exception" in failure
    line = next(r for r in records if r.get("job") == "retention" and "outcome" in r)
    assert (line["outcome"], line["failed_steps"]) == ("failed", ["soft_deleted"])
    assert (line["events_expired"], line["purged"], line["runs_expired"]) == (6, 1, 0)
    assert records[-1]["message"] == "one or more cleanup jobs failed"
    assert CleanupRun.objects.get(job="sweep").outcome == "success"
