"""Holding sessions from the admin: "Hold selected sessions" (with a page asking until when and
why), "Release the holds", who may, and the read-only list of every hold.

Both actions need the model's custom permission ``hold_alertsession``, call
``sessions.services.holds`` and write one ``LogEntry`` per session changed (who and when are
the entry's; why and until when are its message), so each session's history shows its holds.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.models import CHANGE
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from sessions import wording
from sessions.admin.actions import BOTH_LOCATIONS, log_entries
from sessions.models import SessionHold
from sessions.services import holds
from tarsy_project.admin_mixins import FastListMixin, ReadOnlyAdminMixin

RELEASED_MESSAGE = "Hold released"


class HoldForm(forms.Form):
    """Until when (a day, or no end) and why."""

    until = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The hold ends as this day begins (00:00 UTC).",
    )
    no_end = forms.BooleanField(
        required=False, label="No end", help_text="Held until someone releases it."
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why: an incident under review, a legal hold...",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        until, no_end = data.get("until"), data.get("no_end")
        if bool(until) == bool(no_end):
            raise forms.ValidationError("Give a day the hold ends, or tick No end (not both).")
        if until and until <= timezone.now().date():  # the admin's time zone is UTC
            self.add_error("until", "The hold must end after today.")
        return data

    def hold_end(self) -> datetime | None:
        day: date | None = self.cleaned_data["until"]
        return None if day is None else holds.until_day(day)


def hold_message(until: datetime | None, reason: str) -> str:
    """The audit entry of a hold: ``Held until 2027-01-05 00:00 UTC: INC-42``."""
    return f"Held {wording.hold_end(until)}: {reason}"


class HoldActionsMixin:
    """The hold and release actions of ``AlertSessionAdmin``."""

    def has_hold_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.hold_alertsession")

    @admin.action(
        permissions=["hold"],
        description="Hold this session (keep it from retention)",
        description_plural="Hold selected sessions (keep them from retention)",
        location=BOTH_LOCATIONS,
    )
    def hold_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """First POST: a page asking until when and why; confirmed POST: hold."""
        ids = self.selected_ids(request, queryset)
        if ids is None:
            return None
        form = HoldForm(request.POST if request.POST.get("post") == "yes" else None)
        if not form.is_valid():
            return self._hold_page(request, ids, form)
        reason, until = form.cleaned_data["reason"].strip(), form.hold_end()
        result = holds.place_hold(
            session_ids=ids, until=until, reason=reason, placed_by=request.user.get_username()
        )
        log_entries(request, result.changed, CHANGE, hold_message(until, reason))
        self.report(request, result, done="Held", unchanged="was already held as long")
        self.report_holds(request, [*result.changed, *result.unchanged], result.held_until)
        return None

    @admin.action(
        permissions=["hold"],
        description="Release this session's hold",
        description_plural="Release the holds of selected sessions",
        location=BOTH_LOCATIONS,
    )
    def release_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = self.selected_ids(request, queryset)
        if ids is None:
            return
        result = holds.release_holds(session_ids=ids, released_by=request.user.get_username())
        log_entries(request, result.changed, CHANGE, RELEASED_MESSAGE)
        self.report(request, result, done="Released", unchanged="was not held")

    def _hold_page(self, request: HttpRequest, ids: list[str], form: HoldForm) -> HttpResponse:
        return self.selection_page(
            request,
            ids,
            "hold_form.html",
            title="Hold sessions: keep them from retention",
            form=form,
            action="hold_selected",
            changelist_url=reverse("admin:alert_sessions_alertsession_changelist"),
        )


class HoldStateFilter(admin.SimpleListFilter):
    """In force / Ended (released, or past their end)."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("active", "In force"), ("ended", "Ended")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "active":
            return queryset.active()
        if self.value() == "ended":
            return queryset.ended()
        return queryset


@admin.register(SessionHold)
class SessionHoldAdmin(ReadOnlyAdminMixin, FastListMixin, admin.ModelAdmin):
    """Every hold, newest first: who held which session, when, why, until when, who released
    it. Holds are placed and released from the session list (or ``hold_session``)."""

    list_display = (
        "session_link",
        "placed_by",
        "placed_at",
        "until",
        "reason",
        "released_by",
        "released_at",
    )
    list_filter = (HoldStateFilter,)
    search_fields = ("=session_id",)
    search_help_text = "An exact session id."
    ordering = ("-placed_at",)
    sortable_by = ()
    actions = None

    @admin.display(description="Session")
    def session_link(self, hold: SessionHold) -> str:
        url = reverse("admin:alert_sessions_alertsession_change", args=[hold.session_id])
        return format_html("<a href='{}'>{}</a>", url, hold.session_id)
