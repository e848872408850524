"""Benchmark 4 of issue 7: the streaming-log sweeper against ``find -delete``.

One command (from the repository root; no database needed)::

    .venv/bin/python bench/bench_sweep.py            # 100,000 files, 3 runs each

Options: ``--scale 0.1``, ``--runs 5``, ``--dir /path/on/the/disk/to/test`` (default: a
temporary directory), ``--json results.json``.

Each run builds a fresh directory: ``100,000 * scale`` files of 1 KB, 90 % with an mtime an hour
old, 10 % fresh, and 100 of the old ones held open with an exclusive ``flock`` by a separate
writer process (as ``StreamingLogger`` holds its active files). Then, alternating:

- code path: ``streaming.sweeper.sweep(dir, retention=10 min)``, timed in this process;
- baseline: ``find DIR -maxdepth 1 -name '*.log' -mmin +10 -delete``, wall time of the process.
  It deletes the locked files too (it does not look at locks), so it does less work per file
  than the sweeper; the report says how many locked files each side spared.

Then the idle case: a sweep over ``100,000 * scale`` fresh files that deletes nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as bl

PAYLOAD = (b"x" * 1023) + b"\n"
LOCKED = 100

WRITER = """
import fcntl, os, sys
fds = []
for path in sys.argv[1:]:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fds.append(fd)
print("ready", flush=True)
sys.stdin.read()
"""


def build(directory: Path, files: int, old_fraction: float) -> list[Path]:
    """``files`` files of 1 KB; the first ``old_fraction`` of them an hour old."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    old_until = round(files * old_fraction)
    old = time.time() - 3600
    paths = []
    for i in range(files):
        path = directory / f"session-{i:07d}.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, PAYLOAD)
        os.close(fd)
        if i < old_until:
            os.utime(path, (old, old))
            paths.append(path)
    return paths


class Writer:
    """A separate process holding ``paths`` open with an exclusive flock until closed."""

    def __init__(self, paths: list[Path]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, *map(str, paths)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("lock holder did not start")

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tarsy_project.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("LOG_LEVEL", "warning")
    sys.path.insert(0, str(bl.REPO))
    import django

    django.setup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    setup_django()
    from streaming.sweeper import sweep

    files = bl.scaled(100_000, args.scale)
    locked_count = min(LOCKED, round(files * 0.9))
    root = Path(tempfile.mkdtemp(prefix="bench_sweep_", dir=args.dir))
    directory = root / "streaming"
    code, base = bl.Series(), bl.Series()
    spared = {"code": [], "baseline": []}
    result: dict = {}

    def one(side: str) -> None:
        old = build(directory, files, 0.9)
        locked = old[:: max(1, len(old) // locked_count)][:locked_count]
        writer = Writer(locked)
        # Both sides start from clean pages: creating 100k files leaves seconds of writeback
        # that would otherwise land inside whichever run comes first.
        os.sync()
        try:
            if side == "code":
                started = time.perf_counter()
                outcome = sweep(directory, retention=timedelta(minutes=10), now=time.time())
                seconds = time.perf_counter() - started
                code.seconds.append(seconds)
                code.rows.append(outcome.deleted)
                result["code_counts"] = outcome.as_counts()
            else:
                started = time.perf_counter()
                subprocess.run(
                    ["find", str(directory), "-maxdepth", "1", "-name", "*.log", "-mmin", "+10"]
                    + ["-delete"],
                    check=True,
                )
                seconds = time.perf_counter() - started
                base.seconds.append(seconds)
                base.rows.append(len(old) - sum(p.exists() for p in old))
            spared[side].append(sum(p.exists() for p in locked))
            print(f"[sweep] {side}: {seconds:.3f}s", file=sys.stderr)
        finally:
            writer.close()

    try:
        bl.alternate(args.runs, lambda i: one("code"), lambda i: one("baseline"))
        idle = bl.Series()
        for _ in range(args.runs):
            build(directory, files, 0.0)
            os.sync()
            started = time.perf_counter()
            outcome = sweep(directory, retention=timedelta(minutes=10), now=time.time())
            idle.seconds.append(time.perf_counter() - started)
            idle.rows.append(outcome.deleted)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    results = {
        "machine": bl.machine(),
        "files": files,
        "old": round(files * 0.9),
        "locked": locked_count,
        "sweep": {
            "code": {**code.summary(), "locked_spared": spared["code"]},
            "baseline": {**base.summary(), "locked_spared": spared["baseline"]},
            "ratio": bl.ratio(code, base),
            "code_counts": result.get("code_counts"),
            "note": "find -delete does not look at locks: it deleted the locked files too",
        },
        "idle_sweep": {**idle.summary(), "files": files},
    }
    bl.emit(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
