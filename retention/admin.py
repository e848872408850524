"""CleanupRun records in the admin: read-only, newest first, fast on a long history.

The list never scans the whole table: the paginator counts at most ``COUNT_CAP`` rows, and the
job and host filters offer the jobs and hosts of the latest runs (one index seek per job and
host) instead of a ``SELECT DISTINCT`` over every record.
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from retention.models import CleanupRun
from retention.selectors import latest_runs
from tarsy_project.admin_mixins import FastListMixin, ReadOnlyAdminMixin


class LatestRunsFilter(admin.SimpleListFilter):
    """Filter on a column by the values its latest runs have (``parameter_name`` is the field)."""

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        values = sorted({getattr(run, self.parameter_name) for run in latest_runs()})
        return [(value, value) for value in values]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(**{self.parameter_name: value}) if value else queryset


class JobFilter(LatestRunsFilter):
    title = parameter_name = "job"


class HostFilter(LatestRunsFilter):
    title = parameter_name = "host"


@admin.register(CleanupRun)
class CleanupRunAdmin(FastListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("started_at", "job", "host", "outcome", "duration", "counts", "error")
    list_filter = (JobFilter, "outcome", HostFilter)
    ordering = ("-started_at",)
    sortable_by = ("started_at",)

    @admin.display(description="duration")
    def duration(self, run: CleanupRun) -> str:
        return f"{run.duration_ms} ms"
