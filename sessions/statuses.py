"""A session's status, and the groups of statuses the retention rules go by."""

from django.db import models


class SessionStatus(models.TextChoices):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


# Finished: a session reaching one of these gets its ``completed_at``.
TERMINAL_STATUSES = (
    SessionStatus.COMPLETED,
    SessionStatus.FAILED,
    SessionStatus.CANCELLED,
    SessionStatus.TIMED_OUT,
)
# Never started, or stuck on the way out: soft-deleted by age of creation (retention rule 1).
STALE_UNFINISHED_STATUSES = (SessionStatus.PENDING, SessionStatus.CANCELLING)
