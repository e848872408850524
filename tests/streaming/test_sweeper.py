"""The file sweeper on a real directory: what it deletes, what it must never touch."""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from streaming.sweeper import SweepResult, resolve_base_dir, sweep
from tests.streaming.util import OLD, make_file

WINDOW = timedelta(minutes=10)
ZERO = timedelta(0)


@pytest.fixture
def base_dir(base_dir: Path) -> Path:
    """The sweeper's tests start from an existing, empty directory."""
    base_dir.mkdir()
    return base_dir


NOTHING_ELSE = {
    "pressure_deleted": 0,
    "pressure_bytes_freed": 0,
    "stale_active": 0,
}


def test_missing_directory_is_an_empty_sweep_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="streaming")
    result = sweep(tmp_path / "nope", retention=WINDOW)
    assert result == SweepResult()
    assert result.as_counts() == {
        "deleted": 0,
        "bytes_freed": 0,
        "skipped_active": 0,
        "kept_young": 0,
        "errors": 0,
        **NOTHING_ELSE,
        "files_on_disk": 0,
        "bytes_on_disk": 0,
    }
    assert result.free_ratio is None
    (warning,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.levelno == logging.WARNING
    assert "does not exist" in warning.getMessage()
    assert warning.base_dir == str(tmp_path / "nope")


def test_a_base_dir_that_is_a_file_raises(tmp_path: Path) -> None:
    not_a_dir = make_file(tmp_path / "streaming")
    with pytest.raises(NotADirectoryError):
        sweep(not_a_dir, retention=WINDOW)
    assert not_a_dir.exists()


@pytest.mark.parametrize("target", ["elsewhere", "nowhere"], ids=["to a directory", "dangling"])
def test_a_base_dir_that_is_a_symbolic_link_is_refused(tmp_path: Path, target: str) -> None:
    """The sweep deletes files, and only in the directory it was given: never in a link's
    target (whose other *.log files may be anyone's)."""
    (tmp_path / "elsewhere").mkdir()
    precious = make_file(tmp_path / "elsewhere" / "someone-elses.log")
    link = tmp_path / "streaming"
    link.symlink_to(tmp_path / target)
    with pytest.raises(OSError, match="is a symbolic link .* does not follow it") as raised:
        sweep(link, retention=ZERO)
    assert raised.value.errno == errno.ELOOP
    assert str(tmp_path / target) in str(raised.value)
    assert precious.exists() and link.is_symlink()
    # Resolving it first does not make it acceptable: only links above it are resolved.
    with pytest.raises(OSError, match="is a symbolic link"):
        sweep(resolve_base_dir(link), retention=ZERO)


def test_resolve_base_dir_resolves_the_links_above_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real" / "streaming").mkdir(parents=True)
    (tmp_path / "via").symlink_to(tmp_path / "real")
    assert resolve_base_dir(tmp_path / "via" / "streaming") == tmp_path / "real" / "streaming"
    assert resolve_base_dir(tmp_path / "via" / "missing") == tmp_path / "real" / "missing"
    monkeypatch.chdir(tmp_path / "via")
    assert resolve_base_dir(Path("streaming")) == tmp_path / "real" / "streaming"
    assert resolve_base_dir(Path("/")) == Path("/")


def test_result_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SweepResult().deleted = 1  # type: ignore[misc]


def test_old_files_go_young_files_stay(base_dir: Path) -> None:
    make_file(base_dir / "old1.log", b"a" * 100)
    make_file(base_dir / "old2.log", b"b" * 50)
    make_file(base_dir / "young.log", b"c" * 10, mtime=time.time() - 60)
    make_file(base_dir / "fresh.log", b"d", mtime=None)
    result = sweep(base_dir, retention=WINDOW)
    assert result.as_counts() == {
        "deleted": 2,
        "bytes_freed": 150,
        "skipped_active": 0,
        "kept_young": 2,
        "errors": 0,
        **NOTHING_ELSE,
        "files_on_disk": 2,
        "bytes_on_disk": 11,
    }
    assert result.free_ratio is not None and 0 < result.free_ratio < 1
    assert sorted(p.name for p in base_dir.iterdir()) == ["fresh.log", "young.log"]


def test_the_callers_now_is_used(base_dir: Path) -> None:
    mtime = time.time() - 100
    make_file(base_dir / "s.log", mtime=mtime)
    assert sweep(base_dir, retention=timedelta(seconds=60), now=mtime + 50).kept_young == 1
    assert (base_dir / "s.log").exists()
    assert sweep(base_dir, retention=timedelta(seconds=60), now=mtime + 61).deleted == 1
    assert not (base_dir / "s.log").exists()


def test_zero_window_deletes_every_completed_file(base_dir: Path) -> None:
    make_file(base_dir / "just-completed.log", mtime=None)
    result = sweep(base_dir, retention=ZERO, now=time.time() + 1)
    assert result.deleted == 1
    assert list(base_dir.iterdir()) == []


def test_dry_run_counts_but_deletes_nothing(base_dir: Path) -> None:
    make_file(base_dir / "old.log", b"x" * 42)
    make_file(base_dir / "young.log", mtime=None)
    result = sweep(base_dir, retention=WINDOW, dry_run=True)
    assert (result.deleted, result.bytes_freed, result.kept_young) == (1, 42, 1)
    assert (base_dir / "old.log").exists()
    assert sweep(base_dir, retention=WINDOW).deleted == 1


def test_a_locked_file_is_active_and_kept_however_old(base_dir: Path) -> None:
    active = make_file(base_dir / "active.log")
    make_file(base_dir / "done.log")
    fd = os.open(active, os.O_WRONLY | os.O_APPEND)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        result = sweep(base_dir, retention=ZERO)
        assert (result.deleted, result.skipped_active) == (1, 1)
        assert active.exists()
        # A shared lock is as good: anyone holding any lock is using the file.
        fcntl.flock(fd, fcntl.LOCK_SH)
        assert sweep(base_dir, retention=ZERO).skipped_active == 1
        assert active.exists()
    finally:
        os.close(fd)
    assert sweep(base_dir, retention=ZERO).deleted == 1
    assert not active.exists()


# Another process (a second sweeper, an operator's rm) removing the files in reverse order,
# and, with "rmdir", the directory itself. The sweep renames each file it deletes to a private
# name for the instant before the unlink, so an rmdir racing it may find the directory not yet
# empty: like an operator running rm -r again, the rival then retries (for at most 5 s).
_RIVAL = """
import errno, os, sys, time
base = sys.argv[1]
names = sorted(os.listdir(base), reverse=True)
print("ready", flush=True)
for name in names:
    try:
        os.unlink(os.path.join(base, name))
    except FileNotFoundError:
        pass
if sys.argv[2] == "rmdir":
    for _ in range(5000):
        try:
            os.rmdir(base)
            break
        except OSError as exc:
            if exc.errno != errno.ENOTEMPTY:
                raise
            time.sleep(0.001)
    else:
        sys.exit("the directory never became empty")
"""


def _race_a_rival(base_dir: Path, count: int, mode: str) -> SweepResult:
    for i in range(count):
        make_file(base_dir / f"s{i:05d}.log")
    rival = subprocess.Popen(
        [sys.executable, "-c", _RIVAL, str(base_dir), mode], stdout=subprocess.PIPE, text=True
    )
    try:
        assert rival.stdout is not None
        assert rival.stdout.readline() == "ready\n"  # it is about to delete
        return sweep(base_dir, retention=WINDOW)
    finally:
        assert rival.wait(timeout=60) == 0


def test_files_vanishing_mid_sweep_are_tolerated(base_dir: Path) -> None:
    result = _race_a_rival(base_dir, 1000, "keep")
    assert result.errors == 0
    assert result.deleted <= 1000
    assert list(base_dir.iterdir()) == []


def test_base_dir_removed_mid_sweep_is_tolerated(base_dir: Path) -> None:
    result = _race_a_rival(base_dir, 1000, "rmdir")
    assert result.errors == 0
    assert not base_dir.exists()


# -- a hostile directory -------------------------------------------------------------------------


def _chattr(flag: str, path: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True, check=False)
    return done.returncode == 0


@pytest.fixture
def undeletable(base_dir: Path) -> Iterator[Path]:
    """An old ``.log`` file even root cannot unlink: immutable (``chattr +i``)."""
    path = make_file(base_dir / "immutable.log", b"pinned\n")
    if not _chattr("+i", path):
        pytest.skip("chattr +i is not supported here (needs CAP_LINUX_IMMUTABLE and ext4/xfs)")
    try:
        os.unlink(path)
    except PermissionError:
        pass
    else:
        pytest.fail("chattr +i did not make the file undeletable")
    yield path
    _chattr("-i", path)


def _plant_hostile_entries(tmp_path: Path, base_dir: Path) -> tuple[Path, list[Path], list[Path]]:
    """Old entries a sweep must leave alone: symlinks (to a file outside, to a directory,
    dangling), subdirectories (one named ``*.log``) with logs inside, names that are not
    ``*.log``, a FIFO named ``x.log``. Returns the outside file, the links, and the rest."""
    outside_dir = tmp_path / "outside"
    outside_dir.mkdir()
    target = make_file(outside_dir / "target.log", b"must survive\n")
    links = {"link.log": target, "linkdir.log": outside_dir, "dangling.log": tmp_path / "nope"}
    for name, destination in links.items():
        (base_dir / name).symlink_to(destination)
        os.utime(base_dir / name, (OLD, OLD), follow_symlinks=False)
    subdir = base_dir / "sub"
    subdir.mkdir()
    nested = [make_file(subdir / "deep.log"), make_file(subdir / "deeper.log")]
    dir_named_log = base_dir / "dir.log"
    dir_named_log.mkdir()
    nested.append(make_file(dir_named_log / "inside.log"))
    os.utime(dir_named_log, (OLD, OLD))
    os.utime(subdir, (OLD, OLD))
    others = [
        make_file(base_dir / name)
        for name in ("notes.txt", "x.log.bak", "x.LOG", "log", "x.log~", "x.logs")
    ]
    fifo = base_dir / "x.log"
    os.mkfifo(fifo)
    os.utime(fifo, (OLD, OLD))
    return target, [base_dir / name for name in links], [*nested, *others, fifo]


def test_hostile_directory(
    tmp_path: Path, base_dir: Path, undeletable: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="streaming.sweeper")
    target, links, survivors = _plant_hostile_entries(tmp_path, base_dir)
    victims = [make_file(base_dir / "old-a.log", b"12345"), make_file(base_dir / "old-b.log")]

    results: list[SweepResult] = []
    worker = threading.Thread(
        target=lambda: results.append(sweep(base_dir, retention=ZERO)), daemon=True
    )
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the sweep blocked (on the FIFO?)"
    (result,) = results

    assert result.as_counts() == {
        "deleted": 2,
        "bytes_freed": 5 + len(b"log line\n"),
        "skipped_active": 0,
        "kept_young": 0,
        "errors": 1,
        **NOTHING_ELSE,
        "files_on_disk": 1,
        "bytes_on_disk": len(b"pinned\n"),
    }
    assert not any(v.exists() for v in victims)
    assert target.read_bytes() == b"must survive\n"
    assert all(link.is_symlink() for link in links)
    assert all(p.exists() for p in survivors)
    assert undeletable.read_bytes() == b"pinned\n"

    errors = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(errors) == 1
    assert errors[0].file_name == "immutable.log"
    assert errors[0].errno_name == "EPERM"
    assert errors[0].base_dir == str(base_dir)

    # The next sweep sees the same error again and nothing else.
    assert sweep(base_dir, retention=ZERO).as_counts()["errors"] == 1


def test_an_unlistable_base_dir_raises(tmp_path: Path) -> None:
    """A base_dir that is not a directory fails the job at once (and never blocks on a FIFO)."""
    fifo = tmp_path / "streaming"
    os.mkfifo(fifo)
    with pytest.raises(NotADirectoryError):
        sweep(fifo, retention=WINDOW)


def test_a_stop_request_ends_the_sweep_with_what_it_did_so_far(tmp_path: Path) -> None:
    """A shutdown must not wait for a sweep of 100k files: the sweep checks between files."""
    for i in range(10):
        make_file(tmp_path / f"old-{i}.log", b"x")
    asked = 0

    def stop_after_three() -> bool:
        nonlocal asked
        asked += 1
        return asked > 3

    result = sweep(tmp_path, retention=timedelta(minutes=10), should_stop=stop_after_three)
    assert result.deleted == 3
    assert len(list(tmp_path.glob("*.log"))) == 7
    assert sweep(tmp_path, retention=timedelta(minutes=10), should_stop=lambda: True).deleted == 0
    assert sweep(tmp_path, retention=timedelta(minutes=10)).deleted == 7
