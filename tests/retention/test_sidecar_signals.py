"""``run_cleanup`` as a real process: the heartbeat keeps its interval while a job works for
longer than that."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from retention.loop import MAX_WAIT
from tests.retention.conftest import (
    REPO,
    kill_quietly,
    start,
    stop_and_wait,
    write_config,
)

pytestmark = pytest.mark.slow


FILES = 200_000  # a sweep of them takes several times MAX_WAIT
SLACK = 1.5  # seconds a wake-up may come late on a busy machine


@pytest.fixture
def many_files_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory on tmpfs when there is one (creating files on a disk is slow), removed
    afterwards."""
    shm = Path("/dev/shm")
    path = Path(tempfile.mkdtemp(prefix="tarsy-sweep-", dir=shm if shm.is_dir() else tmp_path))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_the_heartbeat_keeps_its_interval_during_a_sweep_longer_than_it(
    manage_py: list[str], cleanup_env: dict[str, str], tmp_path: Path, many_files_dir: Path
) -> None:
    sweep_dir = many_files_dir
    for index in range(FILES):
        os.close(os.open(sweep_dir / f"s-{index}.log", os.O_CREAT | os.O_WRONLY, 0o644))
    config = write_config(tmp_path, sweep_dir=sweep_dir, file_retention_minutes=0)
    heartbeat = Path(cleanup_env["TARSY_HEARTBEAT_FILE"])
    process, log = start([*manage_py, "run_cleanup", "--config", str(config)], cleanup_env, REPO)
    beats: list[float] = []  # when the test saw the heartbeat's mtime change
    seen = None
    try:
        deadline = time.monotonic() + 180
        while not log.job_runs("sweep"):
            assert time.monotonic() < deadline and process.poll() is None, log.text()
            try:
                mtime = heartbeat.stat().st_mtime_ns
            except FileNotFoundError:
                mtime = None
            if mtime is not None and mtime != seen:
                seen = mtime
                beats.append(time.monotonic())
            time.sleep(0.02)
        code, _ = stop_and_wait(process)
    finally:
        kill_quietly(process)
    log.finish()
    assert code == 0, log.text()
    (sweep,) = log.job_runs("sweep")
    assert sweep["deleted"] == FILES
    # The sweep lasted longer than the gap allowed below (else this test would prove nothing:
    # a heartbeat beaten only between runs would pass it) ...
    assert sweep["duration_ms"] > (MAX_WAIT + SLACK) * 1000, sweep
    # ... and the heartbeat was touched at least every MAX_WAIT seconds all along.
    gaps = [later - earlier for earlier, later in zip(beats, beats[1:], strict=False)]
    assert len(beats) >= sweep["duration_ms"] / 1000 / MAX_WAIT, beats
    assert max(gaps) <= MAX_WAIT + SLACK, gaps
