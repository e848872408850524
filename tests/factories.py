"""Builders for test data: sessions with a full tree of children in all nine child tables.

Rows look like TARSy's: string ids, every NOT NULL column filled, a stage index unique within
its session and an agent index unique within its stage (TARSy's unique indexes).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max
from django.utils import timezone

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
from sessions.statuses import TERMINAL_STATUSES, SessionStatus

CHAIN = "kubernetes-agent-chain"
# The child tables of the standalone schema, in the order counts come in.
CHILD_TABLES = [model._meta.db_table for model in CHILD_MODELS]


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
        "alert_data": "alert: PodCrashLooping\nnamespace: payments",
        "agent_type": "kubernetes",
        "alert_type": "PodCrashLooping",
        "chain_id": CHAIN,
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
        session=session,
        channel=f"session:{session.pk}",
        payload={"type": "session.status", "session_id": session.pk},
        created_at=timezone.now() - event_age,
    )
    rows["chat"] = Chat.objects.create(session=session, created_by="operator", chain_id=CHAIN)
    rows["chat_user_message"] = ChatUserMessage.objects.create(
        chat=rows["chat"], content="why?", author="operator"
    )
    stage = rows["stage"]
    stage.chat, stage.chat_user_message = rows["chat"], rows["chat_user_message"]
    stage.save(update_fields=["chat", "chat_user_message"])
    return rows


def add_stage(session: AlertSession, *, stage_name: str = "investigation") -> Stage:
    """A stage after the session's last one (stage indexes are unique within a session)."""
    last = Stage.objects.filter(session=session).aggregate(last=Max("stage_index"))["last"]
    return Stage.objects.create(
        session=session,
        stage_name=stage_name,
        stage_index=0 if last is None else last + 1,
        expected_agent_count=1,
    )


def add_execution(stage: Stage, *, agent_name: str = "KubernetesAgent") -> AgentExecution:
    """An agent execution after the stage's last one (agent indexes are unique in a stage)."""
    last = AgentExecution.objects.filter(stage=stage).aggregate(last=Max("agent_index"))["last"]
    return AgentExecution.objects.create(
        stage=stage,
        session_id=stage.session_id,
        agent_name=agent_name,
        agent_index=0 if last is None else last + 1,
    )


def add_message(execution: AgentExecution, *, role: str = "assistant") -> Message:
    return Message.objects.create(
        session_id=execution.session_id,
        stage_id=execution.stage_id,
        execution=execution,
        sequence_number=Message.objects.filter(execution=execution).count() + 1,
        role=role,
        content="The pod is OOMKilled",
    )


def _add_stage_tree(session: AlertSession) -> dict[str, Any]:
    """A stage, its execution, and a message, LLM and MCP interactions and a timeline event."""
    stage = add_stage(session)
    execution = add_execution(stage)
    under = {"session": session, "stage": stage, "execution": execution}
    message = add_message(execution)
    llm = LLMInteraction.objects.create(
        **under,
        interaction_type="iteration",
        model_name="gemini-2.5-pro",
        last_message=message,
        llm_request={"messages": ["x" * 100]},
        llm_response={"text": "y"},
    )
    mcp = MCPInteraction.objects.create(
        **under, interaction_type="tool_call", server_name="kubernetes", tool_name="get_pods"
    )
    timeline = TimelineEvent.objects.create(
        **under,
        sequence_number=1,
        event_type="llm_response",
        status="completed",
        content="The pod is OOMKilled",
        llm_interaction=llm,
        mcp_interaction=mcp,
    )
    return {
        "stage": stage,
        "execution": execution,
        "message": message,
        "llm_interaction": llm,
        "mcp_interaction": mcp,
        "timeline_event": timeline,
    }
