"""``system.retention`` of tarsy.yaml: how long sessions and events live."""

from dataclasses import dataclass
from datetime import timedelta

from tarsy_project.config_fields import setting

# A century: beyond it `now - N days` would leave the calendar; nobody means more.
MAX_DAYS = 36500


@dataclass(frozen=True)
class RetentionConfig:
    """How long sessions and events live, and how the cleanup job works through them."""

    session_retention_days: int = setting(
        365, "int", minimum=1, maximum=MAX_DAYS, doc="soft-delete after N days"
    )
    event_ttl: timedelta = setting(timedelta(hours=1), "duration", doc="hard-delete events after")
    cleanup_interval: timedelta = setting(timedelta(hours=12), "duration", doc="retention period")
    purge_after_days: int | None = setting(
        None,
        "int",
        minimum=1,
        maximum=MAX_DAYS,
        nullable=True,
        doc="hard-delete soft-deleted sessions after N days",
    )
    batch_size: int = setting(1000, "int", minimum=1, doc="rows per transaction")
