"""CleanupRun records in the admin: read-only, newest first."""

from django.contrib import admin

from retention.models import CleanupRun
from tarsy_project.admin_mixins import ReadOnlyAdminMixin


@admin.register(CleanupRun)
class CleanupRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("started_at", "job", "host", "outcome", "duration", "counts", "error")
    list_filter = ("job", "outcome", "host")
    ordering = ("-started_at",)
    date_hierarchy = "started_at"
    show_full_result_count = False

    @admin.display(description="duration")
    def duration(self, run: CleanupRun) -> str:
        return f"{run.duration_ms} ms"
