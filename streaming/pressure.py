"""Disk pressure on the streaming-log directory: when the sweep must free space, and until when.

Completed files normally stay for the debugging window (``file_retention_minutes``). Two limits
say when keeping them would endanger the writers, who fail once the disk is full:

- ``min_free_percent``: the filesystem holding the directory has less space available (to
  unprivileged writers) than this share of its size;
- ``max_dir_mb``: the directory's ``*.log`` files hold more than this many MiB.

Under either, the sweep deletes completed files oldest first, inside the window if it must,
until neither holds (:mod:`streaming.sweeper` runs that pass). Space is measured once per
phase of a sweep (one ``statvfs``), then tracked by the sizes of the files deleted, so the
pass costs no system call per file beyond the deletion itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class PressureLimits:
    """The two limits; ``0`` and ``None`` turn them off."""

    min_free_percent: float = 0.0
    max_dir_mb: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.min_free_percent <= 100:
            raise ValueError(f"min_free_percent must be 0 to 100, got {self.min_free_percent}")
        if self.max_dir_mb is not None and self.max_dir_mb < 1:
            raise ValueError(f"max_dir_mb must be at least 1 or None, got {self.max_dir_mb}")


class Pressure:
    """The pressure one sweep's directory is under, measured on its open descriptor."""

    def __init__(self, limits: PressureLimits, dir_fd: int) -> None:
        self.limits = limits
        self.dir_fd = dir_fd
        self.size = self.available = 0
        self.dir_bytes = 0
        self.measure(dir_bytes=0)

    def measure(self, *, dir_bytes: int) -> None:
        """Read the filesystem's size and free space now; ``dir_bytes``: what the files hold."""
        fs = os.statvfs(self.dir_fd)
        self.size = fs.f_blocks * fs.f_frsize
        self.available = fs.f_bavail * fs.f_frsize
        self.dir_bytes = dir_bytes

    def freed(self, size: int) -> None:
        """Account for a deleted file of ``size`` bytes without measuring again."""
        self.available = min(self.size, self.available + size)
        self.dir_bytes -= size

    @property
    def free_ratio(self) -> float | None:
        """Available space over the filesystem's size (None for a filesystem of no size)."""
        return self.available / self.size if self.size else None

    def low_on_space(self) -> bool:
        ratio = self.free_ratio
        return ratio is not None and ratio * 100 < self.limits.min_free_percent

    def over_dir_limit(self) -> bool:
        limit = self.limits.max_dir_mb
        return limit is not None and self.dir_bytes > limit * MIB

    def exists(self) -> bool:
        """Whether either limit is passed."""
        return self.low_on_space() or self.over_dir_limit()

    def possible(self) -> bool:
        """Whether this sweep may come under pressure, so must note what it could delete: a
        directory limit is set, or space is already low (a sweep only frees space)."""
        return self.limits.max_dir_mb is not None or self.low_on_space()

    def fields(self) -> dict[str, Any]:
        """What a log line says about the pressure."""
        ratio = self.free_ratio
        return {
            "free_percent": None if ratio is None else round(ratio * 100, 2),
            "min_free_percent": self.limits.min_free_percent,
            "dir_bytes": self.dir_bytes,
            "max_dir_mb": self.limits.max_dir_mb,
            "low_on_space": self.low_on_space(),
            "over_dir_limit": self.over_dir_limit(),
        }
