"""A throwaway PostgreSQL cluster for tests that stop, restart or freeze their database.

The cluster is created and started as the ``postgres`` OS user (PostgreSQL refuses to run as
root) with the server binaries of ``/usr/lib/postgresql/*/bin``, on a free port and a socket
directory of its own, and removed afterwards: never the machine's shared server.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.commandline import free_port


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def can_run_clusters() -> bool:
    """Server binaries, root (to run them as ``postgres``) and ``runuser`` are all here."""
    return postgres_bin() is not None and os.geteuid() == 0 and shutil.which("runuser") is not None


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

    def psql(self, sql: str) -> str:
        """Run ``sql`` in the cluster's ``postgres`` database; its unaligned output."""
        return subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout

    def processes(self) -> list[int]:
        """The postmaster's pid and its children's (the backends and auxiliary processes)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [postmaster, *(int(pid) for pid in children)]

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """The server stopped with SIGSTOP inside the block: its sockets stay open (the kernel
        still accepts connections and acknowledges data) but nothing answers. Always resumed
        with SIGCONT on the way out."""
        pids = self.processes()
        try:
            self._signal(pids, signal.SIGSTOP)
            yield
        finally:
            self._signal(pids, signal.SIGCONT)

    @staticmethod
    def _signal(pids: list[int], signum: int) -> None:
        for pid in pids:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass  # a backend that ended meanwhile (a finished psql session)

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._signal(self.processes(), signal.SIGCONT)  # a frozen server cannot stop
            try:
                self.stop("immediate")
            except subprocess.CalledProcessError:
                pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A started cluster, stopped and removed on the way out."""
    bin_dir = postgres_bin()
    assert bin_dir is not None
    cluster = Cluster(bin_dir)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
