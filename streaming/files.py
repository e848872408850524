"""The streaming-log file protocol: how writers and the sweeper share ``base_dir`` safely.

A session's log is ``<base_dir>/<session_id>.log``. Writers (:mod:`streaming.logger`, in the
processes that run sessions) and the sweeper (:mod:`streaming.sweeper`, in ``run_cleanup``)
share no state but the directory, so the files themselves carry the protocol:

**A writer holds an exclusive** ``flock`` **on its file from open to completion.** It opens
with :func:`open_locked`: ``O_NOFOLLOW`` (a symbolic link at the path is refused, never
followed), ``O_NONBLOCK`` (a FIFO at the path fails at once instead of hanging), a regular file
only; then it takes the lock, waiting up to :data:`LOCK_WAIT_SECONDS` (a sweeper holds a lock
for microseconds; a longer holder is a second writer of the same session, which is refused).
Closing the descriptor at completion releases the lock.

**The sweeper deletes only a file it has locked itself**, with a non-blocking attempt: a file
it cannot lock is active and kept, however old. It works relative to one descriptor of
``base_dir``, so no symbolic link on the way is followed either.

**Both re-check identity after locking** (:func:`still_names`): a lock belongs to the opened
file, not to its name, and opening and locking are two steps. Between them:

- a sweeper may lock, unlink and release the file a writer has just opened. Without the
  re-check the writer would lock an unlinked file and every byte it wrote would be lost; with
  it, the writer sees that the path no longer names its file and opens again (a fresh file).
- a writer may complete (deleting its file when ``time_based_cleanup`` is off) and a new
  writer create a new file at the same name. A sweeper holding the lock on the old file must
  not unlink the name, which now belongs to a locked, active file.

**Deleting goes through a private name** (:func:`remove_held`). Whoever deletes a file it
holds locked (the sweeper, or a writer completing with ``time_based_cleanup`` off) does not
unlink the name it checked: between a check and an unlink, a process that does not follow the
protocol could rename another, active file onto that name, and the unlink would delete it.
Instead it renames the name to a private one in the same directory (``.sweeping-<tag>-<name>``:
a leading dot, so never a session's name; still ``*.log``, so a leftover of a crash is swept like
any file), checks that the private name is the file it holds, and unlinks that. A rename onto
the original name after that moves nothing of ours. If the entry it moved is not its file
(something replaced the name just before the rename), it puts it back with a hard link, which
never replaces an entry at the name; where that fails it leaves it under the private name and
reports it as an error that says where.

So a writer may assume: once :func:`open_locked` returns, its path names the file it holds and
nothing that follows this protocol unlinks it until the writer releases the lock. A sweeper
may assume: while it holds the lock on a file that the name still names, no writer is using it
and none can start to (a writer that opened it meanwhile will fail its own re-check), and
nobody following the protocol can replace the name before the sweeper unlinks it.

**What is assumed of other processes.** Everything that writes into ``base_dir`` follows this
protocol or only adds files. One that renames files inside the directory can still make a
deletion hit an active file, but only by renaming it onto a private name during the few
microseconds it exists, a name with a random tag it must first read from the directory; there
is no portable way to unlink "the file this descriptor has open" that would close that too.
A process with write access to the directory can delete any file in it anyway.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import secrets
import stat
import time
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = ".log"
MAX_SESSION_ID_LENGTH = 128
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", re.ASCII)
# How long opening a session's file waits for its lock (see the module docstring).
LOCK_WAIT_SECONDS = 5.0

# Never follow a symbolic link at the name, never block on a FIFO, never leak into a child.
_SAFE_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
WRITER_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | _SAFE_FLAGS
SWEEPER_FLAGS = os.O_RDONLY | _SAFE_FLAGS
FILE_MODE = 0o640
DIR_MODE = 0o750
# Private names of files being deleted (see "Deleting goes through a private name" above).
ASIDE_PREFIX = ".sweeping-"


class InvalidSessionId(ValueError):
    """A session id that could not safely name a file in ``base_dir``."""


class LeftAside(OSError):
    """A file moved aside by mistake while deleting another could not be put back."""


def validate_session_id(session_id: str) -> str:
    """Return ``session_id`` if it may name a log file; raise :class:`InvalidSessionId`.

    1 to 128 characters, a letter or digit first, then letters, digits, ``-``, ``_``, ``.``:
    no separator, no leading dot (so never ``..``), nothing a shell or a log viewer chokes on.
    """
    if not isinstance(session_id, str):
        raise InvalidSessionId(
            f"invalid session id: expected a string, got {type(session_id).__name__}"
        )
    if SESSION_ID_PATTERN.fullmatch(session_id) is None:
        if len(session_id) > 60:
            shown = f"{session_id[:40]!r}... ({len(session_id)} characters)"
        else:
            shown = repr(session_id)
        raise InvalidSessionId(
            f"invalid session id {shown}: use 1 to {MAX_SESSION_ID_LENGTH} characters, "
            "a letter or digit first, then letters, digits, '-', '_' or '.'"
        )
    return session_id


def log_path(base_dir: Path, session_id: str) -> Path:
    """The file a session's log goes to; raises :class:`InvalidSessionId`."""
    validate_session_id(session_id)
    path = base_dir / f"{session_id}{SUFFIX}"
    if path.parent != base_dir:  # cannot happen with a valid id; never trust it
        raise InvalidSessionId(f"invalid session id {session_id!r}: leaves the log directory")
    return path


def is_log_name(name: str) -> bool:
    """Whether a directory entry's name is one the sweeper may consider."""
    return name.endswith(SUFFIX)


def try_lock(fd: int) -> bool:
    """Take an exclusive ``flock`` on ``fd`` without waiting; False if anyone holds a lock."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def still_names(path: str | Path, held: os.stat_result, *, dir_fd: int | None = None) -> bool:
    """Whether ``path`` (relative to ``dir_fd`` if given) still names the file ``held`` describes.

    ``held`` is the ``fstat`` of a descriptor; the path is not followed, so a symbolic link
    never matches. A missing path is False; any other error is raised.
    """
    try:
        current = os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino)


def aside_name(name: str, tag: str) -> str:
    """The private name ``name`` is renamed to while it is being deleted (``tag`` unique)."""
    return f"{ASIDE_PREFIX}{tag}-{name}"


def remove_held(
    path: str | Path, held: os.stat_result, *, dir_fd: int | None = None, tag: str | None = None
) -> bool:
    """Delete the file ``held`` describes (its caller holds the lock) if ``path`` still names it.

    The name is renamed to :func:`aside_name` (``tag``: unique per call; default random) and
    unlinked there once that is checked to be the held file, so whatever replaces ``path``
    meanwhile is never deleted. False, having deleted nothing, when ``path`` no longer names
    the file; an entry moved aside by mistake is put back (:class:`LeftAside` if it cannot
    be). Other errors are raised.
    """
    if not still_names(path, held, dir_fd=dir_fd):
        return False
    head, name = os.path.split(os.fspath(path))
    aside = os.path.join(head, aside_name(name, tag or secrets.token_hex(8)))
    try:
        os.rename(path, aside, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except FileNotFoundError:
        return False
    if still_names(aside, held, dir_fd=dir_fd):
        os.unlink(aside, dir_fd=dir_fd)
        return True
    _put_back(aside, os.fspath(path), dir_fd=dir_fd)
    return False


def _put_back(aside: str, path: str, *, dir_fd: int | None) -> None:
    """Return an entry moved aside by mistake to ``path``, never replacing what is there now;
    raise :class:`LeftAside` if it cannot be."""
    try:
        os.link(aside, path, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return  # gone meanwhile: nothing to put back
    except OSError as exc:  # the name was taken again, or no hard links on this filesystem
        raise LeftAside(
            exc.errno,
            f"replaced while being deleted, and the file that replaced it could not be put "
            f"back ({exc.strerror}): it is left as {aside}",
        ) from None
    os.unlink(aside, dir_fd=dir_fd)


def open_locked(path: Path) -> int:
    """Open ``path`` for appending and hold an exclusive lock on the file it still names.

    Creates the directory if needed. Raises :class:`OSError` with a reason for a symbolic link,
    a FIFO or anything else than a regular file at the path, and (``EBUSY``) when the lock or
    a stable file cannot be had within :data:`LOCK_WAIT_SECONDS`.
    """
    os.makedirs(path.parent, mode=DIR_MODE, exist_ok=True)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        fd = _open_for_append(path)
        try:
            held = os.fstat(fd)
            if not stat.S_ISREG(held.st_mode):
                raise OSError(errno.EINVAL, "the session's path is not a regular file", path)
            _lock_until(fd, deadline, path)
            if still_names(path, held):
                # Blocking writes from here on: O_NONBLOCK was only for the open.
                fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        # A sweeper removed (or someone replaced) the file between open and flock.
        log.info(
            "session file changed while it was being opened; opening it again",
            extra={"path": str(path)},
        )
        if time.monotonic() >= deadline:
            raise OSError(errno.EBUSY, "the session's file keeps changing", path)


def _open_for_append(path: Path) -> int:
    try:
        return os.open(path, WRITER_FLAGS, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(
                exc.errno, "refusing to follow a symbolic link at the session's path", path
            ) from None
        if exc.errno == errno.ENXIO:
            raise OSError(exc.errno, "a FIFO is at the session's path", path) from None
        raise


def _lock_until(fd: int, deadline: float, path: Path) -> None:
    while not try_lock(fd):
        if time.monotonic() >= deadline:
            raise OSError(errno.EBUSY, "the session's file is locked by another writer", path)
        time.sleep(0.005)
