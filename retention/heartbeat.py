"""The sidecar's heartbeat file: liveness without the database.

The loop's own thread touches the file at every wake-up, at least every ``MAX_WAIT`` seconds
(:mod:`retention.loop`), whatever the jobs on their threads are doing; it withholds the beat
only while a job is stuck (:mod:`retention.watchdog`). ``cleanup_status --liveness`` only checks
the file's age, so a database outage never gets the sidecar killed.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def beat(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
        except OSError as exc:
            # A full or read-only disk must not stop retention; liveness will notice.
            log.warning(
                "cannot touch heartbeat file", extra={"path": str(self.path), "error": str(exc)}
            )

    def age_seconds(self) -> float | None:
        """Seconds since the last beat, or None when there never was one."""
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return None
        return time.time() - mtime
