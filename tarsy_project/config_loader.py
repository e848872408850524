"""Reading tarsy.yaml: its strict YAML, and its sections by a declarative schema.

A :data:`Schema` is a tree that mirrors the document. Each key leads to one of:

- a *section*: a frozen dataclass whose fields are declared with
  :func:`tarsy_project.config_fields.setting` (a key it does not declare is an error), or
  ``Section(cls, other_keys=True)`` when such keys belong to another program and are accepted
  as written;
- a *mapping* of more keys: a plain dict (a key it does not name is an error), or ``Lenient``
  (a key it does not name is a warning naming the closest known key: another program adds
  keys there over time);
- ``UNVALIDATED``: a key another program owns, accepted as written and never looked into.

The loader checks every mapping on the way down against it, so the rules for unknown keys,
wrong shapes and key paths in messages live here once, and a new section is one entry in the
tree. This module knows no app.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from tarsy_project.config_fields import (
    ConfigError,
    as_mapping,
    build_section,
    describe,
    key_path,
    refuse_unknown_keys,
    section_keys,
)
from tarsy_project.config_yaml import DuplicateKeyError, load_strict_yaml

MAX_WARNINGS = 20  # warnings listed one by one; the rest are counted in one more


class Unvalidated:
    """The schema node of a key another program owns: accepted as written, never read."""

    def __repr__(self) -> str:
        return "UNVALIDATED"


UNVALIDATED = Unvalidated()


@dataclass(frozen=True)
class Section:
    """A section at this key; ``other_keys``: keys ``cls`` does not declare are accepted."""

    cls: type
    other_keys: bool = False


@dataclass(frozen=True)
class Lenient:
    """A mapping whose unknown keys are warnings, not errors."""

    keys: Mapping[str, Node]


type Node = type | Section | Unvalidated | Lenient | Mapping[str, Node]
type Schema = Mapping[str, Node] | Lenient


@dataclass(frozen=True)
class ConfigWarning:
    """Something in tarsy.yaml worth a look that does not stop the command."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class LoadedSections:
    """Every section a schema names, by dotted key path, and the warnings found on the way."""

    sections: dict[str, Any]
    warnings: tuple[ConfigWarning, ...] = ()


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


def load_sections(document: Any, schema: Schema, *, source: str) -> LoadedSections:
    """Every section ``schema`` names, built from ``document``.

    An absent or null document, mapping or section means every default below it.
    """
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, got {describe(document)}")
    sections: dict[str, Any] = {}
    warnings: list[ConfigWarning] = []
    _load_mapping(document, schema, "", sections, warnings)
    if len(warnings) > MAX_WARNINGS:  # a pasted blob must not flood the log
        more = len(warnings) - MAX_WARNINGS
        warnings[MAX_WARNINGS:] = [ConfigWarning("...", f"{more} more unknown keys, ignored")]
    return LoadedSections(sections, tuple(warnings))


def _load_mapping(
    mapping: dict, schema: Schema, path: str, sections: dict[str, Any], warnings: list
) -> None:
    if isinstance(schema, Lenient):
        schema = schema.keys
        warnings.extend(_unknown_key_warnings(mapping, schema, path))
    else:
        refuse_unknown_keys(mapping, schema, path)
    for key, node in schema.items():
        if node is UNVALIDATED:
            continue
        node_path = key_path(path, key)
        raw = as_mapping(mapping.get(key), node_path)
        if isinstance(node, type):
            node = Section(node)
        if isinstance(node, Section):
            sections[node_path] = _build(node, raw, node_path)
        else:
            _load_mapping(raw, node, node_path, sections, warnings)


def _build(node: Section, raw: dict, path: str) -> Any:
    if node.other_keys:
        declared = section_keys(node.cls)
        raw = {key: value for key, value in raw.items() if key in declared}
    return build_section(node.cls, raw, path)


def _unknown_key_warnings(mapping: dict, known: Iterable[str], path: str) -> list[ConfigWarning]:
    names = list(known)
    return [
        ConfigWarning(key_path(path, key), f"unknown key, ignored ({_suggestion(key, names)})")
        for key in mapping
        if key not in names
    ]


def _suggestion(key: Any, names: list[str]) -> str:
    """``did you mean system?`` for a near miss, else the keys known here."""
    close = difflib.get_close_matches(str(key), names, n=1)
    return f"did you mean {close[0]}?" if close else f"known keys: {', '.join(names)}"
