"""Reads behind the services and the admin: the retention passes, children per session.

The rules themselves (live, due for soft delete, due for purge) are ``AlertSessionQuerySet``'s;
this module shapes them for the batch walk and counts what hangs below sessions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, QuerySet

from sessions.models import CHILD_MODELS, AlertSession, Event, SessionChild
from sessions.querysets import finished_before, left_unfinished_before
from sessions.statuses import STALE_UNFINISHED_STATUSES


def soft_delete_passes(cutoff: datetime) -> list[tuple[QuerySet[AlertSession], str]]:
    """Rule 1 (``due_for_soft_delete``) as disjoint passes of (rows, indexed key to walk by).

    Sessions finished before ``cutoff`` by ``completed_at`` (the partial live index), then the
    never-finished ones created before it by ``created_at``, one stale status at a time, so each
    pass is an ordered range of ``(status, created_at)``; a stale session that also has an old
    ``completed_at`` belongs to the first pass only. Together they are exactly the rule's rows.
    """
    candidates = AlertSession.all_objects.retention_candidates()
    finished = finished_before(cutoff)
    stale = [
        candidates.filter(left_unfinished_before(cutoff, status)).exclude(finished)
        for status in STALE_UNFINISHED_STATUSES
    ]
    return [(candidates.filter(finished), "completed_at")] + [
        (rows, "created_at") for rows in stale
    ]


def events_due_for_expiry(cutoff: datetime) -> QuerySet[Event]:
    """Rule 2: events created before ``cutoff``."""
    return Event.objects.filter(created_at__lt=cutoff)


def session_id_lookup(model: type[SessionChild]) -> str:
    """The lookup from ``model``'s rows to their session's id (``chat__session_id`` for chat
    messages, ``session_id`` for the others)."""
    return f"{model.session_path}_id"


def count_children(*, session_ids: Iterable[str]) -> dict[type[SessionChild], int]:
    """Rows of each child kind belonging to the given sessions (one COUNT per kind)."""
    ids = list(session_ids)
    return {
        model: model.objects.filter(**{f"{session_id_lookup(model)}__in": ids}).aggregate(
            n=Count("pk")
        )["n"]
        for model in CHILD_MODELS
    }
