"""The sweep job of ``run_cleanup`` end to end: real files, a real writer, real processes."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.streaming.util import is_locked, wait_for

HOUR_AGO = time.time() - 3600


def _run_cleanup_once(manage_py: list[str], env: dict[str, str], config: Path) -> dict:
    proc = subprocess.run(
        [*manage_py, "run_cleanup", "--once", "--config", str(config)],
        env={**env, "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stderr.splitlines()]
    (sweep,) = [line for line in lines if line.get("job") == "sweep" and "outcome" in line]
    return sweep


@pytest.mark.slow
def test_run_cleanup_once_deletes_old_completed_files_and_keeps_the_active_one(
    tmp_path: Path, subprocess_env: dict[str, str], manage_py: list[str]
) -> None:
    base_dir = tmp_path / "streaming"
    base_dir.mkdir()
    config = tmp_path / "tarsy.yaml"
    config.write_text(
        "system:\n"
        "  streaming_logs:\n"
        f"    base_dir: {base_dir}\n"
        "    flush_interval_seconds: 1\n"
        "    file_retention_minutes: 10\n"
    )
    old = base_dir / "old-completed.log"
    old.write_bytes(b"x" * 1234)
    os.utime(old, (HOUR_AGO, HOUR_AGO))
    young = base_dir / "young-completed.log"
    young.write_bytes(b"recent")
    other = base_dir / "notes.txt"
    other.write_text("not a log")
    os.utime(other, (HOUR_AGO, HOUR_AGO))

    active = base_dir / "active-session.log"
    writer = subprocess.Popen(
        [*manage_py, "stream_session", "active-session", "--config", str(config)],
        env=subprocess_env,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert writer.stdin is not None
        writer.stdin.write(b"first line\n")
        writer.stdin.flush()
        wait_for(lambda: active.exists() and active.read_bytes() == b"first line\n", 30)
        assert is_locked(active)
        os.utime(active, (HOUR_AGO, HOUR_AGO))  # old by mtime, but its writer holds the lock

        sweep = _run_cleanup_once(manage_py, subprocess_env, config)
        assert not old.exists()
        assert young.exists() and other.exists() and active.exists()
        assert sweep["outcome"] == "success"
        assert sweep["deleted"] == 1
        assert sweep["bytes_freed"] == 1234
        assert sweep["skipped_active"] == 1
        assert sweep["kept_young"] == 1
        assert sweep["errors"] == 0

        writer.stdin.write(b"second line\n")
        writer.stdin.close()
        assert writer.wait(timeout=60) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert active.read_bytes() == b"first line\nsecond line\n"

    # Completed: kept while young, deleted once past the window.
    sweep = _run_cleanup_once(manage_py, subprocess_env, config)
    assert active.exists() and sweep["deleted"] == 0 and sweep["skipped_active"] == 0
    os.utime(active, (HOUR_AGO, HOUR_AGO))
    sweep = _run_cleanup_once(manage_py, subprocess_env, config)
    assert not active.exists()
    assert sweep["deleted"] == 1 and sweep["bytes_freed"] == len(b"first line\nsecond line\n")
    assert young.exists() and other.exists()
