"""The sweep job of ``run_cleanup`` end to end: real files, a real writer, real processes."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from retention.models import CleanupRun
from tests.streaming.util import (
    OLD,
    StartWriter,
    is_locked,
    make_file,
    wait_for_content,
    write_config,
)


def _run_cleanup(
    manage_py: list[str], env: dict[str, str], config: Path, *, expect: int = 0
) -> list[dict]:
    """``run_cleanup --once`` as a process; its JSON log lines."""
    proc = subprocess.run(
        [*manage_py, "run_cleanup", "--once", "--config", str(config)],
        env={**env, "LOG_FORMAT": "json", "TARSY_HEARTBEAT_FILE": str(config.parent / "beat")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == expect, proc.stderr
    return [json.loads(line) for line in proc.stderr.splitlines()]


def _sweep_line(lines: list[dict]) -> dict:
    (sweep,) = [line for line in lines if line.get("job") == "sweep" and "outcome" in line]
    return sweep


def _run_cleanup_once(manage_py: list[str], env: dict[str, str], config: Path) -> dict:
    return _sweep_line(_run_cleanup(manage_py, env, config))


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


def _warnings(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["level"] == "WARNING"]


@pytest.mark.slow
def test_a_missing_directory_is_swept_with_one_warning_per_run(
    tmp_path: Path, base_dir: Path, subprocess_env: dict[str, str], manage_py: list[str]
) -> None:
    config = write_config(tmp_path / "tarsy.yaml", base_dir)
    for _ in range(2):
        lines = _run_cleanup(manage_py, subprocess_env, config)
        assert _sweep_line(lines)["outcome"] == "success"
        (warning,) = _warnings(lines)
        assert warning["logger"] == "streaming.sweeper"
        assert warning["message"].startswith("streaming log directory does not exist")
        assert warning["base_dir"] == str(base_dir)
    assert not base_dir.exists()


@pytest.mark.slow
def test_a_base_dir_that_is_a_symbolic_link_is_refused_and_its_target_untouched(
    tmp_path: Path, base_dir: Path, subprocess_env: dict[str, str], manage_py: list[str]
) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    precious = make_file(target / "someone-elses.log", b"not ours\n")
    base_dir.symlink_to(target)
    config = write_config(tmp_path / "tarsy.yaml", base_dir)

    lines = _run_cleanup(manage_py, subprocess_env, config, expect=1)
    sweep = _sweep_line(lines)
    assert sweep["outcome"] == "failed"
    assert f"{base_dir} is a symbolic link (to {target})" in sweep["error"]
    assert "set system.streaming_logs.base_dir to the directory itself" in sweep["error"]
    assert precious.read_bytes() == b"not ours\n"
    (start,) = [line for line in lines if line["message"] == "streaming log sweep directory"]
    assert start["directory"] == str(base_dir)


@pytest.mark.slow
def test_links_above_base_dir_are_resolved_once_and_the_resolved_directory_logged(
    tmp_path: Path, subprocess_env: dict[str, str], manage_py: list[str]
) -> None:
    real_parent = tmp_path / "real"
    (real_parent / "streaming").mkdir(parents=True)
    old = make_file(real_parent / "streaming" / "old.log", b"x" * 7)
    (tmp_path / "via-link").symlink_to(real_parent)
    config = write_config(tmp_path / "tarsy.yaml", tmp_path / "via-link" / "streaming")

    lines = _run_cleanup(manage_py, subprocess_env, config)
    (start,) = [line for line in lines if line["message"] == "streaming log sweep directory"]
    assert start["base_dir"] == str(tmp_path / "via-link" / "streaming")
    assert start["directory"] == str(real_parent / "streaming")
    sweep = _sweep_line(lines)
    assert (sweep["outcome"], sweep["deleted"], sweep["bytes_freed"]) == ("success", 1, 7)
    assert not old.exists()


@pytest.mark.slow
def test_the_run_record_says_what_was_freed_under_pressure(
    tmp_path: Path,
    base_dir: Path,
    subprocess_env: dict[str, str],
    manage_py: list[str],
    start_writer: StartWriter,
) -> None:
    config = write_config(tmp_path / "pressure.yaml", base_dir, max_dir_mb=1)
    base_dir.mkdir()
    now = time.time()
    for n in range(4):  # 4 x 400 KiB inside the window, oldest first
        make_file(base_dir / f"done-{n}.log", b"d" * 400 * 1024, mtime=now - 40 + 10 * n)
    active = base_dir / "active-session.log"
    writer = start_writer("active-session")
    big = b"z" * (1024 * 1024 + 1)  # locked and alone over the limit: it must stay anyway
    writer.send(big)
    wait_for_content(active, big)

    lines = _run_cleanup(manage_py, subprocess_env, config)
    sweep = _sweep_line(lines)
    assert sweep["outcome"] == "success"
    assert (sweep["pressure_deleted"], sweep["pressure_bytes_freed"]) == (4, 4 * 400 * 1024)
    assert (sweep["deleted"], sweep["files_on_disk"]) == (0, 1)
    (warning,) = _warnings(lines)
    assert warning["message"].startswith("streaming log directory under disk pressure")
    assert warning["pressure_remains"] is True
    assert sorted(p.name for p in base_dir.iterdir()) == ["active-session.log"]
    assert is_locked(active)

    (run,) = CleanupRun.objects.filter(job="sweep")
    assert run.counts["pressure_deleted"] == 4
    assert run.counts["pressure_bytes_freed"] == 4 * 400 * 1024
    assert run.counts["deleted"] == 0
    writer.finish()
