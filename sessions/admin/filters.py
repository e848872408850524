"""The list filters: a session's state, its hold, what the next cleanup run would take, and
the rows of one session in a child's list."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from sessions.admin.config import tarsy_config
from sessions.selectors import session_id_lookup


class DeletedStateFilter(admin.SimpleListFilter):
    """Live / Soft-deleted / All; "All" is the default: the list shows every session."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("live", "Live"), ("deleted", "Soft-deleted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "live":
            return queryset.live()
        if self.value() == "deleted":
            return queryset.soft_deleted()
        return queryset

    def choices(self, changelist: Any) -> Iterable[dict[str, Any]]:
        """The built-in "All" choice last, so the filter reads Live / Soft-deleted / All."""
        all_choice, *others = super().choices(changelist)
        return [*others, all_choice]


class SessionIdFilter(admin.SimpleListFilter):
    """``?session=<id>``: the rows of one session (the links on a session's page)."""

    title = "session"
    parameter_name = "session"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        # Shown only while active: listing every session id would read the whole table.
        value = self.value()
        return [(value, value)] if value else []

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(**{session_id_lookup(queryset.model): value}) if value else queryset


class HeldFilter(admin.SimpleListFilter):
    """Held / Not held: whether a hold keeps the session from retention now."""

    title = "hold"
    parameter_name = "held"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("yes", "Held"), ("no", "Not held")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.held()
        if self.value() == "no":
            return queryset.not_held()
        return queryset


class RetentionDueFilter(admin.SimpleListFilter):
    """What the next cleanup run would take, by the retention the sidecar reads (the same
    tarsy.yaml) and the same rules as the run, holds included. The list's own count (capped,
    like every count here) says how many."""

    title = "retention"
    parameter_name = "due"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        purge_off = tarsy_config().retention.purge_after_days is None
        return [
            ("soft_delete", "Due for soft-delete at the next run"),
            ("purge", "Due for purge (purge is off)" if purge_off else "Due for purge"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        settings, now = tarsy_config().retention, timezone.now()
        if self.value() == "soft_delete":
            cutoff = now - timedelta(days=settings.session_retention_days)
            return queryset.due_for_soft_delete(cutoff, now=now)
        if self.value() == "purge":
            if settings.purge_after_days is None:
                return queryset.none()
            return queryset.due_for_purge(now - timedelta(days=settings.purge_after_days), now=now)
        return queryset
