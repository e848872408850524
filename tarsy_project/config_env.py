"""``${VAR}`` references in tarsy.yaml values, expanded from the environment as TARSy does.

Only the exact form ``${NAME}`` (a letter or underscore, then letters, digits, underscores) is a
reference; any other ``$`` is left as written. An unset variable is an error, never an empty
string: a setting that silently lost its value would run with the wrong one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class UnsetVariableError(LookupError):
    """A ``${NAME}`` whose variable is not in the environment."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def has_references(text: str) -> bool:
    """Whether ``text`` holds at least one ``${NAME}``."""
    return _REFERENCE.search(text) is not None


def expand_references(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every ``${NAME}`` replaced by its value (one pass: values are not expanded
    again); raise :class:`UnsetVariableError` for the first variable that is not set."""
    values = os.environ if environ is None else environ

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise UnsetVariableError(name)
        return values[name]

    return _REFERENCE.sub(value_of, text)
