"""What the project's admin classes share: read-only models, and lists fast on large tables.

``ReadOnlyAdminMixin``: rows written by code, never by hand (sessions, cleanup runs).
``FastListMixin``: no full-table ``COUNT(*)`` on a list page. ``show_full_result_count = False``,
facets off, and ``EstimatedCountPaginator`` counts at most ``COUNT_CAP + 1`` rows; past that it
reports PostgreSQL's planner estimate (``pg_class.reltuples``) for an unfiltered list, or "more
than ``COUNT_CAP``" for a filtered one. An app shows those words in its own
``admin/<app_label>/pagination.html``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

# The paginator counts at most this many rows exactly (a bounded index scan).
COUNT_CAP = 10_000


class ReadOnlyAdminMixin:
    """Nothing to add, change or delete by hand: the admin only shows these rows."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EstimatedCountPaginator(Paginator):
    """A paginator whose count never scans more than ``cap + 1`` rows.

    Up to ``cap`` rows the count is exact. Past it, the unfiltered list on PostgreSQL takes the
    planner's row estimate (``pg_class.reltuples``, kept fresh by autovacuum/ANALYZE) and sets
    ``count_is_estimate``; otherwise the count stops at ``cap`` and ``count_is_lower_bound`` is
    set (pages beyond it are reached by narrowing the filter, not by paging).
    """

    cap = COUNT_CAP

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count_is_estimate = False
        self.count_is_lower_bound = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return len(queryset)
        capped = queryset.order_by()[: self.cap + 1].count()
        if capped <= self.cap:
            return capped
        if not queryset.query.where:
            estimate = table_row_estimate(queryset.model, queryset.db)
            if estimate is not None and estimate > self.cap:
                self.count_is_estimate = True
                return estimate
        self.count_is_lower_bound = True
        return self.cap


def table_row_estimate(model: type[Model], using: str) -> int | None:
    """PostgreSQL's estimate of the rows in ``model``'s table; None elsewhere or if unknown."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [connection.ops.quote_name(model._meta.db_table)],
        )
        row = cursor.fetchone()
    # reltuples is -1 for a table never vacuumed or analyzed.
    return int(row[0]) if row and row[0] >= 0 else None


class FastListMixin:
    """Changelist settings for large tables: no full count, no facet counts."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
