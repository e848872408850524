"""Shared helpers of the benchmarks: scratch PostgreSQL databases, timing, medians, reports.

Every database these helpers create is named ``bench_<something>`` and is dropped again by the
script that created it (also on Ctrl-C). Nothing here touches any other database.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"


def server_url(url: str | None) -> str:
    """``--server`` (or BENCH_PG_URL) without a database name."""
    parts = urlsplit(url or os.environ.get("BENCH_PG_URL") or DEFAULT_SERVER)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def db_url(server: str, name: str) -> str:
    return f"{server}/{name}"


def connect(server: str, name: str = "postgres", autocommit: bool = True):
    import psycopg

    return psycopg.connect(db_url(server, name), autocommit=autocommit)


def run_sql(server: str, name: str, sql: str, params: Any = None) -> list[tuple]:
    """Run ``sql`` (statements separated by ``;`` at line ends) and return the last result."""
    rows: list[tuple] = []
    with connect(server, name) as conn, conn.cursor() as cur:
        for statement in sql.split(";\n"):
            if statement.strip():
                cur.execute(statement, params if "%(" in statement else None)
                rows = cur.fetchall() if cur.description else []
    return rows


def check_name(name: str) -> str:
    if not name.startswith("bench_") or not name.replace("_", "").isalnum():
        raise ValueError(f"benchmark databases must be named bench_*, got {name!r}")
    return name


def drop_db(server: str, name: str) -> None:
    run_sql(server, "postgres", f'DROP DATABASE IF EXISTS "{check_name(name)}" WITH (FORCE)')


def create_db(server: str, name: str, template: str | None = None) -> None:
    drop_db(server, name)
    # FILE_COPY: a checkpoint and a file copy, much faster than WAL-logging a large clone.
    tpl = f' TEMPLATE "{check_name(template)}" STRATEGY FILE_COPY' if template else ""
    run_sql(server, "postgres", f'CREATE DATABASE "{check_name(name)}"{tpl}')


def migrate(server: str, name: str) -> None:
    """The project's own schema, from its migrations."""
    env = project_env(db_url(server, name))
    subprocess.run(
        [PYTHON, str(REPO / "manage.py"), "migrate", "-v", "0"], env=env, check=True, cwd=REPO
    )


def project_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TARSY_CONFIG", None)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="tarsy_project.settings",
        SECRET_KEY="bench-only-not-secret",
        PYTHONPATH=str(REPO),
        LOG_LEVEL=env.get("BENCH_LOG_LEVEL", "warning"),
    )
    env.update(extra)
    return env


@contextmanager
def scratch_dbs(server: str) -> Iterator[list[str]]:
    """Collects the names of databases created inside the block and drops them at its end.

    SIGTERM (and SIGINT, which a background job ignores) end the block cleanly too.
    """
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    names: list[str] = []
    try:
        yield names
    finally:
        for name in reversed(names):
            try:
                drop_db(server, name)
            except Exception as exc:  # report, keep dropping the others
                print(f"warning: could not drop {name}: {exc}", file=sys.stderr)


class TxnSampler:
    """Longest transaction seen on one database, sampled from ``pg_stat_activity``.

    Every ``interval`` seconds a separate connection (to the ``postgres`` database) reads
    ``clock_timestamp() - xact_start`` of every backend connected to the measured database;
    the longest value seen per transaction (pid, xact_start) is kept. A transaction's measured
    length is therefore accurate to within one interval (plus the sampling query's own time),
    and a transaction shorter than one interval may be missed entirely, which only matters if
    it were the longest, and it cannot be longer than the interval.
    """

    def __init__(self, server: str, database: str, interval: float = 0.02) -> None:
        self.server, self.database, self.interval = server, database, interval
        self.longest: dict[tuple[int, Any], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.samples = 0

    def __enter__(self) -> TxnSampler:
        self._conn = connect(self.server)
        self._thread.start()
        return self

    def _run(self) -> None:
        sql = (
            "SELECT pid, xact_start, extract(epoch FROM clock_timestamp() - xact_start) "
            "FROM pg_stat_activity WHERE datname = %s AND xact_start IS NOT NULL "
            "AND pid <> pg_backend_pid()"
        )
        with self._conn.cursor() as cur:
            while not self._stop.is_set():
                cur.execute(sql, [self.database])
                for pid, start, seconds in cur.fetchall():
                    key = (pid, start)
                    self.longest[key] = max(self.longest.get(key, 0.0), float(seconds))
                self.samples += 1
                self._stop.wait(self.interval)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._conn.close()

    @property
    def max_seconds(self) -> float:
        return max(self.longest.values(), default=0.0)

    @property
    def transactions(self) -> int:
        return len(self.longest)


def run_child(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a process; return its wall time, exit code, peak RSS (its own, via wait4) and output."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out_chunks: list[str] = []
    err_chunks: list[str] = []
    readers = [
        threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True),
        threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True),
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    for reader in readers:
        reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall": wall,
        "rc": proc.returncode,
        "maxrss_kb": usage.ru_maxrss,
        "stdout": "".join(out_chunks),
        "stderr": "".join(err_chunks),
    }


@dataclass
class Series:
    """Timings of one side (code path or baseline) of one benchmark."""

    seconds: list[float] = field(default_factory=list)
    longest_txn: list[float] = field(default_factory=list)
    transactions: list[int] = field(default_factory=list)
    maxrss_kb: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "median_s": round(statistics.median(self.seconds), 4),
            "runs_s": [round(s, 4) for s in self.seconds],
            "rows": self.rows,
        }
        if self.longest_txn:
            out["longest_txn_s"] = round(max(self.longest_txn), 3)
            out["transactions"] = max(self.transactions)
        if self.maxrss_kb:
            out["peak_rss_kb"] = max(self.maxrss_kb)
        return out


def add_common_args(parser: argparse.ArgumentParser, *, directory: bool = True) -> None:
    """The options every benchmark takes: ``--scale``, ``--runs``, ``--json`` (and ``--dir``)."""
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the sizes of the targets")
    parser.add_argument("--runs", type=int, default=3, help="rounds of code path and baseline")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    if directory:
        parser.add_argument("--dir", default=None, help="where to create the scratch files")


def setup_django() -> None:
    """Django set up in this process, for benchmarks that call the project's code directly."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tarsy_project.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("LOG_LEVEL", "warning")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def median(values: list[float]) -> float:
    return statistics.median(values)


def alternate(runs: int, code: Callable[[int], None], baseline: Callable[[int], None]) -> None:
    """Run code and baseline alternately (starting side flips each round) so noise hits both."""
    for i in range(runs):
        order = (code, baseline) if i % 2 == 0 else (baseline, code)
        for fn in order:
            fn(i)


def ratio(code: Series, baseline: Series) -> float:
    return round(statistics.median(code.seconds) / statistics.median(baseline.seconds), 3)


def emit(results: dict[str, Any], json_path: str | None) -> None:
    text = json.dumps(results, indent=2, default=str)
    print(text)
    if json_path:
        Path(json_path).write_text(text + "\n")


def scaled(n: int, scale: float) -> int:
    return max(1, round(n * scale))


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["mem"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info
