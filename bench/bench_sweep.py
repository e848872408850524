"""Benchmark: the streaming-log sweeper against ``find -delete``.

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


def sweep_dir(directory: Path) -> tuple[float, dict[str, int]]:
    """The code path: the project's sweeper with a 10-minute window; seconds and its counts."""
    from streaming.sweeper import sweep

    started = time.perf_counter()
    outcome = sweep(directory, retention=timedelta(minutes=10), now=time.time())
    return time.perf_counter() - started, outcome.as_counts()


def find_delete(directory: Path) -> float:
    """The baseline: ``find -delete`` of the same age, which does not look at locks."""
    started = time.perf_counter()
    subprocess.run(
        ["find", str(directory), "-maxdepth", "1", "-name", "*.log", "-mmin", "+10", "-delete"],
        check=True,
    )
    return time.perf_counter() - started


class SweepRuns:
    """Sweeper and ``find`` alternating on freshly built directories with locked files."""

    def __init__(self, directory: Path, files: int, locked_count: int) -> None:
        self.directory, self.files, self.locked_count = directory, files, locked_count
        self.code, self.base = bl.Series(), bl.Series()
        self.spared: dict[str, list[int]] = {"code": [], "baseline": []}
        self.code_counts: dict[str, int] = {}

    def run(self, side: str) -> None:
        old = build(self.directory, self.files, 0.9)
        locked = old[:: max(1, len(old) // self.locked_count)][: self.locked_count]
        writer = Writer(locked)
        # Both sides start from clean pages: creating 100k files leaves seconds of writeback
        # that would otherwise land inside whichever run comes first.
        os.sync()
        try:
            if side == "code":
                seconds, self.code_counts = sweep_dir(self.directory)
                self.code.seconds.append(seconds)
                self.code.rows.append(self.code_counts["deleted"])
            else:
                seconds = find_delete(self.directory)
                self.base.seconds.append(seconds)
                self.base.rows.append(len(old) - sum(p.exists() for p in old))
            self.spared[side].append(sum(p.exists() for p in locked))
            print(f"[sweep] {side}: {seconds:.3f}s", file=sys.stderr)
        finally:
            writer.close()

    def summary(self) -> dict:
        return {
            "code": {**self.code.summary(), "locked_spared": self.spared["code"]},
            "baseline": {**self.base.summary(), "locked_spared": self.spared["baseline"]},
            "ratio": bl.ratio(self.code, self.base),
            "code_counts": self.code_counts,
            "note": "find -delete does not look at locks: it deleted the locked files too",
        }


def idle_sweeps(directory: Path, files: int, runs: int) -> bl.Series:
    """Sweeps over ``files`` fresh files that delete nothing."""
    idle = bl.Series()
    for _ in range(runs):
        build(directory, files, 0.0)
        os.sync()
        seconds, counts = sweep_dir(directory)
        idle.seconds.append(seconds)
        idle.rows.append(counts["deleted"])
    return idle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    bl.add_common_args(parser)
    args = parser.parse_args(argv)
    bl.setup_django()

    files = bl.scaled(100_000, args.scale)
    locked_count = min(LOCKED, round(files * 0.9))
    root = Path(tempfile.mkdtemp(prefix="bench_sweep_", dir=args.dir))
    runs = SweepRuns(root / "streaming", files, locked_count)
    try:
        bl.alternate(args.runs, lambda i: runs.run("code"), lambda i: runs.run("baseline"))
        idle = idle_sweeps(root / "streaming", files, args.runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    results = {
        "machine": bl.machine(),
        "files": files,
        "old": round(files * 0.9),
        "locked": locked_count,
        "sweep": runs.summary(),
        "idle_sweep": {**idle.summary(), "files": files},
    }
    bl.emit(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
