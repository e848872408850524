"""``run_cleanup`` as a process: its signals, what it says it runs, once or forever.

SIGTERM and SIGINT stop it: the current batch finishes, nothing new starts, and it exits 0
within five seconds even when the database does not answer (:mod:`retention.loop`). SIGHUP
reloads the configuration: the jobs are rebuilt from the new file and their new intervals
apply from the next tick; a file that does not load is logged and the old configuration kept.
A single pass (``--once``) ignores SIGHUP, with a log line: it runs with the configuration it
started with.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import NoReturn

from retention.heartbeat import Heartbeat
from retention.listeners import CleanupListener, Listeners
from retention.loop import CleanupLoop, ReloadJobs
from retention.registry import Job, registry
from retention.services import host_name
from tarsy_project.config import ConfigError, TarsyConfig, config_as_dict

log = logging.getLogger("retention.run_cleanup")

LoadConfig = Callable[[], TarsyConfig]


def stop_on_signals(stop: threading.Event) -> None:
    """Set ``stop`` on SIGTERM or SIGINT: the current batch finishes, nothing new starts."""

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        log.info("stop requested by %s, finishing the current batch", name, extra={"signal": name})
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def reload_on_sighup(loop: CleanupLoop, *, once: bool) -> None:
    """On SIGHUP, ask ``loop`` to reload its configuration (a single pass ignores it)."""

    def request_reload(signum: int, _frame: FrameType | None) -> None:
        if once:
            log.info("SIGHUP ignored: a single pass keeps the configuration it started with")
            return
        log.info("configuration reload requested by SIGHUP", extra={"signal": "SIGHUP"})
        loop.request_reload()

    signal.signal(signal.SIGHUP, request_reload)


def config_reloader(load_config: LoadConfig, listeners: Listeners) -> ReloadJobs:
    """What the loop calls to reload: the jobs of the configuration ``load_config`` reads now,
    or None (logged) when it does not load, so that the old jobs go on."""

    def reload_jobs() -> list[Job] | None:
        try:
            config = load_config()
            jobs = registry.build_jobs(config)
        except (ConfigError, OSError, LookupError) as exc:
            log.error(
                "configuration reload failed, keeping the current configuration: %s",
                exc,
                extra={"error": str(exc)},
            )
            return None
        log.info(
            "configuration reloaded",
            extra={"jobs": [job.name for job in jobs], "config": config_as_dict(config)},
        )
        listeners.jobs_configured(config, jobs)
        return jobs

    return reload_jobs


def run_sidecar(
    config: TarsyConfig,
    *,
    once: bool,
    dry_run: bool,
    heartbeat: Heartbeat,
    listeners: Iterable[CleanupListener] = (),
    load_config: LoadConfig | None = None,
) -> bool:
    """Run the jobs ``config`` asks for, once or until stopped; False when a job of a single
    pass (``once``) failed. The loop itself never ends on a job's failure. ``listeners`` are
    told about the jobs and every run (:mod:`retention.listeners`); ``load_config`` reads the
    configuration again on SIGHUP (without it, SIGHUP keeps the one given)."""
    stop = threading.Event()
    stop_on_signals(stop)
    jobs = registry.build_jobs(config)
    told = Listeners(listeners)
    loop = CleanupLoop(
        jobs,
        dry_run=dry_run,
        stop=stop,
        heartbeat=heartbeat,
        listeners=told,
        reload_jobs=config_reloader(load_config or (lambda: config), told),
    )
    reload_on_sighup(loop, once=once)
    log_start(config, jobs, once=once, dry_run=dry_run)
    told.jobs_configured(config, jobs)
    if once:
        ok = loop.run_once()
        log.info("cleanup finished", extra={"ok": ok, **abandoned(loop)})
    else:
        loop.run_forever()
        ok = True
        log.info("cleanup stopped", extra=abandoned(loop))
    if loop.abandoned:
        exit_now(0 if ok else 1)
    return ok


def exit_now(code: int) -> NoReturn:
    """End the process at once, past a job thread stuck in a call that nothing could break:
    the interpreter's orderly shutdown might wait on it (on locks it holds) for ever. Nothing
    is lost: every log line was flushed as it was written, and the only open connection is the
    stuck thread's."""
    os._exit(code)


def log_start(config: TarsyConfig, jobs: list[Job], *, once: bool, dry_run: bool) -> None:
    """The first line: where, how, which jobs, and the effective configuration."""
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


def abandoned(loop: CleanupLoop) -> dict[str, list[str]]:
    """The ``abandoned`` field of the last line: jobs still running when the loop returned."""
    return {"abandoned": loop.abandoned} if loop.abandoned else {}
