"""The operators' window on the session store (DESIGN §4, Admin).

Sessions
    The list shows live *and* soft-deleted sessions (``get_queryset`` starts from
    ``AlertSession.all_objects``, DESIGN §8), with a "Live / Soft-deleted / All" filter and a
    "Deleted" column. A session's page is read-only and shows how many rows of each child kind
    it owns, each count linking to that child's list filtered with ``?session=<id>``.

Actions (POST-only with CSRF, the admin's own machinery)
    "Restore selected sessions" and "Soft-delete selected sessions" need the model's custom
    permissions ``restore_alertsession`` / ``soft_delete_alertsession``; both call
    ``sessions.services`` and write one ``LogEntry`` per changed session. Hard delete is for
    superusers only and replaces both Django's ``delete_selected`` action and the per-object
    delete page: Django's versions collect every child row into memory to list it, ours shows
    counts per child kind (``operators.count_children``) and deletes through
    ``operators.purge_sessions``, letting the database cascade.

Fast on a million sessions
    No full-table ``COUNT(*)``: ``show_full_result_count = False``, facets off, and
    ``EstimatedCountPaginator`` counts at most ``COUNT_CAP + 1`` rows; past that it reports
    PostgreSQL's planner estimate (``pg_class.reltuples``) for the unfiltered list, or "more than
    ``COUNT_CAP``" for a filtered one. The list has no relation columns (no per-row queries), is
    ordered by ``-created_at`` (index ``as_created_idx``) and sortable only by that column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.admin.options import csrf_protect_m
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from sessions import selectors
from sessions.models import (
    CHILD_MODELS,
    AgentExecution,
    AlertSession,
    Chat,
    ChatUserMessage,
    Event,
    LLMInteraction,
    MCPInteraction,
    Message,
    Stage,
    TimelineEvent,
)
from sessions.services import operators

# The paginator counts at most this many rows exactly (a bounded index scan).
COUNT_CAP = 10_000
# An action refuses selections larger than this ("select all" on a huge filter): the ids are
# read into memory and sent to the services in one statement.
MAX_ACTION_SESSIONS = 10_000
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
# Session ids named one by one in a message or a confirmation page.
MAX_IDS_SHOWN = 20

RESTORED_MESSAGE = "Restored (soft delete undone)"
SOFT_DELETED_MESSAGE = "Soft-deleted (hidden; child rows kept, restorable)"
PURGED_MESSAGE = "Hard-deleted (purged with its child rows)"


# -- counting without COUNT(*) over the whole table ------------------------------------------------


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
    """Changelist settings shared by every admin here: no full count, no facet counts."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER


# -- sessions --------------------------------------------------------------------------------------


class DeletedStateFilter(admin.SimpleListFilter):
    """Live / Soft-deleted / All; "All" is the default (DESIGN §4: all sessions by default)."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("live", "Live"), ("deleted", "Soft-deleted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "live":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset

    def choices(self, changelist: Any) -> Iterable[dict[str, Any]]:
        """The built-in "All" choice last, so the filter reads Live / Soft-deleted / All."""
        all_choice, *others = super().choices(changelist)
        return [*others, all_choice]


BOTH_LOCATIONS = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]


@admin.register(AlertSession)
class AlertSessionAdmin(FastListMixin, admin.ModelAdmin):
    list_display = (
        "session_id",
        "status",
        "agent_type",
        "alert_type",
        "created_at",
        "completed_at",
        "deleted",
    )
    list_filter = (DeletedStateFilter, "status")
    search_fields = ("session_id__exact", "alert_type__icontains")
    search_help_text = "An exact session id, or part of an alert type."
    ordering = ("-created_at",)
    sortable_by = ("created_at",)
    actions = ("restore_selected", "soft_delete_selected", "purge_selected")
    readonly_fields = ("child_rows",)
    fieldsets = (
        (None, {"fields": ("session_id", "status", "deleted_at", "child_rows")}),
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
        """Every session, soft-deleted ones included (the default manager hides them)."""
        queryset = AlertSession.all_objects.get_queryset()
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

    @admin.display(description="Child rows")
    def child_rows(self, obj: AlertSession) -> str:
        """Rows of each child kind, each linking to that child's list filtered to the session."""
        query = urlencode({"session": obj.pk})
        rows = [
            (_changelist_url(model), query, capfirst(model._meta.verbose_name_plural), n)
            for model, n in selectors.count_children(session_ids=[obj.pk]).items()
        ]
        return format_html(
            "<ul class='child-rows'>{}</ul>",
            format_html_join("", "<li><a href='{}?{}'>{}: {}</a></li>", rows),
        )

    # -- permissions: sessions are TARSy's records, read-only here ------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Hard delete is reserved to superusers, whatever model permissions others hold."""
        return bool(request.user.is_active and request.user.is_superuser)

    def has_restore_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.restore_alertsession")

    def has_soft_delete_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.soft_delete_alertsession")

    def has_purge_permission(self, request: HttpRequest) -> bool:
        return self.has_delete_permission(request)

    def get_actions(
        self, request: HttpRequest, action_location: ActionLocation = ActionLocation.CHANGE_LIST
    ) -> dict[str, Any]:
        """Our actions only: Django's delete_selected would load every child row."""
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)
        return actions

    # -- actions ---------------------------------------------------------------------------------

    @admin.action(
        permissions=["restore"],
        description="Restore this session",
        description_plural="Restore selected sessions",
        location=BOTH_LOCATIONS,
    )
    def restore_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = self._selected_ids(request, queryset)
        if ids is None:
            return
        result = operators.restore_sessions(ids=ids)
        self._log(request, result.changed, CHANGE, RESTORED_MESSAGE)
        self._report(request, result, "Restored", "was not deleted (nothing to do)")

    @admin.action(
        permissions=["soft_delete"],
        description="Soft-delete this session",
        description_plural="Soft-delete selected sessions",
        location=BOTH_LOCATIONS,
    )
    def soft_delete_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = self._selected_ids(request, queryset)
        if ids is None:
            return
        result = operators.soft_delete_sessions(ids=ids)
        self._log(request, result.changed, CHANGE, SOFT_DELETED_MESSAGE)
        self._report(request, result, "Soft-deleted", "was already deleted (nothing to do)")

    @admin.action(
        permissions=["purge"],
        description="Hard-delete selected sessions (superusers; cannot be undone)",
    )
    def purge_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """First POST: a confirmation with counts per child kind; confirmed POST: purge."""
        ids = self._selected_ids(request, queryset)
        if ids is None:
            return None
        if request.POST.get("post") == "yes":
            self._purge(request, ids)
            return None
        return self._purge_confirmation(request, ids, action="purge_selected")

    @csrf_protect_m
    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        """Per-object hard delete through the purge service, never Django's collector."""
        obj = self.get_object(request, unquote(object_id))
        if not self.has_delete_permission(request, obj):
            raise PermissionDenied
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method == "POST":
            self._purge(request, [obj.pk])
            return HttpResponseRedirect(reverse("admin:alert_sessions_alertsession_changelist"))
        return self._purge_confirmation(request, [obj.pk], action=None, obj=obj)

    # -- helpers ---------------------------------------------------------------------------------

    def _selected_ids(self, request: HttpRequest, queryset: QuerySet) -> list[str] | None:
        """The selected ids, or None (with a message) when the selection is too large."""
        ids = list(queryset.order_by().values_list("pk", flat=True)[: MAX_ACTION_SESSIONS + 1])
        if len(ids) > MAX_ACTION_SESSIONS:
            self.message_user(
                request,
                f"More than {MAX_ACTION_SESSIONS} sessions selected: narrow the filter and try "
                "again. Nothing was changed.",
                messages.ERROR,
            )
            return None
        return ids

    def _log(self, request: HttpRequest, ids: Sequence[str], flag: int, message: str) -> None:
        """One admin LogEntry per session (a single INSERT), visible in each session's history."""
        if ids:
            LogEntry.objects.log_actions(
                user_id=request.user.pk,
                queryset=[AlertSession(session_id=session_id) for session_id in ids],
                action_flag=flag,
                change_message=message,
            )

    def _report(
        self, request: HttpRequest, result: operators.OperatorResult, done: str, unchanged: str
    ) -> None:
        if result.changed:
            self.message_user(
                request,
                f"{done} {_sessions(len(result.changed))}: {_some(result.changed)}.",
                messages.SUCCESS,
            )
        if result.unchanged:
            self.message_user(
                request,
                f"{_sessions(len(result.unchanged))} {unchanged}: {_some(result.unchanged)}.",
                messages.INFO,
            )
        if result.unknown:
            self.message_user(
                request,
                f"{_sessions(len(result.unknown))} no longer exist: {_some(result.unknown)}.",
                messages.WARNING,
            )

    def _purge(self, request: HttpRequest, ids: list[str]) -> None:
        result = operators.purge_sessions(ids=ids)
        summary = _child_summary(result.children)
        self._log(
            request, result.changed, DELETION, f"{PURGED_MESSAGE}; removed with it: {summary}"
        )
        self.message_user(
            request,
            f"Hard-deleted {_sessions(len(result.changed))} and their child rows ({summary}).",
            messages.SUCCESS,
        )

    def _purge_confirmation(
        self,
        request: HttpRequest,
        ids: list[str],
        *,
        action: str | None,
        obj: AlertSession | None = None,
    ) -> TemplateResponse:
        counts = selectors.count_children(session_ids=ids)
        context = {
            **self.admin_site.each_context(request),
            "title": "Hard-delete sessions? This cannot be undone",
            "subtitle": None,
            "opts": self.opts,
            "object": obj,
            "ids": ids,
            "ids_shown": ids[:MAX_IDS_SHOWN],
            "ids_hidden": max(0, len(ids) - MAX_IDS_SHOWN),
            "child_counts": [(m._meta.verbose_name_plural, n) for m, n in counts.items()],
            "child_total": sum(counts.values()),
            "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/alert_sessions/alertsession/purge_confirmation.html", context
        )


def _changelist_url(model: type[Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def _sessions(n: int) -> str:
    return f"{n} session" if n == 1 else f"{n} sessions"


def _some(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:MAX_IDS_SHOWN])
    return shown if len(ids) <= MAX_IDS_SHOWN else f"{shown} and {len(ids) - MAX_IDS_SHOWN} more"


def _child_summary(counts: dict[type[Model], int]) -> str:
    return ", ".join(f"{n} {m._meta.verbose_name_plural}" for m, n in counts.items())


# -- children: read-only, reachable from a session's page -----------------------------------------


class SessionIdFilter(admin.SimpleListFilter):
    """``?session=<id>``: the rows of one session (the links on a session's page)."""

    title = "session"
    parameter_name = "session"
    lookup = "session_id"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        # Shown only while active: listing every session id would read the whole table.
        value = self.value()
        return [(value, value)] if value else []

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(**{self.lookup: value}) if value else queryset


class ChatSessionIdFilter(SessionIdFilter):
    lookup = "chat__session_id"


class ChildAdmin(FastListMixin, admin.ModelAdmin):
    """A read-only list of one child table, filterable by session."""

    list_filter = (SessionIdFilter,)
    actions = None
    # Newest first by primary key (an index); no column sorts that would scan a large table.
    sortable_by = ()

    @admin.display(description="Session", ordering="session_id")
    def session_column(self, obj: Model) -> str:
        return obj.session_id

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


_CHILD_COLUMNS: dict[type[Model], tuple[str, ...]] = {
    Stage: ("name", "stage_index", "status"),
    AgentExecution: ("agent_name", "agent_index", "status"),
    TimelineEvent: ("event_type", "sequence_number", "created_at"),
    Message: ("role", "sequence_number", "created_at"),
    LLMInteraction: ("interaction_type", "model_name", "created_at"),
    MCPInteraction: ("server_name", "tool_name", "created_at"),
    Event: ("channel", "created_at"),
    Chat: ("created_by", "created_at"),
}


class ChatUserMessageAdmin(ChildAdmin):
    list_display = ("__str__", "session_column", "author", "created_at")
    list_filter = (ChatSessionIdFilter,)
    list_select_related = ("chat",)

    @admin.display(description="Session", ordering="chat__session_id")
    def session_column(self, obj: ChatUserMessage) -> str:
        return obj.chat.session_id


for _model in CHILD_MODELS:
    if _model is ChatUserMessage:
        admin.site.register(_model, ChatUserMessageAdmin)
    else:
        admin.site.register(
            _model,
            type(
                f"{_model.__name__}Admin",
                (ChildAdmin,),
                {
                    "__module__": __name__,
                    "list_display": ("__str__", "session_column", *_CHILD_COLUMNS[_model]),
                },
            ),
        )
