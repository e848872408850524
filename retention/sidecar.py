"""``run_cleanup`` as a process: stop on SIGTERM/SIGINT, say what it runs, once or forever."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterable
from types import FrameType

from retention.heartbeat import Heartbeat
from retention.listeners import CleanupListener, Listeners
from retention.loop import CleanupLoop
from retention.registry import registry
from retention.services import host_name
from tarsy_project.config import TarsyConfig, config_as_dict

log = logging.getLogger("retention.run_cleanup")


def stop_on_signals(stop: threading.Event) -> None:
    """Set ``stop`` on SIGTERM or SIGINT: the current batch finishes, nothing new starts."""

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        log.info("stop requested by %s, finishing the current batch", name, extra={"signal": name})
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def run_sidecar(
    config: TarsyConfig,
    *,
    once: bool,
    dry_run: bool,
    heartbeat: Heartbeat,
    listeners: Iterable[CleanupListener] = (),
) -> bool:
    """Run the jobs ``config`` asks for, once or until stopped; False when a job of a single
    pass (``once``) failed. The loop itself never ends on a job's failure. ``listeners`` are
    told about the jobs and every run (:mod:`retention.listeners`)."""
    stop = threading.Event()
    stop_on_signals(stop)
    jobs = registry.build_jobs(config)
    told = Listeners(listeners)
    loop = CleanupLoop(jobs, dry_run=dry_run, stop=stop, heartbeat=heartbeat, listeners=told)
    log.info(
        "cleanup starting",
        extra={
            "host": host_name(),
            "mode": "once" if once else "loop",
            "dry_run": dry_run,
            "jobs": [job.name for job in jobs],
            "config": config_as_dict(config),
        },
    )
    told.jobs_configured(config, jobs)
    if once:
        ok = loop.run_once()
        log.info("cleanup finished", extra={"ok": ok})
        return ok
    loop.run_forever()
    log.info("cleanup stopped")
    return True
