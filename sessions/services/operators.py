"""Operator actions on chosen sessions: restore, soft-delete, purge.

The admin's actions and ``restore_session`` call these. Each decides per id and says what it
did (an ``OperatorResult``), so an operator sees exactly which sessions changed. A restore also
holds the sessions it brings back (``services.holds``), so that retention does not soft-delete
them again at its next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from sessions import selectors
from sessions.models import AlertSession, SessionHold
from sessions.services import holds
from sessions.services.results import OperatorResult, distinct_ids

__all__ = ["OperatorResult", "PurgeResult", "RestoreResult"]


@dataclass
class PurgeResult(OperatorResult):
    """A purge: ``changed`` are the sessions hard-deleted; ``children`` the rows that went with
    them, per child table (``selectors.child_tables``), counted in the same transaction.
    Nothing is ever ``unchanged``."""

    children: dict[str, int] = field(default_factory=dict)


@dataclass
class RestoreResult(OperatorResult):
    """A restore: ``held_until`` gives, for each restored session that is held after it, when
    its hold ends (None: no end); a restored session missing from it is not held."""

    held_until: dict[str, datetime | None] = field(default_factory=dict)


def restore_sessions(
    *,
    ids: Iterable[str],
    hold_days: int,
    placed_by: str,
    dry_run: bool = False,
    now: datetime | None = None,
) -> RestoreResult:
    """Bring soft-deleted sessions back (children were never touched, so they come back whole)
    and hold them for ``hold_days`` days (0: no hold), in one transaction.

    Without the hold a session still past retention would be soft-deleted again by the next
    cleanup run. ``changed``: restored; ``unchanged``: already live; ``unknown``: no such
    session.
    """
    now = now or timezone.now()
    with transaction.atomic():
        done = _set_deleted_at(ids, wants_deleted=True, new_value=None, dry_run=dry_run)
        result = RestoreResult(done.changed, done.unchanged, done.unknown)
        if hold_days and result.changed:
            held = holds.place_hold(
                session_ids=result.changed,
                until=now + timedelta(days=hold_days),
                reason=f"restored: kept from retention for {hold_days} days",
                placed_by=placed_by,
                now=now,
                dry_run=dry_run,
            )
            result.held_until = held.held_until
        else:
            result.held_until = selectors.hold_ends(session_ids=result.changed, now=now)
    return result


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

    The database cascades each session's children; their holds (history, or a hold the
    operator overrides) go in the same transaction. ``changed``: purged; ``unknown``: no such
    session (already gone).
    """
    wanted = distinct_ids(ids)
    with transaction.atomic():
        locked = AlertSession.all_objects.select_for_update().filter(pk__in=wanted)
        present = set(locked.values_list("pk", flat=True))
        result = PurgeResult(
            changed=[i for i in wanted if i in present],
            unknown=[i for i in wanted if i not in present],
        )
        result.children = selectors.count_children(session_ids=result.changed)
        AlertSession.all_objects.filter(pk__in=result.changed).delete()
        SessionHold.objects.filter(session_id__in=result.changed).delete()
    return result


def _set_deleted_at(
    ids: Iterable[str], *, wants_deleted: bool, new_value: datetime | None, dry_run: bool
) -> OperatorResult:
    """Set ``deleted_at`` to ``new_value`` on those of ``ids`` whose soft-deleted state is
    ``wants_deleted``; report each id."""
    wanted = distinct_ids(ids)
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
