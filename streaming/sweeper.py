"""The streaming-log file sweeper, run as the ``sweep`` job of ``run_cleanup``.

A completed session's file stays for ``file_retention_minutes`` so operators can read it, then
goes at the next sweep. A file is *active* while its writer holds an exclusive ``flock`` on it;
the sweeper tells active files by trying a non-blocking lock, so it needs no shared state with
the writers and works across processes and pods sharing a volume. The rules both sides follow
are in :mod:`streaming.files`.

Everything is done relative to one descriptor of ``base_dir``: no symlink is followed, no
subdirectory entered, no name other than ``*.log`` touched, and a file that vanishes or changes
while the sweep looks at it is left for the next sweep instead of failing this one.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from streaming import files

log = logging.getLogger(__name__)

# How often (in seconds) a long sweep reports progress.
PROGRESS_EVERY = 5.0


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
    base = os.fspath(base_dir)
    started = time.monotonic()
    dir_fd = _open_directory(base)
    if dir_fd is None:
        return SweepResult()
    run = _Sweep(dir_fd, base, cutoff=now - retention.total_seconds(), dry_run=dry_run)
    try:
        run.scan(should_stop)
    finally:
        os.close(dir_fd)
    result = run.result()
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


def _open_directory(base: str) -> int | None:
    """A descriptor of ``base``; None if it does not exist (raises if it is no directory)."""
    try:
        return os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        log.debug(
            "streaming log directory does not exist; nothing to sweep", extra={"base_dir": base}
        )
        return None


class _Sweep:
    """One sweep of one open directory: what it looks at, and its tally so far."""

    def __init__(self, dir_fd: int, base: str, *, cutoff: float, dry_run: bool) -> None:
        self.dir_fd = dir_fd
        self.base = base
        self.cutoff = cutoff
        self.dry_run = dry_run
        self.deleted = self.bytes_freed = self.skipped_active = self.kept_young = self.errors = 0
        # Private names of files being deleted: unique to this sweep, then numbered.
        self._token = secrets.token_hex(4)
        self._numbers = itertools.count()

    def result(self) -> SweepResult:
        return SweepResult(
            deleted=self.deleted,
            bytes_freed=self.bytes_freed,
            skipped_active=self.skipped_active,
            kept_young=self.kept_young,
            errors=self.errors,
        )

    def scan(self, should_stop: Callable[[], bool] | None) -> None:
        """Judge every ``*.log`` entry; stop between files once ``should_stop()`` is true."""
        examined = 0
        next_progress = time.monotonic() + PROGRESS_EVERY
        with os.scandir(self.dir_fd) as entries:
            for entry in entries:
                if not files.is_log_name(entry.name):
                    continue
                examined += 1
                if examined % 1000 == 0 and time.monotonic() >= next_progress:
                    next_progress = time.monotonic() + PROGRESS_EVERY
                    counts = self.result().as_counts()
                    self._report("streaming log sweep in progress", examined, **counts)
                if not self._old_regular_file(entry):
                    continue
                if should_stop is not None and should_stop():
                    # A shutdown waits for no more than the file in hand.
                    self._report("streaming log sweep stopped early", examined)
                    return
                self._candidate(entry.name)

    def _report(self, message: str, examined: int, **counts: int) -> None:
        log.info(message, extra={"base_dir": self.base, "examined": examined, **counts})

    def _old_regular_file(self, entry: os.DirEntry[str]) -> bool:
        """Whether the listing shows a regular file older than the cutoff (young ones count)."""
        try:
            # d_type from the directory listing: no syscall, and symlinks, FIFOs and
            # directories are never regular files here.
            if not entry.is_file(follow_symlinks=False):
                log.debug(
                    "not a regular file; left alone",
                    extra={"base_dir": self.base, "file_name": entry.name},
                )
                return False
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            return False  # vanished since the listing
        if info.st_mtime >= self.cutoff:
            self.kept_young += 1
            return False
        return True

    def _candidate(self, name: str) -> None:
        """Open, lock, re-check and unlink one old file; count what happened."""
        try:
            fd = os.open(name, files.SWEEPER_FLAGS, dir_fd=self.dir_fd)
        except FileNotFoundError:
            return  # vanished
        except OSError as exc:
            if exc.errno != errno.ELOOP:  # a symlink now: not ours to touch
                self._error(name, "cannot open", exc)
            return
        try:
            if not files.try_lock(fd):
                self.skipped_active += 1
                log.debug(
                    "file is in use by a writer; kept",
                    extra={"base_dir": self.base, "file_name": name},
                )
                return
            self._locked_candidate(name, os.fstat(fd))
        except OSError as exc:
            self._error(name, "cannot check", exc)
        finally:
            os.close(fd)  # releases the lock

    def _locked_candidate(self, name: str, held: os.stat_result) -> None:
        """Re-check a file under our lock, then delete it (see :mod:`streaming.files`)."""
        # The name must still be this regular file, and no writer may have written to it
        # since the listing (it could have completed in between).
        if not stat.S_ISREG(held.st_mode):
            return
        if held.st_mtime >= self.cutoff:
            self.kept_young += 1
            return
        try:
            if not self._remove(name, held):
                return  # removed or replaced since we opened it; the next sweep judges the new one
        except OSError as exc:
            self._error(name, "cannot delete", exc)
            return
        self.deleted += 1
        self.bytes_freed += held.st_size
        log.debug(
            "would delete streaming log" if self.dry_run else "deleted streaming log",
            extra={
                "base_dir": self.base,
                "file_name": name,
                "size_bytes": held.st_size,
                "dry_run": self.dry_run,
            },
        )

    def _remove(self, name: str, held: os.stat_result) -> bool:
        """Delete the file we hold locked if ``name`` still names it (:mod:`streaming.files`)."""
        if self.dry_run:
            return files.still_names(name, held, dir_fd=self.dir_fd)
        tag = f"{self._token}-{next(self._numbers)}"
        return files.remove_held(name, held, dir_fd=self.dir_fd, tag=tag)

    def _error(self, name: str, what: str, exc: OSError) -> None:
        self.errors += 1
        log.warning(
            f"streaming log sweep: {what} file",
            extra={
                "base_dir": self.base,
                "file_name": name,
                "error": exc.strerror or str(exc),
                "errno_name": errno.errorcode.get(exc.errno or 0, ""),
            },
        )
