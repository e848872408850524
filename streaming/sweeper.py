"""The streaming-log file sweeper, run as the ``sweep`` job of ``run_cleanup``.

A completed session's file stays for ``file_retention_minutes`` so operators can read it, then
goes at the next sweep. A file is *active* while its writer holds an exclusive ``flock`` on it;
the sweeper tells active files by trying a non-blocking lock, so it needs no shared state with
the writers and works across processes and pods sharing a volume. The rules both sides follow
are in :mod:`streaming.files`.

Everything is done relative to one descriptor of ``base_dir``: no symlink is followed, no
subdirectory entered, no name other than ``*.log`` touched, and a file that vanishes or changes
while the sweep looks at it is left for the next sweep instead of failing this one. A
``base_dir`` that is itself a symbolic link is refused (the job fails, naming the link's
target): the sweep deletes files, and only in the directory it was given.

Under disk pressure (:mod:`streaming.pressure`) a second pass deletes completed files inside
the window too, oldest first, until the pressure is gone: never a locked file, and counted
apart (``pressure_deleted``, ``pressure_bytes_freed``) and logged at warning level.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from streaming.pressure import Pressure, PressureLimits
from streaming.sweep_run import SweepResult, SweepRun

__all__ = ["SweepResult", "resolve_base_dir", "sweep"]

log = logging.getLogger(__name__)


def sweep(
    base_dir: Path,
    *,
    retention: timedelta,
    now: float | None = None,
    dry_run: bool = False,
    should_stop: Callable[[], bool] | None = None,
    min_free_percent: float = 0.0,
    max_dir_mb: int | None = None,
    max_session_age: timedelta | None = None,
) -> SweepResult:
    """Delete ``*.log`` files in ``base_dir`` unmodified for ``retention`` and not locked, and
    under disk pressure (:mod:`streaming.pressure`; 0 and None: off) younger unlocked ones.

    ``now``: a ``time.time()`` value frozen by the caller. :class:`SweepResult` says what the
    counts are. A missing ``base_dir`` is an empty sweep and a warning; an unlistable one or a
    symbolic link raises :class:`OSError`. Once ``should_stop()`` is true, it returns early.
    """
    limits = PressureLimits(min_free_percent, max_dir_mb)  # checked before anything is touched
    now = time.time() if now is None else now
    base = os.fspath(base_dir)
    started = time.monotonic()
    dir_fd = _open_directory(base)
    if dir_fd is None:
        return SweepResult()
    try:
        pressure = Pressure(limits, dir_fd)
        run = SweepRun(
            dir_fd,
            base,
            cutoff=now - retention.total_seconds(),
            stale_cutoff=None if max_session_age is None else now - max_session_age.total_seconds(),
            dry_run=dry_run,
            note_young=pressure.possible(),
        )
        if run.scan(should_stop):
            _relieve_pressure(run, pressure, should_stop)
    finally:
        os.close(dir_fd)
    return _finished(run.result(pressure.free_ratio), base, dry_run, started)


def _finished(result: SweepResult, base: str, dry_run: bool, started: float) -> SweepResult:
    log.debug(
        "streaming log sweep finished",
        extra={
            "base_dir": base,
            "dry_run": dry_run,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "free_ratio": result.free_ratio,
            **result.as_counts(),
        },
    )
    return result


def resolve_base_dir(base_dir: Path) -> Path:
    """``base_dir`` absolute, with the symbolic links of its parents resolved; the directory
    itself stays as named, so that :func:`sweep` refuses it if it is a link. Resolve once, at
    start: the sweep then keeps to that directory whatever links change later."""
    path = os.path.abspath(base_dir)
    parent, name = os.path.split(path)
    return Path(os.path.realpath(parent), name) if name else Path(path)


def _open_directory(base: str) -> int | None:
    """A descriptor of ``base``; None if it does not exist (raises if it is no directory or a
    symbolic link)."""
    try:
        return os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        log.warning(
            "streaming log directory does not exist; nothing to sweep (writers create it at "
            "their first session: check system.streaming_logs.base_dir if sessions ran)",
            extra={"base_dir": base},
        )
        return None
    except OSError as exc:
        # O_NOFOLLOW with O_DIRECTORY: a link fails as "not a directory" (or ELOOP).
        if exc.errno not in (errno.ENOTDIR, errno.ELOOP) or not os.path.islink(base):
            raise
        raise OSError(
            errno.ELOOP,
            f"streaming log directory {base} is a symbolic link (to {os.path.realpath(base)}); "
            "the sweep does not follow it: set system.streaming_logs.base_dir to the directory "
            "itself",
        ) from None


def _relieve_pressure(
    run: SweepRun, pressure: Pressure, should_stop: Callable[[], bool] | None
) -> None:
    """Measure the pressure after the regular pass; under it, run the pressure pass."""
    pressure.measure(dir_bytes=run.bytes_on_disk)
    if not pressure.exists():
        return
    found = pressure.fields()
    run.relieve(pressure, should_stop)
    if run.pressure_deleted and not run.dry_run:
        pressure.measure(dir_bytes=run.bytes_on_disk)
    log.warning(
        "streaming log directory under disk pressure: completed files deleted oldest first, "
        "inside the debugging window",
        extra={
            "base_dir": run.base,
            "dry_run": run.dry_run,
            "pressure_deleted": run.pressure_deleted,
            "pressure_bytes_freed": run.pressure_bytes_freed,
            "pressure_remains": pressure.exists(),
            **found,
        },
    )
