"""StreamingLogger on the real filesystem: ids, buffering, locking, completion, idle sessions.

Timing is driven by a fake clock and :meth:`StreamingLogger.tick` (the flush thread's work);
one test watches the real thread on the real clock.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from streaming.config import StreamingLogsConfig
from streaming.files import InvalidSessionId, validate_session_id
from streaming.logger import StreamingLogger
from tests.polling import wait_for
from tests.streaming.util import SLACK, FakeClock, is_locked


def make_config(base_dir: Path, **overrides: object) -> StreamingLogsConfig:
    values: dict[str, object] = {"base_dir": base_dir, "flush_interval_seconds": 1}
    values.update(overrides)
    return StreamingLogsConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def logger(base_dir: Path) -> Iterator[StreamingLogger]:
    instance = StreamingLogger(make_config(base_dir))
    yield instance
    instance.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def advance(logger: StreamingLogger, clock: FakeClock, seconds: float) -> None:
    """Move the fake clock, then do the flush thread's work that is due by then."""
    clock.advance(seconds)
    logger.tick()


def open_descriptors(path: Path) -> int:
    """How many descriptors of this process refer to ``path``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == str(path)
        except OSError:
            pass
    return count


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# -- session ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "session_id",
    ["a", "Z", "7", "sess_abc-123.log", "3f2b1c9e-8d4f-4a7b-9c1d-2e5f6a7b8c9d", "x" * 128, "a..b"],
)
def test_valid_session_ids_are_accepted(session_id: str) -> None:
    assert validate_session_id(session_id) == session_id


BAD_IDS = [
    "../x",
    "a/b",
    "",
    "\x00",
    "a\x00b",
    "x" * 10_000,
    "x" * 129,
    ".",
    "..",
    ".hidden",
    "-rf",
    "_x",
    "a b",
    "a\n",
    "a\\b",
    "caf\u00e9",
    "/etc/passwd",
]


@pytest.mark.parametrize("session_id", BAD_IDS)
def test_bad_session_ids_are_refused_and_create_nothing(
    tmp_path: Path, base_dir: Path, logger: StreamingLogger, session_id: str
) -> None:
    before = tree(tmp_path)
    with pytest.raises(InvalidSessionId) as excinfo:
        logger.append(session_id, "payload\n")
    with pytest.raises(InvalidSessionId):
        logger.complete_session(session_id)
    logger.flush()
    assert tree(tmp_path) == before
    assert not base_dir.exists()
    message = str(excinfo.value)
    assert message.startswith("invalid session id")
    assert "letter or digit first" in message
    assert len(message) < 300  # a 10,000-character id is not echoed back whole


@pytest.mark.parametrize("session_id", [None, 42, b"abc"])
def test_non_string_ids_are_refused(logger: StreamingLogger, session_id: object) -> None:
    with pytest.raises(InvalidSessionId, match="expected a string"):
        logger.append(session_id, "x")  # type: ignore[arg-type]


def test_invalid_session_id_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_session_id("../etc/passwd")


# -- buffering and flushing ----------------------------------------------------------------------


def test_appends_are_buffered_until_a_flush_or_the_interval(
    base_dir: Path, clock: FakeClock
) -> None:
    config = make_config(base_dir, flush_interval_seconds=60)
    with StreamingLogger(config, clock=clock) as logger:
        path = base_dir / "s1.log"
        for i in range(100):
            logger.append("s1", f"line {i}\n")
        # The file exists (and is locked) from the first append, but nothing is written yet.
        assert path.exists()
        advance(logger, clock, 59.5)
        assert path.read_bytes() == b""
        logger.flush()
        lines = b"".join(f"line {i}\n".encode() for i in range(100))
        assert path.read_bytes() == lines
        logger.append("s1", "after\n")
        advance(logger, clock, 0.5)  # a whole interval since the start
        assert path.read_bytes() == lines + b"after\n"


def test_appends_reach_disk_within_about_one_flush_interval(
    base_dir: Path, logger: StreamingLogger
) -> None:
    """The flush thread on the real clock, with nothing driving it but time."""
    path = base_dir / "s1.log"
    logger.append("s1", "first line\n")
    logger.append("s1", b"second line\n")
    wait_for(lambda: path.read_bytes() == b"first line\nsecond line\n", 1.0 + SLACK)
    logger.append("s1", "third\n")
    took = wait_for(lambda: path.read_bytes().endswith(b"third\n"), 1.0 + SLACK)
    assert took <= 1.0 + SLACK


def test_complete_session_writes_at_once_keeps_the_file_and_releases_the_lock(
    base_dir: Path, logger: StreamingLogger
) -> None:
    path = base_dir / "s1.log"
    logger.append("s1", "line one\n")
    assert is_locked(path)
    assert logger.active_sessions() == ["s1"]
    assert logger.complete_session("s1") is True
    assert path.read_bytes() == b"line one\n"
    assert not is_locked(path)
    assert logger.active_sessions() == []
    assert logger.complete_session("s1") is False  # already completed: nothing to do


def test_a_completed_session_can_be_appended_to_again(
    base_dir: Path, logger: StreamingLogger
) -> None:
    logger.append("s1", "before\n")
    logger.complete_session("s1")
    logger.append("s1", "after\n")
    logger.complete_session("s1")
    assert (base_dir / "s1.log").read_bytes() == b"before\nafter\n"


def test_time_based_cleanup_off_deletes_the_file_at_completion(base_dir: Path) -> None:
    with StreamingLogger(make_config(base_dir, time_based_cleanup=False)) as logger:
        logger.append("gone", "data\n")
        logger.append("other", "stays until completed\n")
        assert (base_dir / "gone.log").exists()
        logger.complete_session("gone")
        assert not (base_dir / "gone.log").exists()
        assert (base_dir / "other.log").exists()


def test_a_full_buffer_is_flushed_before_the_interval(base_dir: Path, clock: FakeClock) -> None:
    config = make_config(base_dir, flush_interval_seconds=30)
    # The fake clock never reaches the interval: only the buffer bound can cause a write.
    with StreamingLogger(config, buffer_limit=1024, clock=clock) as logger:
        path = base_dir / "big.log"
        logger.append("big", "x" * 600)
        logger.append("big", "y" * 600)  # passes the bound: the flush thread is woken
        wait_for(lambda: path.stat().st_size == 1200, SLACK)
        # Far past the bound, the appending thread writes itself (memory stays bounded).
        logger.append("big", "z" * 5000)
        assert path.stat().st_size == 6200
        # Also when the very first append of a session is that large.
        logger.append("huge", b"h" * 5000)
        assert (base_dir / "huge.log").stat().st_size == 5000


def test_text_and_bytes_are_written_exactly(base_dir: Path, logger: StreamingLogger) -> None:
    raw = bytes(range(256))
    logger.append("mix", "héllo wörld ✓\n")
    logger.append("mix", raw)
    logger.append("mix", bytearray(b"\r\n"))
    logger.append("mix", "surrogate: \udcff\n")  # what surrogateescape makes of byte 0xff
    logger.append("mix", "lone: \ud800\n")  # not encodable at all: escaped, never raises
    logger.complete_session("mix")
    assert (base_dir / "mix.log").read_bytes() == (
        "héllo wörld ✓\n".encode() + raw + b"\r\n" + b"surrogate: \xff\n" + b"lone: \\ud800\n"
    )


def test_append_refuses_other_types(logger: StreamingLogger) -> None:
    with pytest.raises(TypeError):
        logger.append("s1", 123)  # type: ignore[arg-type]


def test_close_flushes_everything_releases_locks_and_stops_the_thread(base_dir: Path) -> None:
    logger = StreamingLogger(make_config(base_dir, flush_interval_seconds=60))
    for i in range(5):
        logger.append(f"s{i}", f"session {i}\n")
    thread = logger._thread
    assert thread is not None and thread.is_alive()
    logger.close()
    assert not thread.is_alive()
    for i in range(5):
        path = base_dir / f"s{i}.log"
        assert path.read_bytes() == f"session {i}\n".encode()
        assert not is_locked(path)
    logger.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        logger.append("s0", "late\n")


def test_close_keeps_files_even_without_time_based_cleanup(base_dir: Path) -> None:
    logger = StreamingLogger(make_config(base_dir, time_based_cleanup=False))
    logger.append("interrupted", "partial\n")
    logger.close()
    assert (base_dir / "interrupted.log").read_bytes() == b"partial\n"


def test_disabled_logger_writes_nothing(base_dir: Path) -> None:
    with StreamingLogger(make_config(base_dir, enabled=False)) as logger:
        logger.append("s1", "ignored\n")
        assert logger.complete_session("s1") is False
        assert logger._thread.ident is None  # never started
    assert not base_dir.exists()


def test_concurrent_appends_from_threads_lose_and_reorder_nothing(base_dir: Path) -> None:
    logger = StreamingLogger(make_config(base_dir), buffer_limit=4096)
    sessions = ["t0", "t1", "t2"]

    def writer(n: int) -> None:
        for i in range(3000):
            logger.append(sessions[i % 3], f"w{n} {i}\n")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logger.close()
    for s, session in enumerate(sessions):
        lines = (base_dir / f"{session}.log").read_text().splitlines()
        for n in range(6):
            mine = [int(line.split()[1]) for line in lines if line.startswith(f"w{n} ")]
            assert mine == list(range(s, 3000, 3))  # all of them, in the order appended


# -- idle sessions -----------------------------------------------------------------------------


def idle_logger(base_dir: Path, clock: FakeClock, **overrides: object) -> StreamingLogger:
    """Flushes every second, completes a session after a second without a write."""
    config = make_config(base_dir, **overrides)
    return StreamingLogger(config, idle_timeout=timedelta(seconds=1), clock=clock)


def test_an_idle_session_is_completed_automatically(base_dir: Path, clock: FakeClock) -> None:
    with idle_logger(base_dir, clock) as logger:
        path = base_dir / "leaked.log"
        logger.append("leaked", "never completed by its owner\n")
        assert is_locked(path)
        advance(logger, clock, 1.0)  # written at the first interval: active until now
        assert logger.active_sessions() == ["leaked"]
        advance(logger, clock, 1.0)  # then a whole idle timeout without a write
        assert logger.active_sessions() == []
        assert not is_locked(path)
        assert path.read_bytes() == b"never completed by its owner\n"


def test_max_session_age_hours_is_the_default_idle_timeout(base_dir: Path) -> None:
    with StreamingLogger(make_config(base_dir, max_session_age_hours=5)) as logger:
        assert logger.idle_timeout == timedelta(hours=5)


def test_a_session_that_keeps_writing_is_not_idle(base_dir: Path, clock: FakeClock) -> None:
    config = make_config(base_dir)
    with StreamingLogger(config, idle_timeout=timedelta(seconds=1.5), clock=clock) as logger:
        path = base_dir / "busy.log"
        for _ in range(12):  # three seconds, twice the idle timeout
            logger.append("busy", "tick\n")
            assert logger.active_sessions() == ["busy"]
            advance(logger, clock, 0.25)
        assert logger.active_sessions() == ["busy"]
        assert is_locked(path)


def test_idle_completion_deletes_when_time_based_cleanup_is_off(
    base_dir: Path, clock: FakeClock
) -> None:
    with idle_logger(base_dir, clock, time_based_cleanup=False) as logger:
        logger.append("leaked", "x\n")
        advance(logger, clock, 1.0)
        assert (base_dir / "leaked.log").exists()
        advance(logger, clock, 1.0)
        assert not (base_dir / "leaked.log").exists()


# -- the file protocol ---------------------------------------------------------------------------


def test_the_writer_holds_an_exclusive_lock_while_the_session_is_open(
    base_dir: Path, logger: StreamingLogger
) -> None:
    logger.append("s1", "x")
    path = base_dir / "s1.log"
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    finally:
        os.close(fd)
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)


def test_a_file_unlinked_between_open_and_lock_is_reopened(
    base_dir: Path, logger: StreamingLogger
) -> None:
    """What a sweeper does to a stale file: lock it, unlink it, release. The writer must notice."""
    base_dir.mkdir()
    path = base_dir / "s1.log"
    path.write_bytes(b"stale content of an earlier run\n")
    sweeper_fd = os.open(path, os.O_RDONLY)
    fcntl.flock(sweeper_fd, fcntl.LOCK_EX)
    errors: list[BaseException] = []

    def first_append() -> None:
        try:
            logger.append("s1", "fresh\n")
        except BaseException as exc:
            errors.append(exc)

    writer = threading.Thread(target=first_append)
    writer.start()
    # Wait until the writer has opened the stale file too (two descriptors on it in this
    # process) and is waiting for its lock.
    wait_for(lambda: open_descriptors(path) == 2, 10)
    time.sleep(0.05)
    assert writer.is_alive()
    path.unlink()
    os.close(sweeper_fd)
    writer.join(timeout=10)
    assert not writer.is_alive() and not errors
    logger.complete_session("s1")
    assert path.read_bytes() == b"fresh\n"


def test_a_symlink_at_the_session_path_is_not_followed(
    tmp_path: Path, base_dir: Path, logger: StreamingLogger
) -> None:
    base_dir.mkdir()
    outside = tmp_path / "precious.txt"
    outside.write_text("do not touch\n")
    (base_dir / "evil.log").symlink_to(outside)
    (base_dir / "dangling.log").symlink_to(tmp_path / "would-be-created.txt")
    with pytest.raises(OSError, match="symbolic link"):
        logger.append("evil", "overwrite?\n")
    with pytest.raises(OSError, match="symbolic link"):
        logger.append("dangling", "create?\n")
    logger.flush()
    assert outside.read_text() == "do not touch\n"
    assert not (tmp_path / "would-be-created.txt").exists()
    assert logger.active_sessions() == []


def test_a_fifo_or_directory_at_the_session_path_fails_instead_of_hanging(
    base_dir: Path, logger: StreamingLogger
) -> None:
    base_dir.mkdir()
    os.mkfifo(base_dir / "pipe.log")
    (base_dir / "dir.log").mkdir()
    with pytest.raises(OSError, match="FIFO"):
        logger.append("pipe", "x")
    with pytest.raises(OSError):
        logger.append("dir", "x")
    assert logger.active_sessions() == []


def test_a_second_writer_of_the_same_session_is_refused(
    base_dir: Path, logger: StreamingLogger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("streaming.files.LOCK_WAIT_SECONDS", 0.3)
    logger.append("s1", "owner\n")
    with StreamingLogger(make_config(base_dir)) as other:
        with pytest.raises(OSError, match="locked by another writer"):
            other.append("s1", "intruder\n")
    logger.complete_session("s1")
    assert (base_dir / "s1.log").read_bytes() == b"owner\n"


# -- logging -------------------------------------------------------------------------------------


def test_completion_is_logged_with_structured_fields(
    base_dir: Path, logger: StreamingLogger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="streaming.logger")
    logger.append("s1", "12345")
    logger.complete_session("s1")
    done = [r for r in caplog.records if r.getMessage() == "streaming session completed"]
    assert len(done) == 1
    assert done[0].session_id == "s1"
    assert done[0].bytes_written == 5
    assert done[0].file_kept is True
    assert done[0].path == str(base_dir / "s1.log")


def test_idle_completion_is_logged_as_a_warning(
    base_dir: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="streaming.logger")
    with idle_logger(base_dir, clock) as logger:
        logger.append("leaked", "x")
        advance(logger, clock, 1.0)
        advance(logger, clock, 1.0)
        assert logger.active_sessions() == []
    idle = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [(r.session_id, r.reason) for r in idle] == [("leaked", "idle")]
