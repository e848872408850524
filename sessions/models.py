"""TARSy's session store: its tables as TARSy itself has them (the "Phase 11" release on).

Each model is one of TARSy's tables with TARSy's table and column names, types, nullability,
keys and defaults, so the same models work on a database TARSy Ops creates itself (standalone)
and on TARSy's own database (attached; see ``sessions.routers``). Columns are declared in
TARSy's order. One column is left out: ``agent_executions.iteration_strategy`` exists at Phase
11 but later releases renamed it (``llm_backend``), so TARSy Ops never reads it.

``AlertSession`` is the root of a tree of child tables. Every foreign key to a parent cascades
*in the database* (``DB_CASCADE``), so deleting a session, from Django or from plain SQL,
removes its children without Django loading them; cross-links between children are set to NULL
by the database (``DB_SET_NULL``). A later TARSy release adds tables that cascade from a
session too; TARSy Ops finds those in the database's catalog (``sessions.cascade``).

``SessionHold`` is TARSy Ops' own table, not TARSy's: a hold keeps a session out of retention.

Indexes: each table lists TARSy's own (names shortened to Django's 30 characters where
needed), then the ones TARSy Ops adds (``tarsy_ops_*`` and the foreign keys TARSy leaves
unindexed, which a purge would otherwise scan once per deleted row). In attached mode the added
ones are only recommended (``manage.py check``, ``manage.py tarsy_indexes``).
"""

from typing import ClassVar

from django.db import models
from django.utils import timezone

from sessions.fields import (
    StringKey,
    bigint,
    cascades_with,
    jsonb,
    nulled_with,
    text,
    timestamptz,
    varchar,
)
from sessions.querysets import (
    LIVE,
    SOFT_DELETED,
    AlertSessionManager,
    LiveSessionManager,
    SessionHoldQuerySet,
)
from sessions.statuses import SessionStatus

PENDING = SessionStatus.PENDING.value


class SessionChild(models.Model):
    """Common base of the child tables: the way to their session, a readable name."""

    # The lookup from a row to its session (a chat message reaches it through its chat).
    session_path: ClassVar[str] = "session"

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class AlertSession(models.Model):
    """One alert investigation.

    Soft delete sets ``deleted_at`` and nothing else; the children stay in place, so a restore
    brings the session back whole.

    Which queries see soft-deleted sessions:

    - ``AlertSession.objects`` (the default manager): live sessions only. Use it for anything
      a user of TARSy sees.
    - ``AlertSession.all_objects``: live and soft-deleted. Used by retention, restore and
      the admin (whose ``get_queryset`` starts from it). Both managers carry the rules
      (``live()``, ``soft_deleted()``, ``due_for_soft_delete()``, ``due_for_purge()``; see
      ``sessions.querysets``).
    - ``child.session`` and other forward relations use the base manager, which is
      ``all_objects``: a child of a soft-deleted session still reaches its session.
    - Child managers (``Stage.objects`` etc.) are unfiltered: they return the rows of deleted
      sessions too; filter on ``session__deleted_at__isnull=True`` where that matters.
    """

    session_id = StringKey()
    alert_data = text()
    agent_type = varchar()
    alert_type = varchar(null=True)
    status = varchar(choices=SessionStatus.choices, db_default=PENDING)
    created_at = timestamptz(default=timezone.now)
    started_at = timestamptz(null=True)
    completed_at = timestamptz(null=True)
    error_message = varchar(null=True)
    final_analysis = text(null=True)
    executive_summary = text(null=True)
    executive_summary_error = varchar(null=True)
    session_metadata = jsonb(null=True)
    author = varchar(null=True)
    runbook_url = varchar(null=True)
    mcp_selection = jsonb(null=True)
    chain_id = varchar()
    current_stage_index = bigint(null=True)
    current_stage_id = varchar(null=True)
    pod_id = varchar(null=True)
    last_interaction_at = timestamptz(null=True)
    slack_message_fingerprint = varchar(null=True)
    deleted_at = timestamptz(null=True)

    all_objects = AlertSessionManager()
    objects = LiveSessionManager()

    class Meta:
        db_table = "alert_sessions"
        base_manager_name = "all_objects"
        default_manager_name = "objects"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["agent_type"], name="alertsession_agent_type"),
            models.Index(fields=["alert_type"], name="alertsession_alert_type"),
            models.Index(fields=["chain_id"], name="alertsession_chain_id"),
            # Rule 3 and the admin's "Soft-deleted" filter.
            models.Index(
                fields=["deleted_at"], condition=SOFT_DELETED, name="alertsession_deleted_at"
            ),
            models.Index(fields=["status"], name="alertsession_status"),
            # Rule 1 by age of creation (pending/cancelling; every status without the
            # live-completed index below).
            models.Index(fields=["status", "created_at"], name="alertsession_status_created_at"),
            models.Index(
                fields=["status", "last_interaction_at"], name="alertsession_status_last_int"
            ),
            models.Index(fields=["status", "started_at"], name="alertsession_status_started_at"),
            # TARSy Ops' own. Rule 1, finished sessions: the live-completed scan.
            models.Index(
                fields=["completed_at"], condition=LIVE, name="tarsy_ops_as_live_completed"
            ),
            # The admin's session list, newest first.
            models.Index(fields=["created_at"], name="tarsy_ops_as_created"),
        ]
        permissions = [
            ("restore_alertsession", "Can restore soft-deleted sessions"),
            ("soft_delete_alertsession", "Can soft-delete sessions"),
            ("hold_alertsession", "Can hold sessions out of retention and release them"),
        ]

    def __str__(self) -> str:
        return self.session_id

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Chat(SessionChild):
    chat_id = StringKey()
    created_at = timestamptz(default=timezone.now)
    created_by = varchar(null=True)
    chain_id = varchar()
    pod_id = varchar(null=True)
    last_interaction_at = timestamptz(null=True)
    session = models.OneToOneField(AlertSession, on_delete=models.DB_CASCADE, related_name="chat")

    class Meta:
        db_table = "chats"
        indexes = [
            models.Index(fields=["created_at"], name="chat_created_at"),
            models.Index(
                fields=["pod_id", "last_interaction_at"], name="chat_pod_id_last_interaction"
            ),
        ]


class ChatUserMessage(SessionChild):
    session_path = "chat__session"

    message_id = StringKey()
    content = text()
    author = varchar()
    created_at = timestamptz(default=timezone.now)
    chat = cascades_with(Chat, related_name="user_messages")

    class Meta:
        db_table = "chat_user_messages"
        indexes = [
            models.Index(fields=["chat"], name="chatusermessage_chat_id"),
            models.Index(fields=["created_at"], name="chatusermessage_created_at"),
        ]


class Stage(SessionChild):
    stage_id = StringKey()
    stage_name = varchar()
    stage_index = bigint()
    expected_agent_count = bigint()
    parallel_type = varchar(null=True)
    success_policy = varchar(null=True)
    status = varchar(db_default=PENDING)
    started_at = timestamptz(null=True)
    completed_at = timestamptz(null=True)
    duration_ms = bigint(null=True)
    error_message = varchar(null=True)
    session = cascades_with(AlertSession, related_name="stages")
    chat = nulled_with(Chat)
    chat_user_message = models.OneToOneField(
        ChatUserMessage, on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "stages"
        constraints = [
            models.UniqueConstraint(
                fields=["session", "stage_index"], name="stage_session_id_stage_index"
            )
        ]
        indexes = [models.Index(fields=["chat"], name="stage_chat_id")]


class AgentExecution(SessionChild):
    execution_id = StringKey()
    agent_name = varchar()
    agent_index = bigint()
    status = varchar(db_default=PENDING)
    started_at = timestamptz(null=True)
    completed_at = timestamptz(null=True)
    duration_ms = bigint(null=True)
    error_message = varchar(null=True)
    # iteration_strategy: Phase 11 only (renamed llm_backend later); never read.
    session = cascades_with(AlertSession, related_name="agent_executions")
    stage = cascades_with(Stage, related_name="executions")
    llm_provider = varchar(null=True)

    class Meta:
        db_table = "agent_executions"
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "agent_index"], name="agentexecution_stage_id_agent_index"
            )
        ]
        indexes = [models.Index(fields=["session"], name="agentexecution_session_id")]


class Message(SessionChild):
    message_id = StringKey()
    sequence_number = bigint()
    role = varchar()
    content = text()
    tool_calls = jsonb(null=True)
    tool_call_id = varchar(null=True)
    tool_name = varchar(null=True)
    created_at = timestamptz(default=timezone.now)
    execution = cascades_with(AgentExecution, related_name="messages")
    session = cascades_with(AlertSession, related_name="messages")
    stage = cascades_with(Stage, related_name="messages")

    class Meta:
        db_table = "messages"
        indexes = [
            models.Index(fields=["execution", "sequence_number"], name="message_execution_id_seq"),
            models.Index(fields=["stage", "execution"], name="message_stage_id_execution_id"),
            models.Index(fields=["session"], name="message_session_id"),
        ]


class LLMInteraction(SessionChild):
    interaction_id = StringKey()
    created_at = timestamptz(default=timezone.now)
    interaction_type = varchar()
    model_name = varchar()
    llm_request = jsonb()
    llm_response = jsonb()
    thinking_content = text(null=True)
    response_metadata = jsonb(null=True)
    input_tokens = bigint(null=True)
    output_tokens = bigint(null=True)
    total_tokens = bigint(null=True)
    duration_ms = bigint(null=True)
    error_message = varchar(null=True)
    execution = cascades_with(AgentExecution, related_name="llm_interactions", null=True)
    session = cascades_with(AlertSession, related_name="llm_interactions")
    last_message = nulled_with(Message)
    stage = cascades_with(Stage, related_name="llm_interactions", null=True)

    class Meta:
        db_table = "llm_interactions"
        verbose_name = "LLM interaction"
        indexes = [
            models.Index(fields=["execution", "created_at"], name="llminteraction_execution_id"),
            models.Index(fields=["session", "created_at"], name="llminteraction_session_id"),
            models.Index(fields=["stage", "created_at"], name="llminteraction_stage_id"),
            models.Index(fields=["last_message"], name="llminteraction_last_message_id"),
        ]


class MCPInteraction(SessionChild):
    interaction_id = StringKey()
    created_at = timestamptz(default=timezone.now)
    interaction_type = varchar()
    server_name = varchar()
    tool_name = varchar(null=True)
    tool_arguments = jsonb(null=True)
    tool_result = jsonb(null=True)
    available_tools = jsonb(null=True)
    duration_ms = bigint(null=True)
    error_message = varchar(null=True)
    execution = cascades_with(AgentExecution, related_name="mcp_interactions")
    session = cascades_with(AlertSession, related_name="mcp_interactions")
    stage = cascades_with(Stage, related_name="mcp_interactions")

    class Meta:
        db_table = "mcp_interactions"
        verbose_name = "MCP interaction"
        indexes = [
            models.Index(fields=["execution", "created_at"], name="mcpinteraction_execution_id"),
            models.Index(fields=["stage", "created_at"], name="mcpinteraction_stage_id"),
            models.Index(fields=["session"], name="mcpinteraction_session_id"),
        ]


class TimelineEvent(SessionChild):
    event_id = StringKey()
    sequence_number = bigint()
    created_at = timestamptz(default=timezone.now)
    updated_at = timestamptz(default=timezone.now)
    event_type = varchar()
    status = varchar(db_default="streaming")
    content = text()
    metadata = jsonb(null=True)
    execution = cascades_with(AgentExecution, related_name="timeline_events", null=True)
    session = cascades_with(AlertSession, related_name="timeline_events")
    llm_interaction = nulled_with(LLMInteraction)
    mcp_interaction = nulled_with(MCPInteraction)
    stage = cascades_with(Stage, related_name="timeline_events", null=True)

    class Meta:
        db_table = "timeline_events"
        indexes = [
            models.Index(fields=["created_at"], name="timelineevent_created_at"),
            models.Index(
                fields=["execution", "sequence_number"], name="timelineevent_execution_id"
            ),
            models.Index(fields=["session", "sequence_number"], name="timelineevent_session_id"),
            models.Index(fields=["stage", "sequence_number"], name="timelineevent_stage_id"),
            models.Index(fields=["llm_interaction"], name="timelineevent_llm_interaction"),
            models.Index(fields=["mcp_interaction"], name="timelineevent_mcp_interaction"),
        ]


class Event(SessionChild):
    """The short-lived pub/sub catch-up buffer; expired by age (retention rule 2)."""

    id = models.BigAutoField(primary_key=True)
    channel = varchar()
    payload = jsonb(default=dict)
    created_at = timestamptz(default=timezone.now)
    session = cascades_with(AlertSession, related_name="events")

    class Meta:
        db_table = "events"
        indexes = [
            models.Index(fields=["channel"], name="event_channel"),
            models.Index(fields=["channel", "id"], name="event_channel_id"),
            models.Index(fields=["created_at"], name="event_created_at"),
            models.Index(fields=["session"], name="event_session_id"),
        ]


class SessionHold(models.Model):
    """A hold keeps one session out of retention (no soft delete, no purge) while it lasts.

    TARSy Ops' own table, never a column of TARSy's: in attached mode it lives in TARSy Ops'
    schema. The link to the session is a plain column with an index but no foreign-key
    constraint (``db_constraint=False``): a constraint would add triggers to TARSy's
    ``alert_sessions``, which TARSy Ops never alters. So the database does not cascade a
    session's deletion to its holds: an operator's purge deletes them in the same transaction,
    and the purge rule of each cleanup run drops those whose session is gone by any means.

    A hold is *active* while it is not released and its ``until`` (none: no end) is still
    ahead (``SessionHoldQuerySet.active``); ended holds stay as history of who held the
    session, when and why. A session is held while any of its holds is active.
    """

    session = models.ForeignKey(
        AlertSession,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="holds",
    )
    # Who placed or released it, by user name: the history outlives the account.
    placed_by = models.CharField(max_length=150)
    placed_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()
    until = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=150, blank=True, default="")
    released_at = models.DateTimeField(null=True, blank=True)

    objects = SessionHoldQuerySet.as_manager()

    class Meta:
        db_table = "session_holds"
        ordering = ["-placed_at"]
        indexes = [
            # The holds not released, by session: what retention's NOT EXISTS probes.
            models.Index(
                fields=["session", "until"],
                condition=models.Q(released_at__isnull=True),
                name="tarsy_ops_hold_open",
            ),
        ]

    def __str__(self) -> str:
        return f"hold on {self.session_id}"


# The child tables, in the order the admin lists their counts.
CHILD_MODELS = (
    Stage,
    AgentExecution,
    TimelineEvent,
    Message,
    LLMInteraction,
    MCPInteraction,
    Event,
    Chat,
    ChatUserMessage,
)
# TARSy's tables: in attached mode they belong to TARSy, and ``migrate`` leaves them alone.
TARSY_MODELS = (AlertSession, *CHILD_MODELS)
