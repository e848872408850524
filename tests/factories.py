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
    SessionStatus,
    Stage,
    TimelineEvent,
)


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
    completed = created + timedelta(minutes=1) if status in _TERMINAL else None
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


_TERMINAL = {
    s.value
    for s in (
        SessionStatus.COMPLETED,
        SessionStatus.FAILED,
        SessionStatus.CANCELLED,
        SessionStatus.TIMED_OUT,
    )
}


def add_children(session: AlertSession, *, event_age: timedelta = timedelta(0)) -> dict[str, Any]:
    """One row in each of the nine child tables, cross-links set; returns them by name."""
    stage = Stage.objects.create(session=session, name="investigate")
    execution = AgentExecution.objects.create(stage=stage, session=session, agent_name="k8s")
    message = Message.objects.create(
        session=session, stage=stage, execution=execution, role="assistant", content="hi"
    )
    llm = LLMInteraction.objects.create(
        session=session,
        stage=stage,
        execution=execution,
        last_message=message,
        llm_request={"messages": ["x" * 100]},
        llm_response={"text": "y"},
    )
    mcp = MCPInteraction.objects.create(
        session=session, stage=stage, execution=execution, server_name="kubernetes"
    )
    timeline = TimelineEvent.objects.create(
        session=session,
        stage=stage,
        execution=execution,
        event_type="llm_response",
        llm_interaction=llm,
        mcp_interaction=mcp,
    )
    event = Event.objects.create(
        session=session, channel=f"session:{session.pk}", created_at=timezone.now() - event_age
    )
    chat = Chat.objects.create(session=session, created_by="operator")
    chat_message = ChatUserMessage.objects.create(chat=chat, content="why?", author="operator")
    stage.chat = chat
    stage.chat_user_message = chat_message
    stage.save(update_fields=["chat", "chat_user_message"])
    return {
        "stage": stage,
        "execution": execution,
        "message": message,
        "llm_interaction": llm,
        "mcp_interaction": mcp,
        "timeline_event": timeline,
        "event": event,
        "chat": chat,
        "chat_user_message": chat_message,
    }
