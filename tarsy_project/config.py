"""TARSy Ops' tarsy.yaml: which sections it reads, where they sit, and loading them.

Each section is a frozen dataclass owned by its app (``retention.config.RetentionConfig``,
``streaming.config.StreamingLogsConfig``); the generic loading rules live in
:mod:`tarsy_project.config_loader` and :mod:`tarsy_project.config_fields`, which know no app.
This module only assembles them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from retention.config import RetentionConfig
from streaming.config import StreamingLogsConfig
from tarsy_project.config_fields import ConfigError, config_as_dict
from tarsy_project.config_loader import Schema, load_sections, read_config_file, read_document

__all__ = ["SCHEMA", "ConfigError", "TarsyConfig", "config_as_dict", "load_config", "parse_config"]

# Where each section TARSy Ops reads sits in tarsy.yaml.
SCHEMA: Schema = {
    "system": {
        "retention": RetentionConfig,
        "streaming_logs": StreamingLogsConfig,
    },
}


@dataclass(frozen=True)
class TarsyConfig:
    """The sections of tarsy.yaml TARSy Ops reads, as typed, frozen objects."""

    retention: RetentionConfig = field(default_factory=RetentionConfig)
    streaming_logs: StreamingLogsConfig = field(default_factory=StreamingLogsConfig)


def parse_config(text: str, source: str = "tarsy.yaml") -> TarsyConfig:
    """Validate YAML text into a :class:`TarsyConfig`; raise :class:`ConfigError`."""
    sections = load_sections(read_document(text, source), SCHEMA, source=source)
    return TarsyConfig(
        retention=sections["system.retention"],
        streaming_logs=sections["system.streaming_logs"],
    )


def load_config(path: str | os.PathLike[str] | None = None) -> TarsyConfig:
    """Load tarsy.yaml from ``path`` (``None``: every default)."""
    if path is None:
        return parse_config("")
    return parse_config(read_config_file(path), source=os.fspath(path))
