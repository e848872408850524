"""TARSy's own tarsy.yaml as TARSY_CONFIG: what is read, validated, accepted and warned about.

The fixtures under ``tests/fixtures`` have the shape of TARSy's example configuration at its
Phase 11 release and at its latest release: every top-level section TARSy reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from retention.config import RetentionConfig
from sessions.config import OrphanDetectionConfig
from streaming.config import StreamingLogsConfig
from tarsy_project.config import (
    ConfigError,
    ConfigWarning,
    load_config,
    load_config_with_warnings,
    parse_config,
    parse_config_with_warnings,
)
from tarsy_project.config_fields import MAX_INTERVAL, setting
from tarsy_project.config_loader import UNVALIDATED, Lenient, Section, load_sections

FIXTURES = Path(__file__).parent / "fixtures"
PHASE11 = FIXTURES / "tarsy-phase11.yaml"
LATEST = FIXTURES / "tarsy-latest.yaml"


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return str(info.value)


def warnings_of(text: str) -> list[str]:
    return [str(w) for w in parse_config_with_warnings(text).warnings]


# -- TARSy's example configurations -------------------------------------------------------------


def test_phase11_example_loads_and_its_values_take_effect() -> None:
    loaded = load_config_with_warnings(PHASE11)
    assert loaded.warnings == ()
    config = loaded.config
    assert config.retention == RetentionConfig(
        session_retention_days=90, event_ttl=timedelta(hours=2), cleanup_interval=timedelta(hours=6)
    )
    assert config.orphans == OrphanDetectionConfig(
        orphan_detection_interval=timedelta(minutes=2), orphan_threshold=timedelta(minutes=10)
    )
    assert config.streaming_logs == StreamingLogsConfig()  # TARSy has no such section


def test_latest_example_loads_and_its_values_take_effect() -> None:
    loaded = load_config_with_warnings(LATEST)
    assert loaded.warnings == ()
    r = loaded.config.retention
    assert (r.session_retention_days, r.event_ttl, r.cleanup_interval) == (
        180,
        timedelta(minutes=90),
        timedelta(hours=4),
    )
    assert (r.purge_after_days, r.batch_size, r.restore_hold_days) == (None, 1000, 30)
    o = loaded.config.orphans
    assert (o.orphan_detection_interval, o.orphan_threshold) == (
        timedelta(minutes=1),
        timedelta(minutes=3),
    )


@pytest.mark.parametrize("fixture", [PHASE11, LATEST], ids=["phase11", "latest"])
def test_tarsy_ops_keys_added_to_tarsy_file_take_effect(fixture: Path, tmp_path: Path) -> None:
    text = fixture.read_text(encoding="utf-8").replace(
        "  retention:\n",
        "  streaming_logs:\n    base_dir: /var/log/tarsy\n    min_free_percent: 12.5\n"
        "  retention:\n    purge_after_days: 30\n    restore_hold_days: 0\n",
    )
    config = parse_config(text)
    assert config.retention.purge_after_days == 30
    assert config.retention.restore_hold_days == 0
    assert config.streaming_logs.base_dir == Path("/var/log/tarsy")
    assert config.streaming_logs.min_free_percent == 12.5
    assert config.retention.session_retention_days in (90, 180)  # TARSy's value still read


@pytest.mark.parametrize("fixture", [PHASE11, LATEST], ids=["phase11", "latest"])
def test_a_typo_inside_system_retention_is_still_an_error(fixture: Path) -> None:
    text = fixture.read_text(encoding="utf-8").replace("    event_ttl:", "    event_tll:")
    message = error_of(text)
    assert message.startswith("system.retention.event_tll: unknown key (allowed keys: ")
    bad_value = fixture.read_text(encoding="utf-8").replace("    cleanup_interval: ", "    x: ")
    assert error_of(bad_value).startswith("system.retention.x: unknown key")


@pytest.mark.parametrize("fixture", [PHASE11, LATEST], ids=["phase11", "latest"])
def test_a_bad_value_in_queue_orphan_keys_names_its_path(fixture: Path) -> None:
    text = fixture.read_text(encoding="utf-8")
    text = text.replace("  orphan_threshold: ", "  orphan_threshold: 7d #")
    assert error_of(text) == (
        "queue.orphan_threshold: invalid duration '7d' (use a Go duration such as 90s, 30m or 168h)"
    )


def test_tarsy_sections_are_accepted_whatever_they_hold() -> None:
    text = (
        "defaults: 3\nmcp_servers: [a, b]\nagents: null\nagent_chains: {x: {y: [1, {z: 2}]}}\n"
        "system:\n  dashboard_url: 42\n  github: [1]\n  runbooks: true\n  slack: ''\n"
        "  cost_estimation: {promotions: [{start: 2025-02-30}]}\n"
        "queue:\n  worker_count: many\n  poll_interval: [1]\n  anything_else: {}\n"
    )
    loaded = parse_config_with_warnings(text)
    assert loaded.warnings == ()
    assert loaded.config == parse_config("")


def test_a_section_tarsy_ops_reads_must_still_be_a_mapping() -> None:
    assert error_of("queue: [1]\n") == "queue: expected a mapping, got a list"
    assert error_of("system: 5\n") == "system: expected a mapping, got 5"


# -- unknown keys are warnings -----------------------------------------------------------------


def test_an_unknown_top_level_key_is_one_warning_with_a_suggestion() -> None:
    text = PHASE11.read_text(encoding="utf-8") + "sytem:\n  retention: {}\n"
    loaded = parse_config_with_warnings(text)
    assert [str(w) for w in loaded.warnings] == [
        "sytem: unknown key, ignored (did you mean system?)"
    ]
    assert loaded.warnings[0] == ConfigWarning(
        "sytem", "unknown key, ignored (did you mean system?)"
    )
    assert loaded.config.retention.session_retention_days == 90


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("agent_chain: {}\n", "agent_chain: unknown key, ignored (did you mean agent_chains?)"),
        ("mcp_server: {}\n", "mcp_server: unknown key, ignored (did you mean mcp_servers?)"),
        (
            "system:\n  retentoin: {}\n",
            "system.retentoin: unknown key, ignored (did you mean retention?)",
        ),
        ("system:\n  slak: {}\n", "system.slak: unknown key, ignored (did you mean slack?)"),
        (
            "telemetry: {}\n",
            "telemetry: unknown key, ignored (known keys: queue, system, defaults, mcp_servers, "
            "agents, agent_chains)",
        ),
        (
            "system:\n  prompt_caching: {enabled: true}\n",
            "system.prompt_caching: unknown key, ignored (known keys: dashboard_url, github, "
            "runbooks, slack, cost_estimation, retention, streaming_logs)",
        ),
    ],
)
def test_unknown_keys_warn_with_the_closest_known_key(text: str, expected: str) -> None:
    assert warnings_of(text) == [expected]


def test_every_unknown_key_is_warned_once_in_document_order() -> None:
    text = "sytem: 1\nsystem:\n  githb: 1\n  retention: {batch_size: 5}\nagnets: 1\n"
    assert warnings_of(text) == [
        "sytem: unknown key, ignored (did you mean system?)",
        "agnets: unknown key, ignored (did you mean agents?)",
        "system.githb: unknown key, ignored (did you mean github?)",
    ]
    assert parse_config(text).retention.batch_size == 5


def test_keys_tarsy_owns_in_queue_are_not_warned_about() -> None:
    loaded = parse_config_with_warnings("queue:\n  worker_count: 5\n  some_future_key: 1\n")
    assert loaded.warnings == ()
    assert loaded.config.orphans == OrphanDetectionConfig()


def test_a_file_without_warnings_has_none() -> None:
    assert load_config_with_warnings(None).warnings == ()
    assert parse_config_with_warnings("system: {}\n").warnings == ()


# -- ${VAR} ------------------------------------------------------------------------------------


def test_references_are_expanded_and_read_as_yaml_scalars(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DAYS", "45")
    monkeypatch.setenv("TTL", "30m")
    monkeypatch.setenv("ON", "false")
    monkeypatch.setenv("PURGE", "")
    monkeypatch.setenv("LOGS", str(tmp_path / "2024"))
    monkeypatch.setenv("PCT", "7.5")
    text = (
        "queue:\n  orphan_threshold: ${TTL}\n"
        "system:\n  retention:\n    session_retention_days: ${DAYS}\n"
        "    event_ttl: '1h${TTL}'\n    orphan_detection: ${ON}\n    purge_after_days: ${PURGE}\n"
        '  streaming_logs:\n    base_dir: ${LOGS}\n    min_free_percent: "${PCT}"\n'
    )
    config = parse_config(text)
    assert config.retention.session_retention_days == 45
    assert config.retention.event_ttl == timedelta(hours=1, minutes=30)
    assert config.retention.orphan_detection is False
    assert config.retention.purge_after_days is None  # empty reads as YAML null: off
    assert config.orphans.orphan_threshold == timedelta(minutes=30)
    assert config.streaming_logs.base_dir == tmp_path / "2024"  # a path stays text
    assert config.streaming_logs.min_free_percent == 7.5


def test_an_expanded_value_is_validated_like_a_written_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAYS", "forever")
    assert error_of("system:\n  retention:\n    session_retention_days: ${DAYS}\n") == (
        "system.retention.session_retention_days: expected an integer, got 'forever'"
    )
    monkeypatch.setenv("DAYS", "99999")
    assert error_of("system:\n  retention:\n    session_retention_days: ${DAYS}\n") == (
        "system.retention.session_retention_days: 99999 is out of range "
        "(allowed: an integer from 1 to 36500)"
    )


def test_an_unset_variable_is_an_error_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TARSY_TEST_UNSET", raising=False)
    assert error_of("system:\n  retention:\n    event_ttl: ${TARSY_TEST_UNSET}\n") == (
        "system.retention.event_ttl: environment variable TARSY_TEST_UNSET is not set "
        "(written as ${TARSY_TEST_UNSET})"
    )
    assert error_of("queue:\n  orphan_detection_interval: 1m${TARSY_TEST_UNSET}\n").startswith(
        "queue.orphan_detection_interval: environment variable TARSY_TEST_UNSET is not set"
    )


def test_references_outside_the_keys_tarsy_ops_reads_are_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("USER_ID", raising=False)
    # The latest example holds "user_${USER_ID}_[0-9]+$" in a masking pattern.
    assert "${USER_ID}" in LATEST.read_text(encoding="utf-8")
    assert load_config(LATEST).retention.session_retention_days == 180
    text = "queue:\n  worker_count: ${UNSET_WORKERS}\nagents:\n  a: {x: '${NOPE}'}\n"
    assert parse_config(text) == parse_config("")


def test_only_the_braced_form_is_a_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("D", "srv")
    text = "system:\n  streaming_logs:\n    base_dir: /data/$D/${D}/${1x}\n"
    assert str(parse_config(text).streaming_logs.base_dir) == "/data/$D/srv/${1x}"
    monkeypatch.setenv("LOOP", "${D}")  # a value is not expanded again
    text = "system:\n  streaming_logs:\n    base_dir: /x/${LOOP}\n"
    assert str(parse_config(text).streaming_logs.base_dir) == "/x/${D}"


# -- the schema nodes, in general --------------------------------------------------------------


@dataclass(frozen=True)
class Knob:
    """A section no app owns, to exercise the schema nodes."""

    level: int = setting(1, "int", minimum=0, maximum=9)
    wait: timedelta = setting(timedelta(seconds=1), "duration", maximum=MAX_INTERVAL)


def test_schema_nodes_compose() -> None:
    schema = Lenient(
        {
            "theirs": UNVALIDATED,
            "shared": Section(Knob, other_keys=True),
            "strict": {"knob": Knob, "lenient": Lenient({"knob": Knob})},
        }
    )
    document = {
        "theirs": {"level": "not checked"},
        "shared": {"level": 3, "foreign": [1]},
        "strict": {"knob": {"wait": "2s"}, "lenient": {"knob": {}, "extra": 1}},
        "stray": 1,
    }
    loaded = load_sections(document, schema, source="x.yaml")
    assert loaded.sections == {
        "shared": Knob(level=3),
        "strict.knob": Knob(wait=timedelta(seconds=2)),
        "strict.lenient.knob": Knob(),
    }
    assert [str(w) for w in loaded.warnings] == [
        "stray: unknown key, ignored (known keys: theirs, shared, strict)",
        "strict.lenient.extra: unknown key, ignored (known keys: knob)",
    ]
    with pytest.raises(ConfigError, match=r"^strict\.other: unknown key \(allowed keys: knob, "):
        load_sections({"strict": {"other": 1}}, schema, source="x.yaml")
    with pytest.raises(ConfigError, match=r"^shared\.level: 10 is out of range"):
        load_sections({"shared": {"level": 10, "foreign": 1}}, schema, source="x.yaml")


def test_a_flood_of_unknown_keys_is_listed_up_to_twenty_then_counted() -> None:
    text = "".join(f"stray{i}: 1\n" for i in range(500))
    warnings = warnings_of(text)
    assert len(warnings) == 21
    assert warnings[0].startswith("stray0: unknown key, ignored (")
    assert warnings[19].startswith("stray19: unknown key, ignored (")
    assert warnings[20] == "...: 480 more unknown keys, ignored"
