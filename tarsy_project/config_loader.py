"""Reading tarsy.yaml: the file, its strict YAML, and its sections by a declarative schema.

A :data:`Schema` is a tree that mirrors the document: each key leads either to a section (a
frozen dataclass whose fields are declared with :func:`tarsy_project.config_fields.setting`) or
to a nested mapping of more keys. The loader checks every mapping on the way down against it,
so the rules for unknown keys, wrong shapes and key paths in messages live here once, and a
new section is one entry in the tree. This module knows no app.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import yaml

from tarsy_project.config_fields import (
    ConfigError,
    as_mapping,
    build_section,
    describe,
    key_path,
    refuse_unknown_keys,
)
from tarsy_project.config_yaml import DuplicateKeyError, load_strict_yaml

type Schema = Mapping[str, type | Schema]


def read_config_file(path: str | os.PathLike[str]) -> str:
    """The text of the config file at ``path``; a ConfigError says why it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ConfigError(f"config file {os.fspath(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {os.fspath(path)!r} is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"config file {os.fspath(path)!r} cannot be read: {reason}") from None


def read_document(text: str, source: str) -> Any:
    """The YAML document in ``text``; a ConfigError names ``source`` and the line at fault."""
    try:
        return load_strict_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{source}: YAML syntax error{where}: {exc.problem}") from None
    except DuplicateKeyError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: YAML syntax error: {exc}") from None


def load_sections(document: Any, schema: Schema, *, source: str) -> dict[str, Any]:
    """Every section ``schema`` names, built from ``document``, by dotted key path.

    An absent or null document, mapping or section means every default below it.
    """
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, got {describe(document)}")
    sections: dict[str, Any] = {}
    _load_mapping(document, schema, "", sections)
    return sections


def _load_mapping(mapping: dict, schema: Schema, path: str, sections: dict[str, Any]) -> None:
    refuse_unknown_keys(mapping, schema, path)
    for key, node in schema.items():
        node_path = key_path(path, key)
        raw = as_mapping(mapping.get(key), node_path)
        if isinstance(node, type):
            sections[node_path] = build_section(node, raw, node_path)
        else:
            _load_mapping(raw, node, node_path, sections)
