"""Holds: keep chosen sessions out of retention (no soft delete, no purge) while they last.

An operator holds a session until a time or with no end, with a reason (an incident under
review, a legal hold); a restore holds the sessions it brings back for
``system.retention.restore_hold_days`` (``operators.restore_sessions``). Each hold is a row of
its own, with who placed it, when, why and until when; releasing ends every active hold of a
session and keeps them as history. The retention rules skip held sessions in SQL
(``AlertSessionQuerySet.not_held``).

Placing or releasing locks the sessions' rows first: a retention batch that already locked a
session finishes before the hold lands (the session stays soft-deleted, and held from purge),
and one that comes later sees the hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from django.db import transaction
from django.utils import timezone

from sessions import selectors
from sessions.models import AlertSession, SessionHold
from sessions.services.results import OperatorResult, distinct_ids


class HoldError(ValueError):
    """A hold that cannot be placed as asked (no reason, an end in the past)."""


@dataclass
class HoldResult(OperatorResult):
    """A hold placed on chosen sessions.

    ``changed``: held now (a new hold); ``unchanged``: already held at least that long (no new
    row); ``unknown``: no such session. ``held_until`` gives, for every held id, when its hold
    ends after the call (None: no end).
    """

    held_until: dict[str, datetime | None] = field(default_factory=dict)


def until_day(day: date) -> datetime:
    """A hold "until" a calendar day ends when that day begins, at 00:00 UTC."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def place_hold(
    *,
    session_ids: Iterable[str],
    until: datetime | None,
    reason: str,
    placed_by: str,
    now: datetime | None = None,
    dry_run: bool = False,
) -> HoldResult:
    """Hold the given sessions until ``until`` (None: no end) for ``reason``.

    A session already held at least as long keeps its hold and is ``unchanged``; a shorter one
    gets a new hold beside it (a hold never shortens another). Raises :class:`HoldError` for an
    empty reason or an end not after ``now``.
    """
    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise HoldError("a hold needs a reason")
    if until is not None and until <= now:
        raise HoldError(f"a hold must end in the future, not {until.isoformat()}")
    with transaction.atomic():
        result = _decide(distinct_ids(session_ids), until=until, now=now)
        if result.changed and not dry_run:
            SessionHold.objects.bulk_create(
                SessionHold(
                    session_id=session_id,
                    placed_by=placed_by,
                    placed_at=now,
                    reason=reason,
                    until=until,
                )
                for session_id in result.changed
            )
    return result


def _decide(wanted: list[str], *, until: datetime | None, now: datetime) -> HoldResult:
    """Which of ``wanted`` a hold until ``until`` changes (their rows locked meanwhile)."""
    present = set(_locked(wanted))
    ends = selectors.hold_ends(session_ids=present, now=now)
    result = HoldResult()
    for session_id in wanted:
        if session_id not in present:
            result.unknown.append(session_id)
        elif session_id in ends and _outlasts(ends[session_id], until):
            result.unchanged.append(session_id)
            result.held_until[session_id] = ends[session_id]
        else:
            result.changed.append(session_id)
            result.held_until[session_id] = until
    return result


def release_holds(
    *,
    session_ids: Iterable[str],
    released_by: str,
    now: datetime | None = None,
    dry_run: bool = False,
) -> OperatorResult:
    """End every active hold of the given sessions (kept as history, marked released).

    ``changed``: had a hold, now released; ``unchanged``: was not held; ``unknown``: no such
    session. Retention treats a released session as any other from its next run on.
    """
    now = now or timezone.now()
    wanted = distinct_ids(session_ids)
    result = OperatorResult()
    with transaction.atomic():
        present = set(_locked(wanted))
        active = SessionHold.objects.active(now).filter(session_id__in=present)
        held = set(active.values_list("session_id", flat=True))
        for session_id in wanted:
            if session_id not in present:
                result.unknown.append(session_id)
            elif session_id in held:
                result.changed.append(session_id)
            else:
                result.unchanged.append(session_id)
        if held and not dry_run:
            active.update(released_by=released_by, released_at=now)
    return result


def _outlasts(end: datetime | None, until: datetime | None) -> bool:
    """Whether a hold ending at ``end`` lasts at least as long as one ending at ``until``."""
    return selectors.later(end, until) == end


def _locked(session_ids: list[str]) -> list[str]:
    """The ids of the given sessions that exist, their rows locked until the transaction ends."""
    rows = AlertSession.all_objects.select_for_update().filter(pk__in=session_ids)
    return list(rows.values_list("pk", flat=True))
