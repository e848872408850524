"""Which counts of a run record the overview shows, under which labels.

A run's ``counts`` hold what each step changed *and* what it measured (the ``backlog`` step's
``backlog_*`` keys are measurements, not rows cleaned). Only the keys listed in ``CLEANED`` go
into the "cleaned" charts and totals; a key not listed here is never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Unit(StrEnum):
    ROWS = "rows"
    FILES = "files"


@dataclass(frozen=True)
class CleanedCount:
    """A count key of ``job``'s records that says how many things a step cleaned."""

    job: str
    key: str
    label: str
    unit: Unit


CLEANED: tuple[CleanedCount, ...] = (
    CleanedCount("retention", "soft_deleted", "Sessions soft-deleted", Unit.ROWS),
    CleanedCount("retention", "events_expired", "Events expired", Unit.ROWS),
    CleanedCount("retention", "purged", "Sessions purged", Unit.ROWS),
    CleanedCount("retention", "runs_expired", "Run records expired", Unit.ROWS),
    CleanedCount("orphans", "orphans_marked", "Sessions marked orphaned", Unit.ROWS),
    CleanedCount("sweep", "deleted", "Streaming files deleted (age)", Unit.FILES),
    CleanedCount("sweep", "pressure_deleted", "Streaming files deleted (pressure)", Unit.FILES),
)

# The retention job's ``backlog`` step measures these at the end of each run.
BACKLOG: tuple[tuple[str, str], ...] = (
    ("backlog_due_for_soft_delete", "Sessions due for soft delete"),
    ("backlog_due_for_purge", "Sessions due for purge"),
    ("backlog_events_past_ttl", "Events past their TTL"),
    ("backlog_sessions_held", "Sessions on hold"),
)
BACKLOG_JOB = "retention"


def cleaned(unit: Unit) -> tuple[CleanedCount, ...]:
    return tuple(count for count in CLEANED if count.unit == unit)
