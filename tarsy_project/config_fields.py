"""The fields of a tarsy.yaml section: how they are declared, checked and built.

A section is a frozen dataclass whose fields are declared with :func:`setting`, which records
the kind (``int``, ``bool``, ``duration``, ``path``) and range the loader enforces; one small
converter per kind turns the written value into a typed one. Every error names the key path,
the bad value and what is allowed, so an operator can fix the file without reading code.
This module knows no app: each app declares its own section with it.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tarsy_project.durations import DURATION_HINT, format_duration, parse_duration


class ConfigError(Exception):
    """A tarsy.yaml problem; the message is meant for the operator as it is."""


@dataclass(frozen=True)
class Setting:
    """What the loader accepts for one field."""

    kind: str
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False
    doc: str = ""


def setting(
    default: Any,
    kind: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    nullable: bool = False,
    doc: str = "",
) -> Any:
    """Declare a config field: ``kind`` is ``int``, ``bool``, ``duration`` or ``path``."""
    if kind not in _CONVERTERS:
        raise ValueError(f"unknown setting kind {kind!r} (known: {', '.join(_CONVERTERS)})")
    spec = Setting(kind, minimum=minimum, maximum=maximum, nullable=nullable, doc=doc)
    return dataclasses.field(default=default, metadata={"setting": spec})


def describe(value: Any) -> str:
    """A written value as an error message shows it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'}"
    return str(value)


# -- one converter per kind --------------------------------------------------------------------


def _to_bool(path: str, value: Any, spec: Setting) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: expected true or false, got {describe(value)}")
    return value


def _to_int(path: str, value: Any, spec: Setting) -> int:
    # isinstance(True, int) holds: a YAML boolean must not pass as a number.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{path}: expected an integer, got {describe(value)}")
    too_small = spec.minimum is not None and value < spec.minimum
    too_large = spec.maximum is not None and value > spec.maximum
    if too_small or too_large:
        allowed = "null (off) or " if spec.nullable else ""
        raise ConfigError(
            f"{path}: {value} is out of range (allowed: {allowed}an integer {_bounds(spec)})"
        )
    return value


def _bounds(spec: Setting) -> str:
    if spec.maximum is None:
        return f">= {spec.minimum:g}"
    if spec.minimum is None:
        return f"<= {spec.maximum:g}"
    return f"from {spec.minimum:g} to {spec.maximum:g}"


def _to_duration(path: str, value: Any, spec: Setting) -> timedelta:
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        raise ConfigError(f"{path}: expected a duration, got {describe(value)} ({DURATION_HINT})")
    if isinstance(value, (int, float)):
        raise ConfigError(
            f"{path}: a bare number is not a duration, got {value} (write {value}s; "
            f"{DURATION_HINT})"
        )
    try:
        duration = parse_duration(value)
    except ValueError:
        raise ConfigError(f"{path}: invalid duration {describe(value)} ({DURATION_HINT})") from None
    except OverflowError:
        raise ConfigError(
            f"{path}: {describe(value)} is out of range (must be below 999999999 days)"
        ) from None
    if duration <= timedelta(0):
        raise ConfigError(f"{path}: {describe(value)} is out of range (must be above 0)")
    return duration


def _to_path(path: str, value: Any, spec: Setting) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: expected a non-empty directory path, got {describe(value)}")
    return value


_CONVERTERS: dict[str, Callable[[str, Any, Setting], Any]] = {
    "int": _to_int,
    "bool": _to_bool,
    "duration": _to_duration,
    "path": _to_path,
}


def convert(path: str, value: Any, spec: Setting) -> Any:
    """The typed value of a written one, or a ConfigError naming ``path``."""
    if value is None:
        if spec.nullable:
            return None
        raise ConfigError(f"{path}: null is not allowed (expected {spec.kind})")
    return _CONVERTERS[spec.kind](path, value, spec)


# -- sections ----------------------------------------------------------------------------------


def key_path(parent: str, key: Any) -> str:
    """``parent.key``, or ``key`` at the top level."""
    return f"{parent}.{key}" if parent else str(key)


def as_mapping(raw: Any, path: str) -> dict:
    """A section's written value as a mapping: absent or null is an empty one."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping, got {describe(raw)}")
    return raw


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
