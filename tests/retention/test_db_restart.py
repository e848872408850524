"""``run_cleanup`` survives its PostgreSQL server going away and coming back.

The test starts a throwaway cluster of its own (as the ``postgres`` OS user, on a free port
and its own socket directory), never the shared server on 5432, and removes it afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.retention.conftest import (
    kill_quietly,
    requires_postgresql,
    run_line,
    start,
    stop_and_wait,
    write_config,
)

pytestmark = [pytest.mark.slow, requires_postgresql]

REPO = Path(__file__).resolve().parents[2]


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A PostgreSQL cluster in a temporary directory owned by the ``postgres`` user."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="tarsy-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.sockets.mkdir()
        self.logfile = self.root / "server.log"
        shutil.chown(self.root, "postgres", "postgres")
        shutil.chown(self.sockets, "postgres", "postgres")
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def as_postgres(self, *argv: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        self.as_postgres(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.as_postgres(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.logfile),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self.as_postgres(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"
        )

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop("immediate")
            except subprocess.CalledProcessError:
                pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bin_dir = postgres_bin()
    if bin_dir is None or os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs PostgreSQL server binaries and root (to run them as postgres)")
    cluster = Cluster(bin_dir)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def test_loop_survives_a_database_restart_and_reconnects(
    cluster: Cluster, manage_py: list[str], tmp_path: Path
) -> None:
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
    sweep_dir = tmp_path / "streaming"
    config = write_config(tmp_path, sweep_dir=sweep_dir, cleanup_interval="1s", sweep_interval=60)

    process, log = start([*manage_py, "run_cleanup", "--config", str(config)], env, REPO)
    try:
        log.wait_for(run_line("retention", "success"), timeout=60)
        cluster.stop()
        failed = log.wait_for(run_line("retention", "failed"), timeout=30)
        assert process.poll() is None, log.text()
        assert log.records[failed]["level"] == "ERROR"
        # The failure is logged with the database's error (and its traceback).
        errors = [r for r in log.records[:failed] if r.get("job") == "retention" and "error" in r]
        assert errors and "OperationalError" in errors[-1]["error"], log.text()
        assert "exception" in errors[-1]
        cluster.start()
        recovered = log.wait_for(run_line("retention", "success"), timeout=30, after=failed)
        assert process.poll() is None, log.text()
        # The run after the recovery was recorded in the restarted database.
        log.wait_for(run_line("retention", "success"), timeout=30, after=recovered + 1)
        code, took = stop_and_wait(process)
    finally:
        kill_quietly(process)
    log.finish()
    assert code == 0, log.text()
    assert took < 5
    assert any(r["message"] == "cleanup stopped" for r in log.records)
    recorded = subprocess.run(
        [
            str(cluster.bin_dir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(cluster.port),
            "-U",
            "postgres",
            "-At",
            "-c",
            "SELECT outcome, count(*) FROM cleanup_runs WHERE job = 'retention' "
            "GROUP BY outcome ORDER BY outcome",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.split()
    outcomes = dict(line.split("|") for line in recorded)
    assert int(outcomes["success"]) >= 2
