"""Benchmark: ``StreamingLogger`` throughput against plain buffered file writes.

One command (from the repository root; no database needed)::

    .venv/bin/python bench/bench_streaming.py        # 1,000,000 appends, 3 runs each

Options: ``--scale 0.1``, ``--runs 5``, ``--dir /path``, ``--json results.json``.

Both sides write the same bytes: ``1,000,000 * scale`` appends of about 200 bytes, round robin
over 100 sessions, each to ``<dir>/<session>.log``.

- code path: ``StreamingLogger(config)``, ``append(session_id, text)`` for every chunk, then
  ``close()`` (which flushes everything and releases the files); timed from the first append
  to the end of ``close()``.
- baseline: ``open(path, "ab")`` (Python's default buffering) per session, ``write`` every chunk,
  ``close`` every file.

Reported: medians, throughput (MB/s), and the ratio of throughputs (code / baseline; the target
is at least 0.5).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as bl

SESSIONS = 100


def chunks(appends: int) -> list[tuple[str, str]]:
    ids = [f"bench-session-{i:03d}" for i in range(SESSIONS)]
    line = "stage 3 executing kubectl get pods -n prod: pod/api-7d9 CrashLoopBackOff restarts=%d "
    return [(ids[i % SESSIONS], (line % i).ljust(199, ".") + "\n") for i in range(appends)]


def written(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.glob("*.log"))


def logger_writes(directory: Path, data: list[tuple[str, str]]) -> float:
    """The code path: every chunk through ``StreamingLogger``, then ``close()``."""
    from streaming.config import StreamingLogsConfig
    from streaming.logger import StreamingLogger

    logger = StreamingLogger(StreamingLogsConfig(base_dir=directory))
    append = logger.append
    started = time.perf_counter()
    for session_id, text in data:
        append(session_id, text)
    logger.close()
    return time.perf_counter() - started


def plain_writes(directory: Path, data: list[tuple[str, str]]) -> float:
    """The baseline: one buffered ``open(..., "ab")`` per session, every chunk written."""
    started = time.perf_counter()
    files = {}
    for session_id, text in data:
        handle = files.get(session_id)
        if handle is None:
            handle = files[session_id] = open(directory / f"{session_id}.log", "ab")
        handle.write(text.encode())
    for handle in files.values():
        handle.close()
    return time.perf_counter() - started


def measure(root: Path, data: list[tuple[str, str]], runs: int) -> tuple[bl.Series, bl.Series]:
    sides = {"code": (bl.Series(), logger_writes), "baseline": (bl.Series(), plain_writes)}

    def one(name: str) -> None:
        series, write = sides[name]
        directory = root / name
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir()
        series.seconds.append(write(directory, data))
        series.rows.append(written(directory))
        print(f"[streaming] {name}: {series.seconds[-1]:.3f}s", file=sys.stderr)

    bl.alternate(runs, lambda i: one("code"), lambda i: one("baseline"))
    return sides["code"][0], sides["baseline"][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    bl.add_common_args(parser)
    args = parser.parse_args(argv)
    bl.setup_django()

    data = chunks(bl.scaled(1_000_000, args.scale))
    total_bytes = sum(len(text.encode()) for _, text in data)
    root = Path(tempfile.mkdtemp(prefix="bench_streaming_", dir=args.dir))
    try:
        code, base = measure(root, data, args.runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    code_s, base_s = code.summary(), base.summary()
    mb = total_bytes / 1e6
    results = {
        "machine": bl.machine(),
        "appends": len(data),
        "sessions": SESSIONS,
        "bytes": total_bytes,
        "code": {**code_s, "mb_per_s": round(mb / code_s["median_s"], 1)},
        "baseline": {**base_s, "mb_per_s": round(mb / base_s["median_s"], 1)},
        # Throughput ratio: code / baseline (>= 0.5 is the target).
        "throughput_ratio": round(base_s["median_s"] / code_s["median_s"], 3),
        "bytes_match": all(n == total_bytes for n in code.rows + base.rows),
    }
    bl.emit(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
