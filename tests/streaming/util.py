"""Helpers shared by the streaming tests."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

# The machine running the suite may be busy: "about one flush interval" gets this much slack.
SLACK = 3.0


def wait_for(predicate: Callable[[], bool], timeout: float) -> float:
    """Poll until ``predicate()`` holds; return the seconds it took, fail after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(0.02)
    return time.monotonic() - start


def is_locked(path: Path) -> bool:
    """True if some open file description holds a flock on ``path`` (as the sweeper sees it)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
