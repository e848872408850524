"""CleanupRun records in the admin: read-only, newest first."""

from django.contrib import admin
from django.http import HttpRequest

from retention.models import CleanupRun


@admin.register(CleanupRun)
class CleanupRunAdmin(admin.ModelAdmin):
    list_display = ("started_at", "job", "host", "outcome", "duration", "counts", "error")
    list_filter = ("job", "outcome", "host")
    ordering = ("-started_at",)
    date_hierarchy = "started_at"
    show_full_result_count = False

    @admin.display(description="duration")
    def duration(self, run: CleanupRun) -> str:
        return f"{run.duration_ms} ms"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
