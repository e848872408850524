"""``stream_session`` as a real process ended by a signal while its lines are still buffered.

The flush interval is 60 s, so nothing read reaches the file before the signal unless the
signal's handling writes it: every line sent must be in the file afterwards.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.polling import wait_for
from tests.streaming.util import (
    START_TIMEOUT,
    StartWriter,
    is_locked,
    read_or_none,
    write_config,
)

LINES = b"".join(f"line {n} of 5\n".encode() for n in range(1, 6))


@pytest.fixture
def config_file(tmp_path: Path, base_dir: Path) -> Path:
    return write_config(tmp_path / "tarsy.yaml", base_dir, flush_interval_seconds=60)


@pytest.mark.parametrize(
    ("signum", "exit_code"),
    [(signal.SIGHUP, 129), (signal.SIGTERM, 143), (signal.SIGINT, 130)],
    ids=["SIGHUP", "SIGTERM", "SIGINT"],
)
def test_a_terminating_signal_writes_the_buffered_lines_and_exits_128_plus_its_number(
    base_dir: Path, start_writer: StartWriter, signum: signal.Signals, exit_code: int
) -> None:
    writer = start_writer("hung-up")
    path = base_dir / "hung-up.log"
    writer.send(LINES)
    # The file exists (locked, empty) once the first input has been read: then the signal.
    wait_for(lambda: path.exists(), START_TIMEOUT)
    assert read_or_none(path) == b"", "nothing may be flushed before the 60 s interval"
    assert is_locked(path)
    writer.send_signal(signum)
    assert writer.wait(timeout=30) == exit_code, writer.stderr_text()
    assert path.read_bytes() == LINES
    assert not is_locked(path)
    stderr = writer.stderr_text()
    assert f"terminated by {signum.name}" in stderr
    assert "Traceback" not in stderr


def test_lines_sent_before_the_signal_but_not_yet_read_are_copied_too(
    base_dir: Path, start_writer: StartWriter
) -> None:
    """What is waiting in the pipe when the signal comes was sent before it: it is copied."""
    writer = start_writer("late-lines")
    path = base_dir / "late-lines.log"
    writer.send(b"first\n")
    wait_for(lambda: path.exists(), START_TIMEOUT)
    writer.send(LINES)
    writer.send_signal(signal.SIGHUP)
    assert writer.wait(timeout=30) == 129, writer.stderr_text()
    assert path.read_bytes() == b"first\n" + LINES
