"""The strict ``tarsy.yaml`` loader (DESIGN §3).

Each section is a frozen dataclass owned by its app (``retention.config.RetentionConfig``,
``streaming.config.StreamingLogsConfig``); its fields are declared with :func:`setting`, which
records the kind and range the loader enforces. Every error names the key path, the bad
value and what is allowed, so an operator can fix the file without reading code.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from typing import Any

import yaml


class ConfigError(Exception):
    """A tarsy.yaml problem; the message is meant for the operator as it is."""


# -- field declarations ----------------------------------------------------------------------


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
    return dataclasses.field(
        default=default,
        metadata={
            "kind": kind,
            "minimum": minimum,
            "maximum": maximum,
            "nullable": nullable,
            "doc": doc,
        },
    )


# -- durations ---------------------------------------------------------------------------------

# Nanoseconds per unit: parts are summed exactly, then rounded once to timedelta's microseconds
# (a per-part timedelta would turn every ``ns`` part into 0).
_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
# ASCII digits only: ``\d`` would also accept other scripts' digits, which Go refuses.
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
DURATION_HINT = "use a Go duration such as 90s, 30m or 168h"


def parse_duration(text: str) -> timedelta:
    """Parse a Go duration (``90s``, ``1h30m``, ``1.5h``); raise ValueError when malformed.

    Raise OverflowError when the duration is beyond what a timedelta holds.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(text)
    pos, nanoseconds = 0, Fraction(0)
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if not match:
            raise ValueError(text)
        nanoseconds += Fraction(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    return timedelta(microseconds=round(nanoseconds / 1000))


def format_duration(value: timedelta) -> str:
    """Render a timedelta back in Go syntax (``1h``, ``12h``, ``1h30m``, ``1m30.5s``, ``500ms``)."""
    micros = value // timedelta(microseconds=1)
    if 0 < micros < 1_000_000:  # below a second, as Go prints it: 500ms, 1.5ms, 250us
        if micros < 1_000:
            return f"{micros}us"
        whole, frac = divmod(micros, 1_000)
        return f"{whole}.{frac:03d}".rstrip("0").rstrip(".") + "ms"
    seconds, frac = divmod(micros, 1_000_000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs or frac or not parts:
        parts.append(f"{secs}.{frac:06d}".rstrip("0").rstrip(".") + "s")
    return "".join(parts)


# -- validation --------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'}"
    return str(value)


def _convert(path: str, value: Any, meta: dict[str, Any]) -> Any:
    kind, minimum, maximum = meta["kind"], meta["minimum"], meta.get("maximum")
    if value is None:
        if meta["nullable"]:
            return None
        raise ConfigError(f"{path}: null is not allowed (expected {kind})")
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {_describe(value)}")
        return value
    if kind == "int":
        # isinstance(True, int) holds: a YAML boolean must not pass as a number.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {_describe(value)}")
        too_small = minimum is not None and value < minimum
        too_large = maximum is not None and value > maximum
        if too_small or too_large:
            allowed = "null (off) or " if meta["nullable"] else ""
            bounds = f">= {minimum:g}" if maximum is None else f"from {minimum:g} to {maximum:g}"
            raise ConfigError(
                f"{path}: {value} is out of range (allowed: {allowed}an integer {bounds})"
            )
        return value
    if kind == "duration":
        if isinstance(value, bool):
            raise ConfigError(
                f"{path}: expected a duration, got {_describe(value)} ({DURATION_HINT})"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(
                f"{path}: expected a duration, got {_describe(value)} ({DURATION_HINT})"
            )
        if isinstance(value, (int, float)):
            raise ConfigError(
                f"{path}: a bare number is not a duration, got {value} (write {value}s; "
                f"{DURATION_HINT})"
            )
        try:
            duration = parse_duration(value)
        except ValueError:
            raise ConfigError(
                f"{path}: invalid duration {_describe(value)} ({DURATION_HINT})"
            ) from None
        except OverflowError:
            raise ConfigError(
                f"{path}: {_describe(value)} is out of range (must be below 999999999 days)"
            ) from None
        if duration <= timedelta(0):
            raise ConfigError(f"{path}: {_describe(value)} is out of range (must be above 0)")
        return duration
    if kind == "path":
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(
                f"{path}: expected a non-empty directory path, got {_describe(value)}"
            )
        return value
    raise AssertionError(f"unknown setting kind {kind!r} for {path}")


def _build(cls: type, raw: Any, path: str) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping, got {_describe(raw)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            known = ", ".join(fields)
            raise ConfigError(f"{path}.{key}: unknown key (allowed keys: {known})")
    values = {name: _convert(f"{path}.{name}", raw[name], fields[name].metadata) for name in raw}
    return cls(**values)


# -- YAML --------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of keeping the last one silently."""

    key_path: tuple[str, ...] = ()  # where the mapping being built sits, for error messages


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    explicit = sum(1 for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)
    # flatten_mapping puts the pairs of ``<<`` merges first; keys written in the mapping itself
    # override merged ones (YAML merge semantics), only a key written twice is a duplicate.
    first_explicit = len(node.value) - explicit
    mapping: dict = {}
    seen_at: dict = {}
    parent = loader.key_path
    for index, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, "found a mapping or list used as a key", key_node.start_mark
            )
        if index >= first_explicit and key in seen_at:
            dotted = ".".join((*parent, str(key)))
            raise ConfigError(
                f"{dotted}: duplicate key at line {line} (first at line {seen_at[key]}; "
                "each key may appear only once)"
            )
        if index >= first_explicit:
            seen_at[key] = line
        loader.key_path = (*parent, str(key))
        try:
            mapping[key] = loader.construct_object(value_node, deep=True)
        finally:
            loader.key_path = parent
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class TarsyConfig:
    """The ``system`` section of tarsy.yaml, as typed, frozen objects."""

    retention: Any
    streaming_logs: Any


def parse_config(text: str, source: str = "tarsy.yaml") -> TarsyConfig:
    """Validate YAML text into a :class:`TarsyConfig`; raise :class:`ConfigError`."""
    from retention.config import RetentionConfig
    from streaming.config import StreamingLogsConfig

    try:
        document = yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{source}: YAML syntax error{where}: {exc.problem}") from None
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: YAML syntax error: {exc}") from None

    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, got {_describe(document)}")
    for key in document:
        if key != "system":
            raise ConfigError(f"{key}: unknown key (allowed keys: system)")
    system = document.get("system")
    if system is None:
        system = {}
    if not isinstance(system, dict):
        raise ConfigError(f"system: expected a mapping, got {_describe(system)}")
    sections = {"retention": RetentionConfig, "streaming_logs": StreamingLogsConfig}
    for key in system:
        if key not in sections:
            raise ConfigError(f"system.{key}: unknown key (allowed keys: {', '.join(sections)})")
    return TarsyConfig(
        **{name: _build(cls, system.get(name), f"system.{name}") for name, cls in sections.items()}
    )


def load_config(path: str | os.PathLike[str] | None = None) -> TarsyConfig:
    """Load tarsy.yaml from ``path`` (``None``: every default)."""
    if path is None:
        return parse_config("")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError(f"config file {os.fspath(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {os.fspath(path)!r} is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"config file {os.fspath(path)!r} cannot be read: {reason}") from None
    return parse_config(text, source=os.fspath(path))


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
