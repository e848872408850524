"""The rows TARSy writes below one alert session, at one release, as column->value dicts.

A session's tree: one chat with two user messages; an investigation stage and a chat stage,
each with a top-level agent execution (at the latest release the investigation also has a
sub-agent); messages, LLM and MCP interactions and timeline events under them; two events; and
at the latest release a score, a review activity and a memory learned from the session. Links
to another session's rows are not here: they are set after every row exists
(``seed_plan.cross_links``).
"""

from __future__ import annotations

from tests.tarsy_schema.seed_plan import ACTIVE, Row, SessionPlan


def child_rows(plan: SessionPlan) -> dict[str, list[Row]]:
    """Every row the session owns below alert_sessions, by table, in insertion order."""
    (e0, e1, _), (s0, s1), m = plan.executions, plan.stages, plan.messages
    rows: dict[str, list[Row]] = {
        "chats": [_chat(plan)],
        "chat_user_messages": _chat_user_messages(plan),
        "stages": _stages(plan),
        "agent_executions": _executions(plan),
        "messages": _messages(plan),
        "llm_interactions": [
            _llm(plan, plan.llm[0], e0, s0, last_message=m[1]),
            _llm(plan, plan.llm[1], e1, s1, last_message=m[3]),
        ],
        "mcp_interactions": [_mcp(plan)],
        "timeline_events": _timeline(plan),
        "events": [
            {
                "channel": f"session:{plan.session_id}",
                "payload": {"type": "session.status", "session_id": plan.session_id},
                "created_at": moment,
                "session_id": plan.session_id,
            }
            for moment in plan.event_times
        ],
    }
    if plan.latest:
        rows |= _latest_only_rows(plan)
    return rows


def _chat(plan: SessionPlan) -> Row:
    return {
        "chat_id": plan.chat,
        "created_at": plan.at(600),
        "created_by": "alice@example.com",
        "chain_id": "kubernetes-agent-chain",
        "pod_id": plan.pod_id,
        "last_interaction_at": plan.at(660),
        "session_id": plan.session_id,
    }


def _chat_user_messages(plan: SessionPlan) -> list[Row]:
    """Two questions: the chat stage answers the first; the second is free for a cross-link."""
    questions = ("Why was it OOMKilled?", "Which limit should we set?")
    return [
        {
            "message_id": message_id,
            "content": question,
            "author": "alice@example.com",
            "created_at": plan.at(610 + i),
            "chat_id": plan.chat,
        }
        for i, (message_id, question) in enumerate(zip(plan.user_messages, questions, strict=True))
    ]


def _stages(plan: SessionPlan) -> list[Row]:
    s0, s1 = plan.stages
    first_status = "pending" if plan.status == "pending" else "completed"
    return [
        _stage(plan, s0, 0, "investigation", first_status, chat=None, message=None),
        _stage(plan, s1, 1, "chat", plan.status, chat=plan.chat, message=plan.user_messages[0]),
    ]


def _executions(plan: SessionPlan) -> list[Row]:
    """One top-level agent per stage; at the latest release a sub-agent of the first."""
    (e0, e1, e_sub), (s0, s1) = plan.executions, plan.stages
    rows = [_execution(plan, e0, s0, 0, None), _execution(plan, e1, s1, 0, None)]
    if plan.latest:
        rows.append(_execution(plan, e_sub, s0, 0, e0))
    return rows


def _messages(plan: SessionPlan) -> list[Row]:
    """A system and an assistant message per top-level agent, one for a sub-agent."""
    (e0, e1, e_sub), (s0, s1) = plan.executions, plan.stages
    owners = [(e0, s0), (e0, s0), (e1, s1), (e1, s1)] + ([(e_sub, s0)] if plan.latest else [])
    return [
        {
            "message_id": plan.messages[i],
            "sequence_number": i % 2 + 1,
            "role": ("system", "assistant")[i % 2],
            "content": f"message {i}",
            "tool_calls": [{"name": "get_pods"}] if i == 1 else None,
            "tool_call_id": None,
            "tool_name": None,
            "created_at": plan.at(10 + i),
            "execution_id": execution,
            "session_id": plan.session_id,
            "stage_id": stage,
        }
        for i, (execution, stage) in enumerate(owners)
    ]


def _mcp(plan: SessionPlan) -> Row:
    return {
        "interaction_id": plan.mcp,
        "created_at": plan.at(30),
        "interaction_type": "tool_call",
        "server_name": "kubernetes-server",
        "tool_name": "get_pods",
        "tool_arguments": {"namespace": "payments"},
        "tool_result": {"pods": ["api-0"]},
        "available_tools": None,
        "duration_ms": 180,
        "error_message": None,
        "execution_id": plan.executions[0],
        "session_id": plan.session_id,
        "stage_id": plan.stages[0],
    }


def _stage(
    plan: SessionPlan,
    stage_id: str,
    index: int,
    kind: str,
    status: str,
    *,
    chat: str | None,
    message: str | None,
) -> Row:
    row: Row = {
        "stage_id": stage_id,
        "stage_name": kind.title(),
        "stage_index": index,
        "expected_agent_count": 1,
        "parallel_type": None,
        "success_policy": None,
        "status": status,
        "started_at": plan.started_at,
        "completed_at": plan.completed_at,
        "duration_ms": 415000 if plan.completed_at else None,
        "error_message": None,
        "session_id": plan.session_id,
        "chat_id": chat,
        "chat_user_message_id": message,
    }
    if plan.latest:
        row |= {"stage_type": kind, "referenced_stage_id": None, "actions_executed": False}
    return row


def _execution(
    plan: SessionPlan, execution_id: str, stage_id: str, index: int, parent: str | None
) -> Row:
    row: Row = {
        "execution_id": execution_id,
        "agent_name": "KubernetesAgent",
        "agent_index": index,
        "status": "pending" if plan.status == "pending" else "completed",
        "started_at": plan.started_at,
        "completed_at": plan.completed_at,
        "duration_ms": None,
        "error_message": None,
        "session_id": plan.session_id,
        "stage_id": stage_id,
        "llm_provider": "google-default",
    }
    if plan.latest:
        row |= {
            "llm_backend": "google-native",
            "task": "check pods" if parent else None,
            "parent_execution_id": parent,
            "model_name": "gemini-2.5-pro",
        }
    else:
        row["iteration_strategy"] = "react"
    return row


def _llm(
    plan: SessionPlan, interaction_id: str, execution: str, stage: str, *, last_message: str
) -> Row:
    row: Row = {
        "interaction_id": interaction_id,
        "created_at": plan.at(20),
        "interaction_type": "iteration",
        "model_name": "gemini-2.5-pro",
        "llm_request": {"messages": [{"role": "user"}]},
        "llm_response": {"text": "The pod is OOMKilled"},
        "thinking_content": None,
        "response_metadata": {"finish_reason": "stop"},
        "input_tokens": 1200,
        "output_tokens": 300,
        "total_tokens": 1500,
        "duration_ms": 2300,
        "error_message": None,
        "execution_id": execution,
        "session_id": plan.session_id,
        "last_message_id": last_message,
        "stage_id": stage,
    }
    if plan.latest:
        row |= {"thinking_tokens": 120, "estimated_cost_usd": 0.0042}
    return row


def _timeline(plan: SessionPlan) -> list[Row]:
    """Five events; an active session's last one is still 'streaming'."""
    (s0, s1), (e0, e1, e_sub), t = plan.stages, plan.executions, plan.timeline
    specs = [  # type, execution, stage, llm, mcp, parent execution
        ("llm_thinking", e0, s0, plan.llm[0], None, None),
        ("mcp_tool_call", e0, s0, None, plan.mcp, None),
        ("llm_response", e_sub if plan.latest else e0, s0, None, None, e0 if plan.latest else None),
        ("final_analysis", e1, s1, plan.llm[1], None, None),
        ("executive_summary", None, None, None, None, None),
    ]
    rows = []
    for i, (kind, execution, stage, llm, mcp, parent) in enumerate(specs):
        last = i == len(specs) - 1
        row: Row = {
            "event_id": t[i],
            "sequence_number": i + 1,
            "created_at": plan.at(40 + i),
            "updated_at": plan.at(45 + i),
            "event_type": kind,
            "status": "streaming" if last and plan.status in ACTIVE else "completed",
            "content": f"{kind} content",
            "metadata": {"seq": i + 1},
            "execution_id": execution,
            "session_id": plan.session_id,
            "llm_interaction_id": llm,
            "mcp_interaction_id": mcp,
            "stage_id": stage,
        }
        if plan.latest:
            row["parent_execution_id"] = parent
        rows.append(row)
    return rows


def _latest_only_rows(plan: SessionPlan) -> dict[str, list[Row]]:
    sid = plan.session_id
    return {
        "investigation_memories": [_memory(plan)],
        "session_scores": [
            {
                "score_id": plan.score,
                "prompt_hash": "sha256:ab12",
                "total_score": 82,
                "score_triggered_by": "auto",
                "status": "completed",
                "started_at": plan.at(800),
                "completed_at": plan.at(830),
                "session_id": sid,
                "stage_id": plan.stages[0],
                "failure_tags": ["none"],
            }
        ],
        "session_review_activities": [
            {
                "activity_id": plan.review,
                "actor": "sre-oncall@example.com",
                "action": "claim",
                "from_status": None,
                "to_status": "in_review",
                "note": "looking",
                "created_at": plan.at(850),
                "session_id": sid,
            }
        ],
    }


def _memory(plan: SessionPlan) -> Row:
    """A memory learned from the session (deleted with it, and with it every injection)."""
    return {
        "memory_id": plan.memory,
        "content": "payments pods OOM after deploys",
        "category": "root_cause",
        "valence": "positive",
        "alert_type": "PodCrashLooping",
        "chain_id": "kubernetes-agent-chain",
        "created_at": plan.at(900),
        "updated_at": plan.at(900),
        "last_seen_at": plan.at(900),
        "source_session_id": plan.session_id,
    }
