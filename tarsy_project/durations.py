"""Go durations (``90s``, ``1h30m``, ``1.5h``): the syntax TARSy writes in tarsy.yaml."""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction

# Nanoseconds per unit: parts are summed exactly, then rounded once to timedelta's microseconds
# (a per-part timedelta would turn every ``ns`` part into 0).
_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
# ASCII digits only: ``\d`` would also accept other scripts' digits, which Go refuses.
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
DURATION_HINT = "use a Go duration such as 90s, 30m or 168h"


def parse_duration(text: str) -> timedelta:
    """Parse a Go duration (``90s``, ``1h30m``, ``1.5h``); raise ValueError when malformed.

    Raise OverflowError when the duration is beyond what a timedelta holds.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(text)
    pos, nanoseconds = 0, Fraction(0)
    while pos < len(text):
        match = _PART.match(text, pos)
        if not match:
            raise ValueError(text)
        nanoseconds += Fraction(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return timedelta(microseconds=round(nanoseconds / 1000))


def format_duration(value: timedelta) -> str:
    """Render a timedelta back in Go syntax (``1h``, ``12h``, ``1h30m``, ``1m30.5s``, ``500ms``)."""
    micros = value // timedelta(microseconds=1)
    if 0 < micros < 1_000_000:  # below a second, as Go prints it: 500ms, 1.5ms, 250us
        if micros < 1_000:
            return f"{micros}us"
        whole, frac = divmod(micros, 1_000)
        return f"{whole}.{frac:03d}".rstrip("0").rstrip(".") + "ms"
    seconds, frac = divmod(micros, 1_000_000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs or frac or not parts:
        parts.append(f"{secs}.{frac:06d}".rstrip("0").rstrip(".") + "s")
    return "".join(parts)
