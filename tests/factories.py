"""Builders for test data: sessions with a full tree of children in all nine child tables."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from sessions.models import (
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
from sessions.statuses import TERMINAL_STATUSES, SessionStatus


def make_session(
    *,
    status: str = SessionStatus.COMPLETED,
    age: timedelta = timedelta(days=1),
    now: datetime | None = None,
    deleted_at: datetime | None = None,
    **fields: Any,
) -> AlertSession:
    """A session created ``age`` ago; terminal statuses get ``completed_at`` at creation + 1 min."""
    now = now or timezone.now()
    created = now - age
    completed = created + timedelta(minutes=1) if status in TERMINAL_STATUSES else None
    values: dict[str, Any] = {
        "agent_type": "kubernetes",
        "alert_type": "PodCrashLooping",
        "status": status,
        "created_at": created,
        "completed_at": completed,
        "deleted_at": deleted_at,
    }
    values.update(fields)
    return AlertSession.all_objects.create(**values)


def add_children(session: AlertSession, *, event_age: timedelta = timedelta(0)) -> dict[str, Any]:
    """One row in each of the nine child tables, cross-links set; returns them by name."""
    rows = _add_stage_tree(session)
    rows["event"] = Event.objects.create(
        session=session, channel=f"session:{session.pk}", created_at=timezone.now() - event_age
    )
    rows["chat"] = Chat.objects.create(session=session, created_by="operator")
    rows["chat_user_message"] = ChatUserMessage.objects.create(
        chat=rows["chat"], content="why?", author="operator"
    )
    stage = rows["stage"]
    stage.chat, stage.chat_user_message = rows["chat"], rows["chat_user_message"]
    stage.save(update_fields=["chat", "chat_user_message"])
    return rows


def _add_stage_tree(session: AlertSession) -> dict[str, Any]:
    """A stage, its execution, and a message, LLM and MCP interactions and a timeline event."""
    stage = Stage.objects.create(session=session, name="investigate")
    execution = AgentExecution.objects.create(stage=stage, session=session, agent_name="k8s")
    under = {"session": session, "stage": stage, "execution": execution}
    message = Message.objects.create(**under, role="assistant", content="hi")
    llm = LLMInteraction.objects.create(
        **under,
        last_message=message,
        llm_request={"messages": ["x" * 100]},
        llm_response={"text": "y"},
    )
    mcp = MCPInteraction.objects.create(**under, server_name="kubernetes")
    timeline = TimelineEvent.objects.create(
        **under, event_type="llm_response", llm_interaction=llm, mcp_interaction=mcp
    )
    return {
        "stage": stage,
        "execution": execution,
        "message": message,
        "llm_interaction": llm,
        "mcp_interaction": mcp,
        "timeline_event": timeline,
    }
