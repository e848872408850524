"""How holds are told to operators: the command lines and the admin's messages say the same."""

from __future__ import annotations

from datetime import UTC, datetime


def moment(value: datetime) -> str:
    """A time as operators read it in messages: ``2027-01-05 14:23 UTC``."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def hold_end(until: datetime | None) -> str:
    """``until 2027-01-05 14:23 UTC``, or ``with no end``."""
    return "with no end" if until is None else f"until {moment(until)}"


def kept(until: datetime | None) -> str:
    """What a hold means for a session: ``kept from retention until 2027-01-05 14:23 UTC``."""
    return f"kept from retention {hold_end(until)}"


NOT_HELD = "not held: the next cleanup run soft-deletes it again if it is still past retention"

RELEASED = "retention treats it as any other session from its next run"
