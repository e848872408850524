"""One sweep of one open streaming-log directory: the work on each file, and its tally.

:func:`streaming.sweeper.sweep` opens the directory, runs the regular pass (:meth:`SweepRun.scan`)
and, under disk pressure, the pressure pass (:meth:`SweepRun.relieve`). Each file is deleted
by the rules of :mod:`streaming.files`: only once this sweep holds its lock, and through a
private name.
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

from streaming import files
from streaming.pressure import Pressure

# The sweep's log lines keep one logger name, whichever module writes them.
log = logging.getLogger("streaming.sweeper")

# How often (in seconds) a long sweep reports progress.
PROGRESS_EVERY = 5.0


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did (or, in a dry run, would have done), and what it left on disk."""

    deleted: int = 0
    bytes_freed: int = 0
    skipped_active: int = 0
    kept_young: int = 0
    errors: int = 0
    # Deleted inside the debugging window because of disk pressure.
    pressure_deleted: int = 0
    pressure_bytes_freed: int = 0
    # Locked (so also in skipped_active) although unmodified for longer than max_session_age.
    stale_active: int = 0
    # The *.log files left in the directory after the sweep, and the bytes they hold.
    files_on_disk: int = 0
    bytes_on_disk: int = 0
    # The filesystem's available share after the sweep (None: not measured).
    free_ratio: float | None = None

    def as_counts(self) -> dict[str, int]:
        """The counts (every field but ``free_ratio``), for the job's log line and run record."""
        counts = asdict(self)
        del counts["free_ratio"]
        return counts


# What became of one file the sweep tried to delete.
_GONE, _ACTIVE, _YOUNG, _DELETED, _FAILED = "gone", "active", "young", "deleted", "failed"


class SweepRun:
    """One sweep of one open directory: what it looks at, and its tally so far."""

    def __init__(
        self,
        dir_fd: int,
        base: str,
        *,
        cutoff: float,
        stale_cutoff: float | None,
        dry_run: bool,
        note_young: bool,
    ) -> None:
        self.dir_fd = dir_fd
        self.base = base
        self.cutoff = cutoff
        self.stale_cutoff = stale_cutoff
        # Files modified before this are tried: old ones to delete, and (with a max session
        # age above the retention) those that may be stale while active.
        self.try_before = cutoff if stale_cutoff is None else max(cutoff, stale_cutoff)
        self.dry_run = dry_run
        # (mtime, name, size) of the young files, when pressure may need them (the pressure
        # pass tries their locks then).
        self.young: list[tuple[float, str, int]] | None = [] if note_young else None
        self.deleted = self.bytes_freed = self.skipped_active = self.kept_young = 0
        self.errors = self.pressure_deleted = self.pressure_bytes_freed = self.stale_active = 0
        self.files_seen = self.bytes_seen = 0
        # Private names of files being deleted: unique to this sweep, then numbered.
        self._token = secrets.token_hex(4)
        self._numbers = itertools.count()

    @property
    def bytes_on_disk(self) -> int:
        return self.bytes_seen - self.bytes_freed - self.pressure_bytes_freed

    def result(self, free_ratio: float | None) -> SweepResult:
        return SweepResult(
            deleted=self.deleted,
            bytes_freed=self.bytes_freed,
            skipped_active=self.skipped_active,
            kept_young=self.kept_young,
            errors=self.errors,
            pressure_deleted=self.pressure_deleted,
            pressure_bytes_freed=self.pressure_bytes_freed,
            stale_active=self.stale_active,
            files_on_disk=self.files_seen - self.deleted - self.pressure_deleted,
            bytes_on_disk=self.bytes_on_disk,
            free_ratio=free_ratio,
        )

    def scan(self, should_stop: Callable[[], bool] | None) -> bool:
        """Judge every ``*.log`` entry; False if it stopped early because ``should_stop()``."""
        examined = 0
        next_progress = time.monotonic() + PROGRESS_EVERY
        with os.scandir(self.dir_fd) as entries:
            for entry in entries:
                if not files.is_log_name(entry.name):
                    continue
                examined += 1
                if examined % 1000 == 0 and time.monotonic() >= next_progress:
                    next_progress = time.monotonic() + PROGRESS_EVERY
                    counts = self.result(None).as_counts()
                    self._report("streaming log sweep in progress", examined, **counts)
                listed = self._listed(entry)
                if listed is None:
                    continue
                if should_stop is not None and should_stop():
                    # A shutdown waits for no more than the file in hand.
                    self._report("streaming log sweep stopped early", examined)
                    return False
                self._judge(entry.name, listed)
        return True

    def _report(self, message: str, examined: int, **counts: int) -> None:
        log.info(message, extra={"base_dir": self.base, "examined": examined, **counts})

    def _listed(self, entry: os.DirEntry[str]) -> os.stat_result | None:
        """The listing's view of a regular file to try; None for a young one (counted) or
        anything else (left alone)."""
        try:
            # d_type from the directory listing: no syscall, and symlinks, FIFOs and
            # directories are never regular files here.
            if not entry.is_file(follow_symlinks=False):
                log.debug(
                    "not a regular file; left alone",
                    extra={"base_dir": self.base, "file_name": entry.name},
                )
                return None
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            return None  # vanished since the listing
        self.files_seen += 1
        self.bytes_seen += info.st_size
        if info.st_mtime >= self.try_before:  # inline: the idle sweep's path for every file
            self.kept_young += 1
            if self.young is not None:
                self.young.append((info.st_mtime, entry.name, info.st_size))
            return None
        return info

    def _keep_young(self, name: str, info: os.stat_result) -> None:
        self.kept_young += 1
        if self.young is not None:
            self.young.append((info.st_mtime, name, info.st_size))

    def _judge(self, name: str, listed: os.stat_result) -> None:
        """The regular pass on one file the listing showed as old: count what became of it."""
        outcome, held = self._try_delete(name, self.cutoff)
        if held is not None:  # what the open file holds now, rather than what was listed
            self.bytes_seen += held.st_size - listed.st_size
        if outcome is _ACTIVE:
            self.skipped_active += 1
            if self.stale_cutoff is not None and listed.st_mtime < self.stale_cutoff:
                self.stale_active += 1
        elif outcome is _YOUNG and held is not None:
            self._keep_young(name, held)
        elif outcome is _DELETED and held is not None:
            self.deleted += 1
            self.bytes_freed += held.st_size
        elif outcome is _GONE:  # not on disk any more (or the name holds a file for next time)
            self.files_seen -= 1
            self.bytes_seen -= listed.st_size

    def relieve(self, pressure: Pressure, should_stop: Callable[[], bool] | None) -> None:
        """The pressure pass: delete unlocked young files, oldest first, while it lasts."""
        for _mtime, name, size in sorted(self.young or ()):
            if not pressure.exists() or (should_stop is not None and should_stop()):
                return
            outcome, held = self._try_delete(name, None)
            if outcome is _DELETED and held is not None:
                self.kept_young -= 1
                self.pressure_deleted += 1
                self.pressure_bytes_freed += held.st_size
                self.bytes_seen += held.st_size - size  # it may have grown since the listing
                pressure.freed(held.st_size)
            elif outcome is _GONE:
                self.kept_young -= 1
                self.files_seen -= 1
                self.bytes_seen -= size

    def _try_delete(self, name: str, cutoff: float | None) -> tuple[str, os.stat_result | None]:
        """Open, lock, re-check and delete one file (a dry run does all but the delete); one
        modified at or after ``cutoff`` is kept as young (None: any age goes)."""
        try:
            fd = os.open(name, files.SWEEPER_FLAGS, dir_fd=self.dir_fd)
        except FileNotFoundError:
            return _GONE, None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a symlink now: not ours to touch
                return _GONE, None
            self._error(name, "cannot open", exc)
            return _FAILED, None
        try:
            if not files.try_lock(fd):
                log.debug("file is in use by a writer; kept", extra=self._fields(name))
                return _ACTIVE, None
            held = os.fstat(fd)
            if not stat.S_ISREG(held.st_mode):
                return _GONE, None
            if cutoff is not None and held.st_mtime >= cutoff:
                return _YOUNG, held  # written since the listing
            if not self._remove(name, held):
                return _GONE, None  # removed or replaced since we opened it
        except OSError as exc:
            self._error(name, "cannot delete", exc)
            return _FAILED, None
        finally:
            os.close(fd)  # releases the lock
        log.debug(
            "would delete streaming log" if self.dry_run else "deleted streaming log",
            extra={
                **self._fields(name),
                "size_bytes": held.st_size,
                "under_pressure": cutoff is None,
            },
        )
        return _DELETED, held

    def _fields(self, name: str) -> dict[str, object]:
        return {"base_dir": self.base, "file_name": name, "dry_run": self.dry_run}

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
