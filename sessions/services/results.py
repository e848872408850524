"""What an operator action reports: per id, changed, unchanged or unknown."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class OperatorResult:
    """What an operator action did, per id, in the order the ids were given (each id once)."""

    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def distinct_ids(ids: Iterable[str]) -> list[str]:
    """The ids as strings, each once, in the order given."""
    return list(dict.fromkeys(str(i) for i in ids))
