"""``manage.py cleanup_status``: fresh, overdue and failed runs; ``--liveness`` on the heartbeat."""

from __future__ import annotations

import os
import re
import subprocess
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from retention.models import CleanupRun

REPO = Path(__file__).resolve().parents[2]


def record(job: str, hours_ago: float, outcome: str = "success", **fields: object) -> CleanupRun:
    started = timezone.now() - timedelta(hours=hours_ago)
    values: dict[str, object] = {
        "job": job,
        "host": "pod-a",
        "started_at": started,
        "finished_at": started + timedelta(milliseconds=1500),
        "outcome": outcome,
        "counts": {"soft_deleted": 3, "events_expired": 7} if job == "retention" else {},
    }
    values.update(fields)
    return CleanupRun.objects.create(**values)


def status(*args: str) -> str:
    out = StringIO()
    call_command("cleanup_status", *args, stdout=out)
    return out.getvalue()


def failing_status(*args: str) -> tuple[CommandError, str]:
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("cleanup_status", *args, stdout=out)
    return raised.value, out.getvalue()


@pytest.mark.django_db
def test_fresh_runs_are_ok_and_listed_per_job_and_host() -> None:
    record("retention", hours_ago=1)
    record("retention", hours_ago=3, host="pod-b")
    record("sweep", hours_ago=200, counts={"deleted": 4, "bytes_freed": 4096})
    output = status()
    lines = output.splitlines()
    assert lines[0].split()[:5] == ["JOB", "HOST", "STARTED", "(UTC)", "AGO"]
    rows = [line.split() for line in lines[1:-1]]
    assert [(row[0], row[1]) for row in rows] == [
        ("retention", "pod-a"),
        ("retention", "pod-b"),
        ("sweep", "pod-a"),  # an old sweep record is no problem: idle sweeps are not recorded
    ]
    assert "soft_deleted=3 events_expired=7" in lines[1]
    assert "1500ms" in lines[1] and "success" in lines[1]
    assert "deleted=4 bytes_freed=4096" in lines[3]
    assert lines[-1] == "OK"


@pytest.mark.django_db
def test_only_the_latest_run_of_each_job_and_host_is_shown() -> None:
    record("retention", hours_ago=5, outcome="failed", error="OperationalError: down")
    record("retention", hours_ago=1)
    output = status()
    assert output.count("retention") == 1
    assert "failed" not in output
    assert output.splitlines()[-1] == "OK"


@pytest.mark.django_db
def test_no_run_recorded_is_a_problem() -> None:
    error, output = failing_status()
    assert error.returncode == 1
    assert "no cleanup runs recorded" in output
    assert "PROBLEM retention: no retention run recorded" in output


@pytest.mark.django_db
def test_overdue_retention_is_a_problem_judged_by_the_configured_interval(tmp_path: Path) -> None:
    record("retention", hours_ago=25)  # default interval 12h: more than twice ago
    error, output = failing_status()
    assert error.returncode == 1
    assert "PROBLEM retention: last successful run started" in output
    assert "more than twice the interval" in output

    config = tmp_path / "tarsy.yaml"
    config.write_text("system:\n  retention:\n    cleanup_interval: 24h\n", encoding="utf-8")
    assert status("--config", str(config)).splitlines()[-1] == "OK"


@pytest.mark.django_db
def test_interrupted_runs_do_not_count_as_finished() -> None:
    """A sidecar stopped mid-run at every tick must not look healthy."""
    record("retention", hours_ago=30)
    record("retention", hours_ago=1, outcome="interrupted", counts={"soft_deleted": 1000})
    record("retention", hours_ago=2, outcome="interrupted", host="pod-b")
    error, output = failing_status()
    assert error.returncode == 1
    assert "PROBLEM retention: last successful run started" in output

    # A recent success anywhere is enough, even one that is no host's latest run.
    record("retention", hours_ago=3, host="pod-b")
    assert status().splitlines()[-1] == "OK"


@pytest.mark.django_db
def test_only_interrupted_runs_is_a_problem() -> None:
    record("retention", hours_ago=1, outcome="interrupted")
    error, output = failing_status()
    assert "PROBLEM retention: no retention run has finished successfully" in output


@pytest.mark.django_db
def test_a_failed_latest_run_is_a_problem() -> None:
    record("retention", hours_ago=2)
    record("retention", hours_ago=1, outcome="failed", error="OperationalError: connection refused")
    error, output = failing_status()
    assert error.returncode == 1
    assert (
        "PROBLEM retention: last run on pod-a failed: OperationalError: connection refused"
        in output
    )


@pytest.mark.django_db
def test_a_failed_sweep_is_a_problem_too() -> None:
    record("retention", hours_ago=1)
    record("sweep", hours_ago=1, outcome="failed", error="PermissionError: denied")
    error, output = failing_status()
    assert error.returncode == 1
    assert "PROBLEM sweep: last run on pod-a failed: PermissionError: denied" in output
    assert "PROBLEM retention" not in output


@pytest.mark.django_db
def test_a_bad_config_is_a_clean_error(tmp_path: Path) -> None:
    record("retention", hours_ago=1)
    config = tmp_path / "tarsy.yaml"
    config.write_text("system:\n  retention:\n    cleanup_interval: 12\n", encoding="utf-8")
    error, _ = failing_status("--config", str(config))
    assert "system.retention.cleanup_interval" in str(error)


# -- --liveness: the heartbeat file only -------------------------------------------------------


def test_liveness_fresh_stale_and_missing_heartbeat(tmp_path: Path) -> None:
    heartbeat = tmp_path / "heartbeat"
    with override_settings(TARSY_HEARTBEAT_FILE=str(heartbeat)):
        error, _ = failing_status("--liveness")
        assert error.returncode == 1
        assert "no heartbeat file" in str(error)

        heartbeat.touch()
        assert re.fullmatch(r"alive: heartbeat [0-2]s old\n", status("--liveness"))

        past = time.time() - 400
        os.utime(heartbeat, (past, past))
        error, _ = failing_status("--liveness")
        assert error.returncode == 1
        assert re.search(r"is 40[0-3]s old \(limit 300s\)", str(error))
        alive = status("--liveness", "--max-age", "600")
        assert re.fullmatch(r"alive: heartbeat 40[0-3]s old\n", alive)


@pytest.mark.slow
def test_liveness_in_a_process_reads_the_env_file_and_needs_no_database(
    manage_py: list[str], tmp_path: Path
) -> None:
    heartbeat = tmp_path / "heartbeat"
    heartbeat.touch()
    past = time.time() - 100
    os.utime(heartbeat, (past, past))
    env = dict(
        os.environ,
        SECRET_KEY="tests-only-not-secret",
        LOG_FORMAT="json",
        TARSY_HEARTBEAT_FILE=str(heartbeat),
        DATABASE_URL="postgres://nobody@127.0.0.1:1/unreachable",
    )
    argv = [*manage_py, "cleanup_status", "--liveness", "--max-age", "60"]
    stale = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert stale.returncode == 1
    assert '"level": "ERROR"' in stale.stderr and "limit 60s" in stale.stderr

    heartbeat.touch()
    fresh = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout.startswith("alive: heartbeat")
