"""Operator actions on chosen sessions: restore, soft-delete, purge.

The admin's actions and ``restore_session`` call these. Each decides per id and says what it
did (an ``OperatorResult``), so an operator sees exactly which sessions changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from sessions import selectors
from sessions.models import AlertSession


@dataclass
class OperatorResult:
    """What an operator action did, per id, in the order the ids were given (each id once)."""

    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


@dataclass
class PurgeResult(OperatorResult):
    """A purge: ``changed`` are the sessions hard-deleted; ``children`` the rows that went with
    them, per child table (``selectors.child_tables``), counted in the same transaction.
    Nothing is ever ``unchanged``."""

    children: dict[str, int] = field(default_factory=dict)


def restore_sessions(*, ids: Iterable[str], dry_run: bool = False) -> OperatorResult:
    """Bring soft-deleted sessions back (children were never touched, so they come back whole).

    ``changed``: restored; ``unchanged``: already live; ``unknown``: no such session.
    """
    return _set_deleted_at(ids, wants_deleted=True, new_value=None, dry_run=dry_run)


def soft_delete_sessions(
    *, ids: Iterable[str], now: datetime | None = None, dry_run: bool = False
) -> OperatorResult:
    """Soft-delete sessions chosen by an operator (``deleted_at`` = ``now``, default: now).

    ``changed``: soft-deleted; ``unchanged``: already deleted; ``unknown``: no such session.
    """
    stamp = now or timezone.now()
    return _set_deleted_at(ids, wants_deleted=False, new_value=stamp, dry_run=dry_run)


def purge_sessions(*, ids: Iterable[str]) -> PurgeResult:
    """Hard-delete the given sessions now (an operator's choice, superusers only in the admin).

    The database cascades each session's children. ``changed``: purged; ``unknown``: no such
    session (already gone).
    """
    wanted = _distinct(ids)
    with transaction.atomic():
        locked = AlertSession.all_objects.select_for_update().filter(pk__in=wanted)
        present = set(locked.values_list("pk", flat=True))
        result = PurgeResult(
            changed=[i for i in wanted if i in present],
            unknown=[i for i in wanted if i not in present],
        )
        result.children = selectors.count_children(session_ids=result.changed)
        AlertSession.all_objects.filter(pk__in=result.changed).delete()
    return result


def _set_deleted_at(
    ids: Iterable[str], *, wants_deleted: bool, new_value: datetime | None, dry_run: bool
) -> OperatorResult:
    """Set ``deleted_at`` to ``new_value`` on those of ``ids`` whose soft-deleted state is
    ``wants_deleted``; report each id."""
    wanted = _distinct(ids)
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


def _distinct(ids: Iterable[str]) -> list[str]:
    """The ids as strings, each once, in the order given."""
    return list(dict.fromkeys(str(i) for i in ids))
