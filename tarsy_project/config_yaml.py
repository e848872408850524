"""Strict YAML for tarsy.yaml: safe types only, no key written twice, bounded nesting.

PyYAML keeps the last of two equal keys silently; here the second one is an error naming the
key path and both lines, so a setting pasted twice never overrides the first unseen. PyYAML
builds nodes recursively, so nesting is bounded (a file of a thousand ``[`` is a clean error,
not a RecursionError), and a value its constructors cannot build is an error at its line, not
an exception from inside the library.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
# TARSy's deepest section (agent_chains -> chain -> stages -> stage -> agents -> agent) is
# about eight levels deep; a file nested eight times deeper than that is not a configuration.
MAX_DEPTH = 64


class DuplicateKeyError(yaml.YAMLError):
    """A key written twice in one mapping; the message names its path and both lines."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and deep nesting, and reads dates as text."""

    key_path: tuple[str, ...] = ()  # where the mapping being built sits, for error messages
    depth = 0  # nodes being composed, outermost first

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, f"nesting deeper than {MAX_DEPTH} levels", mark
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            # PyYAML's constructors raise these for values such as ``!!int abc``.
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value as {tag}: {exc}", node.start_mark
            ) from None


# No setting TARSy Ops reads is a date, and TARSy reads dates as text: ``2025-02-30`` in one
# of TARSy's sections must load, not fail as an impossible date.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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

    Raise :class:`DuplicateKeyError`, or PyYAML's own errors for bad syntax, unsafe tags, deep
    nesting, values that cannot be built and several documents.
    """
    return yaml.load(text, Loader=_StrictLoader)


def read_plain_scalar(text: str) -> Any:
    """``text`` as YAML reads it unquoted: ``30`` an integer, ``true`` a boolean, ``1h`` text.

    An environment variable's value is read this way, so ``${DAYS}`` can stand for a number.
    """
    loader = _StrictLoader("")
    try:
        tag = loader.resolve(yaml.ScalarNode, text, (True, False))
        return loader.construct_object(yaml.ScalarNode(tag, text))
    except yaml.YAMLError:
        return text
    finally:
        loader.dispose()
