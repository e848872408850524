"""Which sessions a query means: live, soft-deleted, held, orphaned, due for soft delete or purge.

The one place these rules are written: ``AlertSession.objects`` is ``live()``, and the retention
services, their dry-run counts, their previews and the admin's filters all use the methods
below. A held session (one with an active ``SessionHold``) is never due for either.
"""

from __future__ import annotations

import operator
from datetime import datetime
from functools import reduce

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

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


def last_sign_of_life() -> Coalesce:
    """When an ``in_progress`` session's worker was last heard of: its heartbeat
    (``last_interaction_at``), else its start, else its creation (a worker that died before
    its first heartbeat)."""
    return Coalesce("last_interaction_at", "started_at", "created_at")


def silent_since_before(moment: datetime) -> Q:
    """``last_sign_of_life() < moment``, spelled so that the ``(status, last_interaction_at)``
    index serves it."""
    return (
        Q(last_interaction_at__lt=moment)
        | Q(last_interaction_at__isnull=True, started_at__lt=moment)
        | Q(last_interaction_at__isnull=True, started_at__isnull=True, created_at__lt=moment)
    )


def hold_active_at(now: datetime) -> Q:
    """A hold is active at ``now`` while it is not released and has no end or ends later."""
    return Q(released_at__isnull=True) & (Q(until__isnull=True) | Q(until__gt=now))


class SessionHoldQuerySet(models.QuerySet):
    def active(self, now: datetime | None = None) -> SessionHoldQuerySet:
        """Holds in force at ``now`` (default: now)."""
        return self.filter(hold_active_at(now or timezone.now()))

    def ended(self, now: datetime | None = None) -> SessionHoldQuerySet:
        """Holds released, or past their end, at ``now`` (default: now): history."""
        return self.exclude(hold_active_at(now or timezone.now()))

    def of_missing_sessions(self) -> SessionHoldQuerySet:
        """Holds whose session no longer exists (purged, or deleted by other means)."""
        sessions = self.model._meta.get_field("session").related_model
        return self.exclude(Exists(sessions.all_objects.filter(pk=OuterRef("session_id"))))


class AlertSessionQuerySet(models.QuerySet):
    def live(self) -> AlertSessionQuerySet:
        return self.filter(LIVE)

    def soft_deleted(self) -> AlertSessionQuerySet:
        return self.filter(SOFT_DELETED)

    def held(self, now: datetime | None = None) -> AlertSessionQuerySet:
        """Sessions with a hold active at ``now`` (default: now)."""
        return self.filter(self._active_hold(now))

    def not_held(self, now: datetime | None = None) -> AlertSessionQuerySet:
        """Sessions without a hold active at ``now`` (default: now); in SQL a ``NOT EXISTS``
        on the holds' index, so a retention statement stays one statement per batch."""
        return self.filter(~self._active_hold(now))

    def _active_hold(self, now: datetime | None) -> Exists:
        holds = self.model._meta.get_field("holds").related_model
        return Exists(holds.objects.active(now).filter(session=OuterRef("pk")))

    def orphaned(self, stale_before: datetime) -> AlertSessionQuerySet:
        """Live ``in_progress`` sessions not heard of since before ``stale_before``
        (``last_sign_of_life``): their worker stopped, orphan detection times them out."""
        return (
            self.live()
            .filter(status=SessionStatus.IN_PROGRESS)
            .filter(silent_since_before(stale_before))
        )

    def retention_candidates(self) -> AlertSessionQuerySet:
        """Live sessions that rule 1 may soft-delete: all but ``in_progress`` ones, which
        orphan detection owns whatever their ``completed_at`` says."""
        return self.live().exclude(status=SessionStatus.IN_PROGRESS)

    def due_for_soft_delete(
        self, cutoff: datetime, *, now: datetime | None = None
    ) -> AlertSessionQuerySet:
        """Rule 1: live sessions finished before ``cutoff``, and ``pending``/``cancelling``
        ones created before it (whatever their ``completed_at``); never ``in_progress`` ones,
        never ones held at ``now`` (default: now). The cleanup run walks it as disjoint passes
        (``selectors.soft_delete_passes``)."""
        stale = (left_unfinished_before(cutoff, status) for status in STALE_UNFINISHED_STATUSES)
        return (
            self.retention_candidates()
            .filter(reduce(operator.or_, stale, finished_before(cutoff)))
            .not_held(now)
        )

    def due_for_purge(
        self, cutoff: datetime, *, now: datetime | None = None
    ) -> AlertSessionQuerySet:
        """Rule 3: sessions soft-deleted before ``cutoff``, unless held at ``now`` (default:
        now)."""
        return self.filter(deleted_at__lt=cutoff).not_held(now)


class AlertSessionManager(models.Manager.from_queryset(AlertSessionQuerySet)):
    """Every session, live and soft-deleted (``AlertSession.all_objects``)."""


class LiveSessionManager(AlertSessionManager):
    """Sessions that are not soft-deleted (``AlertSession.objects``)."""

    def get_queryset(self) -> AlertSessionQuerySet:
        return super().get_queryset().live()
