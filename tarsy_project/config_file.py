"""Reading the tarsy.yaml file itself: a regular file of bounded size, or a clean error.

A config path can name anything: ``/dev/zero`` would be read without end, a FIFO would block
the command forever. The file is opened without blocking, checked with ``fstat`` on the open
descriptor (so what is checked is what is read), and read up to one byte past the limit.
"""

from __future__ import annotations

import os
import stat

from tarsy_project.config_fields import ConfigError

MAX_CONFIG_BYTES = 1024 * 1024
_LIMIT = "1 MiB"

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_config_file(path: str | os.PathLike[str]) -> str:
    """The text of the config file at ``path``; a ConfigError says why it cannot be read."""
    name = os.fspath(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        descriptor = os.open(name, flags)
    except FileNotFoundError:
        raise ConfigError(f"config file {name!r} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {name!r} cannot be read: {exc.strerror or exc}") from None
    try:
        _refuse_what_is_not_a_bounded_file(name, os.fstat(descriptor))
        data = _read_bounded(name, descriptor)
    finally:
        os.close(descriptor)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {name!r} cannot be read: {exc}") from None


def _refuse_what_is_not_a_bounded_file(name: str, info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"config file {name!r} is a directory")
    if not stat.S_ISREG(info.st_mode):
        kind = next((kind for test, kind in _KINDS if test(info.st_mode)), "an unknown kind")
        raise ConfigError(f"config file {name!r} is not a regular file ({kind})")
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(_too_large(name))


def _read_bounded(name: str, descriptor: int) -> bytes:
    """At most the limit's bytes: a file that grows while it is read is refused too."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= MAX_CONFIG_BYTES:
            chunk = os.read(descriptor, MAX_CONFIG_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ConfigError(f"config file {name!r} cannot be read: {exc.strerror or exc}") from None
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(_too_large(name))
    return b"".join(chunks)


def _too_large(name: str) -> str:
    return f"config file {name!r} is larger than {_LIMIT} (the limit for a config file)"
