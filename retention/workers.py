"""Each job's runs on a thread of its own, so that no job waits behind another.

A job whose database hangs holds only its own thread: the sweep, which needs no database, keeps
its schedule, and the loop's thread stays free to beat the heartbeat, to break the hung call
(:mod:`retention.watchdog`) and to answer signals. Threads are daemons: a process told to stop
does not wait for ever on a thread the watchdog could not free. Each thread has its own
database connection (Django's are per thread), closed when its run ends.
"""

from __future__ import annotations

import logging
import threading
import time

from retention.models import CleanupRun
from retention.runner import JobRunner
from retention.watchdog import CALL_BOUND, STUCK_AFTER

log = logging.getLogger("retention.watchdog")


class JobThreads:
    """The runs in progress, by job name: at most one run of a job at a time."""

    def __init__(self) -> None:
        self._runs: dict[str, tuple[JobRunner, threading.Thread]] = {}
        self.outcomes: dict[str, str] = {}  # each job's last finished run's outcome

    def start(self, runner: JobRunner) -> bool:
        """Start a run of ``runner``'s job on a new thread; False if one is still running."""
        name = runner.job.name
        if name in self.running():
            return False
        thread = threading.Thread(
            target=self._run, args=(name, runner), name=f"cleanup-{name}", daemon=True
        )
        self._runs[name] = (runner, thread)
        thread.start()
        return True

    def _run(self, name: str, runner: JobRunner) -> None:
        try:
            self.outcomes[name] = runner.run()
        except Exception:  # a bug in the runner itself: the thread must still end cleanly
            log.exception("cleanup job thread failed", extra={"job": name})
            self.outcomes[name] = CleanupRun.Outcome.FAILED
            runner.watch.close_connections()

    def running(self) -> dict[str, JobRunner]:
        """The jobs whose run is still in progress."""
        return {name: run[0] for name, run in self._runs.items() if run[1].is_alive()}

    def join(self, timeout: float) -> list[str]:
        """Wait up to ``timeout`` seconds for every run to end; return the jobs still running."""
        deadline = time.monotonic() + timeout
        for _runner, thread in list(self._runs.values()):
            thread.join(max(0.0, deadline - time.monotonic()))
        return sorted(self.running())

    def enforce_bounds(self) -> list[str]:
        """Break the connection of every run silent for ``CALL_BOUND``; return the jobs silent
        for ``STUCK_AFTER`` (the break did not free them)."""
        stuck = []
        for name, runner in self.running().items():
            silent = runner.watch.silent_for()
            if silent is None or silent < CALL_BOUND:
                continue
            if runner.watch.break_connection():
                log.warning(
                    "%s silent for %.0fs: its database connection was broken",
                    name,
                    silent,
                    extra={"job": name, "silent_s": round(silent, 1), "bound_s": CALL_BOUND},
                )
            if silent >= STUCK_AFTER:
                stuck.append(name)
        return stuck

    def break_all(self) -> list[str]:
        """Break the connection of every run still in progress (after a stop); return the jobs
        whose connection was broken."""
        return [name for name, runner in self.running().items() if runner.watch.break_connection()]
