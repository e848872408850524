"""The session list and a session's (read-only) page."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

from sessions import selectors, wording
from sessions.admin.actions import SessionActionsMixin
from sessions.admin.filters import DeletedStateFilter, HeldFilter, RetentionDueFilter
from sessions.admin.holds import HoldActionsMixin
from sessions.models import AlertSession
from tarsy_project.admin_mixins import FastListMixin, ReadOnlyAdminMixin

_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


@admin.register(AlertSession)
class AlertSessionAdmin(
    HoldActionsMixin, SessionActionsMixin, ReadOnlyAdminMixin, FastListMixin, admin.ModelAdmin
):
    list_display = (
        "session_id",
        "status",
        "agent_type",
        "alert_type",
        "created_at",
        "completed_at",
        "deleted",
        "hold",
    )
    list_filter = (DeletedStateFilter, HeldFilter, RetentionDueFilter, "status")
    search_fields = ("session_id__exact", "alert_type__icontains")
    search_help_text = "An exact session id, or part of an alert type."
    ordering = ("-created_at",)
    sortable_by = ("created_at",)
    actions = (
        "restore_selected",
        "soft_delete_selected",
        "hold_selected",
        "release_selected",
        "purge_selected",
    )
    readonly_fields = ("child_rows", "holds_in_force")
    fieldsets = (
        (None, {"fields": ("session_id", "status", "deleted_at", "holds_in_force", "child_rows")}),
        (
            "Alert",
            {"fields": ("agent_type", "alert_type", "alert_data", "author", "runbook_url")},
        ),
        (
            "Timing",
            {"fields": ("created_at", "started_at", "completed_at", "last_interaction_at")},
        ),
        (
            "Outcome",
            {
                "fields": (
                    "error_message",
                    "final_analysis",
                    "executive_summary",
                    "executive_summary_error",
                )
            },
        ),
        (
            "Execution",
            {
                "fields": (
                    "chain_id",
                    "current_stage_index",
                    "current_stage_id",
                    "pod_id",
                    "mcp_selection",
                    "session_metadata",
                    "slack_message_fingerprint",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[AlertSession]:
        """Every session, soft-deleted ones included (the default manager hides them), with
        its hold state computed in the same query (``selectors.with_hold_state``)."""
        queryset = selectors.with_hold_state(
            AlertSession.all_objects.get_queryset(), timezone.now()
        )
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """A UUID-shaped term is a session id: look it up by primary key (index, not a scan)."""
        term = search_term.strip()
        if _UUID.fullmatch(term):
            return queryset.filter(pk=term), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="Deleted", ordering="deleted_at")
    def deleted(self, obj: AlertSession) -> str:
        if obj.deleted_at is None:
            return "—"
        when = timezone.localtime(obj.deleted_at).strftime("%Y-%m-%d %H:%M:%S %Z")
        return format_html("<strong>soft-deleted</strong> {}", when)

    @admin.display(description="Hold")
    def hold(self, obj: AlertSession) -> str:
        """``held until 2027-01-05 00:00 UTC`` / ``held with no end`` / ``—``."""
        if not getattr(obj, "is_held", False):
            return "—"
        return format_html("<strong>held</strong> {}", wording.hold_end(obj.held_until))

    @admin.display(description="Holds")
    def holds_in_force(self, obj: AlertSession) -> str:
        """The holds in force (who, when, why, until when) and how many have ended."""
        now = timezone.now()
        active = obj.holds.active(now).order_by("-placed_at")
        items = [
            format_html(
                "<li><strong>{}</strong>: {}, placed by {} on {}</li>",
                wording.hold_end(h.until),
                h.reason,
                h.placed_by,
                wording.moment(h.placed_at),
            )
            for h in active
        ]
        ended = obj.holds.ended(now).count()
        if not items:
            items.append(format_html("<li>{}</li>", "not held: retention treats it as usual"))
        if ended:
            items.append(format_html("<li>{} ended hold(s) in the history</li>", ended))
        return format_html("<ul class='holds'>{}</ul>", mark_safe("".join(items)))

    @admin.display(description="Child rows")
    def child_rows(self, obj: AlertSession) -> str:
        """Rows of each child table (those a purge would delete with the session); a table
        TARSy Ops has a model for links to its list filtered to the session."""
        query = urlencode({"session": obj.pk})
        items = []
        for table, n in selectors.count_children(session_ids=[obj.pk]).items():
            label = capfirst(selectors.child_label(table))
            model = selectors.child_model(table)
            if model is None:
                items.append(format_html("<li>{}: {}</li>", label, n))
            else:
                link = f"{_changelist_url(model)}?{query}"
                items.append(format_html("<li><a href='{}'>{}: {}</a></li>", link, label, n))
        return format_html("<ul class='child-rows'>{}</ul>", mark_safe("".join(items)))


def _changelist_url(model: type[Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
