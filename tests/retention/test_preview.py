"""``run_cleanup --once --dry-run --list``: the sessions each step would change, by id.

The listing must name exactly the sessions a real run then changes, holds and orphans
included, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from retention.loop import CleanupLoop
from retention.models import CleanupRun
from retention.registry import registry
from sessions.models import AlertSession
from sessions.services import holds
from sessions.statuses import SessionStatus
from tarsy_project.config import load_config
from tests.factories import make_session
from tests.retention.conftest import write_config

REPO = Path(__file__).resolve().parents[2]
PURGE = "    purge_after_days: 7\n"


@pytest.fixture
def config_file(tmp_path: Path, sweep_dir: Path) -> Path:
    """Retention 30 days, purge after 7, orphans after 5 minutes (the default)."""
    return write_config(tmp_path, sweep_dir=sweep_dir, batch_size=3, extra_retention=PURGE)


def _seed() -> dict[str, set[str]]:
    """Sessions each step changes, and some it must not (held, young, fresh), by step."""
    now = timezone.now()
    old, gone = timedelta(days=40), now - timedelta(days=8)

    def hold(session: AlertSession) -> AlertSession:
        holds.place_hold(
            session_ids=[session.pk], until=None, reason="INC-7", placed_by="a", now=now
        )
        return session

    due = {
        "soft_deleted": {
            make_session(age=old + timedelta(minutes=i), now=now, status=status).pk
            for i, status in enumerate(
                [SessionStatus.COMPLETED, SessionStatus.FAILED, SessionStatus.PENDING] * 3
                + [SessionStatus.CANCELLING, SessionStatus.TIMED_OUT]
            )
        },
        "purged": {make_session(deleted_at=gone - timedelta(minutes=i)).pk for i in range(5)},
        "orphans_marked": {
            make_session(
                status=SessionStatus.IN_PROGRESS,
                now=now,
                last_interaction_at=now - timedelta(minutes=10 + i),
                pod_id=f"tarsy-{i}",
            ).pk
            for i in range(4)
        },
    }
    hold(make_session(age=old, now=now))
    hold(make_session(deleted_at=gone))
    make_session(age=timedelta(days=2), now=now)
    make_session(deleted_at=now - timedelta(days=1))
    make_session(status=SessionStatus.IN_PROGRESS, now=now, last_interaction_at=now)
    return due


def _list(*args: str) -> str:
    out = StringIO()
    call_command("run_cleanup", "--once", "--dry-run", "--list", *args, stdout=out)
    return out.getvalue()


def _changed(before: dict[str, tuple]) -> dict[str, set[str]]:
    """Which sessions the real run soft-deleted, purged and timed out, from ``before``."""
    after = {
        pk: (deleted_at, status)
        for pk, deleted_at, status in AlertSession.all_objects.values_list(
            "pk", "deleted_at", "status"
        )
    }
    return {
        "soft_deleted": {pk for pk, (d, _) in before.items() if d is None and after[pk][0]},
        "purged": set(before) - set(after),
        "orphans_marked": {
            pk
            for pk, (_, status) in before.items()
            if status == SessionStatus.IN_PROGRESS and after[pk][1] == SessionStatus.TIMED_OUT
        },
    }


def test_the_listing_names_exactly_the_sessions_the_real_run_changes(transactional_db, config_file):
    due = _seed()
    listing = json.loads(_list("--format", "json", "--limit", "1000", "--config", str(config_file)))
    listed = {
        entry["step"]: {row["session_id"] for row in entry["rows"]}
        for entry in listing["steps"]
        if "rows" in entry
    }
    assert listed == due
    counts = {entry["step"]: entry["counts"] for entry in listing["steps"]}
    assert counts["soft_deleted"] == {"soft_deleted": 11}
    assert counts["events_expired"] == {"events_expired": 0}
    assert set(counts["sweep"]) >= {"deleted", "kept_young"}
    assert all(entry["more"] == 0 for entry in listing["steps"] if "rows" in entry)
    assert not CleanupRun.objects.exists()  # a listing records nothing and changes nothing
    before = dict(
        (pk, (d, s))
        for pk, d, s in AlertSession.all_objects.values_list("pk", "deleted_at", "status")
    )
    assert sum(d is not None for d, _ in before.values()) == 5 + 2

    jobs = registry.build_jobs(load_config(config_file))
    assert CleanupLoop(jobs).run_once()
    assert _changed(before) == due


def test_rows_carry_what_an_operator_recognises_and_the_rest_is_counted(db, config_file):
    _seed()
    listing = json.loads(_list("--format", "json", "--limit", "2", "--config", str(config_file)))
    steps = {entry["step"]: entry for entry in listing["steps"]}
    soft = steps["soft_deleted"]
    assert (len(soft["rows"]), soft["more"], soft["counts"]) == (2, 9, {"soft_deleted": 11})
    assert list(soft["rows"][0]) == [
        "session_id",
        "status",
        "created_at",
        "completed_at",
        "alert_type",
    ]
    # The finished sessions come first, oldest completion first, times in RFC 3339 (UTC).
    assert [row["status"] for row in soft["rows"]] == ["timed_out", "failed"]
    assert soft["rows"][0]["completed_at"].endswith("Z")
    assert list(steps["purged"]["rows"][0])[-1] == "deleted_at"
    orphan = steps["orphans_marked"]["rows"][0]
    assert (orphan["pod_id"], orphan["status"]) == ("tarsy-3", "in_progress")
    assert listing["limit"] == 2 and listing["now"].endswith("Z")


def test_text_listing_has_a_heading_per_step_a_table_and_the_rest_counted(db, config_file):
    _seed()
    text = _list("--limit", "2", "--config", str(config_file))
    lines = text.splitlines()
    assert lines[0].startswith("Dry run at ") and lines[0].endswith(": nothing was changed.")
    assert "orphans / orphans_marked: orphans_marked 4" in lines
    assert "retention / soft_deleted: soft_deleted 11" in lines
    assert "retention / purged: purged 5" in lines
    assert "retention / events_expired: events_expired 0" in lines
    heading = lines.index("retention / soft_deleted: soft_deleted 11")
    header, first, second, more = lines[heading + 1 : heading + 5]
    assert header.split() == ["SESSION_ID", "STATUS", "CREATED_AT", "COMPLETED_AT", "ALERT_TYPE"]
    assert first.split()[1] == "timed_out" and second.split()[1] == "failed"
    assert more == "  ... and 9 more (--limit to see more)"


@pytest.mark.parametrize(
    "args",
    [
        ["--list"],
        ["--list", "--once"],
        ["--list", "--dry-run"],
        ["--once", "--dry-run", "--format", "json"],
        ["--once", "--dry-run", "--limit", "3"],
    ],
)
def test_listing_options_need_once_dry_run_list(db, args):
    with pytest.raises(CommandError, match="go together with --once --dry-run") as raised:
        call_command("run_cleanup", *args)
    assert raised.value.returncode == 2


@pytest.mark.slow
def test_the_listing_as_a_process_prints_json_on_stdout_and_bad_input_is_one_line(
    subprocess_env, manage_py, config_file
):
    due = _seed()

    def listing(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*manage_py, "run_cleanup", "--once", "--dry-run", "--list", *args],
            env=subprocess_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    done = listing("--config", str(config_file), "--format", "json")
    assert done.returncode == 0, done.stderr
    steps = {entry["step"]: entry for entry in json.loads(done.stdout)["steps"]}
    assert {row["session_id"] for row in steps["orphans_marked"]["rows"]} == due["orphans_marked"]
    bad = listing("--config", str(config_file), "--limit", "0")
    assert bad.returncode == 2
    assert "--limit: must be at least 1, not 0" in bad.stderr
    assert "Traceback" not in bad.stderr
