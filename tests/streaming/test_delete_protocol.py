"""Deleting through a private name: a rename onto a candidate's name never gets an active file
deleted (see streaming/files.py, "Deleting goes through a private name").

A process that does not follow the protocol is simulated by a hook on ``still_names``, the
identity check the deletion makes before and after renaming the candidate aside: at that
instant the hook renames a locked, active file onto a name the sweep is about to act on.
Everything else is real: files, renames, locks.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from streaming import files
from streaming.sweeper import sweep
from tests.streaming.util import OLD, is_locked, make_file

ZERO = timedelta(0)
ACTIVE_CONTENT = b"an active session, still being written\n"


@pytest.fixture
def base_dir(base_dir: Path) -> Path:
    base_dir.mkdir()
    return base_dir


class Held:
    """A file held with an exclusive flock, as a writer holds its session's file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    @property
    def inode(self) -> int:
        assert self.fd is not None
        return os.fstat(self.fd).st_ino

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


@pytest.fixture
def active(base_dir: Path) -> Iterator[Held]:
    """An active file, young for the sweeps below: only a hostile rename moves it."""
    held = Held(make_file(base_dir / "active.log", ACTIVE_CONTENT, mtime=OLD + 600))
    yield held
    held.release()


def hook_still_names(monkeypatch: pytest.MonkeyPatch, act: Callable[[int, str], None]) -> list[str]:
    """Call ``act(call_number, path)`` after each identity check; returns the paths checked."""
    real = files.still_names
    checked: list[str] = []

    def still_names(path: str | Path, held: os.stat_result, *, dir_fd: int | None = None) -> bool:
        answer = real(path, held, dir_fd=dir_fd)
        checked.append(os.fspath(path))
        act(len(checked), os.fspath(path))
        return answer

    monkeypatch.setattr(files, "still_names", still_names)
    return checked


def asides(base_dir: Path) -> list[str]:
    return sorted(p.name for p in base_dir.iterdir() if p.name.startswith(files.ASIDE_PREFIX))


def test_a_rename_onto_the_candidate_before_it_is_moved_aside_is_put_back(
    base_dir: Path, active: Held, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window the old check-then-unlink had: the active file replaces the candidate right
    after the check. It is moved aside with the name, found not to be the locked file, and put
    back: nothing is deleted."""
    candidate = make_file(base_dir / "candidate.log", b"completed long ago\n")

    def rename_active_onto_candidate(call: int, path: str) -> None:
        if call == 1:
            os.rename(active.path, candidate)

    checked = hook_still_names(monkeypatch, rename_active_onto_candidate)
    result = sweep(base_dir, retention=timedelta(minutes=10), now=OLD + 601)

    assert checked[0] == "candidate.log" and checked[1].startswith(files.ASIDE_PREFIX)
    assert (result.deleted, result.errors) == (0, 0)
    # The active file (same inode, still locked, content intact) is back at the name.
    assert candidate.read_bytes() == ACTIVE_CONTENT
    assert os.stat(candidate).st_ino == active.inode
    assert is_locked(candidate)
    assert asides(base_dir) == []


def test_a_rename_onto_the_candidate_after_it_is_moved_aside_changes_nothing(
    base_dir: Path, active: Held, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the candidate is under its private name, the name it had is free: a file renamed
    onto it stays, and the candidate is deleted under the private name."""
    candidate = make_file(base_dir / "candidate.log", b"completed long ago\n")

    def rename_active_onto_candidate(call: int, path: str) -> None:
        if call == 2:  # the check of the private name
            os.rename(active.path, candidate)

    hook_still_names(monkeypatch, rename_active_onto_candidate)
    result = sweep(base_dir, retention=timedelta(minutes=10), now=OLD + 601)

    assert (result.deleted, result.bytes_freed) == (1, len(b"completed long ago\n"))
    assert candidate.read_bytes() == ACTIVE_CONTENT
    assert os.stat(candidate).st_ino == active.inode
    assert is_locked(candidate)
    assert asides(base_dir) == []


def test_a_moved_file_that_cannot_be_put_back_is_left_aside_and_logged(
    base_dir: Path,
    active: Held,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """If the name is taken again before the moved file can go back, nothing is replaced: the
    moved file stays under the private name (a warning says where), still locked and intact,
    and a later sweep judges it like any file."""
    caplog.set_level(logging.WARNING, logger="streaming")
    candidate = make_file(base_dir / "candidate.log", b"completed long ago\n")

    def race(call: int, path: str) -> None:
        if call == 1:
            os.rename(active.path, candidate)
        elif call == 2:
            candidate.write_bytes(b"a third file\n")

    hook_still_names(monkeypatch, race)
    result = sweep(base_dir, retention=timedelta(minutes=10), now=OLD + 601)
    monkeypatch.undo()

    assert (result.deleted, result.errors) == (0, 1)
    assert candidate.read_bytes() == b"a third file\n"
    (aside,) = asides(base_dir)
    assert aside.endswith("-candidate.log")
    assert (base_dir / aside).read_bytes() == ACTIVE_CONTENT
    assert os.stat(base_dir / aside).st_ino == active.inode
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert (warning.file_name, warning.base_dir) == ("candidate.log", str(base_dir))
    assert f"left as {aside}" in warning.error

    # Locked: kept by the next sweep. Released (its writer completed): swept like any file.
    again = sweep(base_dir, retention=timedelta(minutes=10), now=OLD + 601)
    assert (again.skipped_active, again.deleted, again.kept_young) == (0, 0, 2)
    again = sweep(base_dir, retention=ZERO)
    assert (again.skipped_active, again.deleted) == (1, 1)  # the third file goes
    assert asides(base_dir) == [aside]
    active.release()
    assert sweep(base_dir, retention=ZERO).deleted == 1
    assert list(base_dir.iterdir()) == []


def test_the_writer_deletes_through_a_private_name_too(
    base_dir: Path, active: Held, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer completing with time_based_cleanup off uses the same deletion: a rename onto
    its file's name just after its check does not get the renamed file deleted."""
    mine = make_file(base_dir / "mine.log", b"my session\n")
    fd = os.open(mine, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)

        def rename_active_onto_mine(call: int, path: str) -> None:
            if call == 1:
                os.rename(active.path, mine)

        hook_still_names(monkeypatch, rename_active_onto_mine)
        assert files.remove_held(mine, os.fstat(fd)) is False
    finally:
        os.close(fd)
    assert mine.read_bytes() == ACTIVE_CONTENT
    assert is_locked(mine)
    assert asides(base_dir) == []
