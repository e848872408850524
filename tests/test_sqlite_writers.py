"""Several writers on the embedded SQLite database: they wait for each other, none fails.

Two ``run_cleanup --once`` over one backlog and an operator's ``restore_session`` while they
run, all on one SQLite file. Deferred transactions made both runs fail within milliseconds with
"database is locked" (the busy timeout was never waited) and the restore with a traceback; the
settings' immediate transactions make each writer wait for the lock instead.
"""

from __future__ import annotations

import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from sessions.models import AlertSession, Event
from tests.factories import make_session
from tests.retention.conftest import deleted_count, kill_quietly, seed_backlog, start, write_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="SQLite's locking (one writer at a time); runs when DATABASE_URL is unset",
    ),
]

REPO = Path(__file__).resolve().parent.parent
# The backlog of the report (100k sessions): the runs take seconds, several times longer than
# the restore process needs to start.
OLD_SESSIONS = 100_000
OLD_EVENTS = 5_000


def span(records: list[dict]) -> tuple[str, str]:
    """When a run started and finished (ISO timestamps in UTC compare as strings)."""
    (start,) = [r["timestamp"] for r in records if r["message"] == "cleanup starting"]
    (end,) = [r["timestamp"] for r in records if r["message"] == "cleanup finished"]
    return start, end


def test_two_cleanup_runs_and_a_restore_all_succeed_on_one_file(
    manage_py: list[str], subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    backlog = seed_backlog(old_sessions=OLD_SESSIONS, old_events=OLD_EVENTS)
    # Deleted by an operator yesterday, not due for retention: the restore brings it back and
    # no run may touch it again.
    mistaken = make_session(age=timedelta(days=2), deleted_at=timezone.now())
    sweep_dir = tmp_path / "streaming"
    sweep_dir.mkdir()
    config = write_config(tmp_path, sweep_dir=sweep_dir, batch_size=200)
    env = dict(subprocess_env, LOG_FORMAT="json", LOG_LEVEL="info")
    run_argv = [*manage_py, "run_cleanup", "--once", "--config", str(config)]

    runs = [
        start(run_argv, dict(env, TARSY_HEARTBEAT_FILE=str(tmp_path / f"beat-{name}")), REPO)
        for name in ("a", "b")
    ]
    try:
        # The restore goes in while the runs are writing (some rows done, not all).
        deadline = time.monotonic() + 120
        while deleted_count() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        restore = subprocess.run(
            [*manage_py, "restore_session", mistaken.pk],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        still_running = [process.poll() is None for process, _log in runs]
        for process, log in runs:
            process.wait(timeout=300)
            log.finish()
    finally:
        for process, _log in runs:
            kill_quietly(process)

    retention, spans = [], []
    for process, log in runs:
        assert process.returncode == 0, log.text()
        records = log.records
        (line,) = [r for r in records if r.get("job") == "retention" and "outcome" in r]
        assert line["outcome"] == "success", line
        retention.append(line)
        spans.append(span(records))
    assert restore.returncode == 0, restore.stderr
    assert restore.stdout.startswith(f"restored {mistaken.pk}; kept from retention until ")
    # They really ran at the same time: the runs overlap, and the restore ran inside one.
    (start_a, end_a), (start_b, end_b) = spans
    assert start_a < end_b and start_b < end_a, spans
    assert any(still_running), "the restore did not overlap a cleanup run"
    # Every old session soft-deleted exactly once, every old event expired once, between them.
    assert sum(r["soft_deleted"] for r in retention) == backlog.old_sessions
    assert sum(r["events_expired"] for r in retention) == backlog.old_events
    assert deleted_count() == backlog.old_sessions
    assert Event.objects.count() == backlog.young_events
    assert AlertSession.all_objects.get(pk=mistaken.pk).deleted_at is None
