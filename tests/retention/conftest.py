"""Helpers for the cleanup sidecar's tests: config files, backlogs, and live process logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from retention.registry import Job, registry
from sessions.models import AlertSession, Event, SessionStatus
from tarsy_project.config import TarsyConfig
from tests.retention.pg_cluster import Cluster, can_run_clusters, throwaway_cluster

LogRecord = dict[str, Any]
REPO = Path(__file__).resolve().parents[2]

REPO = Path(__file__).resolve().parents[2]

requires_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL behaviour (row locks, SKIP LOCKED, server restarts); "
    "runs when DATABASE_URL points at PostgreSQL",
)


def job_for(name: str, **sections: Any) -> Job:
    """Job ``name`` as the registry builds it from a TarsyConfig of ``sections`` (the rest
    default), with the steps every app contributes to it."""
    (job,) = [job for job in registry.build_jobs(TarsyConfig(**sections)) if job.name == name]
    return job


def write_config(
    directory: Path,
    *,
    sweep_dir: Path,
    cleanup_interval: str = "1h",
    sweep_interval: int = 60,
    batch_size: int = 1000,
    extra_retention: str = "",
    file_retention_minutes: int = 10,
) -> Path:
    """A tarsy.yaml with short intervals and the sweeper pointed at ``sweep_dir``."""
    path = directory / "tarsy.yaml"
    path.write_text(
        "system:\n"
        "  retention:\n"
        "    session_retention_days: 30\n"
        "    event_ttl: 1h\n"
        f"    cleanup_interval: {cleanup_interval}\n"
        f"    batch_size: {batch_size}\n"
        f"{extra_retention}"
        "  streaming_logs:\n"
        f"    base_dir: {sweep_dir}\n"
        f"    cleanup_interval_seconds: {sweep_interval}\n"
        f"    file_retention_minutes: {file_retention_minutes}\n",
        encoding="utf-8",
    )
    return path


@dataclass(frozen=True)
class Backlog:
    """What a seeded backlog holds that a run with ``session_retention_days: 30`` and
    ``event_ttl: 1h`` must change, and what it must leave."""

    old_sessions: int
    young_sessions: int
    old_events: int
    young_events: int


def seed_backlog(
    *, old_sessions: int, young_sessions: int = 20, old_events: int = 0, young_events: int = 10
) -> Backlog:
    """Bulk-create sessions past and within 30 days' retention, and events past and within 1h.

    Every old session has a distinct ``completed_at`` (and every event a distinct
    ``created_at``), so each batch window holds exactly ``batch_size`` rows.
    """
    now = timezone.now()
    base = now - timedelta(days=60)
    sessions = [
        AlertSession(
            session_id=str(uuid.uuid4()),
            agent_type="kubernetes",
            status=SessionStatus.COMPLETED,
            created_at=base + timedelta(seconds=i),
            completed_at=base + timedelta(seconds=i, milliseconds=500),
        )
        for i in range(old_sessions)
    ]
    sessions += [
        AlertSession(
            session_id=str(uuid.uuid4()),
            agent_type="kubernetes",
            status=SessionStatus.COMPLETED,
            created_at=now - timedelta(days=1, seconds=i),
            completed_at=now - timedelta(days=1, seconds=i) + timedelta(minutes=1),
        )
        for i in range(young_sessions)
    ]
    # An in-progress session far older than retention: never touched (orphan detection owns it).
    sessions.append(
        AlertSession(
            session_id=str(uuid.uuid4()),
            agent_type="kubernetes",
            status=SessionStatus.IN_PROGRESS,
            created_at=base,
        )
    )
    AlertSession.all_objects.bulk_create(sessions, batch_size=1000)
    owner = sessions[-1]
    events = [
        Event(session=owner, channel="c", created_at=now - timedelta(hours=3, seconds=i))
        for i in range(old_events)
    ]
    events += [
        Event(session=owner, channel="c", created_at=now - timedelta(minutes=10, seconds=i))
        for i in range(young_events)
    ]
    Event.objects.bulk_create(events, batch_size=1000)
    return Backlog(old_sessions, young_sessions + 1, old_events, young_events)


def deleted_count() -> int:
    return AlertSession.all_objects.filter(deleted_at__isnull=False).count()


class ProcessLog:
    """Reads a process's stderr on a thread, keeping every line and every JSON record."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self.records: list[LogRecord] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                if isinstance(record, dict):
                    self.records.append(record)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(
        self, predicate: Callable[[LogRecord], bool], *, timeout: float, after: int = 0
    ) -> int:
        """Index of the first record from ``after`` on that matches; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(after, len(self.records)):
                    if predicate(self.records[index]):
                        return index
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    break
                self._changed.wait(remaining)
        raise AssertionError(
            f"no matching log line within {timeout}s; stderr so far:\n" + self.text()
        )

    def finish(self, timeout: float = 10) -> None:
        self._thread.join(timeout)

    def text(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def job_runs(self, job: str) -> list[LogRecord]:
        """The one-line-per-run records of ``job`` (those with an outcome)."""
        return [r for r in self.records if r.get("job") == job and "outcome" in r]


def run_line(job: str, outcome: str) -> Callable[[LogRecord], bool]:
    return lambda r: r.get("job") == job and r.get("outcome") == outcome


def start(
    argv: list[str], env: dict[str, str], cwd: Path
) -> tuple[subprocess.Popen[str], ProcessLog]:
    """Start a command with its stderr read live (stdout is not used by run_cleanup)."""
    process = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, ProcessLog(process)


def run_pods(
    argv: list[str], env: dict[str, str], cwd: Path, tmp_path: Path, *, count: int
) -> list[ProcessLog]:
    """Run ``count`` copies of a command at once, as pods (host ``pod-<n>``, a heartbeat file
    each in ``tmp_path``); wait for them all (90 s at most) and return their logs, after
    checking that each exited 0."""
    pods: list[tuple[subprocess.Popen[str], ProcessLog]] = []
    try:
        for index in range(count):
            pod_env = dict(env, HOSTNAME=f"pod-{index}")
            pod_env["TARSY_HEARTBEAT_FILE"] = str(tmp_path / f"heartbeat-{index}")
            pods.append(start(argv, pod_env, cwd))
        codes = [process.wait(90) for process, _ in pods]
    finally:
        for process, _ in pods:
            kill_quietly(process)
    for _, log in pods:
        log.finish()
    assert codes == [0] * count, [log.text() for _, log in pods]
    return [log for _, log in pods]


def stop_and_wait(process: subprocess.Popen[str], *, timeout: float = 5) -> tuple[int, float]:
    """SIGTERM the process; return its exit code and how long it took to exit."""
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"still running {timeout}s after SIGTERM") from None
    return code, time.monotonic() - sent


def run(argv: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, list[dict]]:
    """Run a command to the end; return its exit code and its stderr as JSON records.

    Every stderr line must be JSON (LOG_FORMAT=json), errors and warnings included.
    """
    done = subprocess.run(
        argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    records = []
    for line in done.stderr.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"stderr line is not JSON: {line!r}\n{done.stderr}")
    return done.returncode, records


def old_log_file(directory: Path, name: str, size: int) -> Path:
    path = directory / name
    path.write_bytes(b"x" * size)
    past = time.time() - 3600
    os.utime(path, (past, past))
    return path


def kill_quietly(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


@contextmanager
def running(
    argv: list[str], env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[str], ProcessLog]]:
    """A process started in the repository with its stderr read live; killed if it still runs
    on the way out, and its log read to the end."""
    process, log = start(argv, env, REPO)
    try:
        yield process, log
    finally:
        kill_quietly(process)
        log.finish()


def stop_within_5s(process: subprocess.Popen[str], log: ProcessLog) -> None:
    """SIGTERM ``process``: it must exit 0 within five seconds."""
    code, took = stop_and_wait(process)
    assert code == 0, log.text()
    assert took < 5, log.text()


def wait_until(
    condition: Callable[[], bool],
    process: subprocess.Popen[str],
    log: ProcessLog,
    *,
    timeout: float = 30,
) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` or if the process ended."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline and process.poll() is None, log.text()
        time.sleep(0.05)


@pytest.fixture
def cleanup_env(subprocess_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """``subprocess_env`` with JSON logs and a heartbeat file of the test's own."""
    env = dict(subprocess_env)
    env["LOG_FORMAT"] = "json"
    env["LOG_LEVEL"] = "info"
    env["TARSY_HEARTBEAT_FILE"] = str(tmp_path / "heartbeat")
    env.pop("HOSTNAME", None)
    return env


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster of the test's own, removed afterwards."""
    if not can_run_clusters():
        pytest.skip("needs PostgreSQL server binaries and root (to run them as postgres)")
    with throwaway_cluster() as started:
        yield started


@pytest.fixture
def cluster_env(cluster: Cluster, manage_py: list[str], tmp_path: Path) -> dict[str, str]:
    """The environment of a ``manage.py`` process on ``cluster``, migrated, with JSON logs and
    a heartbeat file of the test's own."""
    env = dict(os.environ)
    env.pop("TARSY_CONFIG", None)
    env.update(
        DATABASE_URL=cluster.url,
        LOG_FORMAT="json",
        SECRET_KEY="tests-only-not-secret",
        PYTHONUNBUFFERED="1",
        TARSY_HEARTBEAT_FILE=str(tmp_path / "heartbeat"),
    )
    migrate = subprocess.run(
        [*manage_py, "migrate", "--no-input", "-v", "0"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    return env


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    path = tmp_path / "streaming"
    path.mkdir()
    return path


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def frozen(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment
