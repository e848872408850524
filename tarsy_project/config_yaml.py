"""Strict YAML for tarsy.yaml: safe types only, and no key written twice.

PyYAML keeps the last of two equal keys silently; here the second one is an error naming the
key path and both lines, so a setting pasted twice never overrides the first unseen.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(yaml.YAMLError):
    """A key written twice in one mapping; the message names its path and both lines."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of keeping the last one silently."""

    key_path: tuple[str, ...] = ()  # where the mapping being built sits, for error messages


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    explicit = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE_TAG)
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
            raise DuplicateKeyError(
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


def load_strict_yaml(text: str) -> Any:
    """The one YAML document in ``text`` (None when empty).

    Raise :class:`DuplicateKeyError`, or PyYAML's own errors for bad syntax, unsafe tags and
    several documents.
    """
    return yaml.load(text, Loader=_StrictLoader)
