"""Emergency cleanup under disk pressure, on real files with a real writer process.

``max_dir_mb`` is passed with files larger than a MiB in total; ``min_free_percent: 100``
always reports pressure (no filesystem is entirely free), so every completed file must go.
Whatever the pressure, a locked file stays.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from streaming.pressure import PressureLimits
from streaming.sweeper import sweep
from tests.streaming.util import (
    StartWriter,
    WriterProcess,
    is_locked,
    make_file,
    wait_for_content,
    write_config,
)

KIB = 1024
WINDOW = timedelta(minutes=10)
COMPLETED = 400 * KIB
ACTIVE = 300 * KIB


@pytest.fixture
def config_file(tmp_path: Path, base_dir: Path) -> Path:
    return write_config(tmp_path / "tarsy.yaml", base_dir, flush_interval_seconds=1)


def young_completed_files(base_dir: Path, now: float) -> list[Path]:
    """Five completed files of 400 KiB inside the window, oldest first (50 s to 10 s old)."""
    return [
        make_file(base_dir / f"done-{n}.log", bytes([65 + n]) * COMPLETED, mtime=now - 50 + 10 * n)
        for n in range(5)
    ]


def active_writer(base_dir: Path, start_writer: StartWriter, now: float) -> WriterProcess:
    """A writer process holding a 300 KiB file, made the oldest file of all (100 s old)."""
    writer = start_writer("active")
    path = base_dir / "active.log"
    writer.send(b"a" * ACTIVE)
    wait_for_content(path, b"a" * ACTIVE)
    assert is_locked(path)
    os.utime(path, (now - 100, now - 100))
    return writer


def survivors(base_dir: Path) -> list[str]:
    return sorted(p.name for p in base_dir.iterdir())


@dataclass
class Crowded:
    """A directory over the limits: an active writer and five young completed files."""

    now: float
    writer: WriterProcess
    done: list[Path]


@pytest.fixture
def crowded(base_dir: Path, start_writer: StartWriter, caplog: pytest.LogCaptureFixture) -> Crowded:
    caplog.set_level(logging.WARNING, logger="streaming")
    now = time.time()
    writer = active_writer(base_dir, start_writer, now)
    return Crowded(now, writer, young_completed_files(base_dir, now))


def test_over_max_dir_mb_young_files_go_oldest_first_until_under_it_and_the_active_one_stays(
    base_dir: Path, crowded: Crowded, caplog: pytest.LogCaptureFixture
) -> None:
    now, writer, done = crowded.now, crowded.writer, crowded.done
    # 300 KiB + 5 x 400 KiB = 2300 KiB; under 1 MiB once four completed files are gone.
    result = sweep(base_dir, retention=WINDOW, now=now, max_dir_mb=1)

    assert survivors(base_dir) == ["active.log", "done-4.log"]
    assert result.as_counts() == {
        "deleted": 0,
        "bytes_freed": 0,
        "skipped_active": 0,
        "kept_young": 2,
        "errors": 0,
        "pressure_deleted": 4,
        "pressure_bytes_freed": 4 * COMPLETED,
        "stale_active": 0,
        "files_on_disk": 2,
        "bytes_on_disk": ACTIVE + COMPLETED,
    }
    assert result.bytes_on_disk <= 1024 * KIB
    (warning,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.levelno == logging.WARNING
    assert (warning.pressure_deleted, warning.pressure_bytes_freed) == (4, 4 * COMPLETED)
    assert warning.over_dir_limit is True and warning.max_dir_mb == 1
    assert warning.dir_bytes == ACTIVE + 5 * COMPLETED  # what the directory held before
    assert warning.pressure_remains is False
    assert done[4].read_bytes() == bytes([69]) * COMPLETED

    # Back under the limit: the next sweep deletes nothing and warns no more.
    caplog.clear()
    again = sweep(base_dir, retention=WINDOW, now=now, max_dir_mb=1)
    assert (again.pressure_deleted, again.kept_young) == (0, 2)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    writer.send(b"end\n")
    writer.finish()
    assert (base_dir / "active.log").read_bytes() == b"a" * ACTIVE + b"end\n"


def test_min_free_percent_100_deletes_every_completed_file_and_never_an_active_one(
    base_dir: Path, crowded: Crowded, caplog: pytest.LogCaptureFixture
) -> None:
    now, writer = crowded.now, crowded.writer
    old = make_file(base_dir / "old.log", b"o" * 10)  # past the window: the regular pass

    result = sweep(base_dir, retention=WINDOW, now=now, min_free_percent=100)

    assert survivors(base_dir) == ["active.log"]
    assert not old.exists()
    assert (result.deleted, result.bytes_freed) == (1, 10)
    assert (result.pressure_deleted, result.pressure_bytes_freed) == (5, 5 * COMPLETED)
    assert (result.kept_young, result.skipped_active, result.errors) == (1, 0, 0)
    assert (result.files_on_disk, result.bytes_on_disk) == (1, ACTIVE)
    assert result.free_ratio is not None and 0 < result.free_ratio < 1
    (warning,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.low_on_space is True and warning.min_free_percent == 100
    assert warning.pressure_remains is True  # nothing left that may go
    assert is_locked(base_dir / "active.log")
    writer.finish()
    assert (base_dir / "active.log").read_bytes() == b"a" * ACTIVE


def test_a_dry_run_under_pressure_counts_what_would_go_and_deletes_nothing(
    base_dir: Path,
) -> None:
    base_dir.mkdir()
    now = time.time()
    young_completed_files(base_dir, now)
    result = sweep(base_dir, retention=WINDOW, now=now, max_dir_mb=1, dry_run=True)
    assert (result.pressure_deleted, result.pressure_bytes_freed) == (3, 3 * COMPLETED)
    assert (result.files_on_disk, result.bytes_on_disk) == (2, 2 * COMPLETED)  # would be
    assert len(survivors(base_dir)) == 5
    # The real sweep does what the dry run said.
    real = sweep(base_dir, retention=WINDOW, now=now, max_dir_mb=1)
    assert (real.pressure_deleted, real.pressure_bytes_freed) == (3, 3 * COMPLETED)
    assert survivors(base_dir) == ["done-3.log", "done-4.log"]


def test_without_pressure_the_window_is_kept(
    base_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="streaming")
    base_dir.mkdir()
    now = time.time()
    young_completed_files(base_dir, now)
    result = sweep(base_dir, retention=WINDOW, now=now, max_dir_mb=3, min_free_percent=0.001)
    assert (result.pressure_deleted, result.kept_young, result.files_on_disk) == (0, 5, 5)
    assert result.bytes_on_disk == 5 * COMPLETED
    assert len(survivors(base_dir)) == 5
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_locked_file_past_max_session_age_counts_as_stale_active(base_dir: Path) -> None:
    base_dir.mkdir()
    now = time.time()
    stale = make_file(base_dir / "stale.log", mtime=now - 2 * 3600)
    recent = make_file(base_dir / "recent.log", mtime=now - 1800)
    unlocked = make_file(base_dir / "band.log", mtime=now - 2 * 3600)
    fds = [os.open(path, os.O_RDONLY) for path in (stale, recent)]
    try:
        for fd in fds:
            fcntl.flock(fd, fcntl.LOCK_EX)
        hour = timedelta(hours=1)
        result = sweep(base_dir, retention=WINDOW, now=now, max_session_age=hour)
        assert (result.skipped_active, result.stale_active, result.deleted) == (2, 1, 1)
        assert not unlocked.exists()
        # A window longer than the session age: stale files inside it are still found.
        make_file(unlocked, mtime=now - 2 * 3600)
        result = sweep(base_dir, retention=timedelta(hours=3), now=now, max_session_age=hour)
        assert (result.skipped_active, result.stale_active) == (1, 1)
        assert (result.kept_young, result.deleted) == (2, 0)
        assert sweep(base_dir, retention=WINDOW, now=now).stale_active == 0  # not asked
    finally:
        for fd in fds:
            os.close(fd)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"min_free_percent": -1}, "min_free_percent must be 0 to 100"),
        ({"min_free_percent": 101}, "min_free_percent must be 0 to 100"),
        ({"max_dir_mb": 0}, "max_dir_mb must be at least 1"),
    ],
)
def test_limits_out_of_range_are_refused_before_anything_is_touched(
    base_dir: Path, limits: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PressureLimits(**limits)
    base_dir.mkdir()
    old = make_file(base_dir / "old.log")
    with pytest.raises(ValueError, match=message):
        sweep(base_dir, retention=WINDOW, **limits)
    assert old.exists()
