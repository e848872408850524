"""TARSy Ops' tarsy.yaml: which sections it reads, where they sit, and loading them.

The file may be TARSy's own: the schema names every top-level section of TARSy's tarsy.yaml and
every key under ``system``. The sections TARSy Ops reads are frozen dataclasses owned by their
apps (``retention.config.RetentionConfig``, ``streaming.config.StreamingLogsConfig``,
``sessions.config.OrphanDetectionConfig``) and are validated strictly; TARSy's other sections
are accepted unvalidated; a key neither program knows is a warning. The generic loading rules
live in :mod:`tarsy_project.config_loader` and :mod:`tarsy_project.config_fields`, which know no
app. This module only assembles them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from retention.config import RetentionConfig
from sessions.config import OrphanDetectionConfig
from streaming.config import StreamingLogsConfig
from tarsy_project.config_fields import ConfigError, config_as_dict
from tarsy_project.config_file import read_config_file
from tarsy_project.config_loader import (
    UNVALIDATED,
    ConfigWarning,
    Lenient,
    Schema,
    Section,
    load_sections,
    read_document,
)

__all__ = [
    "SCHEMA",
    "ConfigError",
    "ConfigWarning",
    "LoadedConfig",
    "TarsyConfig",
    "config_as_dict",
    "load_config",
    "load_config_with_warnings",
    "parse_config",
    "parse_config_with_warnings",
]

# Where each section TARSy Ops reads sits in tarsy.yaml, among the sections TARSy reads.
SCHEMA: Schema = Lenient(
    {
        "queue": Section(OrphanDetectionConfig, other_keys=True),
        "system": Lenient(
            {
                "dashboard_url": UNVALIDATED,
                "github": UNVALIDATED,
                "runbooks": UNVALIDATED,
                "slack": UNVALIDATED,
                "cost_estimation": UNVALIDATED,
                "retention": RetentionConfig,
                "streaming_logs": StreamingLogsConfig,
            }
        ),
        "defaults": UNVALIDATED,
        "mcp_servers": UNVALIDATED,
        "agents": UNVALIDATED,
        "agent_chains": UNVALIDATED,
    }
)


@dataclass(frozen=True)
class TarsyConfig:
    """The sections of tarsy.yaml TARSy Ops reads, as typed, frozen objects."""

    retention: RetentionConfig = field(default_factory=RetentionConfig)
    streaming_logs: StreamingLogsConfig = field(default_factory=StreamingLogsConfig)
    orphans: OrphanDetectionConfig = field(default_factory=OrphanDetectionConfig)


@dataclass(frozen=True)
class LoadedConfig:
    """A loaded tarsy.yaml and what in it deserves a warning (unknown keys)."""

    config: TarsyConfig
    warnings: tuple[ConfigWarning, ...] = ()


def parse_config_with_warnings(text: str, source: str = "tarsy.yaml") -> LoadedConfig:
    """Validate YAML text into a :class:`LoadedConfig`; raise :class:`ConfigError`."""
    loaded = load_sections(read_document(text, source), SCHEMA, source=source)
    sections = loaded.sections
    config = TarsyConfig(
        retention=sections["system.retention"],
        streaming_logs=sections["system.streaming_logs"],
        orphans=sections["queue"],
    )
    return LoadedConfig(config, loaded.warnings)


def load_config_with_warnings(path: str | os.PathLike[str] | None = None) -> LoadedConfig:
    """Load tarsy.yaml from ``path`` (``None``: every default, no warnings)."""
    if path is None:
        return parse_config_with_warnings("")
    return parse_config_with_warnings(read_config_file(path), source=os.fspath(path))


def parse_config(text: str, source: str = "tarsy.yaml") -> TarsyConfig:
    """Validate YAML text into a :class:`TarsyConfig`; raise :class:`ConfigError`."""
    return parse_config_with_warnings(text, source).config


def load_config(path: str | os.PathLike[str] | None = None) -> TarsyConfig:
    """Load tarsy.yaml from ``path`` (``None``: every default)."""
    return load_config_with_warnings(path).config
