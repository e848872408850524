"""The cleanup registry: the jobs the apps' contributions make for a configuration."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest

from retention.config import RetentionConfig
from retention.registry import CleanupRegistry, Step, StepRun, registry
from sessions.config import OrphanDetectionConfig
from streaming.config import StreamingLogsConfig
from tarsy_project.config import TarsyConfig

RETENTION_APP = Path(__file__).resolve().parents[2] / "retention"


def shape(config: TarsyConfig) -> list[tuple[str, timedelta, list[str]]]:
    return [
        (job.name, job.interval, [step.name for step in job.steps])
        for job in registry.build_jobs(config)
    ]


def test_the_apps_contribute_the_orphans_retention_and_sweep_jobs() -> None:
    assert shape(TarsyConfig()) == [
        ("orphans", timedelta(minutes=5), ["orphans_marked"]),
        (
            "retention",
            timedelta(hours=12),
            ["soft_deleted", "events_expired", "backlog", "runs_expired"],
        ),
        ("sweep", timedelta(seconds=60), ["sweep"]),
    ]


def test_purge_is_a_step_only_when_configured_and_intervals_follow_the_config() -> None:
    config = TarsyConfig(
        retention=RetentionConfig(purge_after_days=7, cleanup_interval=timedelta(minutes=5)),
        streaming_logs=StreamingLogsConfig(cleanup_interval_seconds=15),
        orphans=OrphanDetectionConfig(orphan_detection_interval=timedelta(seconds=30)),
    )
    assert shape(config) == [
        ("orphans", timedelta(seconds=30), ["orphans_marked"]),
        (
            "retention",
            timedelta(minutes=5),
            ["soft_deleted", "events_expired", "purged", "backlog", "runs_expired"],
        ),
        ("sweep", timedelta(seconds=15), ["sweep"]),
    ]


def test_no_sweep_job_when_streaming_logs_are_disabled() -> None:
    config = TarsyConfig(streaming_logs=StreamingLogsConfig(enabled=False))
    assert [job.name for job in registry.build_jobs(config)] == ["orphans", "retention"]


def test_no_orphans_job_when_orphan_detection_is_off() -> None:
    config = TarsyConfig(retention=RetentionConfig(orphan_detection=False))
    assert [job.name for job in registry.build_jobs(config)] == ["retention", "sweep"]


def noop(run: StepRun) -> int:
    return 0


def test_a_registry_orders_jobs_by_declaration_and_steps_by_contribution() -> None:
    local = CleanupRegistry()
    local.contribute("b")(lambda config: [Step("b1", noop)])
    local.declare_job("a", interval=lambda config: timedelta(seconds=1))
    local.declare_job("b", interval=lambda config: timedelta(seconds=2))
    local.contribute("a")(lambda config: [Step("a1", noop), Step("a2", noop)])
    local.contribute("b")(lambda config: [Step("b2", noop)])
    local.declare_job("idle", interval=lambda config: timedelta(seconds=3))
    local.contribute("idle")(lambda config: [])
    jobs = local.build_jobs(TarsyConfig())
    assert [(job.name, [step.name for step in job.steps]) for job in jobs] == [
        ("a", ["a1", "a2"]),
        ("b", ["b1", "b2"]),
    ]


def test_a_registry_refuses_a_job_declared_twice_and_steps_for_an_undeclared_job() -> None:
    local = CleanupRegistry()
    local.declare_job("a", interval=lambda config: timedelta(seconds=1))
    with pytest.raises(ValueError, match="'a' is already declared"):
        local.declare_job("a", interval=lambda config: timedelta(seconds=1))
    local.contribute("nobody-declared-me")(lambda config: [Step("x", noop)])
    with pytest.raises(LookupError, match="nobody-declared-me"):
        local.build_jobs(TarsyConfig())


def test_the_retention_app_imports_neither_sessions_nor_streaming() -> None:
    """The runner knows only the registry: the other apps come to it, not it to them."""
    offenders = []
    for path in sorted(RETENTION_APP.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(RETENTION_APP.parent)}: {name}"
                for name in names
                if name.split(".")[0] in {"sessions", "streaming"}
            ]
    assert offenders == []
    assert len(list(RETENTION_APP.rglob("*.py"))) > 5  # the walk did see the app's modules
