"""The data sets of the retention benchmark and the one statement each is measured against.

Each case builds its rows server-side with ``generate_series`` (so a million sessions take
seconds, not minutes), says how many rows the run must change, and checks afterwards what the
run left. The sizes are those of the targets at ``scale`` 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass

import benchlib as bl

RETENTION_DAYS = 365
# Event TTL: eligible events are 2-30 days old, the others less than 24 h, so the cutoff falls
# in the empty gap between them for hours after the data set is built.
TTL_HOURS = 36
PURGE_DAYS = 30

SESSIONS_SQL = """
INSERT INTO alert_sessions (session_id, alert_data, agent_type, alert_type, status, created_at,
    started_at, completed_at, final_analysis, session_metadata, mcp_selection, chain_id, pod_id,
    current_stage_index, deleted_at)
SELECT md5(i::text)::uuid::text,
       'alert ' || i || ' ' || repeat(md5(i::text), 8),
       'KubernetesAgent', 'PodCrashLooping', status, created, created + interval '1 minute',
       CASE WHEN status IN ('completed', 'failed', 'cancelled', 'timed_out')
            THEN created + interval '5 minutes' END,
       CASE WHEN status = 'completed' THEN repeat('analysis ', 20) END,
       '{"severity": "warning", "cluster": "prod-1"}', '{"servers": ["kubernetes"]}',
       'kubernetes-chain', 'tarsy-0', 2, NULL
FROM (
    SELECT i,
           CASE WHEN i > %(old)s AND i %% 100 = 0 THEN 'in_progress'
                WHEN i > %(old)s AND i %% 50 = 25 THEN 'in_progress'
                WHEN i %% 50 = 0 THEN 'pending'
                WHEN i %% 50 = 1 THEN 'cancelling'
                ELSE (ARRAY['completed', 'completed', 'completed', 'failed', 'cancelled',
                            'timed_out'])[i %% 6 + 1] END AS status,
           CASE WHEN i <= %(old)s
                    THEN now() - interval '760 days' + (i::float8 / %(old)s) * interval '360 days'
                WHEN i %% 100 = 0 THEN now() - interval '500 days'
                ELSE now() - interval '330 days'
                     + ((i - %(old)s)::float8 / %(young)s) * interval '330 days' END AS created
    FROM generate_series(1, %(total)s) AS i
) AS s
"""

SOFT_DELETE_BASELINE = f"""
UPDATE alert_sessions SET deleted_at = now()
WHERE deleted_at IS NULL
  AND (completed_at < now() - interval '{RETENTION_DAYS} days'
       OR (status IN ('pending', 'cancelling')
           AND created_at < now() - interval '{RETENTION_DAYS} days'))
"""

EVENT_SESSIONS_SQL = """
INSERT INTO alert_sessions (session_id, alert_data, agent_type, alert_type, status, created_at,
    chain_id)
SELECT 'sess-' || k, '', 'KubernetesAgent', '', 'in_progress', now() - interval '1 hour',
       'kubernetes-chain'
FROM generate_series(1, 1000) AS k
"""

EVENTS_SQL = """
INSERT INTO events (id, session_id, channel, payload, created_at)
SELECT i, 'sess-' || (i %% 1000 + 1), 'session:sess-' || (i %% 1000 + 1),
       jsonb_build_object('type', 'stage.progress', 'seq', i, 'text', repeat('x', 100)),
       CASE WHEN i <= %(old)s
            THEN now() - interval '30 days' + (i::float8 / %(old)s) * interval '28 days'
            ELSE now() - interval '24 hours'
                 + ((i - %(old)s)::float8 / %(young)s) * interval '23 hours' END
FROM generate_series(1, %(total)s) AS i;
SELECT setval('events_id_seq', %(total)s);
"""

EXPIRE_BASELINE = f"DELETE FROM events WHERE created_at < now() - interval '{TTL_HOURS} hours'"

# Purge: sessions 1..old are soft-deleted 60+ days ago (purged), old+1..total 1 day ago (stay).
# Per session: 1 chat, 5 chat messages, 5 stages, 10 executions, 50 messages, 30 LLM and 30 MCP
# interactions, 50 timeline events, 19 events = 200 child rows, with the cross-links set. Ids
# are strings, as TARSy's: a prefix and the row's number.
PURGE_SQL = """
INSERT INTO alert_sessions (session_id, alert_data, agent_type, alert_type, status, created_at,
    completed_at, chain_id, deleted_at)
SELECT 'sess-' || s, repeat('a', 300), 'KubernetesAgent', 'PodCrashLooping', 'completed',
       now() - interval '500 days', now() - interval '499 days', 'kubernetes-chain',
       CASE WHEN s <= %(old)s THEN now() - interval '60 days' - s * interval '1 minute'
            ELSE now() - interval '1 day' END
FROM generate_series(1, %(total)s) AS s;
INSERT INTO chats (chat_id, session_id, created_by, chain_id, created_at)
SELECT 'chat-' || s, 'sess-' || s, 'oncall', 'kubernetes-chain', now()
FROM generate_series(1, %(total)s) AS s;
INSERT INTO chat_user_messages (message_id, chat_id, content, author, created_at)
SELECT 'cum-' || i, 'chat-' || ((i - 1) / 5 + 1), repeat('why? ', 20), 'oncall', now()
FROM generate_series(1, %(total)s * 5) AS i;
INSERT INTO stages (stage_id, session_id, stage_name, stage_index, expected_agent_count, status,
    chat_id, chat_user_message_id)
SELECT 'stage-' || i, 'sess-' || ((i - 1) / 5 + 1), 'stage ' || i, (i - 1) %% 5, 2, 'completed',
       CASE WHEN i %% 5 = 1 THEN 'chat-' || ((i - 1) / 5 + 1) END,
       CASE WHEN i %% 5 = 1 THEN 'cum-' || i END
FROM generate_series(1, %(total)s * 5) AS i;
INSERT INTO agent_executions (execution_id, session_id, stage_id, agent_name, agent_index,
    status{execution_columns})
SELECT 'exec-' || i, 'sess-' || ((i - 1) / 10 + 1), 'stage-' || ((i - 1) / 2 + 1),
       'KubernetesAgent', (i - 1) %% 2, 'completed'{execution_values}
FROM generate_series(1, %(total)s * 10) AS i;
INSERT INTO messages (message_id, session_id, stage_id, execution_id, sequence_number, role,
    content, created_at)
SELECT 'msg-' || i, 'sess-' || ((i - 1) / 50 + 1),
       'stage-' || (((i - 1) / 50) * 5 + (i - 1) %% 5 + 1),
       'exec-' || (((i - 1) / 50) * 10 + (i - 1) %% 10 + 1), i %% 50, 'assistant',
       repeat('m', 500), now()
FROM generate_series(1, %(total)s * 50) AS i;
INSERT INTO llm_interactions (interaction_id, session_id, stage_id, execution_id,
    interaction_type, model_name, last_message_id, llm_request, llm_response, created_at)
SELECT 'llm-' || i, 'sess-' || ((i - 1) / 30 + 1),
       'stage-' || (((i - 1) / 30) * 5 + (i - 1) %% 5 + 1),
       'exec-' || (((i - 1) / 30) * 10 + (i - 1) %% 10 + 1), 'iteration', 'gemini',
       'msg-' || (((i - 1) / 30) * 50 + (i - 1) %% 30 + 1),
       jsonb_build_object('messages', repeat('prompt ', 140)),
       jsonb_build_object('text', repeat('answer ', 70)), now()
FROM generate_series(1, %(total)s * 30) AS i;
INSERT INTO mcp_interactions (interaction_id, session_id, stage_id, execution_id,
    interaction_type, server_name, tool_name, tool_arguments, tool_result, created_at)
SELECT 'mcp-' || i, 'sess-' || ((i - 1) / 30 + 1),
       'stage-' || (((i - 1) / 30) * 5 + (i - 1) %% 5 + 1),
       'exec-' || (((i - 1) / 30) * 10 + (i - 1) %% 10 + 1), 'tool_call', 'kubernetes',
       'get_pods', '{{"namespace": "prod"}}', jsonb_build_object('pods', repeat('pod ', 100)), now()
FROM generate_series(1, %(total)s * 30) AS i;
INSERT INTO timeline_events (event_id, session_id, stage_id, execution_id, sequence_number,
    event_type, status, content, llm_interaction_id, mcp_interaction_id, created_at, updated_at)
SELECT 'tl-' || i, 'sess-' || ((i - 1) / 50 + 1),
       'stage-' || (((i - 1) / 50) * 5 + (i - 1) %% 5 + 1),
       'exec-' || (((i - 1) / 50) * 10 + (i - 1) %% 10 + 1), i %% 50, 'llm_response',
       'completed', repeat('t', 200),
       CASE WHEN (i - 1) %% 50 < 30 THEN 'llm-' || (((i - 1) / 50) * 30 + (i - 1) %% 50 + 1) END,
       CASE WHEN (i - 1) %% 50 >= 30
            THEN 'mcp-' || (((i - 1) / 50) * 30 + (i - 1) %% 50 - 29) END,
       now(), now()
FROM generate_series(1, %(total)s * 50) AS i;
INSERT INTO events (id, session_id, channel, payload, created_at)
SELECT i, 'sess-' || ((i - 1) / 19 + 1), 'session', '{{"type": "done"}}', now()
FROM generate_series(1, %(total)s * 19) AS i;
SELECT setval('events_id_seq', %(total)s * 19);
"""

PURGE_BASELINE = (
    f"DELETE FROM alert_sessions WHERE deleted_at < now() - interval '{PURGE_DAYS} days'"
)
CHILD_TABLES = (
    "stages agent_executions timeline_events messages llm_interactions mcp_interactions "
    "events chats chat_user_messages"
).split()


@dataclass
class Case:
    name: str
    count_key: str  # the count run_cleanup logs for this case
    baseline: str

    def build(self, server: str, db: str, scale: float) -> dict[str, int]:
        raise NotImplementedError

    def check(self, server: str, db: str, expected: dict[str, int]) -> dict[str, int]:
        raise NotImplementedError


class SoftDelete(Case):
    def build(self, server: str, db: str, scale: float) -> dict[str, int]:
        total = bl.scaled(1_000_000, scale)
        old = total // 2
        bl.run_sql(server, db, SESSIONS_SQL, {"total": total, "old": old, "young": total - old})
        return {"rows": total, "eligible": old}

    def check(self, server: str, db: str, expected: dict[str, int]) -> dict[str, int]:
        [(deleted, live)] = bl.run_sql(
            server,
            db,
            "SELECT count(deleted_at), count(*) - count(deleted_at) FROM alert_sessions",
        )
        return {"changed": deleted, "left": live}


class Expire(Case):
    def build(self, server: str, db: str, scale: float) -> dict[str, int]:
        total = bl.scaled(5_000_000, scale)
        old = bl.scaled(4_000_000, scale)
        bl.run_sql(server, db, EVENT_SESSIONS_SQL)
        bl.run_sql(server, db, EVENTS_SQL, {"total": total, "old": old, "young": total - old})
        return {"rows": total, "eligible": old}

    def check(self, server: str, db: str, expected: dict[str, int]) -> dict[str, int]:
        [(left,)] = bl.run_sql(server, db, "SELECT count(*) FROM events")
        return {"changed": expected["rows"] - left, "left": left}


class Purge(Case):
    def build(self, server: str, db: str, scale: float) -> dict[str, int]:
        old = bl.scaled(1000, scale)
        sql = PURGE_SQL.format(execution_columns="", execution_values="")
        bl.run_sql(server, db, sql, {"total": 2 * old, "old": old})
        return {"rows": 2 * old, "eligible": old, "child_rows": 2 * old * 200}

    def check(self, server: str, db: str, expected: dict[str, int]) -> dict[str, int]:
        counts = " + ".join(f"(SELECT count(*) FROM {t})" for t in CHILD_TABLES)
        [(left, children)] = bl.run_sql(
            server, db, f"SELECT (SELECT count(*) FROM alert_sessions), {counts}"
        )
        return {"changed": expected["rows"] - left, "left": left, "children_left": children}


CASES: dict[str, Case] = {
    "soft_delete": SoftDelete("soft_delete", "soft_deleted", SOFT_DELETE_BASELINE),
    "expire": Expire("expire", "events_expired", EXPIRE_BASELINE),
    "purge": Purge("purge", "purged", PURGE_BASELINE),
}


# -- holds among the eligible (--held N) -----------------------------------------------------------

# An active hold on a chosen session (no end), as hold_session places it.
HOLDS_SQL = """
INSERT INTO session_holds (session_id, placed_by, placed_at, reason, until, released_by,
    released_at)
SELECT session_id, 'bench', now() - interval '1 day', 'INC-1 under review', NULL, '', NULL
FROM ({sessions}) AS held(session_id)
"""
# Soft-delete: the held sessions spread evenly over the eligible (every i <= old is eligible),
# and half as many released holds on others, which must not protect them.
SOFT_DELETE_HELD = (
    "SELECT md5((1 + (j::bigint * %(old)s) / %(held)s)::text)::uuid::text "
    "FROM generate_series(0, %(held)s - 1) AS j"
)
RELEASED_HOLDS_SQL = """
INSERT INTO session_holds (session_id, placed_by, placed_at, reason, until, released_by,
    released_at)
SELECT md5((2 + (j::bigint * %(old)s) / %(held)s)::text)::uuid::text, 'bench',
       now() - interval '9 days', 'released', NULL, 'bench', now() - interval '2 days'
FROM generate_series(0, %(held)s / 2 - 1) AS j
"""
# Purge: held soft-deleted sessions (no children: a held session is never deleted) whose
# deleted_at falls among the purgeable ones', so every window walks past some.
PURGE_HELD_SESSIONS_SQL = """
INSERT INTO alert_sessions (session_id, alert_data, agent_type, alert_type, status, created_at,
    completed_at, chain_id, deleted_at)
SELECT 'held-' || j, repeat('a', 300), 'KubernetesAgent', 'PodCrashLooping', 'completed',
       now() - interval '500 days', now() - interval '499 days', 'kubernetes-chain',
       now() - interval '60 days' - (j::float8 * %(old)s / %(held)s) * interval '1 minute'
FROM generate_series(1, %(held)s) AS j
"""
PURGE_HELD = "SELECT 'held-' || j FROM generate_series(1, %(held)s) AS j"
# How the one statement excludes held sessions: as the code does, a NOT EXISTS on open holds.
NOT_HELD = """
  AND NOT EXISTS (SELECT 1 FROM session_holds h
                  WHERE h.session_id = alert_sessions.session_id AND h.released_at IS NULL
                    AND (h.until IS NULL OR h.until > now()))"""


def add_holds(server: str, db: str, case: Case, expected: dict[str, int], held: int) -> None:
    """Hold ``held`` of the case's eligible sessions (soft-delete, purge); ``expected`` then
    counts them apart: ``held``, and ``eligible`` is what the run may still change."""
    params = {"held": held, "old": expected["eligible"]}
    if case.name == "soft_delete" and 2 * held > expected["eligible"]:
        raise ValueError(f"--held: at most half the {expected['eligible']} eligible sessions")
    if case.name == "soft_delete":
        bl.run_sql(server, db, HOLDS_SQL.format(sessions=SOFT_DELETE_HELD), params)
        bl.run_sql(server, db, RELEASED_HOLDS_SQL, params)
        expected["eligible"] -= held
    elif case.name == "purge":
        bl.run_sql(server, db, PURGE_HELD_SESSIONS_SQL, params)
        bl.run_sql(server, db, HOLDS_SQL.format(sessions=PURGE_HELD), params)
        expected["rows"] += held
    else:
        raise ValueError(f"--held applies to soft_delete and purge, not {case.name}")
    expected["held"] = held


def excluding_holds(case: Case) -> str:
    """The case's one statement, skipping held sessions the way the code does."""
    return case.baseline.rstrip() + NOT_HELD
