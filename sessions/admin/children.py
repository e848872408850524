"""The child tables in the admin: read-only lists, each filterable by session."""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter

from django.contrib import admin
from django.contrib.admin import AdminSite

from sessions import models as tables
from sessions.admin.filters import SessionIdFilter
from sessions.selectors import session_id_lookup
from tarsy_project.admin_mixins import FastListMixin, ReadOnlyAdminMixin

# The columns of each child's list, after its name and its session.
COLUMNS: dict[type[tables.SessionChild], tuple[str, ...]] = {
    tables.Stage: ("stage_name", "stage_index", "status"),
    tables.AgentExecution: ("agent_name", "agent_index", "status"),
    tables.TimelineEvent: ("event_type", "sequence_number", "created_at"),
    tables.Message: ("role", "sequence_number", "created_at"),
    tables.LLMInteraction: ("interaction_type", "model_name", "created_at"),
    tables.MCPInteraction: ("server_name", "tool_name", "created_at"),
    tables.Event: ("channel", "created_at"),
    tables.Chat: ("created_by", "created_at"),
    tables.ChatUserMessage: ("author", "created_at"),
}


class ChildAdmin(ReadOnlyAdminMixin, FastListMixin, admin.ModelAdmin):
    """The read-only list of one child table, with a "Session" column and filter.

    One class serves every child table: what differs (the columns, the way to the session)
    comes from the model it is registered for.
    """

    list_filter = (SessionIdFilter,)
    actions = None
    # Newest first by primary key (an index); no column sorts that would scan a large table.
    sortable_by = ()

    def __init__(self, model: type[tables.SessionChild], admin_site: AdminSite) -> None:
        super().__init__(model, admin_site)
        lookup = session_id_lookup(model)
        self.list_display = ("__str__", "session_column", *COLUMNS[model])
        # A row reaching its session through another table (chat messages) joins it.
        via = lookup.rpartition("__")[0]
        self.list_select_related = (via,) if via else False
        self.session_column = _session_column(lookup)


def _session_column(lookup: str) -> Callable[[tables.SessionChild], str]:
    """The "Session" column: the id at the end of ``lookup`` (``chat__session_id``, say)."""
    session_id_of = attrgetter(lookup.replace("__", "."))

    @admin.display(description="Session", ordering=lookup)
    def session_column(row: tables.SessionChild) -> str:
        return session_id_of(row)

    return session_column


admin.site.register(tables.CHILD_MODELS, ChildAdmin)
