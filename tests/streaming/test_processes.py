"""Writers in real ``manage.py stream_session`` processes against real sweeps.

The sweeper tells an active file only by the writer's ``flock``, so these tests need separate
processes: a lock held by another process is the whole protocol.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from streaming.sweeper import SweepResult, sweep
from tests.polling import wait_for
from tests.streaming.util import (
    OLD,
    SLACK,
    START_TIMEOUT,
    StartWriter,
    WriterProcess,
    is_locked,
    make_file,
    read_or_none,
    wait_for_content,
    write_config,
)

ZERO = timedelta(0)


@pytest.fixture
def config_file(tmp_path: Path, base_dir: Path) -> Path:
    return write_config(
        tmp_path / "tarsy.yaml", base_dir, flush_interval_seconds=1, file_retention_minutes=0
    )


def test_an_active_file_is_never_swept_and_a_completed_one_goes_after_the_window(
    base_dir: Path, start_writer: StartWriter
) -> None:
    active = base_dir / "active-1.log"
    writer = start_writer("active-1")
    writer.send(b"hello\n")
    wait_for_content(active, b"hello\n")
    assert is_locked(active)

    # A session that ran to completion in its own process, and an old leftover.
    done = start_writer("done-1")
    done.send(b"finished session\n")
    done.finish()
    assert (base_dir / "done-1.log").read_bytes() == b"finished session\n"
    make_file(base_dir / "leftover.log", b"old\n")

    # However old the active file looks, only its lock decides.
    os.utime(active, (OLD, OLD))
    first = sweep(base_dir, retention=ZERO)
    assert (first.deleted, first.skipped_active, first.errors) == (2, 1, 0)
    for _ in range(20):
        again = sweep(base_dir, retention=ZERO)
        assert (again.deleted, again.skipped_active) == (0, 1)
    assert sorted(p.name for p in base_dir.iterdir()) == ["active-1.log"]

    writer.send(b"still streaming\n")
    wait_for_content(active, b"hello\nstill streaming\n", 1.0 + SLACK)
    assert sweep(base_dir, retention=ZERO).skipped_active == 1
    writer.finish()
    assert active.read_bytes() == b"hello\nstill streaming\n"
    assert not is_locked(active)

    # Completed: kept for the window, deleted after it (a sweep 1.6 s from now).
    window = timedelta(seconds=1.5)
    assert sweep(base_dir, retention=window).kept_young == 1
    assert active.exists()
    after = sweep(base_dir, retention=window, now=time.time() + 1.6)
    assert (after.deleted, after.bytes_freed) == (1, len(b"hello\nstill streaming\n"))
    assert not active.exists()


class BackToBackSweeps:
    """Sweeps ``base_dir`` (zero window) in a loop on a thread, from ``with`` to its end."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.totals: list[SweepResult] = []
        self.failures: list[BaseException] = []
        # Until set, each sweep is followed by a short pause: see _run.
        self.streaming = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> BackToBackSweeps:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.totals.append(sweep(self.base_dir, retention=ZERO))
                if not self.streaming.is_set():
                    # While the writers start, leave them the CPU (the machine may have two
                    # cores); still many sweeps race their first open against the stale files.
                    self._stop.wait(0.01)
        except BaseException as exc:
            self.failures.append(exc)


def start_sessions(
    base_dir: Path, start_writer: StartWriter, ids: list[str]
) -> tuple[list[WriterProcess], dict[str, bytearray]]:
    """One writer per id, each past its first line on disk; returns them and what each got."""
    procs = [start_writer(session_id) for session_id in ids]
    sent = {session_id: bytearray() for session_id in ids}
    for session_id, proc in zip(ids, procs, strict=True):
        first = f"begin {session_id}\n".encode()
        proc.send(first)
        sent[session_id] += first
    for session_id in ids:
        marker = f"begin {session_id}\n".encode()
        path = base_dir / f"{session_id}.log"
        wait_for(lambda p=path, m=marker: m in (read_or_none(p) or b""), START_TIMEOUT)
    return procs, sent


def stream_random_chunks(
    ids: list[str], procs: list[WriterProcess], sent: dict[str, bytearray], seconds: float
) -> None:
    """Send every writer a random chunk every 20 ms for ``seconds``, recording what was sent."""
    rng = random.Random(20240501)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for session_id, proc in zip(ids, procs, strict=True):
            chunk = rng.randbytes(rng.randint(1, 2000))
            proc.send(chunk)
            sent[session_id] += chunk
        time.sleep(0.02)


@pytest.mark.slow
def test_stress_many_writers_against_back_to_back_sweeps(
    base_dir: Path, start_writer: StartWriter
) -> None:
    writers = 20
    ids = [f"writer-{n:02d}" for n in range(writers)]
    base_dir.mkdir()
    # Some writers start on top of an old file of the same name, which the sweeps race to
    # delete: the writer either keeps the stale file (it locked it first) or a fresh one.
    stale = b"stale content of an earlier run\n"
    for session_id in ids[:6]:
        make_file(base_dir / f"{session_id}.log", stale)

    with BackToBackSweeps(base_dir) as sweeps:
        procs, sent = start_sessions(base_dir, start_writer, ids)
        sweeps.streaming.set()
        before_streaming = len(sweeps.totals)
        stream_random_chunks(ids, procs, sent, seconds=3.0)
    totals = sweeps.totals
    assert not sweeps.failures, sweeps.failures
    during = len(totals) - before_streaming
    assert during >= 20, f"only {during} sweeps ran back to back while writing"
    assert sum(t.skipped_active for t in totals) > 0
    assert sum(t.errors for t in totals) == 0
    # Deleted while writing: the stale files, and files a writer had just created but not yet
    # locked (it notices and opens again). Never one holding a byte a writer wrote.
    assert sum(t.bytes_freed for t in totals) <= 6 * len(stale)

    for proc in procs:
        proc.finish()
    for session_id in ids:
        content = (base_dir / f"{session_id}.log").read_bytes()
        expected = bytes(sent[session_id])
        assert content in (expected, stale + expected), (
            f"{session_id}: {len(content)} bytes on disk, {len(expected)} sent"
        )
        assert len(expected) > 10_000

    after = sweep(base_dir, retention=ZERO)
    assert (after.deleted, after.skipped_active, after.errors) == (writers, 0, 0)
    assert list(base_dir.iterdir()) == []


# A NUL byte cannot travel in argv; test_logger.py covers it in-process.
@pytest.mark.parametrize("session_id", ["../x", "a/b", "", "x" * 10_000])
def test_bad_ids_exit_non_zero_and_create_nothing(
    tmp_path: Path,
    config_file: Path,
    command_env: dict[str, str],
    manage_py: list[str],
    session_id: str,
) -> None:
    before = sorted(tmp_path.rglob("*"))
    done = subprocess.run(
        [*manage_py, "stream_session", session_id, "--config", str(config_file)],
        input=b"must not land anywhere\n",
        capture_output=True,
        env={**command_env, "LOG_FORMAT": "json"},
        cwd=tmp_path,
        timeout=START_TIMEOUT,
        check=False,
    )
    assert done.returncode != 0
    # In JSON mode even the error the command exits with is a JSON line.
    lines = [json.loads(line) for line in done.stderr.decode().splitlines()]
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["message"].startswith("invalid session id")
    assert len(errors[0]["message"]) < 300
    assert sorted(tmp_path.rglob("*")) == before
    assert not (tmp_path.parent / "x.log").exists()


def test_a_bad_config_exits_non_zero_with_the_key_path(
    tmp_path: Path, base_dir: Path, command_env: dict[str, str], manage_py: list[str]
) -> None:
    bad = write_config(tmp_path / "bad.yaml", base_dir, flush_interval_seconds="true")
    done = subprocess.run(
        [*manage_py, "stream_session", "s1", "--config", str(bad)],
        input=b"data\n",
        capture_output=True,
        env=command_env,
        cwd=tmp_path,
        timeout=START_TIMEOUT,
        check=False,
    )
    assert done.returncode != 0
    assert b"system.streaming_logs.flush_interval_seconds" in done.stderr
    assert b"Traceback" not in done.stderr
    assert not base_dir.exists()
