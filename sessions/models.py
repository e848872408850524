"""TARSy's session store.

``AlertSession`` is the root of a tree of nine child tables. Every foreign key to a parent
cascades *in the database* (``DB_CASCADE``), so deleting a session, from Django or from plain
SQL, removes its children without Django loading them; cross-links between children are set
to NULL by the database (``DB_SET_NULL``).
"""

import uuid
from typing import ClassVar

from django.db import models
from django.utils import timezone

from sessions.querysets import LIVE, SOFT_DELETED, AlertSessionManager, LiveSessionManager
from sessions.statuses import SessionStatus


def new_session_id() -> str:
    return str(uuid.uuid4())


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

    session_id = models.CharField(primary_key=True, max_length=128, default=new_session_id)
    alert_data = models.TextField(default="", blank=True)
    agent_type = models.CharField(max_length=100)
    alert_type = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(
        max_length=20, choices=SessionStatus.choices, default=SessionStatus.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)
    final_analysis = models.TextField(null=True, blank=True)
    executive_summary = models.TextField(null=True, blank=True)
    executive_summary_error = models.TextField(null=True, blank=True)
    session_metadata = models.JSONField(null=True, blank=True)
    author = models.CharField(max_length=255, null=True, blank=True)
    runbook_url = models.CharField(max_length=2048, null=True, blank=True)
    mcp_selection = models.JSONField(null=True, blank=True)
    chain_id = models.CharField(max_length=255, null=True, blank=True)
    current_stage_index = models.IntegerField(null=True, blank=True)
    current_stage_id = models.CharField(max_length=128, null=True, blank=True)
    pod_id = models.CharField(max_length=255, null=True, blank=True)
    last_interaction_at = models.DateTimeField(null=True, blank=True)
    slack_message_fingerprint = models.CharField(max_length=255, null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    all_objects = AlertSessionManager()
    objects = LiveSessionManager()

    class Meta:
        db_table = "alert_sessions"
        base_manager_name = "all_objects"
        default_manager_name = "objects"
        ordering = ["-created_at"]
        indexes = [
            # Rule 1, terminal sessions: the live-completed scan.
            models.Index(
                fields=["completed_at"],
                condition=LIVE,
                name="as_live_completed_idx",
            ),
            # Rule 1, pending/cancelling sessions by age.
            models.Index(fields=["status", "created_at"], name="as_status_created_idx"),
            # Rule 3 and the admin's "Soft-deleted" filter.
            models.Index(
                fields=["deleted_at"],
                condition=SOFT_DELETED,
                name="as_deleted_idx",
            ),
            # The admin's default ordering.
            models.Index(fields=["-created_at"], name="as_created_idx"),
        ]
        permissions = [
            ("restore_alertsession", "Can restore soft-deleted sessions"),
            ("soft_delete_alertsession", "Can soft-delete sessions"),
        ]

    def __str__(self) -> str:
        return self.session_id

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Stage(SessionChild):
    session = models.ForeignKey(AlertSession, on_delete=models.DB_CASCADE, related_name="stages")
    name = models.CharField(max_length=255)
    stage_index = models.IntegerField(default=0)
    status = models.CharField(max_length=20, default=SessionStatus.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)
    chat = models.ForeignKey(
        "Chat", on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )
    chat_user_message = models.ForeignKey(
        "ChatUserMessage", on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "stages"


class AgentExecution(SessionChild):
    stage = models.ForeignKey(Stage, on_delete=models.DB_CASCADE, related_name="executions")
    session = models.ForeignKey(
        AlertSession, on_delete=models.DB_CASCADE, related_name="agent_executions"
    )
    agent_name = models.CharField(max_length=255)
    agent_index = models.IntegerField(default=0)
    status = models.CharField(max_length=20, default=SessionStatus.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "agent_executions"


class TimelineEvent(SessionChild):
    session = models.ForeignKey(
        AlertSession, on_delete=models.DB_CASCADE, related_name="timeline_events"
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.DB_CASCADE, null=True, blank=True, related_name="timeline_events"
    )
    execution = models.ForeignKey(
        AgentExecution,
        on_delete=models.DB_CASCADE,
        null=True,
        blank=True,
        related_name="timeline_events",
    )
    sequence_number = models.IntegerField(default=0)
    event_type = models.CharField(max_length=50)
    status = models.CharField(max_length=20, default="completed")
    content = models.TextField(default="", blank=True)
    metadata = models.JSONField(null=True, blank=True)
    llm_interaction = models.ForeignKey(
        "LLMInteraction", on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )
    mcp_interaction = models.ForeignKey(
        "MCPInteraction", on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "timeline_events"


class Message(SessionChild):
    session = models.ForeignKey(AlertSession, on_delete=models.DB_CASCADE, related_name="messages")
    stage = models.ForeignKey(Stage, on_delete=models.DB_CASCADE, related_name="messages")
    execution = models.ForeignKey(
        AgentExecution, on_delete=models.DB_CASCADE, related_name="messages"
    )
    sequence_number = models.IntegerField(default=0)
    role = models.CharField(max_length=20)
    content = models.TextField(default="", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "messages"


class LLMInteraction(SessionChild):
    session = models.ForeignKey(
        AlertSession, on_delete=models.DB_CASCADE, related_name="llm_interactions"
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.DB_CASCADE, null=True, blank=True, related_name="llm_interactions"
    )
    execution = models.ForeignKey(
        AgentExecution,
        on_delete=models.DB_CASCADE,
        null=True,
        blank=True,
        related_name="llm_interactions",
    )
    interaction_type = models.CharField(max_length=50, default="iteration")
    model_name = models.CharField(max_length=255, default="", blank=True)
    last_message = models.ForeignKey(
        Message, on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )
    llm_request = models.JSONField(null=True, blank=True)
    llm_response = models.JSONField(null=True, blank=True)
    input_tokens = models.IntegerField(null=True, blank=True)
    output_tokens = models.IntegerField(null=True, blank=True)
    total_tokens = models.IntegerField(null=True, blank=True)
    duration_ms = models.IntegerField(null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "llm_interactions"
        verbose_name = "LLM interaction"


class MCPInteraction(SessionChild):
    session = models.ForeignKey(
        AlertSession, on_delete=models.DB_CASCADE, related_name="mcp_interactions"
    )
    stage = models.ForeignKey(Stage, on_delete=models.DB_CASCADE, related_name="mcp_interactions")
    execution = models.ForeignKey(
        AgentExecution, on_delete=models.DB_CASCADE, related_name="mcp_interactions"
    )
    interaction_type = models.CharField(max_length=50, default="tool_call")
    server_name = models.CharField(max_length=255)
    tool_name = models.CharField(max_length=255, null=True, blank=True)
    tool_arguments = models.JSONField(null=True, blank=True)
    tool_result = models.JSONField(null=True, blank=True)
    available_tools = models.JSONField(null=True, blank=True)
    duration_ms = models.IntegerField(null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "mcp_interactions"
        verbose_name = "MCP interaction"


class Event(SessionChild):
    """The short-lived pub/sub catch-up buffer; expired by age (retention rule 2)."""

    id = models.BigAutoField(primary_key=True)
    session = models.ForeignKey(AlertSession, on_delete=models.DB_CASCADE, related_name="events")
    channel = models.CharField(max_length=255)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "events"
        indexes = [models.Index(fields=["created_at"], name="events_created_idx")]


class Chat(SessionChild):
    session = models.OneToOneField(AlertSession, on_delete=models.DB_CASCADE, related_name="chat")
    created_by = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "chats"


class ChatUserMessage(SessionChild):
    session_path = "chat__session"

    chat = models.ForeignKey(Chat, on_delete=models.DB_CASCADE, related_name="user_messages")
    content = models.TextField()
    author = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "chat_user_messages"


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
