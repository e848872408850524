"""Changes to cleanup run records: record a run, expire old records."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from retention.models import CleanupRun

RUN_RECORD_RETENTION = timedelta(days=30)


def host_name() -> str:
    """This pod's name in Kubernetes (its hostname), else the machine's hostname."""
    return os.environ.get("HOSTNAME") or socket.gethostname()


def record_run(
    *,
    job: str,
    started_at: datetime,
    finished_at: datetime,
    outcome: str,
    counts: Mapping[str, int],
    error: str = "",
    failed_steps: Sequence[str] = (),
) -> CleanupRun:
    """Record one run of ``job`` on this host."""
    return CleanupRun.objects.create(
        job=job,
        host=host_name(),
        started_at=started_at,
        finished_at=finished_at,
        outcome=outcome,
        counts=dict(counts),
        error=error,
        failed_steps=list(failed_steps),
    )


def expire_cleanup_runs(*, now: datetime, dry_run: bool = False) -> int:
    """Delete run records older than 30 days; a small table, so one statement."""
    old = CleanupRun.objects.filter(started_at__lt=now - RUN_RECORD_RETENTION)
    if dry_run:
        return old.count()
    deleted, _ = old.delete()
    return deleted
