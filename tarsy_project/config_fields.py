"""The fields of a tarsy.yaml section: how they are declared, checked and built.

A section is a frozen dataclass whose fields are declared with :func:`setting`, which records
the kind (``int``, ``number``, ``bool``, ``duration``, ``path``) and range the loader enforces;
one small converter per kind turns the written value into a typed one. Every number and
duration has a maximum, so no accepted value can overflow what it later flows into (a
timedelta, a thread's wait, ``now - N``, a bigint or timestamptz column). Every error names
the key path, the bad value and what is allowed, so an operator can fix the file without
reading code. This module knows no app: each app declares its own section with it.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tarsy_project.config_env import UnsetVariableError, expand_references, has_references
from tarsy_project.config_yaml import read_plain_scalar
from tarsy_project.durations import DURATION_HINT, format_duration, parse_duration

# Limits the sections share. A century of days keeps `now - N days` inside the calendar (and
# PostgreSQL's timestamptz); a year is the longest any interval, wait or window may be.
MAX_DAYS = 36500
MAX_INTERVAL = timedelta(days=365)
MAX_PATH_BYTES = 4096  # PATH_MAX on Linux: a longer path fails every file operation
_SHOWN_CHARS = 100  # a value or key longer than this is cut in messages, which stay one line


class ConfigError(Exception):
    """A tarsy.yaml problem; the message is meant for the operator as it is."""


@dataclass(frozen=True)
class Setting:
    """What the loader accepts for one field."""

    kind: str
    minimum: float | None = None
    maximum: float | timedelta | None = None
    nullable: bool = False
    doc: str = ""


def setting(
    default: Any,
    kind: str,
    *,
    minimum: float | None = None,
    maximum: float | timedelta | None = None,
    nullable: bool = False,
    doc: str = "",
) -> Any:
    """Declare a config field: ``kind`` is ``int``, ``number``, ``bool``, ``duration``, ``path``.

    ``int``, ``number`` and ``duration`` need a ``maximum`` (a timedelta for durations).
    """
    if kind not in _CONVERTERS:
        raise ValueError(f"unknown setting kind {kind!r} (known: {', '.join(_CONVERTERS)})")
    if kind in ("int", "number", "duration") and maximum is None:
        raise ValueError(f"a {kind} setting needs a maximum that keeps its uses in range")
    spec = Setting(kind, minimum=minimum, maximum=maximum, nullable=nullable, doc=doc)
    return dataclasses.field(default=default, metadata={"setting": spec})


def _shorten(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def describe(value: Any) -> str:
    """A written value as an error message shows it (on one line, cut when long)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _shorten(repr(value))
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'}"
    return _shorten(str(value))


# -- one converter per kind --------------------------------------------------------------------


def _to_bool(path: str, value: Any, spec: Setting) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: expected true or false, got {describe(value)}")
    return value


def _in_range(path: str, value: float, spec: Setting, noun: str) -> None:
    too_small = spec.minimum is not None and value < spec.minimum
    too_large = spec.maximum is not None and value > spec.maximum
    if too_small or too_large:
        allowed = "null (off) or " if spec.nullable else ""
        raise ConfigError(
            f"{path}: {describe(value)} is out of range (allowed: {allowed}{noun} {_bounds(spec)})"
        )


def _bounds(spec: Setting) -> str:
    if spec.maximum is None:
        return f">= {_number(spec.minimum)}"
    if spec.minimum is None:
        return f"<= {_number(spec.maximum)}"
    return f"from {_number(spec.minimum)} to {_number(spec.maximum)}"


def _number(value: Any) -> str:
    """``100000``, not ``1e+05``: a bound as the operator would write it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _to_int(path: str, value: Any, spec: Setting) -> int:
    # isinstance(True, int) holds: a YAML boolean must not pass as a number.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{path}: expected an integer, got {describe(value)}")
    _in_range(path, value, spec, "an integer")
    return value


def _to_number(path: str, value: Any, spec: Setting) -> float:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not numeric or (isinstance(value, float) and not math.isfinite(value)):
        raise ConfigError(f"{path}: expected a number, got {describe(value)}")
    _in_range(path, value, spec, "a number")  # before float(): a huge int would overflow it
    return float(value)


def _to_duration(path: str, value: Any, spec: Setting) -> timedelta:
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        raise ConfigError(f"{path}: expected a duration, got {describe(value)} ({DURATION_HINT})")
    if isinstance(value, (int, float)):
        raise ConfigError(
            f"{path}: a bare number is not a duration, got {describe(value)} "
            f"(write {describe(value)}s; {DURATION_HINT})"
        )
    try:
        duration = parse_duration(value)
    except ValueError:
        raise ConfigError(f"{path}: invalid duration {describe(value)} ({DURATION_HINT})") from None
    except OverflowError:
        duration = None  # beyond any timedelta, so beyond the maximum too
    if duration is not None and duration <= timedelta(0):
        raise ConfigError(f"{path}: {describe(value)} is out of range (must be above 0)")
    if duration is None or duration > spec.maximum:
        raise ConfigError(
            f"{path}: {describe(value)} is out of range (must be at most "
            f"{_describe_duration(spec.maximum)})"
        )
    return duration


def _describe_duration(value: timedelta) -> str:
    """``8760h (365 days)``: Go syntax, with the days when it is a whole number of them."""
    whole_days = value.days >= 1 and value == timedelta(days=value.days)
    return f"{format_duration(value)} ({value.days} days)" if whole_days else format_duration(value)


def _to_path(path: str, value: Any, spec: Setting) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: expected a non-empty directory path, got {describe(value)}")
    try:
        encoded = os.fsencode(value)
    except UnicodeEncodeError:
        raise ConfigError(f"{path}: {describe(value)} cannot be a file system path") from None
    if b"\0" in encoded:
        raise ConfigError(f"{path}: a path cannot contain a NUL character, got {describe(value)}")
    if len(encoded) > MAX_PATH_BYTES:
        raise ConfigError(f"{path}: the path is longer than {MAX_PATH_BYTES} bytes")
    if os.path.expanduser(value).startswith("~"):
        raise ConfigError(f"{path}: {describe(value)} names a home directory that cannot be found")
    return value


_CONVERTERS: dict[str, Callable[[str, Any, Setting], Any]] = {
    "int": _to_int,
    "number": _to_number,
    "bool": _to_bool,
    "duration": _to_duration,
    "path": _to_path,
}


def expand(path: str, value: Any, spec: Setting) -> Any:
    """The written value with its ``${VAR}`` references expanded from the environment.

    The result is read again as a YAML scalar, so ``${DAYS}`` can be a number; a path stays
    text (a directory may be called ``2024``).
    """
    if not isinstance(value, str) or not has_references(value):
        return value
    try:
        expanded = expand_references(value)
    except UnsetVariableError as exc:
        raise ConfigError(
            f"{path}: environment variable {exc.name} is not set (written as ${{{exc.name}}})"
        ) from None
    return expanded if spec.kind == "path" else read_plain_scalar(expanded)


def convert(path: str, value: Any, spec: Setting) -> Any:
    """The typed value of a written one, or a ConfigError naming ``path``."""
    value = expand(path, value, spec)
    if value is None:
        if spec.nullable:
            return None
        raise ConfigError(f"{path}: null is not allowed (expected {spec.kind})")
    return _CONVERTERS[spec.kind](path, value, spec)


# -- sections ----------------------------------------------------------------------------------


def key_path(parent: str, key: Any) -> str:
    """``parent.key``, or ``key`` at the top level (a key that is not plain text is quoted)."""
    text = _shorten(key if isinstance(key, str) and key.isprintable() else repr(key))
    return f"{parent}.{text}" if parent else text


def as_mapping(raw: Any, path: str) -> dict:
    """A section's written value as a mapping: absent or null is an empty one."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping, got {describe(raw)}")
    return raw


def section_keys(cls: type) -> list[str]:
    """The keys a section declares, in declaration order."""
    return [f.name for f in dataclasses.fields(cls)]


def refuse_unknown_keys(mapping: dict, allowed: Iterable[str], path: str) -> None:
    """Raise for the first key of ``mapping`` that is not ``allowed``."""
    known = list(allowed)
    for key in mapping:
        if key not in known:
            raise ConfigError(
                f"{key_path(path, key)}: unknown key (allowed keys: {', '.join(known)})"
            )


def build_section(cls: type, raw: dict, path: str) -> Any:
    """The frozen section ``cls`` from its written mapping; unwritten fields keep defaults."""
    fields = {f.name: f.metadata["setting"] for f in dataclasses.fields(cls)}
    refuse_unknown_keys(raw, fields, path)
    return cls(**{name: convert(key_path(path, name), raw[name], fields[name]) for name in raw})


def config_as_dict(config: Any) -> dict[str, Any]:
    """Plain values for logging the effective configuration (durations in Go syntax)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            value = config_as_dict(value)
        elif isinstance(value, timedelta):
            value = format_duration(value)
        elif isinstance(value, os.PathLike):
            value = os.fspath(value)
        out[f.name] = value
    return out
