"""The list filters: a session's state, and the rows of one session in a child's list."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

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
