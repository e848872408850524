"""What ``cleanup_status`` says: the latest runs as a table, and the heartbeat's verdict."""

from __future__ import annotations

from datetime import datetime

from retention.heartbeat import Heartbeat
from retention.models import CleanupRun

HEADER = ("JOB", "HOST", "STARTED (UTC)", "AGO", "OUTCOME", "DURATION", "COUNTS")


def runs_table(runs: list[CleanupRun], now: datetime) -> list[str]:
    """One aligned line per run under a header; the counts column is last and not padded."""
    if not runs:
        return ["no cleanup runs recorded"]
    rows = [HEADER, *(_row(run, now) for run in runs)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
    return [_line(row, widths) for row in rows]


def _line(row: tuple[str, ...], widths: list[int]) -> str:
    cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
    return "  ".join([*cells, row[-1]]).rstrip()


def _row(run: CleanupRun, now: datetime) -> tuple[str, ...]:
    ago = int((now - run.started_at).total_seconds())
    counts = " ".join(f"{key}={value}" for key, value in run.counts.items()) or "-"
    # A failed run names its failed steps: failed(soft_deleted,purged).
    outcome = f"{run.outcome}({','.join(run.failed_steps)})" if run.failed_steps else run.outcome
    return (
        run.job,
        run.host,
        f"{run.started_at:%Y-%m-%d %H:%M:%S}",
        f"{ago}s",
        outcome,
        f"{run.duration_ms}ms",
        counts,
    )


def heartbeat_verdict(heartbeat: Heartbeat, *, max_age: float) -> tuple[bool, str]:
    """Whether the sidecar is alive by its heartbeat file alone, and the line that says so."""
    age = heartbeat.age_seconds()
    if age is None:
        return False, f"no heartbeat file at {heartbeat.path}"
    if age > max_age:
        return False, f"heartbeat {heartbeat.path} is {age:.0f}s old (limit {max_age:.0f}s)"
    return True, f"alive: heartbeat {age:.0f}s old"
