"""Operator actions on chosen sessions: restore, soft-delete, purge (DESIGN §4).

The admin's actions and ``restore_session`` call these; each decides per id and reports what
it did, so an operator sees exactly which sessions changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Model

from sessions import selectors
from sessions.models import AlertSession


@dataclass
class OperatorResult:
    """What an operator action did, per id, in the order the ids were given."""

    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _apply_to_ids(
    ids: Iterable[str], *, wants_deleted: bool, new_value: datetime | None, dry_run: bool
) -> OperatorResult:
    wanted = list(dict.fromkeys(str(i) for i in ids))
    result = OperatorResult()
    with transaction.atomic():
        found = dict(
            AlertSession.all_objects.select_for_update()
            .filter(pk__in=wanted)
            .values_list("pk", "deleted_at")
        )
        for session_id in wanted:
            if session_id not in found:
                result.unknown.append(session_id)
            elif (found[session_id] is not None) == wants_deleted:
                result.changed.append(session_id)
            else:
                result.unchanged.append(session_id)
        if result.changed and not dry_run:
            AlertSession.all_objects.filter(pk__in=result.changed).update(deleted_at=new_value)
    return result


def restore_sessions(ids: Iterable[str], *, dry_run: bool = False) -> OperatorResult:
    """Bring soft-deleted sessions back (children were never touched, so they come back whole).

    ``changed``: restored; ``unchanged``: already live; ``unknown``: no such session.
    """
    return _apply_to_ids(ids, wants_deleted=True, new_value=None, dry_run=dry_run)


def soft_delete_sessions(
    ids: Iterable[str], *, now: datetime | None = None, dry_run: bool = False
) -> OperatorResult:
    """Soft-delete sessions chosen by an operator.

    ``changed``: soft-deleted; ``unchanged``: already deleted; ``unknown``: no such session.
    """
    from django.utils import timezone

    return _apply_to_ids(ids, wants_deleted=False, new_value=now or timezone.now(), dry_run=dry_run)


def purge_sessions(ids: Iterable[str]) -> tuple[int, dict[type[Model], int]]:
    """Hard-delete the given sessions now (an operator's choice, superusers only in the admin).

    Returns the sessions deleted and the child rows that went with them, per kind, counted
    in the same transaction.
    """
    wanted = list(dict.fromkeys(str(i) for i in ids))
    with transaction.atomic():
        rows = AlertSession.all_objects.select_for_update().filter(pk__in=wanted)
        present = list(rows.values_list("pk", flat=True))
        children = selectors.count_children(session_ids=present)
        deleted, _ = AlertSession.all_objects.filter(pk__in=present).delete()
    return deleted, children
