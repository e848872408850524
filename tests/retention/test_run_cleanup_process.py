"""``manage.py run_cleanup`` as real processes: JSON logs, dry run, bad input, SIGTERM, pods.

The SIGTERM and four-pod tests rely on PostgreSQL (row locks held by a running batch, SKIP
LOCKED, a trigger that makes batches slow) and are skipped on SQLite.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from retention.models import CleanupRun
from sessions.models import AlertSession, Event
from tests.retention.conftest import (
    deleted_count,
    kill_quietly,
    old_log_file,
    requires_postgresql,
    run,
    run_line,
    run_pods,
    running,
    seed_backlog,
    start,
    stop_and_wait,
    stop_within_5s,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def job_line(records: list[dict], job: str) -> dict:
    lines = [r for r in records if r.get("job") == job and "outcome" in r]
    assert len(lines) == 1, records
    return lines[0]


def test_dry_run_changes_nothing_and_reports_what_the_real_run_then_does(
    manage_py: list[str], cleanup_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    backlog = seed_backlog(old_sessions=25, old_events=7)
    old_log_file(sweep_dir, "done.log", 123)
    (sweep_dir / "young.log").write_bytes(b"y")
    config = write_config(tmp_path, sweep_dir=sweep_dir, batch_size=10)
    argv = [*manage_py, "run_cleanup", "--once", "--config", str(config)]

    code, dry = run([*argv, "--dry-run"], cleanup_env)
    assert code == 0, dry
    assert deleted_count() == 0
    assert Event.objects.count() == backlog.old_events + backlog.young_events
    assert (sweep_dir / "done.log").exists()
    assert CleanupRun.objects.count() == 0

    code, real = run(argv, cleanup_env)
    assert code == 0, real
    assert deleted_count() == backlog.old_sessions
    assert Event.objects.count() == backlog.young_events
    assert sorted(p.name for p in sweep_dir.iterdir()) == ["young.log"]

    counts = ("soft_deleted", "events_expired", "runs_expired")
    sweep_counts = ("deleted", "bytes_freed", "skipped_active", "kept_young", "errors")
    for records, dry_run in ((dry, True), (real, False)):
        retention = job_line(records, "retention")
        assert retention["outcome"] == "success"
        assert retention["level"] == "INFO"
        assert retention["logger"] == "retention.scheduler"
        assert retention["dry_run"] is dry_run
        assert isinstance(retention["duration_ms"], int) and retention["duration_ms"] >= 0
        assert {k: retention[k] for k in counts} == {
            "soft_deleted": 25,
            "events_expired": 7,
            "runs_expired": 0,
        }
        sweep = job_line(records, "sweep")
        assert sweep["dry_run"] is dry_run
        assert isinstance(sweep["duration_ms"], int)
        assert {k: sweep[k] for k in sweep_counts} == {
            "deleted": 1,
            "bytes_freed": 123,
            "skipped_active": 0,
            "kept_young": 1,
            "errors": 0,
        }
        # The backlog's in_progress session never sent a heartbeat: an orphan.
        assert job_line(records, "orphans")["orphans_marked"] == 1
        starting = next(r for r in records if r["message"] == "cleanup starting")
        assert starting["mode"] == "once" and starting["dry_run"] is dry_run
        assert starting["config"]["retention"]["batch_size"] == 10
        assert starting["config"]["streaming_logs"]["base_dir"] == str(sweep_dir)
        assert all({"timestamp", "level", "logger", "message"} <= set(r) for r in records)

    runs = {r.job: r for r in CleanupRun.objects.all()}
    assert set(runs) == {"orphans", "retention", "sweep"}
    assert runs["orphans"].counts == {"orphans_marked": 1}
    # The backlog step measures the next run (1h on): the 10 young events are past the TTL then.
    assert runs["retention"].counts == {
        "soft_deleted": 25,
        "events_expired": 7,
        "backlog_due_for_soft_delete": 0,
        "backlog_due_for_purge": 0,
        "backlog_events_past_ttl": 10,
        "backlog_sessions_held": 0,
        "runs_expired": 0,
    }
    assert runs["sweep"].counts["deleted"] == 1


def test_bad_config_exits_non_zero_naming_the_key_and_changes_nothing(
    manage_py: list[str], cleanup_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    seed_backlog(old_sessions=3)
    old_log_file(sweep_dir, "done.log", 10)
    config = write_config(tmp_path, sweep_dir=sweep_dir, cleanup_interval="7d")
    code, records = run([*manage_py, "run_cleanup", "--once", "--config", str(config)], cleanup_env)
    assert code != 0
    error = records[-1]
    assert error["level"] == "ERROR"
    assert "system.retention.cleanup_interval" in error["message"]
    assert "'7d'" in error["message"]
    assert deleted_count() == 0
    assert (sweep_dir / "done.log").exists()
    assert CleanupRun.objects.count() == 0
    assert not Path(cleanup_env["TARSY_HEARTBEAT_FILE"]).exists()


def test_bad_flag_exits_non_zero_with_a_json_error(manage_py: list[str], tmp_path: Path) -> None:
    env = dict(os.environ, LOG_FORMAT="json", SECRET_KEY="tests-only-not-secret")
    env["TARSY_HEARTBEAT_FILE"] = str(tmp_path / "heartbeat")
    # No database at all: the flag is refused before anything is touched.
    env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/nothing"
    code, records = run([*manage_py, "run_cleanup", "--once", "--every-day"], env)
    assert code == 2
    assert records[-1]["level"] == "ERROR"
    assert "--every-day" in records[-1]["message"]
    assert not (tmp_path / "heartbeat").exists()


# -- PostgreSQL: signals and several pods ------------------------------------------------------


@pytest.fixture
def slow_rows(transactional_db: None) -> Iterator[None]:
    """A trigger that makes every UPDATE of an alert_sessions row sleep 40 ms, so a batch of
    20 rows takes 0.8 s; dropped afterwards (a flush does not remove triggers)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION tarsy_test_slow_row() RETURNS trigger AS $$ "
            "BEGIN PERFORM pg_sleep(0.04); RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER tarsy_test_slow_row BEFORE UPDATE ON alert_sessions "
            "FOR EACH ROW EXECUTE FUNCTION tarsy_test_slow_row()"
        )
    try:
        yield
    finally:
        drop_slow_rows()


def drop_slow_rows() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS tarsy_test_slow_row ON alert_sessions")
        cursor.execute("DROP FUNCTION IF EXISTS tarsy_test_slow_row()")


def batch_in_flight() -> bool:
    """Whether another backend is running a statement that updates alert_sessions now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND datname = current_database() AND pid <> pg_backend_pid() "
            "AND query ILIKE %s AND query ILIKE %s",
            ["%update%", "%alert_sessions%"],
        )
        return cursor.fetchone()[0] > 0


@requires_postgresql
def test_sigterm_while_waiting_exits_0_promptly_and_keeps_the_work(
    manage_py: list[str], cleanup_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    backlog = seed_backlog(old_sessions=30, old_events=5)
    config = write_config(tmp_path, sweep_dir=sweep_dir, cleanup_interval="1h", batch_size=10)
    process, log = start([*manage_py, "run_cleanup", "--config", str(config)], cleanup_env, REPO)
    try:
        log.wait_for(run_line("retention", "success"), timeout=30)
        log.wait_for(run_line("sweep", "success"), timeout=30)
        time.sleep(0.5)  # now in the wait for the next tick
        assert process.poll() is None
        code, took = stop_and_wait(process)
    finally:
        kill_quietly(process)
    log.finish()
    assert code == 0, log.text()
    assert took < 5
    # The stop was seen while waiting, and the process said it stopped with no run between.
    assert [r["message"] for r in log.records[-2:]] == [
        "stop requested by SIGTERM, finishing the current batch",
        "cleanup stopped",
    ], log.text()
    assert deleted_count() == backlog.old_sessions
    assert Event.objects.count() == backlog.young_events
    assert CleanupRun.objects.get(job="retention").outcome == "success"
    assert Path(cleanup_env["TARSY_HEARTBEAT_FILE"]).exists()


@requires_postgresql
def test_sigterm_during_a_long_batch_keeps_whole_batches_and_a_next_run_finishes(
    manage_py: list[str],
    cleanup_env: dict[str, str],
    tmp_path: Path,
    sweep_dir: Path,
    slow_rows: None,
) -> None:
    batch = 20
    backlog = seed_backlog(old_sessions=8 * batch)
    config = write_config(tmp_path, sweep_dir=sweep_dir, batch_size=batch)
    argv = [*manage_py, "run_cleanup", "--config", str(config)]
    with running(argv, cleanup_env) as (process, log):
        # Wait until at least one batch is committed and the next one is running.
        wait_until(lambda: deleted_count() >= batch and batch_in_flight(), process, log)
        committed_before_signal = deleted_count()
        stop_within_5s(process, log)

    line = log.job_runs("retention")[-1]
    assert line["outcome"] == "interrupted"
    done = line["soft_deleted"]
    # The batch running at SIGTERM was finished and kept, the run stopped before the rest.
    assert committed_before_signal < done < backlog.old_sessions
    assert done % batch == 0, "a batch was cut in half"
    assert deleted_count() == done
    record = CleanupRun.objects.get(job="retention")
    assert (record.outcome, record.counts) == ("interrupted", {"soft_deleted": done})
    stamps = set(
        AlertSession.all_objects.filter(deleted_at__isnull=False).values_list(
            "deleted_at", flat=True
        )
    )
    assert stamps == {record.started_at}
    # Jobs run side by side: the sweep ran once at start, beside retention, and never after
    # the stop request.
    stop_line = next(
        i for i, r in enumerate(log.records) if r["message"].startswith("stop requested")
    )
    sweeps = [i for i, r in enumerate(log.records) if r.get("job") == "sweep" and "outcome" in r]
    assert len(sweeps) == 1 and sweeps[0] < stop_line, "no job after the stop"

    drop_slow_rows()
    code, records = run([*manage_py, "run_cleanup", "--once", "--config", str(config)], cleanup_env)
    assert code == 0
    assert job_line(records, "retention")["soft_deleted"] == backlog.old_sessions - done
    assert deleted_count() == backlog.old_sessions
    assert AlertSession.objects.count() == backlog.young_sessions


@requires_postgresql
def test_four_pods_at_once_change_every_eligible_row_exactly_once(
    manage_py: list[str], cleanup_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    backlog = seed_backlog(old_sessions=2000, old_events=2000)
    now = timezone.now()
    CleanupRun.objects.bulk_create(
        CleanupRun(
            job="retention",
            host="old-pod",
            started_at=now - timedelta(days=40, minutes=i),
            finished_at=now - timedelta(days=40, minutes=i),
            outcome="success",
        )
        for i in range(10)
    )
    config = write_config(tmp_path, sweep_dir=sweep_dir, batch_size=50)
    argv = [*manage_py, "run_cleanup", "--once", "--config", str(config)]
    pods = run_pods(argv, cleanup_env, REPO, tmp_path, count=4)

    lines = [log.job_runs("retention") for log in pods]
    assert all(len(pod) == 1 and pod[0]["outcome"] == "success" for pod in lines), lines
    totals = {
        key: sum(pod[0][key] for pod in lines)
        for key in ("soft_deleted", "events_expired", "runs_expired")
    }
    assert totals == {
        "soft_deleted": backlog.old_sessions,
        "events_expired": backlog.old_events,
        "runs_expired": 10,
    }
    assert deleted_count() == backlog.old_sessions
    assert Event.objects.count() == backlog.young_events
    hosts = set(CleanupRun.objects.filter(job="retention").values_list("host", flat=True))
    assert hosts == {f"pod-{i}" for i in range(4)}


@requires_postgresql
def test_sighup_during_a_single_pass_is_ignored_with_a_log_line(
    manage_py: list[str],
    cleanup_env: dict[str, str],
    tmp_path: Path,
    sweep_dir: Path,
    slow_rows: None,
) -> None:
    batch = 20
    backlog = seed_backlog(old_sessions=4 * batch)
    config = write_config(tmp_path, sweep_dir=sweep_dir, batch_size=batch)
    argv = [*manage_py, "run_cleanup", "--once", "--config", str(config)]
    with running(argv, cleanup_env) as (process, log):
        wait_until(batch_in_flight, process, log)
        process.send_signal(signal.SIGHUP)
        assert process.wait(60) == 0, log.text()
    ignored = [r for r in log.records if r["message"].startswith("SIGHUP ignored")]
    assert len(ignored) == 1, log.text()
    assert log.job_runs("retention")[-1]["outcome"] == "success"
    assert deleted_count() == backlog.old_sessions
