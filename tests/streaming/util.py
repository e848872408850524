"""Helpers shared by the streaming tests."""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.polling import wait_for

# The machine running the suite may be busy: "about one flush interval" gets this much slack.
SLACK = 3.0
OLD = time.time() - 3600  # an hour ago: well outside any retention window the tests use


class FakeClock:
    """A monotonic clock for ``StreamingLogger(clock=...)`` that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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


def make_file(path: Path, content: bytes = b"log line\n", mtime: float | None = OLD) -> Path:
    """A file with ``content``, last modified at ``mtime`` (None: now)."""
    path.write_bytes(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def write_config(path: Path, base_dir: Path, **streaming_logs: object) -> Path:
    """A tarsy.yaml at ``path``: ``system.streaming_logs`` with ``base_dir`` and the settings."""
    settings = {"base_dir": base_dir, **streaming_logs}
    body = "".join(f"    {name}: {value}\n" for name, value in settings.items())
    path.write_text(f"system:\n  streaming_logs:\n{body}", encoding="utf-8")
    return path


# -- stream_session processes (started by the ``start_writer`` fixture) -------------------------

# Starting a Django process on a busy two-core machine can take a few seconds each.
START_TIMEOUT = 90.0


class WriterProcess(subprocess.Popen[bytes]):
    """A ``stream_session`` process fed through a pipe; its stderr goes to ``stderr_path``."""

    stderr_path: Path

    def send(self, data: bytes) -> None:
        assert self.stdin is not None
        self.stdin.write(data)
        self.stdin.flush()

    def finish(self) -> None:
        """End the input; the writer must complete the session and exit 0."""
        assert self.stdin is not None
        self.stdin.close()
        assert self.wait(timeout=START_TIMEOUT) == 0, self.stderr_text()

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")


StartWriter = Callable[..., WriterProcess]


def wait_for_content(path: Path, expected: bytes, timeout: float = START_TIMEOUT) -> None:
    """Wait until the file at ``path`` (which may not exist yet) holds exactly ``expected``."""
    wait_for(lambda: read_or_none(path) == expected, timeout)
