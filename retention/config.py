"""``system.retention`` of tarsy.yaml: how long sessions and events live."""

from dataclasses import dataclass
from datetime import timedelta

from tarsy_project.config_fields import MAX_DAYS, MAX_INTERVAL, setting

# Rows per transaction. The SQLite path binds one parameter per row, and SQLite's default
# limit is 32766 parameters a statement; ten times the default is plenty on PostgreSQL too.
MAX_BATCH_SIZE = 10000


@dataclass(frozen=True)
class RetentionConfig:
    """How long sessions and events live, and how the cleanup job works through them."""

    session_retention_days: int = setting(
        365, "int", minimum=1, maximum=MAX_DAYS, doc="soft-delete after N days"
    )
    event_ttl: timedelta = setting(
        timedelta(hours=1),
        "duration",
        maximum=timedelta(days=MAX_DAYS),
        doc="hard-delete events after",
    )
    cleanup_interval: timedelta = setting(
        timedelta(hours=12), "duration", maximum=MAX_INTERVAL, doc="retention period"
    )
    purge_after_days: int | None = setting(
        None,
        "int",
        minimum=1,
        maximum=MAX_DAYS,
        nullable=True,
        doc="hard-delete soft-deleted sessions after N days",
    )
    batch_size: int = setting(
        1000, "int", minimum=1, maximum=MAX_BATCH_SIZE, doc="rows per transaction"
    )
    restore_hold_days: int = setting(
        30,
        "int",
        minimum=0,
        maximum=MAX_DAYS,
        doc="a restored session is kept out of retention this long (0 = no hold)",
    )
    orphan_detection: bool = setting(
        True, "bool", doc="false where TARSy's own workers already detect orphans"
    )
