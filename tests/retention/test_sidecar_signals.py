"""``run_cleanup`` as a real process: SIGHUP reloads its configuration, and the heartbeat keeps
its interval while a job works for longer than that."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from retention.loop import MAX_WAIT
from tests.retention.conftest import (
    LogRecord,
    ProcessLog,
    run_line,
    running,
    stop_within_5s,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.slow


def message(text: str) -> Callable[[LogRecord], bool]:
    return lambda r: r["message"].startswith(text)


def retention_runs_after(log: ProcessLog, index: int, count: int) -> int:
    """Wait for ``count`` retention runs after record ``index``; the index of the last."""
    for _ in range(count):
        index = log.wait_for(run_line("retention", "success"), timeout=20, after=index + 1)
    return index


def test_sighup_reloads_the_configuration_and_keeps_it_when_the_new_file_is_bad(
    manage_py: list[str], cleanup_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    config = write_config(tmp_path, sweep_dir=sweep_dir, cleanup_interval="1h")
    argv = [*manage_py, "run_cleanup", "--config", str(config)]
    with running(argv, cleanup_env) as (process, log):
        first = log.wait_for(run_line("retention", "success"), timeout=60)
        write_config(tmp_path, sweep_dir=sweep_dir, cleanup_interval="1s", batch_size=7)
        process.send_signal(signal.SIGHUP)
        reloaded = log.wait_for(message("configuration reloaded"), timeout=20, after=first)
        record: LogRecord = log.records[reloaded]
        assert record["config"]["retention"]["cleanup_interval"] == "1s"
        assert record["config"]["retention"]["batch_size"] == 7
        assert record["jobs"] == ["orphans", "retention", "sweep"]
        # The new interval applies: retention, due in an hour before, now runs every second.
        after_reload = retention_runs_after(log, reloaded, 2)

        config.write_text(config.read_text().replace("1s", "7d"), encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        refused = log.wait_for(message("configuration reload failed"), timeout=20)
        assert refused > after_reload
        error = log.records[refused]
        assert error["level"] == "ERROR"
        assert "system.retention.cleanup_interval" in error["error"] and "'7d'" in error["error"]
        # The configuration it had goes on: still every second, and the process is alive.
        retention_runs_after(log, refused, 2)
        assert process.poll() is None
        stop_within_5s(process, log)
    assert log.records[-1]["message"] == "cleanup stopped"


FILES = 300_000  # a sweep of them takes several times MAX_WAIT
SLACK = 1.0  # seconds a wake-up may come late on a busy machine


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
    beats: list[float] = []  # when the test saw the heartbeat's mtime change
    seen: list[int] = []

    def swept_while_watching_beats() -> bool:
        with suppress(FileNotFoundError):
            mtime = heartbeat.stat().st_mtime_ns
            if mtime not in seen[-1:]:
                seen.append(mtime)
                beats.append(time.monotonic())
        return bool(log.job_runs("sweep"))

    argv = [*manage_py, "run_cleanup", "--config", str(config)]
    with running(argv, cleanup_env) as (process, log):
        wait_until(swept_while_watching_beats, process, log, timeout=180)
        stop_within_5s(process, log)
    (sweep,) = log.job_runs("sweep")
    assert sweep["deleted"] == FILES
    # The sweep lasted longer than the gap allowed below (else this test would prove nothing:
    # a heartbeat beaten only between runs would pass it) ...
    assert sweep["duration_ms"] > (MAX_WAIT + SLACK) * 1000, sweep
    # ... and the heartbeat was touched at least every MAX_WAIT seconds all along.
    gaps = [later - earlier for earlier, later in zip(beats, beats[1:], strict=False)]
    assert len(beats) >= sweep["duration_ms"] / 1000 / MAX_WAIT, beats
    assert max(gaps) <= MAX_WAIT + SLACK, gaps
