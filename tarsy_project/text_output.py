"""What commands print for people and scripts: aligned tables, and times in RFC 3339 (UTC)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any


def rfc3339(value: datetime) -> str:
    """``2026-12-01T10:00:00Z``: UTC, to the second, as Go's ``time.RFC3339`` prints it."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_value(value: Any) -> Any:
    """A value as JSON output carries it: times in RFC 3339, everything else as it is."""
    return rfc3339(value) if isinstance(value, datetime) else value


def table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Rows as aligned columns headed by their upper-cased names; an empty value is ``-``."""
    if not rows:
        return []
    columns = list(rows[0])
    cells = [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [[c.upper() for c in columns], *cells]
    return [
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]


def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else str(json_value(value))
