"""Waiting in tests for something another thread or process does: poll, never sleep blind."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

POLL_INTERVAL = 0.02


def wait_for(predicate: Callable[[], object], timeout: float, what: str = "condition") -> float:
    """Poll until ``predicate()`` is true; return the seconds it took, fail after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"{what} not met within {timeout}s")
        time.sleep(POLL_INTERVAL)
    return time.monotonic() - start
