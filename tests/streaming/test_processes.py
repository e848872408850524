"""Writers in real ``manage.py stream_session`` processes against real sweeps.

The sweeper tells an active file only by the writer's ``flock``, so these tests need separate
processes: a lock held by another process is the whole protocol.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from streaming.sweeper import SweepResult, sweep
from tests.streaming.util import SLACK, is_locked, read_or_none, wait_for

MANAGE = Path(__file__).resolve().parents[2] / "manage.py"
ZERO = timedelta(0)
OLD = time.time() - 3600
# Starting a Django process on a busy two-core machine can take a few seconds each.
START_TIMEOUT = 90.0

Writer = Callable[..., subprocess.Popen]


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    return tmp_path / "streaming"


@pytest.fixture
def config_file(tmp_path: Path, base_dir: Path) -> Path:
    path = tmp_path / "tarsy.yaml"
    path.write_text(
        "system:\n"
        "  streaming_logs:\n"
        f"    base_dir: {base_dir}\n"
        "    flush_interval_seconds: 1\n"
        "    file_retention_minutes: 0\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def env() -> dict[str, str]:
    """The command needs no database; it must not depend on the test settings either."""
    environ = dict(os.environ)
    for name in ("TARSY_CONFIG", "DJANGO_SETTINGS_MODULE", "LOG_FORMAT"):
        environ.pop(name, None)
    environ["SECRET_KEY"] = "tests-only-not-secret"
    environ["PYTHONUNBUFFERED"] = "1"
    return environ


@pytest.fixture
def start_writer(tmp_path: Path, config_file: Path, env: dict[str, str]):
    """Start ``stream_session <id>`` with a pipe on stdin; stops leftovers at teardown."""
    started: list[subprocess.Popen] = []
    logs = tmp_path / "stderr"
    logs.mkdir()

    def start(session_id: str, *extra: str) -> subprocess.Popen:
        stderr = open(logs / f"{len(started)}.txt", "wb")
        proc = subprocess.Popen(
            [sys.executable, str(MANAGE), "stream_session", session_id, *extra]
            + ["--config", str(config_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
            cwd=tmp_path,
        )
        stderr.close()
        proc.stderr_path = logs / f"{len(started)}.txt"  # type: ignore[attr-defined]
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stderr_of(proc: subprocess.Popen) -> str:
    return proc.stderr_path.read_text(errors="replace")  # type: ignore[attr-defined]


def send(proc: subprocess.Popen, data: bytes) -> None:
    assert proc.stdin is not None
    proc.stdin.write(data)
    proc.stdin.flush()


def finish(proc: subprocess.Popen) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=START_TIMEOUT) == 0, stderr_of(proc)


def test_an_active_file_is_never_swept_and_a_completed_one_goes_after_the_window(
    base_dir: Path, start_writer: Writer
) -> None:
    active = base_dir / "active-1.log"
    writer = start_writer("active-1")
    send(writer, b"hello\n")
    wait_for(lambda: read_or_none(active) == b"hello\n", START_TIMEOUT)
    assert is_locked(active)

    # A session that ran to completion in its own process, and an old leftover.
    done = start_writer("done-1")
    send(done, b"finished session\n")
    finish(done)
    assert (base_dir / "done-1.log").read_bytes() == b"finished session\n"
    leftover = base_dir / "leftover.log"
    leftover.write_bytes(b"old\n")
    os.utime(leftover, (OLD, OLD))

    # However old the active file looks, only its lock decides.
    os.utime(active, (OLD, OLD))
    first = sweep(base_dir, retention=ZERO)
    assert (first.deleted, first.skipped_active, first.errors) == (2, 1, 0)
    for _ in range(20):
        again = sweep(base_dir, retention=ZERO)
        assert (again.deleted, again.skipped_active) == (0, 1)
    assert sorted(p.name for p in base_dir.iterdir()) == ["active-1.log"]

    send(writer, b"still streaming\n")
    wait_for(lambda: read_or_none(active) == b"hello\nstill streaming\n", 1.0 + SLACK)
    assert sweep(base_dir, retention=ZERO).skipped_active == 1
    finish(writer)
    assert active.read_bytes() == b"hello\nstill streaming\n"
    assert not is_locked(active)

    # Completed: kept for the window, deleted after it.
    window = timedelta(seconds=1.5)
    assert sweep(base_dir, retention=window).kept_young == 1
    assert active.exists()
    time.sleep(1.6)
    after = sweep(base_dir, retention=window)
    assert (after.deleted, after.bytes_freed) == (1, len(b"hello\nstill streaming\n"))
    assert not active.exists()


@pytest.mark.slow
def test_stress_many_writers_against_back_to_back_sweeps(
    base_dir: Path, start_writer: Writer
) -> None:
    writers = 20
    ids = [f"writer-{n:02d}" for n in range(writers)]
    base_dir.mkdir()
    # Some writers start on top of an old file of the same name, which the sweeps race to
    # delete: the writer either keeps the stale file (it locked it first) or a fresh one.
    stale = b"stale content of an earlier run\n"
    for session_id in ids[:6]:
        path = base_dir / f"{session_id}.log"
        path.write_bytes(stale)
        os.utime(path, (OLD, OLD))

    totals: list[SweepResult] = []
    stop = threading.Event()
    streaming = threading.Event()
    failures: list[BaseException] = []

    def sweep_back_to_back() -> None:
        try:
            while not stop.is_set():
                totals.append(sweep(base_dir, retention=ZERO))
                if not streaming.is_set():
                    # While the writers start, leave them the CPU (the machine may have two
                    # cores); still many sweeps race their first open against the stale files.
                    stop.wait(0.01)
        except BaseException as exc:
            failures.append(exc)

    sweeper = threading.Thread(target=sweep_back_to_back)
    sweeper.start()
    try:
        procs = [start_writer(session_id) for session_id in ids]
        sent = {session_id: bytearray() for session_id in ids}
        for session_id, proc in zip(ids, procs, strict=True):
            first = f"begin {session_id}\n".encode()
            send(proc, first)
            sent[session_id] += first
        for session_id in ids:
            marker = f"begin {session_id}\n".encode()
            path = base_dir / f"{session_id}.log"
            wait_for(lambda p=path, m=marker: m in (read_or_none(p) or b""), START_TIMEOUT)

        streaming.set()
        before_streaming = len(totals)
        rng = random.Random(20240501)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            for session_id, proc in zip(ids, procs, strict=True):
                chunk = rng.randbytes(rng.randint(1, 2000))
                send(proc, chunk)
                sent[session_id] += chunk
            time.sleep(0.02)
    finally:
        stop.set()
        sweeper.join()
    assert not failures, failures
    during = len(totals) - before_streaming
    assert during >= 20, f"only {during} sweeps ran back to back while writing"
    assert sum(t.skipped_active for t in totals) > 0
    assert sum(t.errors for t in totals) == 0
    # Deleted while writing: the stale files, and files a writer had just created but not yet
    # locked (it notices and opens again). Never one holding a byte a writer wrote.
    assert sum(t.bytes_freed for t in totals) <= 6 * len(stale)

    for proc in procs:
        finish(proc)
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
    tmp_path: Path, base_dir: Path, config_file: Path, env: dict[str, str], session_id: str
) -> None:
    before = sorted(tmp_path.rglob("*"))
    done = subprocess.run(
        [sys.executable, str(MANAGE), "stream_session", session_id, "--config", str(config_file)],
        input=b"must not land anywhere\n",
        capture_output=True,
        env={**env, "LOG_FORMAT": "json"},
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
    tmp_path: Path, base_dir: Path, env: dict[str, str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("system:\n  streaming_logs:\n    flush_interval_seconds: true\n")
    done = subprocess.run(
        [sys.executable, str(MANAGE), "stream_session", "s1", "--config", str(bad)],
        input=b"data\n",
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=START_TIMEOUT,
        check=False,
    )
    assert done.returncode != 0
    assert b"system.streaming_logs.flush_interval_seconds" in done.stderr
    assert b"Traceback" not in done.stderr
    assert not base_dir.exists()


def test_sigterm_flushes_what_was_read_and_keeps_the_file(
    base_dir: Path, start_writer: Writer
) -> None:
    writer = start_writer("killed")
    path = base_dir / "killed.log"
    send(writer, b"first\n")
    wait_for(lambda: read_or_none(path) == b"first\n", START_TIMEOUT)
    send(writer, b"unflushed\n")  # read at once, written only at the next flush
    time.sleep(0.2)
    writer.send_signal(signal.SIGTERM)
    assert writer.wait(timeout=30) == 143
    assert path.read_bytes() == b"first\nunflushed\n"
    assert not is_locked(path)
    assert "terminated" in stderr_of(writer)
