"""One seeded TARSy session: its identity, timing, ``alert_sessions`` row and cross-links.

Times follow from the session's status and age: a session starts 5 s after it is created and
ends 7 min later if its status is terminal; an active (in_progress or cancelling) session's
heartbeat is fresh when it is live and stale (orphaned) otherwise.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

Row = dict[str, Any]


class CrossLink(NamedTuple):
    """Values to set on one existing row, found by its key column."""

    table: str
    key_column: str
    key: str
    values: Row


TERMINAL = frozenset({"completed", "failed", "cancelled", "timed_out"})
ACTIVE = frozenset({"in_progress", "cancelling"})
FRESH_HEARTBEAT = timedelta(seconds=15)
RECENT_EVENT = timedelta(minutes=10)


def _new_id() -> str:
    return str(uuid.uuid4())


def _new_ids(count: int) -> tuple[str, ...]:
    return tuple(_new_id() for _ in range(count))


@dataclass(frozen=True)
class SessionPlan:
    """One session's identity, timing and the ids of the rows it owns."""

    status: str
    age: str
    created_at: datetime
    deleted_at: datetime | None
    now: datetime
    latest: bool
    number: int
    session_id: str = field(default_factory=_new_id)
    chat: str = field(default_factory=_new_id)
    user_messages: tuple[str, ...] = field(default_factory=lambda: _new_ids(2))
    stages: tuple[str, ...] = field(default_factory=lambda: _new_ids(2))
    executions: tuple[str, ...] = field(default_factory=lambda: _new_ids(3))  # 3rd: sub-agent
    messages: tuple[str, ...] = field(default_factory=lambda: _new_ids(5))
    llm: tuple[str, ...] = field(default_factory=lambda: _new_ids(2))
    mcp: str = field(default_factory=_new_id)
    timeline: tuple[str, ...] = field(default_factory=lambda: _new_ids(5))
    score: str = field(default_factory=_new_id)
    review: str = field(default_factory=_new_id)
    memory: str = field(default_factory=_new_id)

    def at(self, seconds: float) -> datetime:
        return self.created_at + timedelta(seconds=seconds)

    @property
    def started_at(self) -> datetime | None:
        return None if self.status == "pending" else self.at(5)

    @property
    def completed_at(self) -> datetime | None:
        return self.at(420) if self.status in TERMINAL else None

    @property
    def pod_id(self) -> str | None:
        return None if self.status == "pending" else f"tarsy-5f7c9d8b4-{self.number:05d}"

    @property
    def last_interaction_at(self) -> datetime | None:
        """Fresh for live active sessions, stale (orphaned) for older active ones."""
        if self.status == "pending":
            return None
        if self.status in ACTIVE:
            return self.now - FRESH_HEARTBEAT if self.age == "live" else self.at(360)
        return self.completed_at

    @property
    def event_times(self) -> tuple[datetime, datetime]:
        """One event from the session's start, one recent (a chat on it publishes too)."""
        return (self.at(1), self.now - RECENT_EVENT)


def session_row(plan: SessionPlan) -> Row:
    row: Row = {
        "session_id": plan.session_id,
        "alert_data": (
            f"alert: PodCrashLooping\nnamespace: payments\npod: api-{plan.number}\n"
            "message: Back-off restarting failed container crashloop"
        ),
        "agent_type": "kubernetes",
        "alert_type": "PodCrashLooping",
        "status": plan.status,
        "created_at": plan.created_at,
        "started_at": plan.started_at,
        "completed_at": plan.completed_at,
        "error_message": "LLM provider timeout" if plan.status in {"failed", "timed_out"} else None,
        "final_analysis": "OOMKilled: raise the memory limit"
        if plan.status == "completed"
        else None,
        "executive_summary": "Pod restarts from OOM" if plan.status == "completed" else None,
        "session_metadata": {"source": "alertmanager", "fingerprint": f"fp-{plan.number}"},
        "author": "alertmanager",
        "mcp_selection": {"servers": [{"name": "kubernetes-server"}]},
        "chain_id": "kubernetes-agent-chain",
        "current_stage_index": None if plan.status == "pending" else 1,
        "current_stage_id": None if plan.status == "pending" else plan.stages[1],
        "pod_id": plan.pod_id,
        "last_interaction_at": plan.last_interaction_at,
        "deleted_at": plan.deleted_at,
    }
    if plan.latest:
        reviewed = plan.status == "completed"
        row |= {
            "review_status": "reviewed" if reviewed else None,
            "assignee": "sre-oncall@example.com" if reviewed else None,
            "reviewed_at": plan.at(900) if reviewed else None,
            "quality_rating": "accurate" if reviewed else None,
        }
    return row


def cross_links(plan: SessionPlan, other: SessionPlan) -> list[CrossLink]:
    """Links from ``plan``'s rows to ``other``'s, all ``ON DELETE SET NULL``: deleting
    ``other`` nulls them and leaves ``plan``'s rows where they are."""
    links = [
        CrossLink(
            "stages",
            "stage_id",
            plan.stages[0],
            {"chat_id": other.chat, "chat_user_message_id": other.user_messages[1]},
        ),
        CrossLink(
            "llm_interactions",
            "interaction_id",
            plan.llm[0],
            {"last_message_id": other.messages[3]},
        ),
        CrossLink(
            "timeline_events",
            "event_id",
            plan.timeline[4],
            {"llm_interaction_id": other.llm[0], "mcp_interaction_id": other.mcp},
        ),
    ]
    if not plan.latest:
        return links
    return links + [
        CrossLink("stages", "stage_id", plan.stages[0], {"referenced_stage_id": other.stages[0]}),
        CrossLink(
            "timeline_events",
            "event_id",
            plan.timeline[4],
            {"parent_execution_id": other.executions[0]},
        ),
        CrossLink("session_scores", "score_id", plan.score, {"stage_id": other.stages[0]}),
    ]
