"""The sweep job of ``run_cleanup`` end to end: real files, a real writer, real processes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.streaming.util import (
    OLD,
    StartWriter,
    is_locked,
    make_file,
    wait_for_content,
    write_config,
)


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


@pytest.fixture
def config_file(tmp_path: Path, base_dir: Path) -> Path:
    return write_config(
        tmp_path / "tarsy.yaml", base_dir, flush_interval_seconds=1, file_retention_minutes=10
    )


@pytest.mark.slow
def test_run_cleanup_once_deletes_old_completed_files_and_keeps_the_active_one(
    base_dir: Path,
    config_file: Path,
    subprocess_env: dict[str, str],
    manage_py: list[str],
    start_writer: StartWriter,
) -> None:
    base_dir.mkdir()
    old = make_file(base_dir / "old-completed.log", b"x" * 1234)
    young = make_file(base_dir / "young-completed.log", b"recent", mtime=None)
    other = make_file(base_dir / "notes.txt", b"not a log")

    active = base_dir / "active-session.log"
    writer = start_writer("active-session")
    writer.send(b"first line\n")
    wait_for_content(active, b"first line\n")
    assert is_locked(active)
    os.utime(active, (OLD, OLD))  # old by mtime, but its writer holds the lock

    sweep = _run_cleanup_once(manage_py, subprocess_env, config_file)
    assert not old.exists()
    assert young.exists() and other.exists() and active.exists()
    assert sweep["outcome"] == "success"
    assert sweep["deleted"] == 1
    assert sweep["bytes_freed"] == 1234
    assert sweep["skipped_active"] == 1
    assert sweep["kept_young"] == 1
    assert sweep["errors"] == 0

    writer.send(b"second line\n")
    writer.finish()
    assert active.read_bytes() == b"first line\nsecond line\n"

    # Completed: kept while young, deleted once past the window.
    sweep = _run_cleanup_once(manage_py, subprocess_env, config_file)
    assert active.exists() and sweep["deleted"] == 0 and sweep["skipped_active"] == 0
    os.utime(active, (OLD, OLD))
    sweep = _run_cleanup_once(manage_py, subprocess_env, config_file)
    assert not active.exists()
    assert sweep["deleted"] == 1 and sweep["bytes_freed"] == len(b"first line\nsecond line\n")
    assert young.exists() and other.exists()
