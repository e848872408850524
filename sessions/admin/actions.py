"""The actions on sessions (restore, soft-delete, hard delete) and who may run them.

Restore and soft-delete are one implementation, driven by a ``StateChange`` each: call the
operator service, write one ``LogEntry`` per session changed, say what happened to every id.
Hard delete (purge) is for superusers only. It replaces Django's ``delete_selected`` action and
delete page, which would load every child row to list it, with a confirmation showing counts
per child kind and ``operators.purge_sessions`` (the database cascades the children).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.admin.options import csrf_protect_m
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from sessions import selectors, wording
from sessions.admin.config import tarsy_config
from sessions.models import AlertSession
from sessions.services import operators
from sessions.services.operators import OperatorResult, RestoreResult

# An action refuses selections larger than this ("select all" on a huge filter): the ids are
# read into memory and sent to the services in one statement.
MAX_ACTION_SESSIONS = 10_000
# Session ids named one by one in a message or a confirmation page.
MAX_IDS_SHOWN = 20

RESTORED_MESSAGE = "Restored (soft delete undone)"
SOFT_DELETED_MESSAGE = "Soft-deleted (hidden; child rows kept, restorable)"
PURGED_MESSAGE = "Hard-deleted (purged with its child rows)"

BOTH_LOCATIONS = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]


@dataclass(frozen=True)
class StateChange:
    """An action that sets or clears the soft-delete marker of the sessions selected."""

    verb: str  # "Restore": the action reads "Restore this session" / "Restore selected sessions"
    service: Callable[[HttpRequest, list[str]], OperatorResult]
    audit: str  # the change message of the LogEntry of each session changed
    unchanged: str  # what the message says of sessions already so ("was not deleted")

    @property
    def permission(self) -> str:
        """As in ``has_restore_permission``, which decides who sees and may run the action."""
        return self.verb.lower().replace("-", "_")

    @property
    def done(self) -> str:
        """How the message names the sessions changed ("Restored", "Soft-deleted")."""
        return f"{self.verb}d"


def restore(request: HttpRequest, ids: list[str]) -> OperatorResult:
    """Restore, holding the sessions for ``restore_hold_days`` in the name of the user."""
    return operators.restore_sessions(
        ids=ids,
        hold_days=tarsy_config().retention.restore_hold_days,
        placed_by=request.user.get_username(),
    )


def soft_delete(request: HttpRequest, ids: list[str]) -> OperatorResult:
    return operators.soft_delete_sessions(ids=ids)


RESTORE = StateChange("Restore", restore, RESTORED_MESSAGE, "was not deleted")
SOFT_DELETE = StateChange("Soft-delete", soft_delete, SOFT_DELETED_MESSAGE, "was already deleted")


def state_change_action(change: StateChange) -> Callable[..., None]:
    """The admin action running ``change``, from the list and from a session's page."""

    @admin.action(
        permissions=[change.permission],
        description=f"{change.verb} this session",
        description_plural=f"{change.verb} selected sessions",
        location=BOTH_LOCATIONS,
    )
    def action(model_admin: SessionActionsMixin, request: HttpRequest, queryset: QuerySet) -> None:
        ids = model_admin.selected_ids(request, queryset)
        if ids is not None:
            result = change.service(request, ids)
            log_entries(request, result.changed, CHANGE, change.audit)
            model_admin.report(request, result, done=change.done, unchanged=change.unchanged)
            if isinstance(result, RestoreResult):
                model_admin.report_holds(request, result.changed, result.held_until)

    return action


class SessionActionsMixin:
    """The actions of ``AlertSessionAdmin``, its permissions and its hard-delete page."""

    restore_selected = state_change_action(RESTORE)
    soft_delete_selected = state_change_action(SOFT_DELETE)

    # -- permissions: sessions are TARSy's records; operators change only their marker ---------

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

    # -- hard delete -----------------------------------------------------------------------------

    @admin.action(
        permissions=["purge"],
        description="Hard-delete selected sessions (superusers; cannot be undone)",
    )
    def purge_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """First POST: a confirmation with counts per child kind; confirmed POST: purge."""
        ids = self.selected_ids(request, queryset)
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

    def _purge(self, request: HttpRequest, ids: list[str]) -> None:
        result = operators.purge_sessions(ids=ids)
        summary = ", ".join(
            f"{n} {selectors.child_label(table)}" for table, n in result.children.items()
        )
        log_entries(
            request, result.changed, DELETION, f"{PURGED_MESSAGE}; removed with it: {summary}"
        )
        self.message_user(
            request,
            f"Hard-deleted {_sessions(len(result.changed))} and their child rows ({summary}).",
            messages.SUCCESS,
        )

    def _purge_confirmation(
        self, request: HttpRequest, ids: list[str], *, action: str | None, obj: Any = None
    ) -> TemplateResponse:
        counts = selectors.count_children(session_ids=ids)
        return self.selection_page(
            request,
            ids,
            "purge_confirmation.html",
            title="Hard-delete sessions? This cannot be undone",
            object=obj,
            child_counts=[(selectors.child_label(t), n) for t, n in counts.items()],
            child_total=sum(counts.values()),
            action=action,
        )

    def selection_page(
        self, request: HttpRequest, ids: list[str], template: str, **context: Any
    ) -> TemplateResponse:
        """A page of its own about the sessions selected (``ids``, the first
        ``MAX_IDS_SHOWN`` named), whose form posts the action again: a confirmation, a form."""
        context = {
            **self.admin_site.each_context(request),
            "subtitle": None,
            "opts": self.opts,
            "ids": ids,
            "ids_shown": ids[:MAX_IDS_SHOWN],
            "ids_hidden": max(0, len(ids) - MAX_IDS_SHOWN),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            **context,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, f"admin/alert_sessions/alertsession/{template}", context)

    # -- what every action shares ----------------------------------------------------------------

    def selected_ids(self, request: HttpRequest, queryset: QuerySet) -> list[str] | None:
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

    def report(
        self, request: HttpRequest, result: OperatorResult, *, done: str, unchanged: str
    ) -> None:
        """One message per outcome that has sessions, naming them."""
        outcomes = (
            (result.changed, messages.SUCCESS, lambda n: f"{done} {n}"),
            (result.unchanged, messages.INFO, lambda n: f"{n} {unchanged} (nothing to do)"),
            (result.unknown, messages.WARNING, lambda n: f"{n} no longer exist"),
        )
        for ids, level, head in outcomes:
            if ids:
                self.message_user(request, f"{head(_sessions(len(ids)))}: {_some(ids)}.", level)

    def report_holds(
        self, request: HttpRequest, ids: Sequence[str], held_until: dict[str, datetime | None]
    ) -> None:
        """Until when the sessions ``ids`` are kept from retention, or that they are not."""
        by_end: dict[tuple[int, str], list[str]] = {}
        for session_id in ids:
            if session_id in held_until:
                said = (messages.INFO, wording.kept(held_until[session_id]))
            else:
                said = (messages.WARNING, wording.NOT_HELD)
            by_end.setdefault(said, []).append(session_id)
        for (level, text), some in by_end.items():
            self.message_user(request, f"{text[0].upper()}{text[1:]}: {_some(some)}.", level)


def log_entries(request: HttpRequest, ids: Sequence[str], flag: int, message: str) -> None:
    """One admin LogEntry per session (a single INSERT), visible in each session's history."""
    if ids:
        LogEntry.objects.log_actions(
            user_id=request.user.pk,
            queryset=[AlertSession(session_id=session_id) for session_id in ids],
            action_flag=flag,
            change_message=message,
        )


def _sessions(n: int) -> str:
    return f"{n} session" if n == 1 else f"{n} sessions"


def _some(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:MAX_IDS_SHOWN])
    return shown if len(ids) <= MAX_IDS_SHOWN else f"{shown} and {len(ids) - MAX_IDS_SHOWN} more"
