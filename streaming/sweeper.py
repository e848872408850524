"""The streaming-log file sweeper (DESIGN §6), run as the ``sweep`` job of ``run_cleanup``.

A completed session's file stays for ``file_retention_minutes`` so operators can read it, then
goes at the next sweep. A file is *active* while its writer holds an exclusive ``flock`` on it
(see :mod:`streaming.logger`); the sweeper tells active files by trying a non-blocking lock, so
it needs no shared state with the writers and works across processes and pods sharing a volume.

Everything is done relative to one descriptor of ``base_dir``: no symlink is followed, no
subdirectory entered, no name other than ``*.log`` touched, and a file that vanishes or changes
while the sweep looks at it is left for the next sweep instead of failing this one.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = ".log"
# How often (in seconds) a long sweep reports progress.
PROGRESS_EVERY = 5.0

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did (or, in a dry run, would have done)."""

    deleted: int = 0
    bytes_freed: int = 0
    skipped_active: int = 0
    kept_young: int = 0
    errors: int = 0

    def as_counts(self) -> dict[str, int]:
        """The counts as a plain dict, for the job's log line and run record."""
        return asdict(self)


class _Counts:
    """Mutable tally while sweeping; frozen into a :class:`SweepResult` at the end."""

    __slots__ = ("bytes_freed", "deleted", "errors", "kept_young", "skipped_active")

    def __init__(self) -> None:
        self.deleted = self.bytes_freed = self.skipped_active = self.kept_young = self.errors = 0

    def freeze(self) -> SweepResult:
        return SweepResult(
            deleted=self.deleted,
            bytes_freed=self.bytes_freed,
            skipped_active=self.skipped_active,
            kept_young=self.kept_young,
            errors=self.errors,
        )


def sweep(
    base_dir: Path,
    *,
    retention: timedelta,
    now: float | None = None,
    dry_run: bool = False,
    should_stop: Callable[[], bool] | None = None,
) -> SweepResult:
    """Delete ``*.log`` files in ``base_dir`` unmodified for ``retention`` and not locked.

    ``now`` is a ``time.time()`` value frozen by the caller. A missing ``base_dir`` is an
    empty sweep; one that cannot be listed raises :class:`OSError` (the job failed). Single
    files that cannot be deleted are counted in ``errors`` and logged, never raised. When
    ``should_stop()`` turns true (a shutdown), the sweep returns what it did so far.
    """
    now = time.time() if now is None else now
    cutoff = now - retention.total_seconds()
    base = os.fspath(base_dir)
    started = time.monotonic()
    counts = _Counts()

    try:
        dir_fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        log.debug(
            "streaming log directory does not exist; nothing to sweep", extra={"base_dir": base}
        )
        return counts.freeze()

    try:
        examined = 0
        next_progress = started + PROGRESS_EVERY
        with os.scandir(dir_fd) as entries:
            for entry in entries:
                name = entry.name
                if not name.endswith(SUFFIX):
                    continue
                examined += 1
                if examined % 1000 == 0 and time.monotonic() >= next_progress:
                    next_progress = time.monotonic() + PROGRESS_EVERY
                    log.info(
                        "streaming log sweep in progress",
                        extra={
                            "base_dir": base,
                            "examined": examined,
                            **counts.freeze().as_counts(),
                        },
                    )
                try:
                    # d_type from the directory listing: no syscall, and symlinks, FIFOs and
                    # directories are never regular files here.
                    if not entry.is_file(follow_symlinks=False):
                        log.debug(
                            "not a regular file; left alone",
                            extra={"base_dir": base, "file_name": name},
                        )
                        continue
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # vanished since the listing
                if info.st_mtime >= cutoff:
                    counts.kept_young += 1
                    continue
                if should_stop is not None and should_stop():
                    # A shutdown waits for no more than the file in hand.
                    log.info(
                        "streaming log sweep stopped early",
                        extra={"base_dir": base, "examined": examined},
                    )
                    break
                _sweep_candidate(dir_fd, base, name, cutoff, dry_run, counts)
    finally:
        os.close(dir_fd)

    result = counts.freeze()
    log.debug(
        "streaming log sweep finished",
        extra={
            "base_dir": base,
            "dry_run": dry_run,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            **result.as_counts(),
        },
    )
    return result


def _sweep_candidate(
    dir_fd: int, base: str, name: str, cutoff: float, dry_run: bool, counts: _Counts
) -> None:
    """Open, lock, re-check and unlink one old file; count what happened."""
    try:
        fd = os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return  # vanished
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return  # replaced by a symlink since the listing: not ours to touch
        _error(base, name, "cannot open", exc, counts)
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            counts.skipped_active += 1
            log.debug(
                "file is in use by a writer; kept", extra={"base_dir": base, "file_name": name}
            )
            return
        # Re-check under the lock: the name must still be this regular file, and no writer
        # may have written to it since the listing (it could have completed in between).
        held = os.fstat(fd)
        if not stat.S_ISREG(held.st_mode):
            return
        try:
            current = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return  # someone else removed it
        if (current.st_dev, current.st_ino) != (held.st_dev, held.st_ino):
            return  # replaced since we opened it; the next sweep judges the new file
        if held.st_mtime >= cutoff:
            counts.kept_young += 1
            return
        if not dry_run:
            try:
                os.unlink(name, dir_fd=dir_fd)
            except FileNotFoundError:
                return
            except OSError as exc:
                _error(base, name, "cannot delete", exc, counts)
                return
        counts.deleted += 1
        counts.bytes_freed += held.st_size
        log.debug(
            "would delete streaming log" if dry_run else "deleted streaming log",
            extra={
                "base_dir": base,
                "file_name": name,
                "size_bytes": held.st_size,
                "dry_run": dry_run,
            },
        )
    except OSError as exc:
        _error(base, name, "cannot check", exc, counts)
    finally:
        os.close(fd)  # releases the lock


def _error(base: str, name: str, what: str, exc: OSError, counts: _Counts) -> None:
    counts.errors += 1
    log.warning(
        f"streaming log sweep: {what} file",
        extra={
            "base_dir": base,
            "file_name": name,
            "error": exc.strerror or str(exc),
            "errno_name": errno.errorcode.get(exc.errno or 0, ""),
        },
    )
