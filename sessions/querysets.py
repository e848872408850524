"""Which sessions a query means: live, soft-deleted, due for soft delete, due for purge.

The one place these rules are written: ``AlertSession.objects`` is ``live()``, and the retention
services, their dry-run counts and the admin's filter all use the methods below.
"""

from __future__ import annotations

import operator
from datetime import datetime
from functools import reduce

from django.db import models
from django.db.models import Q

from sessions.statuses import STALE_UNFINISHED_STATUSES, SessionStatus

# A session is live until it is soft-deleted (``deleted_at`` set). SOFT_DELETED is the
# complement, spelled as its own condition so that it matches the partial index on deleted rows.
LIVE = Q(deleted_at__isnull=True)
SOFT_DELETED = Q(deleted_at__isnull=False)


def finished_before(cutoff: datetime) -> Q:
    """Rule 1 for sessions that finished: they go by ``completed_at``."""
    return Q(completed_at__lt=cutoff)


def left_unfinished_before(cutoff: datetime, status: str) -> Q:
    """Rule 1 for sessions that never finished (one stale status): they go by ``created_at``."""
    return Q(status=status, created_at__lt=cutoff)


class AlertSessionQuerySet(models.QuerySet):
    def live(self) -> AlertSessionQuerySet:
        return self.filter(LIVE)

    def soft_deleted(self) -> AlertSessionQuerySet:
        return self.filter(SOFT_DELETED)

    def retention_candidates(self) -> AlertSessionQuerySet:
        """Live sessions that rule 1 may soft-delete: all but ``in_progress`` ones, which
        orphan detection owns whatever their ``completed_at`` says."""
        return self.live().exclude(status=SessionStatus.IN_PROGRESS)

    def due_for_soft_delete(self, cutoff: datetime) -> AlertSessionQuerySet:
        """Rule 1: live sessions finished before ``cutoff``, and ``pending``/``cancelling``
        ones created before it (whatever their ``completed_at``); never ``in_progress`` ones.
        The cleanup run walks it as disjoint passes (``selectors.soft_delete_passes``)."""
        stale = (left_unfinished_before(cutoff, status) for status in STALE_UNFINISHED_STATUSES)
        return self.retention_candidates().filter(
            reduce(operator.or_, stale, finished_before(cutoff))
        )

    def due_for_purge(self, cutoff: datetime) -> AlertSessionQuerySet:
        """Rule 3: sessions soft-deleted before ``cutoff``."""
        return self.filter(deleted_at__lt=cutoff)


class AlertSessionManager(models.Manager.from_queryset(AlertSessionQuerySet)):
    """Every session, live and soft-deleted (``AlertSession.all_objects``)."""


class LiveSessionManager(AlertSessionManager):
    """Sessions that are not soft-deleted (``AlertSession.objects``)."""

    def get_queryset(self) -> AlertSessionQuerySet:
        return super().get_queryset().live()
