"""Hostile config files and values: every one is a ConfigError with one clear line.

The file must be a regular file of at most 1 MiB (never read without bound, never a blocking
open); YAML nesting is bounded; every number and duration has a maximum that keeps what it
flows into in range; paths refuse NUL. Real files, FIFOs, sockets and devices; nothing mocked.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from retention.config import RetentionConfig
from sessions.config import OrphanDetectionConfig
from streaming.config import StreamingLogsConfig
from tarsy_project.config import ConfigError, load_config, parse_config
from tarsy_project.config_fields import setting
from tarsy_project.durations import format_duration

MIB = 1024 * 1024
SECTIONS = {
    "system.retention": RetentionConfig,
    "system.streaming_logs": StreamingLogsConfig,
    "queue": OrphanDetectionConfig,
}


def load_error(path: Path | str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400, message
    return message


def document(section: str, key: str, value: str) -> str:
    """A tarsy.yaml that writes ``value`` at ``section.key``."""
    parts = section.split(".")
    lines = [f"{'  ' * depth}{part}:" for depth, part in enumerate(parts)]
    lines.append(f"{'  ' * len(parts)}{key}: {value}")
    return "\n".join(lines) + "\n"


# -- the file ----------------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_is_refused_without_reading_it(device: str) -> None:
    assert (
        load_error(device) == f"config file {device!r} is not a regular file (a character device)"
    )


def finishes(call: Any, timeout: float = 10) -> Any:
    """``call()`` in a thread; fail (instead of hanging the run) when it does not return."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except Exception as exc:  # handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"still blocked after {timeout}s"
    return outcome


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "tarsy.yaml"
    os.mkfifo(fifo)
    outcome = finishes(lambda: load_config(fifo))
    assert isinstance(outcome.get("error"), ConfigError), outcome
    assert str(outcome["error"]) == f"config file {str(fifo)!r} is not a regular file (a FIFO)"


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        message = load_error(path)
    assert message.startswith(f"config file {str(path)!r} ")
    assert "a socket" in message or "cannot be read" in message


def test_a_file_over_one_mib_is_refused_and_one_of_exactly_one_mib_loads(tmp_path: Path) -> None:
    line = "# " + "x" * 1021 + "\n"  # 1024 bytes
    exact = tmp_path / "exact.yaml"
    exact.write_text("system: {}\n" + line * 1023 + "#" * (1024 - 11 - 1) + "\n")
    assert exact.stat().st_size == MIB
    assert load_config(exact) == parse_config("")
    large = tmp_path / "large.yaml"
    large.write_bytes(exact.read_bytes() + b"\n")
    assert load_error(large) == (
        f"config file {str(large)!r} is larger than 1 MiB (the limit for a config file)"
    )


def test_symlinks_are_followed_to_what_they_name(tmp_path: Path) -> None:
    """Kubernetes mounts a ConfigMap's file as a symlink; a link to a device is still refused."""
    target = tmp_path / "..data" / "tarsy.yaml"
    target.parent.mkdir()
    target.write_text("system:\n  retention:\n    batch_size: 7\n")
    (tmp_path / "tarsy.yaml").symlink_to(target)
    assert load_config(tmp_path / "tarsy.yaml").retention.batch_size == 7
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    assert "is not a regular file (a character device)" in load_error(tmp_path / "zero.yaml")


# -- the YAML ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "system: " + "[" * 1000 + "\n",
        "system: " + "{a: " * 1000 + "\n",
        "".join(f"{' ' * depth}k{depth}:\n" for depth in range(1000)),
        "a: &a [" + "[" * 100 + "]" * 100 + "]\n",
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings", "closed-flow-lists"],
)
def test_deep_nesting_is_a_clean_error(text: str) -> None:
    message = error_of(text)
    assert message.startswith("tarsy.yaml: YAML syntax error at line ")
    assert message.endswith(": nesting deeper than 64 levels")


def test_nesting_within_the_limit_loads() -> None:
    nested = "[" * 60 + "]" * 60
    assert parse_config(f"agent_chains: {{deep: {nested}}}\n") == parse_config("")


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!!int abc", "!!int"),
        ("!!float x", "!!float"),
        ("!!bool maybe", "!!bool"),
        ("!!timestamp 1", "!!timestamp"),
        ("!!int 0x", "!!int"),
    ],
)
def test_values_yaml_cannot_build_are_errors_at_their_line(value: str, tag: str) -> None:
    message = error_of(f"system:\n  retention:\n    batch_size: {value}\n")
    assert message.startswith("tarsy.yaml: YAML syntax error at line 3, column 17: ")
    assert f"cannot read the value as {tag}: " in message


def test_an_integer_too_long_to_read_is_an_error() -> None:
    message = error_of(document("system.retention", "batch_size", "9" * 5000))
    assert "YAML syntax error at line 3" in message
    assert "cannot read the value as !!int" in message


def test_dates_are_read_as_text() -> None:
    assert error_of(document("system.retention", "event_ttl", "2025-02-30")) == (
        "system.retention.event_ttl: invalid duration '2025-02-30' "
        "(use a Go duration such as 90s, 30m or 168h)"
    )


def test_long_values_and_odd_keys_stay_on_one_short_line() -> None:
    message = error_of(document("system.retention", "event_ttl", "x" * 100_000))
    assert message == (
        "system.retention.event_ttl: invalid duration '" + "x" * 96 + "... "
        "(use a Go duration such as 90s, 30m or 168h)"
    )
    message = error_of('system:\n  retention:\n    "a\\nb": 1\n')
    assert message.startswith("system.retention.'a\\nb': unknown key")


# -- values: every maximum, and one past it ----------------------------------------------------


def bounded_fields() -> list[tuple[str, str, Any]]:
    return [
        (section, f.name, f.metadata["setting"])
        for section, cls in SECTIONS.items()
        for f in dataclasses.fields(cls)
        if f.metadata["setting"].kind in ("int", "number", "duration")
    ]


def written(spec: Any, value: Any) -> str:
    return format_duration(value) if spec.kind == "duration" else str(value)


@pytest.mark.parametrize(("section", "key", "spec"), bounded_fields())
def test_every_number_and_duration_stops_at_its_maximum(section: str, key: str, spec: Any) -> None:
    assert spec.maximum is not None
    at_max = parse_config(document(section, key, written(spec, spec.maximum)))
    attribute = {"system.retention": "retention", "system.streaming_logs": "streaming_logs"}
    got = getattr(getattr(at_max, attribute.get(section, "orphans")), key)
    assert got == spec.maximum
    step = timedelta(seconds=1) if spec.kind == "duration" else 1
    message = error_of(document(section, key, written(spec, spec.maximum + step)))
    assert message.startswith(f"{section}.{key}: "), message
    assert "is out of range" in message


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("system.streaming_logs", "cleanup_interval_seconds", "1000000000000000", "31536000"),
        ("system.streaming_logs", "max_session_age_hours", "100000000000000000000", "8760"),
        ("system.streaming_logs", "flush_interval_seconds", "100000000000000000000", "86400"),
        ("system.streaming_logs", "file_retention_minutes", "100000000000000000000", "525600"),
        ("system.retention", "batch_size", "99999999999999999999999", "10000"),
        ("system.retention", "event_ttl", "20000000h", "876000h (36500 days)"),
        ("system.retention", "cleanup_interval", "23999999976h", "8760h (365 days)"),
        ("queue", "orphan_threshold", "9000h", "8760h (365 days)"),
        ("system.streaming_logs", "min_free_percent", "1" + "0" * 400, "a number from 0 to 100"),
    ],
)
def test_the_reported_values_are_out_of_range(
    section: str, key: str, value: str, expected: str
) -> None:
    message = error_of(document(section, key, value))
    assert message.startswith(f"{section}.{key}: "), message
    assert "is out of range" in message and expected in message, message


@pytest.mark.parametrize("key", ["max_session_age_hours", "flush_interval_seconds"])
@pytest.mark.parametrize("value", ["1e20", "1.0e+20", ".inf"])
def test_exponent_notation_is_not_an_integer(key: str, value: str) -> None:
    # PyYAML reads 1e20 as text (YAML 1.1 floats need a dot) and 1.0e+20 as a float.
    message = error_of(document("system.streaming_logs", key, value))
    assert message.startswith(f"system.streaming_logs.{key}: expected an integer, got ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.5", 12.5),
        ("0", 0.0),
        ("100", 100.0),
        ("0.5", 0.5),
    ],
)
def test_min_free_percent_is_a_number_from_0_to_100(value: str, expected: float) -> None:
    config = parse_config(document("system.streaming_logs", "min_free_percent", value))
    assert config.streaming_logs.min_free_percent == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("-1", "-1 is out of range (allowed: a number from 0 to 100)"),
        ("100.5", "100.5 is out of range (allowed: a number from 0 to 100)"),
        (".nan", "expected a number, got nan"),
        ("true", "expected a number, got true"),
        ("'5'", "expected a number, got '5'"),
        ("null", "null is not allowed (expected number)"),
    ],
)
def test_min_free_percent_refuses(value: str, expected: str) -> None:
    message = error_of(document("system.streaming_logs", "min_free_percent", value))
    assert message == f"system.streaming_logs.min_free_percent: {expected}"


@pytest.mark.parametrize(
    ("section", "attribute", "key", "value", "expected"),
    [
        ("system.streaming_logs", "streaming_logs", "max_dir_mb", "1", 1),
        ("system.streaming_logs", "streaming_logs", "max_dir_mb", "null", None),
        ("system.retention", "retention", "restore_hold_days", "0", 0),
        ("system.retention", "retention", "orphan_detection", "false", False),
    ],
)
def test_new_keys_accept(section: str, attribute: str, key: str, value: str, expected: Any) -> None:
    config = parse_config(document(section, key, value))
    assert getattr(getattr(config, attribute), key) == expected


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        (
            "system.streaming_logs",
            "max_dir_mb",
            "0",
            "0 is out of range (allowed: null (off) or an integer from 1 to 16777216)",
        ),
        (
            "system.retention",
            "restore_hold_days",
            "-1",
            "-1 is out of range (allowed: an integer from 0 to 36500)",
        ),
        ("system.retention", "orphan_detection", "'no'", "expected true or false, got 'no'"),
    ],
)
def test_new_keys_refuse(section: str, key: str, value: str, expected: str) -> None:
    assert error_of(document(section, key, value)) == f"{section}.{key}: {expected}"


# -- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"/tmp/a\\0b"', "a path cannot contain a NUL character, got '/tmp/a\\x00b'"),
        ('"/x/\\ud800"', "'/x/\\ud800' cannot be a file system path"),
        ("/" + "a" * 4096, "the path is longer than 4096 bytes"),
        (
            "~no-such-user-tarsy/logs",
            "'~no-such-user-tarsy/logs' names a home directory that cannot be found",
        ),
    ],
    ids=["nul", "surrogate", "too-long", "unknown-user"],
)
def test_paths_that_no_file_operation_could_use_are_refused(value: str, expected: str) -> None:
    assert error_of(document("system.streaming_logs", "base_dir", value)) == (
        f"system.streaming_logs.base_dir: {expected}"
    )


# -- declarations ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["int", "number", "duration"])
def test_a_number_or_duration_setting_without_a_maximum_is_refused_where_declared(
    kind: str,
) -> None:
    with pytest.raises(ValueError, match=f"a {kind} setting needs a maximum"):
        setting(1, kind)


def test_the_readme_table_states_every_key_and_its_maximum() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    rows = {
        match.group(1): match.group(2)
        for match in re.finditer(r"^\| `([a-z_.]+)` \| `[^`]*` \| ([^|]+) \|", readme, re.M)
    }
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            spec = f.metadata["setting"]
            allowed = rows[f"{section}.{f.name}"]
            if spec.maximum is not None:
                assert written(spec, spec.maximum) in allowed, (f.name, allowed)
    assert len(rows) == sum(len(dataclasses.fields(cls)) for cls in SECTIONS.values())
