"""The strict tarsy.yaml loader: defaults, overrides, every error class, frozen objects.

Files are real files under ``tmp_path``; nothing is mocked.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from retention.config import RetentionConfig
from sessions.config import OrphanDetectionConfig
from streaming.config import StreamingLogsConfig
from tarsy_project.config import (
    ConfigError,
    TarsyConfig,
    config_as_dict,
    load_config,
    parse_config,
)
from tarsy_project.config_fields import setting
from tarsy_project.config_loader import load_sections, read_document
from tarsy_project.durations import format_duration, parse_duration

RETENTION_KEYS = (
    "session_retention_days, event_ttl, cleanup_interval, purge_after_days, batch_size, "
    "restore_hold_days, orphan_detection"
)
STREAMING_KEYS = (
    "enabled, base_dir, flush_interval_seconds, cleanup_interval_seconds, "
    "file_retention_minutes, max_session_age_hours, time_based_cleanup, min_free_percent, "
    "max_dir_mb"
)
DURATION_HINT = "use a Go duration such as 90s, 30m or 168h"


def write(tmp_path: Path, text: str | bytes, name: str = "tarsy.yaml") -> Path:
    """Write ``text`` to a config file under ``tmp_path`` and return its path."""
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def retention(body: str) -> str:
    """A tarsy.yaml whose ``system.retention`` section is the given (already indented) body."""
    return "system:\n  retention:\n" + body


def streaming(body: str) -> str:
    """A tarsy.yaml whose ``system.streaming_logs`` section is the given (indented) body."""
    return "system:\n  streaming_logs:\n" + body


def error_of(text: str) -> str:
    """The message of the ConfigError that parsing ``text`` raises."""
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return str(info.value)


def assert_defaults(config: TarsyConfig, cwd: Path) -> None:
    """Every documented default, written out (not compared to the dataclass defaults)."""
    r = config.retention
    assert isinstance(r, RetentionConfig)
    assert r.session_retention_days == 365
    assert r.event_ttl == timedelta(hours=1)
    assert r.cleanup_interval == timedelta(hours=12)
    assert r.purge_after_days is None
    assert r.batch_size == 1000
    assert r.restore_hold_days == 30
    assert r.orphan_detection is True
    s = config.streaming_logs
    assert isinstance(s, StreamingLogsConfig)
    assert s.enabled is True
    assert s.base_dir == cwd / "logs" / "streaming"
    assert s.base_dir.is_absolute()
    assert s.flush_interval_seconds == 2
    assert s.cleanup_interval_seconds == 60
    assert s.file_retention_minutes == 10
    assert s.max_session_age_hours == 24
    assert s.time_based_cleanup is True
    assert s.min_free_percent == 5
    assert s.max_dir_mb is None
    o = config.orphans
    assert isinstance(o, OrphanDetectionConfig)
    assert o.orphan_detection_interval == timedelta(minutes=5)
    assert o.orphan_threshold == timedelta(minutes=5)


# -- defaults ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "# nothing but a comment\n",
        "---\n",
        "system:\n",
        "system: null\n",
        "system: {}\n",
        "system:\n  retention:\n  streaming_logs:\n",
        "system:\n  retention: {}\n  streaming_logs: {}\n",
    ],
    ids=[
        "empty",
        "blank-lines",
        "comment",
        "empty-document",
        "system-empty",
        "system-null",
        "system-empty-mapping",
        "sections-null",
        "sections-empty-mapping",
    ],
)
def test_defaults_from_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert_defaults(load_config(write(tmp_path, text)), tmp_path)


def test_defaults_without_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert_defaults(load_config(None), tmp_path)
    assert_defaults(load_config(), tmp_path)


def test_defaults_from_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert_defaults(parse_config(""), tmp_path)


def test_relative_base_dir_follows_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    first = load_config(None).streaming_logs.base_dir
    monkeypatch.chdir(tmp_path / "b")
    second = parse_config(streaming("    base_dir: var/logs\n")).streaming_logs.base_dir
    assert first == tmp_path / "a" / "logs" / "streaming"
    assert second == tmp_path / "b" / "var" / "logs"


# -- overrides ---------------------------------------------------------------------------------

FULL = """\
system:
  retention:
    session_retention_days: 30
    event_ttl: 90s
    cleanup_interval: 1h30m
    purge_after_days: 7
    batch_size: 250
  streaming_logs:
    enabled: false
    base_dir: {base_dir}
    flush_interval_seconds: 5
    cleanup_interval_seconds: 15
    file_retention_minutes: 0
    max_session_age_hours: 48
    time_based_cleanup: false
"""


def test_full_override(tmp_path: Path) -> None:
    base_dir = tmp_path / "streams"
    config = load_config(write(tmp_path, FULL.format(base_dir=base_dir)))
    assert config.retention == RetentionConfig(
        session_retention_days=30,
        event_ttl=timedelta(seconds=90),
        cleanup_interval=timedelta(hours=1, minutes=30),
        purge_after_days=7,
        batch_size=250,
    )
    s = config.streaming_logs
    assert s.enabled is False
    assert s.base_dir == base_dir
    assert s.flush_interval_seconds == 5
    assert s.cleanup_interval_seconds == 15
    assert s.file_retention_minutes == 0
    assert s.max_session_age_hours == 48
    assert s.time_based_cleanup is False


def test_partial_override_keeps_other_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(
        write(
            tmp_path,
            "system:\n  retention:\n    event_ttl: 30m\n"
            "  streaming_logs:\n    file_retention_minutes: 3\n",
        )
    )
    r, s = config.retention, config.streaming_logs
    assert r.event_ttl == timedelta(minutes=30)
    assert (r.session_retention_days, r.cleanup_interval, r.purge_after_days, r.batch_size) == (
        365,
        timedelta(hours=12),
        None,
        1000,
    )
    assert s.file_retention_minutes == 3
    assert s.enabled is True
    assert s.base_dir == tmp_path / "logs" / "streaming"
    assert (s.flush_interval_seconds, s.cleanup_interval_seconds) == (2, 60)
    assert (s.max_session_age_hours, s.time_based_cleanup) == (24, True)


def test_only_one_section_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = parse_config(retention("    batch_size: 5\n"))
    assert config.retention.batch_size == 5
    assert config.retention.session_retention_days == 365
    assert config.streaming_logs == StreamingLogsConfig()


def test_allowed_edge_values() -> None:
    config = parse_config(
        "system:\n  retention:\n    purge_after_days: null\n    session_retention_days: 1\n"
        "    batch_size: 1\n"
        "  streaming_logs:\n    file_retention_minutes: 0\n    flush_interval_seconds: 1\n"
    )
    assert config.retention.purge_after_days is None
    assert config.retention.session_retention_days == 1
    assert config.retention.batch_size == 1
    assert config.streaming_logs.file_retention_minutes == 0
    assert config.streaming_logs.flush_interval_seconds == 1
    assert parse_config(retention("    purge_after_days: 1\n")).retention.purge_after_days == 1


def test_absolute_and_home_base_dir(tmp_path: Path) -> None:
    absolute = parse_config(streaming(f"    base_dir: {tmp_path}/x\n")).streaming_logs.base_dir
    assert absolute == tmp_path / "x"
    home = parse_config(streaming("    base_dir: ~/tarsy-logs\n")).streaming_logs.base_dir
    assert home == Path.home() / "tarsy-logs"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("500ms", timedelta(milliseconds=500)),
        ("12h", timedelta(hours=12)),
        ("168h", timedelta(days=7)),
        ("2h45m30s", timedelta(hours=2, minutes=45, seconds=30)),
        ("1h0m0s", timedelta(hours=1)),
        (".5h", timedelta(minutes=30)),
        ("1.h", timedelta(hours=1)),
        ("250us", timedelta(microseconds=250)),
        ("250µs", timedelta(microseconds=250)),
        ("1000ns", timedelta(microseconds=1)),
        ("1s500000000ns", timedelta(seconds=1, milliseconds=500)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    config = parse_config(retention(f"    event_ttl: {text}\n    cleanup_interval: '{text}'\n"))
    assert config.retention.event_ttl == expected
    assert config.retention.cleanup_interval == expected


# -- errors ------------------------------------------------------------------------------------


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    text = "system:\n  retention:\n    batch_size: 10\n   event_ttl: [1h\n"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: YAML syntax error at line 4")
    assert "column" in message
    assert "YAML syntax error at line 4" in error_of(text)


def test_yaml_tab_indentation_is_a_syntax_error() -> None:
    message = error_of("system:\n\tretention: {}\n")
    assert "YAML syntax error at line 2" in message
    assert "'\\t'" in message


def test_yaml_python_tags_are_refused() -> None:
    message = error_of(retention("    event_ttl: !!python/name:os.system\n"))
    assert "YAML syntax error at line 3" in message
    assert "python/name:os.system" in message


def test_several_documents_are_refused() -> None:
    message = error_of("system: {}\n---\nsystem: {}\n")
    assert "YAML syntax error at line 2" in message


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("- system\n- retention\n", "a list"),
        ("just a string\n", "'just a string'"),
        ("42\n", "42"),
        ("true\n", "true"),
    ],
)
def test_top_level_must_be_a_mapping(text: str, shown: str) -> None:
    message = error_of(text)
    assert message == f"tarsy.yaml: the top level must be a mapping, got {shown}"


@pytest.mark.parametrize(
    ("text", "key_path", "allowed"),
    [
        (
            retention("    session_retension_days: 10\n"),
            "system.retention.session_retension_days",
            RETENTION_KEYS,
        ),
        (
            streaming("    base_directory: /tmp\n"),
            "system.streaming_logs.base_directory",
            STREAMING_KEYS,
        ),
    ],
    ids=["retention", "streaming_logs"],
)
def test_unknown_key_in_a_section_tarsy_ops_reads(text: str, key_path: str, allowed: str) -> None:
    assert error_of(text) == f"{key_path}: unknown key (allowed keys: {allowed})"


@pytest.mark.parametrize(
    ("body", "key_path", "expected"),
    [
        (
            retention('    session_retention_days: "ten"\n'),
            "system.retention.session_retention_days",
            "expected an integer, got 'ten'",
        ),
        (
            retention('    session_retention_days: "10"\n'),
            "system.retention.session_retention_days",
            "expected an integer, got '10'",
        ),
        (
            retention("    session_retention_days: true\n"),
            "system.retention.session_retention_days",
            "expected an integer, got true",
        ),
        (
            retention("    batch_size: false\n"),
            "system.retention.batch_size",
            "expected an integer, got false",
        ),
        (
            retention("    batch_size: 2.5\n"),
            "system.retention.batch_size",
            "expected an integer, got 2.5",
        ),
        (
            retention("    purge_after_days: [7]\n"),
            "system.retention.purge_after_days",
            "expected an integer, got a list",
        ),
        (
            retention("    session_retention_days: null\n"),
            "system.retention.session_retention_days",
            "null is not allowed (expected int)",
        ),
        (
            streaming("    enabled: maybe\n"),
            "system.streaming_logs.enabled",
            "expected true or false, got 'maybe'",
        ),
        (
            streaming("    enabled: 1\n"),
            "system.streaming_logs.enabled",
            "expected true or false, got 1",
        ),
        (
            streaming('    time_based_cleanup: "false"\n'),
            "system.streaming_logs.time_based_cleanup",
            "expected true or false, got 'false'",
        ),
        (
            streaming("    base_dir: 12\n"),
            "system.streaming_logs.base_dir",
            "expected a non-empty directory path, got 12",
        ),
        (
            streaming("    base_dir: ''\n"),
            "system.streaming_logs.base_dir",
            "expected a non-empty directory path, got ''",
        ),
        (
            streaming("    base_dir: null\n"),
            "system.streaming_logs.base_dir",
            "null is not allowed (expected path)",
        ),
        (
            retention("    event_ttl: true\n"),
            "system.retention.event_ttl",
            f"expected a duration, got true ({DURATION_HINT})",
        ),
        (
            retention("    event_ttl: .inf\n"),
            "system.retention.event_ttl",
            f"expected a duration, got inf ({DURATION_HINT})",
        ),
        ("system: [retention]\n", "system", "expected a mapping, got a list"),
        ("system: retention\n", "system", "expected a mapping, got 'retention'"),
        ("system:\n  retention: [1, 2]\n", "system.retention", "expected a mapping, got a list"),
        ("system:\n  streaming_logs: 5\n", "system.streaming_logs", "expected a mapping, got 5"),
    ],
)
def test_wrong_types(body: str, key_path: str, expected: str) -> None:
    assert error_of(body) == f"{key_path}: {expected}"


@pytest.mark.parametrize("value", ["7d", "1x", "''", "h", "1h30", "-1h", "1 h", "٣s", "1e3s"])
def test_malformed_durations(value: str) -> None:
    message = error_of(retention(f"    event_ttl: {value}\n"))
    shown = "''" if value == "''" else repr(value)
    assert message == f"system.retention.event_ttl: invalid duration {shown} ({DURATION_HINT})"


def test_malformed_duration_message_matches_design() -> None:
    assert error_of(retention("    cleanup_interval: 7d\n")) == (
        "system.retention.cleanup_interval: invalid duration '7d' "
        "(use a Go duration such as 90s, 30m or 168h)"
    )


@pytest.mark.parametrize(("value", "hint"), [("3600", "3600s"), ("1.5", "1.5s"), ("0", "0s")])
def test_bare_number_duration_gets_a_hint(value: str, hint: str) -> None:
    message = error_of(retention(f"    event_ttl: {value}\n"))
    assert message.startswith("system.retention.event_ttl: a bare number is not a duration, got ")
    assert f"(write {hint}; {DURATION_HINT})" in message


@pytest.mark.parametrize("section", ["retention", "streaming_logs"])
def test_negative_and_zero_counts_are_out_of_range(section: str) -> None:
    keys = {
        "retention": ["session_retention_days", "batch_size", "purge_after_days"],
        "streaming_logs": [
            "flush_interval_seconds",
            "cleanup_interval_seconds",
            "max_session_age_hours",
        ],
    }[section]
    for key in keys:
        allowed = {
            "purge_after_days": "null (off) or an integer from 1 to 36500",
            "session_retention_days": "an integer from 1 to 36500",
            "batch_size": "an integer from 1 to 10000",
            "flush_interval_seconds": "an integer from 1 to 86400",
            "cleanup_interval_seconds": "an integer from 1 to 31536000",
            "max_session_age_hours": "an integer from 1 to 8760",
        }[key]
        for value in (0, -1, -365):
            message = error_of(f"system:\n  {section}:\n    {key}: {value}\n")
            assert message == (
                f"system.{section}.{key}: {value} is out of range (allowed: {allowed})"
            ), message


@pytest.mark.parametrize("key", ["session_retention_days", "purge_after_days"])
def test_day_counts_beyond_a_century_are_out_of_range(key: str) -> None:
    """Past 36500 days `now - N days` would leave the calendar in the retention job."""
    message = error_of(f"system:\n  retention:\n    {key}: 1000000000\n")
    assert message.startswith(f"system.retention.{key}: 1000000000 is out of range"), message
    assert "to 36500" in message
    assert parse_config(f"system:\n  retention:\n    {key}: 36500\n") is not None


def test_negative_file_retention_is_out_of_range() -> None:
    assert error_of(streaming("    file_retention_minutes: -1\n")) == (
        "system.streaming_logs.file_retention_minutes: -1 is out of range "
        "(allowed: an integer from 0 to 525600)"
    )


@pytest.mark.parametrize("value", ["0s", "0h0m", "0ms", "100ns"])
def test_zero_durations_are_out_of_range(value: str) -> None:
    for key in ("event_ttl", "cleanup_interval"):
        assert error_of(retention(f"    {key}: {value}\n")) == (
            f"system.retention.{key}: '{value}' is out of range (must be above 0)"
        )


def test_huge_duration_is_out_of_range_not_a_crash() -> None:
    # Beyond any timedelta: the message states the key's own maximum (the day cap).
    assert error_of(retention("    event_ttl: 99999999999999h\n")) == (
        "system.retention.event_ttl: '99999999999999h' is out of range "
        "(must be at most 876000h (36500 days))"
    )


def test_duplicate_keys_are_refused() -> None:
    message = error_of(retention("    event_ttl: 1h\n    batch_size: 5\n    event_ttl: 2h\n"))
    assert message == (
        "tarsy.yaml: system.retention.event_ttl: duplicate key at line 5 "
        "(first at line 3; each key may appear only once)"
    )
    message = error_of("system:\n  retention: {}\n  retention:\n    batch_size: 5\n")
    assert message.startswith("tarsy.yaml: system.retention: duplicate key at line 3")
    message = error_of("system: {}\nsystem: {}\n")
    assert message.startswith("tarsy.yaml: system: duplicate key at line 2 (first at line 1")


def test_duplicate_key_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, streaming("    enabled: true\n    enabled: false\n"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: system.streaming_logs.enabled: duplicate key at line 4 "
        "(first at line 3; each key may appear only once)"
    )


def test_merge_key_may_be_overridden_but_merged_keys_are_checked() -> None:
    text = (
        "defaults: &d\n  event_ttl: 1h\n  batch_size: 5\n"
        "system:\n  retention:\n    <<: *d\n    event_ttl: 2h\n"
    )
    # The anchor lives in TARSy's ``defaults``, accepted as written; the merge is still checked.
    config = parse_config(text)
    assert config.retention.event_ttl == timedelta(hours=2)
    assert config.retention.batch_size == 5
    config = parse_config(
        "system:\n  retention:\n    <<: {event_ttl: 1h, batch_size: 5}\n    event_ttl: 2h\n"
    )
    assert config.retention.event_ttl == timedelta(hours=2)
    assert config.retention.batch_size == 5
    message = error_of(retention("    <<: {event_tl: 1h}\n"))
    assert message.startswith("system.retention.event_tl: unknown key")


def test_unhashable_key_is_an_error_not_a_crash() -> None:
    message = error_of("? [a, b]\n: 1\n")
    assert message.startswith("tarsy.yaml: YAML syntax error at line 1")
    assert "used as a key" in message


# -- files -------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "tarsy.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"config file {str(path)!r} does not exist"


def test_missing_file_given_as_string(tmp_path: Path) -> None:
    path = str(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="does not exist") as info:
        load_config(path)
    assert repr(path) in str(info.value)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == f"config file {str(tmp_path)!r} is a directory"


def test_invalid_utf8_cannot_be_read(tmp_path: Path) -> None:
    path = write(tmp_path, b"system:\n  retention:\n    event_ttl: \xff\xfe1h\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"config file {str(path)!r} cannot be read: ")
    assert "utf-8" in message
    assert "0xff" in message


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root reads a chmod 000 file anyway; the invalid-UTF-8 test covers a read failure",
)
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "system: {}\n")
    path.chmod(0)
    try:
        with pytest.raises(ConfigError) as info:
            load_config(path)
    finally:
        path.chmod(0o600)
    assert str(info.value) == f"config file {str(path)!r} cannot be read: Permission denied"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffsystem:\n  retention:\n    batch_size: 7\n")
    assert load_config(path).retention.batch_size == 7


# -- objects -----------------------------------------------------------------------------------


def test_config_objects_are_frozen() -> None:
    config = parse_config("")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.retention = RetentionConfig()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.retention.batch_size = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.streaming_logs.enabled = False  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.streaming_logs.base_dir = Path("/")  # type: ignore[misc]
    assert config.retention.batch_size == 1000
    assert config.streaming_logs.enabled is True


def test_config_as_dict_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert config_as_dict(load_config(None)) == {
        "retention": {
            "session_retention_days": 365,
            "event_ttl": "1h",
            "cleanup_interval": "12h",
            "purge_after_days": None,
            "batch_size": 1000,
            "restore_hold_days": 30,
            "orphan_detection": True,
        },
        "streaming_logs": {
            "enabled": True,
            "base_dir": str(tmp_path / "logs" / "streaming"),
            "flush_interval_seconds": 2,
            "cleanup_interval_seconds": 60,
            "file_retention_minutes": 10,
            "max_session_age_hours": 24,
            "time_based_cleanup": True,
            "min_free_percent": 5,
            "max_dir_mb": None,
        },
        "orphans": {"orphan_detection_interval": "5m", "orphan_threshold": "5m"},
    }


@pytest.mark.parametrize(
    ("written", "rendered"),
    [
        ("90s", "1m30s"),
        ("1.5h", "1h30m"),
        ("1h30m", "1h30m"),
        ("168h", "168h"),
        ("500ms", "500ms"),
        ("1.5ms", "1.5ms"),
        ("250us", "250us"),
        ("90.5s", "1m30.5s"),
        ("3600s", "1h"),
        ("1h0m1s", "1h1s"),
    ],
)
def test_config_as_dict_renders_go_durations(written: str, rendered: str) -> None:
    config = parse_config(retention(f"    event_ttl: {written}\n"))
    assert config_as_dict(config.retention)["event_ttl"] == rendered
    assert config_as_dict(config)["retention"]["event_ttl"] == rendered
    # What is rendered loads back to the same value.
    assert parse_duration(rendered) == config.retention.event_ttl


def test_format_duration_round_trips() -> None:
    for value in (
        timedelta(microseconds=1),
        timedelta(milliseconds=999, microseconds=999),
        timedelta(seconds=1, microseconds=1),
        timedelta(days=400, seconds=7),
        timedelta(hours=25),
    ):
        assert parse_duration(format_duration(value)) == value, format_duration(value)


# -- the generic loader ------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """A section no app owns: the loader builds whatever the schema it is given names."""

    ceiling: int = setting(5, "int", maximum=10)
    wait: timedelta = setting(timedelta(seconds=1), "duration", maximum=timedelta(minutes=1))


def test_the_loader_builds_any_section_its_schema_names() -> None:
    schema = {"outer": {"inner": {"limits": Limits}}}
    text = "outer:\n  inner:\n    limits:\n      ceiling: 7\n"
    loaded = load_sections(read_document(text, "x.yaml"), schema, source="x.yaml")
    assert loaded.sections == {"outer.inner.limits": Limits(ceiling=7)}
    assert loaded.warnings == ()
    defaults = load_sections(None, schema, source="x.yaml").sections
    assert defaults == {"outer.inner.limits": Limits()}

    with pytest.raises(ConfigError) as info:
        load_sections({"outer": {"inner": {"limits": {"ceiling": 11}}}}, schema, source="x.yaml")
    assert str(info.value) == (
        "outer.inner.limits.ceiling: 11 is out of range (allowed: an integer <= 10)"
    )
    with pytest.raises(ConfigError) as info:
        load_sections({"outer": {"inner": {"limit": {}}}}, schema, source="x.yaml")
    assert str(info.value) == "outer.inner.limit: unknown key (allowed keys: limits)"
    with pytest.raises(ConfigError) as info:
        load_sections({"outer": {"inner": 3}}, schema, source="x.yaml")
    assert str(info.value) == "outer.inner: expected a mapping, got 3"


def test_an_unknown_setting_kind_is_refused_where_it_is_declared() -> None:
    with pytest.raises(ValueError, match="unknown setting kind 'float'"):
        setting(1.0, "float")
