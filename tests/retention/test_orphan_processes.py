"""Orphan detection in real ``run_cleanup`` processes: pods side by side, and switched off."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from sessions.models import AlertSession
from sessions.statuses import SessionStatus
from tests.retention.conftest import requires_postgresql, run_pods, write_config
from tests.retention.test_run_cleanup_process import job_line, run

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def seed_orphans(count: int) -> None:
    """``count`` in_progress sessions whose heartbeat stopped 10 minutes ago or earlier."""
    now = timezone.now()
    AlertSession.all_objects.bulk_create(
        AlertSession(
            session_id=str(uuid.uuid4()),
            agent_type="kubernetes",
            chain_id="c",
            status=SessionStatus.IN_PROGRESS,
            created_at=now - timedelta(hours=1),
            started_at=now - timedelta(hours=1),
            pod_id=f"tarsy-{i % 3}",
            last_interaction_at=now - timedelta(minutes=10, seconds=i),
        )
        for i in range(count)
    )


def in_progress() -> int:
    return AlertSession.all_objects.filter(status=SessionStatus.IN_PROGRESS).count()


@requires_postgresql
def test_two_pods_at_once_mark_each_orphan_exactly_once(
    manage_py: list[str], cleanup_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    seed_orphans(400)
    config = write_config(tmp_path, sweep_dir=sweep_dir, batch_size=10)
    argv = [*manage_py, "run_cleanup", "--once", "--config", str(config)]
    pods = run_pods(argv, cleanup_env, REPO, tmp_path, count=2)
    marked = [log.job_runs("orphans")[0]["orphans_marked"] for log in pods]
    assert sum(marked) == 400, marked
    assert in_progress() == 0
    timed_out = AlertSession.all_objects.filter(
        status=SessionStatus.TIMED_OUT,
        error_message__regex=r"^Orphaned: no heartbeat from pod tarsy-[0-2] since "
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
    )
    assert timed_out.count() == 400
    # Each session was marked by one run: its completed_at is that run's frozen now.
    assert timed_out.values("completed_at").distinct().count() <= 2


def test_switched_off_nothing_changes(
    manage_py: list[str], cleanup_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    seed_orphans(3)
    config = write_config(
        tmp_path, sweep_dir=sweep_dir, extra_retention="    orphan_detection: false\n"
    )
    code, records = run([*manage_py, "run_cleanup", "--once", "--config", str(config)], cleanup_env)
    assert code == 0, records
    assert not [r for r in records if r.get("job") == "orphans"]
    starting = next(r for r in records if r["message"] == "cleanup starting")
    assert starting["jobs"] == ["retention", "sweep"]
    assert in_progress() == 3

    on = write_config(tmp_path, sweep_dir=sweep_dir)
    code, records = run([*manage_py, "run_cleanup", "--once", "--config", str(on)], cleanup_env)
    assert code == 0, records
    assert job_line(records, "orphans")["orphans_marked"] == 3
    assert in_progress() == 0
