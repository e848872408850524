-- TARSy's schema at its latest release: 14 tables. On top of Phase 11: the review workflow and
-- a generated search_vector on alert_sessions, sub-agents (agent_executions.parent_execution_id),
-- and four tables that cascade from a session: investigation_memories,
-- alert_session_injected_memories, session_scores and session_review_activities.
--
-- Written by hand from the catalog of a real TARSy database (see facts/latest.md) so that
-- reading this DDL back from PostgreSQL's catalog gives the same columns, keys, ON DELETE
-- actions and index names. Left out, as in those facts, because it needs pgvector:
-- investigation_memories.embedding vector(768) and its HNSW index.
-- Schema-unqualified: it lands in the first schema of search_path. Tables come in an order
-- that lets every foreign key be declared inline.

CREATE TABLE alert_sessions (
    session_id varchar NOT NULL PRIMARY KEY,
    alert_data text NOT NULL,
    agent_type varchar NOT NULL,
    alert_type varchar,
    status varchar NOT NULL DEFAULT 'pending',
    created_at timestamptz NOT NULL,
    started_at timestamptz,
    completed_at timestamptz,
    error_message varchar,
    final_analysis text,
    executive_summary text,
    executive_summary_error varchar,
    session_metadata jsonb,
    author varchar,
    runbook_url varchar,
    mcp_selection jsonb,
    chain_id varchar NOT NULL,
    current_stage_index bigint,
    current_stage_id varchar,
    pod_id varchar,
    last_interaction_at timestamptz,
    slack_message_fingerprint varchar,
    deleted_at timestamptz,
    review_status varchar,
    assignee varchar,
    assigned_at timestamptz,
    reviewed_at timestamptz,
    quality_rating varchar,
    action_taken text,
    investigation_feedback text,
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, alert_data)) STORED
);

CREATE TABLE chats (
    chat_id varchar NOT NULL PRIMARY KEY,
    created_at timestamptz NOT NULL,
    created_by varchar,
    chain_id varchar NOT NULL,
    pod_id varchar,
    last_interaction_at timestamptz,
    session_id varchar NOT NULL UNIQUE
        REFERENCES alert_sessions (session_id) ON DELETE CASCADE
);

CREATE TABLE chat_user_messages (
    message_id varchar NOT NULL PRIMARY KEY,
    content text NOT NULL,
    author varchar NOT NULL,
    created_at timestamptz NOT NULL,
    chat_id varchar NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE
);

CREATE TABLE stages (
    stage_id varchar NOT NULL PRIMARY KEY,
    stage_name varchar NOT NULL,
    stage_index bigint NOT NULL,
    expected_agent_count bigint NOT NULL,
    parallel_type varchar,
    success_policy varchar,
    status varchar NOT NULL DEFAULT 'pending',
    started_at timestamptz,
    completed_at timestamptz,
    duration_ms bigint,
    error_message varchar,
    session_id varchar NOT NULL REFERENCES alert_sessions (session_id) ON DELETE CASCADE,
    chat_id varchar REFERENCES chats (chat_id) ON DELETE SET NULL,
    chat_user_message_id varchar UNIQUE
        REFERENCES chat_user_messages (message_id) ON DELETE SET NULL,
    stage_type varchar NOT NULL DEFAULT 'investigation',
    referenced_stage_id varchar REFERENCES stages (stage_id) ON DELETE SET NULL,
    actions_executed boolean
);

CREATE TABLE agent_executions (
    execution_id varchar NOT NULL PRIMARY KEY,
    agent_name varchar NOT NULL,
    agent_index bigint NOT NULL,
    status varchar NOT NULL DEFAULT 'pending',
    started_at timestamptz,
    completed_at timestamptz,
    duration_ms bigint,
    error_message varchar,
    llm_backend varchar NOT NULL,
    session_id varchar NOT NULL REFERENCES alert_sessions (session_id) ON DELETE CASCADE,
    stage_id varchar NOT NULL REFERENCES stages (stage_id) ON DELETE CASCADE,
    llm_provider varchar,
    task text,
    parent_execution_id varchar
        REFERENCES agent_executions (execution_id) ON DELETE CASCADE,
    original_llm_provider varchar,
    original_llm_backend varchar,
    model_name varchar,
    original_model_name varchar
);

CREATE TABLE messages (
    message_id varchar NOT NULL PRIMARY KEY,
    sequence_number bigint NOT NULL,
    role varchar NOT NULL,
    content text NOT NULL,
    tool_calls jsonb,
    tool_call_id varchar,
    tool_name varchar,
    created_at timestamptz NOT NULL,
    execution_id varchar NOT NULL
        REFERENCES agent_executions (execution_id) ON DELETE CASCADE,
    session_id varchar NOT NULL REFERENCES alert_sessions (session_id) ON DELETE CASCADE,
    stage_id varchar NOT NULL REFERENCES stages (stage_id) ON DELETE CASCADE
);

CREATE TABLE llm_interactions (
    interaction_id varchar NOT NULL PRIMARY KEY,
    created_at timestamptz NOT NULL,
    interaction_type varchar NOT NULL,
    model_name varchar NOT NULL,
    llm_request jsonb NOT NULL,
    llm_response jsonb NOT NULL,
    thinking_content text,
    response_metadata jsonb,
    input_tokens bigint,
    output_tokens bigint,
    total_tokens bigint,
    duration_ms bigint,
    error_message varchar,
    execution_id varchar REFERENCES agent_executions (execution_id) ON DELETE CASCADE,
    session_id varchar NOT NULL REFERENCES alert_sessions (session_id) ON DELETE CASCADE,
    last_message_id varchar REFERENCES messages (message_id) ON DELETE SET NULL,
    stage_id varchar REFERENCES stages (stage_id) ON DELETE CASCADE,
    thinking_tokens bigint,
    estimated_cost_usd float8
);

CREATE TABLE mcp_interactions (
    interaction_id varchar NOT NULL PRIMARY KEY,
    created_at timestamptz NOT NULL,
    interaction_type varchar NOT NULL,
    server_name varchar NOT NULL,
    tool_name varchar,
    tool_arguments jsonb,
    tool_result jsonb,
    available_tools jsonb,
    duration_ms bigint,
    error_message varchar,
    execution_id varchar NOT NULL
        REFERENCES agent_executions (execution_id) ON DELETE CASCADE,
    session_id varchar NOT NULL REFERENCES alert_sessions (session_id) ON DELETE CASCADE,
    stage_id varchar NOT NULL REFERENCES stages (stage_id) ON DELETE CASCADE
);

CREATE TABLE timeline_events (
    event_id varchar NOT NULL PRIMARY KEY,
    sequence_number bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    event_type varchar NOT NULL,
    status varchar NOT NULL DEFAULT 'streaming',
    content text NOT NULL,
    metadata jsonb,
    execution_id varchar REFERENCES agent_executions (execution_id) ON DELETE CASCADE,
    session_id varchar NOT NULL REFERENCES alert_sessions (session_id) ON DELETE CASCADE,
    llm_interaction_id varchar
        REFERENCES llm_interactions (interaction_id) ON DELETE SET NULL,
    mcp_interaction_id varchar
        REFERENCES mcp_interactions (interaction_id) ON DELETE SET NULL,
    stage_id varchar REFERENCES stages (stage_id) ON DELETE CASCADE,
    parent_execution_id varchar
        REFERENCES agent_executions (execution_id) ON DELETE SET NULL
);

CREATE TABLE events (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    channel varchar NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    session_id varchar NOT NULL REFERENCES alert_sessions (session_id) ON DELETE CASCADE
);

CREATE TABLE investigation_memories (
    memory_id varchar NOT NULL PRIMARY KEY,
    project varchar NOT NULL DEFAULT 'default',
    content text NOT NULL,
    category varchar NOT NULL,
    valence varchar NOT NULL,
    confidence float8 NOT NULL DEFAULT 0.5,
    seen_count bigint NOT NULL DEFAULT 1,
    alert_type varchar,
    chain_id varchar,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    deprecated boolean NOT NULL DEFAULT false,
    source_session_id varchar NOT NULL
        REFERENCES alert_sessions (session_id) ON DELETE CASCADE,
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, content)) STORED
);

CREATE TABLE alert_session_injected_memories (
    alert_session_id varchar NOT NULL
        REFERENCES alert_sessions (session_id) ON DELETE CASCADE,
    investigation_memory_id varchar NOT NULL
        REFERENCES investigation_memories (memory_id) ON DELETE CASCADE,
    PRIMARY KEY (alert_session_id, investigation_memory_id)
);

CREATE TABLE session_scores (
    score_id varchar NOT NULL PRIMARY KEY,
    prompt_hash varchar,
    total_score bigint,
    score_analysis text,
    tool_improvement_report text,
    score_triggered_by varchar NOT NULL,
    status varchar NOT NULL DEFAULT 'pending',
    started_at timestamptz NOT NULL,
    completed_at timestamptz,
    error_message text,
    session_id varchar NOT NULL REFERENCES alert_sessions (session_id) ON DELETE CASCADE,
    stage_id varchar REFERENCES stages (stage_id) ON DELETE SET NULL,
    failure_tags jsonb
);

CREATE TABLE session_review_activities (
    activity_id varchar NOT NULL PRIMARY KEY,
    actor varchar NOT NULL,
    action varchar NOT NULL,
    from_status varchar,
    to_status varchar NOT NULL,
    note text,
    created_at timestamptz NOT NULL,
    session_id varchar NOT NULL REFERENCES alert_sessions (session_id) ON DELETE CASCADE,
    quality_rating varchar,
    investigation_feedback text
);

CREATE INDEX alertsession_agent_type ON alert_sessions (agent_type);
CREATE INDEX alertsession_alert_type ON alert_sessions (alert_type);
CREATE INDEX alertsession_assignee ON alert_sessions (assignee);
CREATE INDEX alertsession_chain_id ON alert_sessions (chain_id);
CREATE INDEX alertsession_deleted_at ON alert_sessions (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX alertsession_review_status ON alert_sessions (review_status);
CREATE INDEX alertsession_review_status_assignee ON alert_sessions (review_status, assignee);
CREATE INDEX alertsession_status ON alert_sessions (status);
CREATE INDEX alertsession_status_created_at ON alert_sessions (status, created_at);
CREATE INDEX alertsession_status_last_interaction_at
    ON alert_sessions (status, last_interaction_at);
CREATE INDEX alertsession_status_started_at ON alert_sessions (status, started_at);
CREATE INDEX idx_sessions_search ON alert_sessions USING gin (search_vector);

CREATE INDEX chat_created_at ON chats (created_at);
CREATE INDEX chat_pod_id_last_interaction_at ON chats (pod_id, last_interaction_at);
CREATE UNIQUE INDEX chat_session_id ON chats (session_id);

CREATE INDEX chatusermessage_chat_id ON chat_user_messages (chat_id);
CREATE INDEX chatusermessage_created_at ON chat_user_messages (created_at);

CREATE UNIQUE INDEX stage_session_id_stage_index ON stages (session_id, stage_index);

CREATE INDEX agentexecution_parent_execution_id ON agent_executions (parent_execution_id);
CREATE INDEX agentexecution_session_id ON agent_executions (session_id);
CREATE UNIQUE INDEX agentexecution_parent_execution_id_agent_index_sub_agent
    ON agent_executions (parent_execution_id, agent_index) WHERE parent_execution_id IS NOT NULL;
CREATE UNIQUE INDEX agentexecution_stage_id_agent_index_top_level
    ON agent_executions (stage_id, agent_index) WHERE parent_execution_id IS NULL;

CREATE INDEX message_execution_id_sequence_number ON messages (execution_id, sequence_number);
CREATE INDEX message_stage_id_execution_id ON messages (stage_id, execution_id);

CREATE INDEX llminteraction_execution_id_created_at ON llm_interactions (execution_id, created_at);
CREATE INDEX llminteraction_session_id_created_at ON llm_interactions (session_id, created_at);
CREATE INDEX llminteraction_stage_id_created_at ON llm_interactions (stage_id, created_at);

CREATE INDEX mcpinteraction_execution_id_created_at ON mcp_interactions (execution_id, created_at);
CREATE INDEX mcpinteraction_session_id_created_at ON mcp_interactions (session_id, created_at);
CREATE INDEX mcpinteraction_stage_id_created_at ON mcp_interactions (stage_id, created_at);

CREATE INDEX timelineevent_created_at ON timeline_events (created_at);
CREATE INDEX timelineevent_execution_id_sequence_number
    ON timeline_events (execution_id, sequence_number);
CREATE INDEX timelineevent_parent_execution_id_sequence_number
    ON timeline_events (parent_execution_id, sequence_number);
CREATE INDEX timelineevent_session_id_sequence_number
    ON timeline_events (session_id, sequence_number);
CREATE INDEX timelineevent_stage_id_sequence_number ON timeline_events (stage_id, sequence_number);

CREATE INDEX event_channel ON events (channel);
CREATE INDEX event_channel_id ON events (channel, id);
CREATE INDEX event_created_at ON events (created_at);
CREATE INDEX event_session_id ON events (session_id);

CREATE INDEX idx_memories_search ON investigation_memories USING gin (search_vector);
CREATE INDEX investigationmemory_category ON investigation_memories (category);
CREATE INDEX investigationmemory_project ON investigation_memories (project);
CREATE INDEX investigationmemory_project_deprecated ON investigation_memories (project, deprecated);
CREATE INDEX investigationmemory_source_session_id ON investigation_memories (source_session_id);

CREATE INDEX sessionscore_prompt_hash ON session_scores (prompt_hash);
CREATE INDEX sessionscore_session_id_started_at ON session_scores (session_id, started_at);
CREATE INDEX sessionscore_session_id_status ON session_scores (session_id, status);
CREATE INDEX sessionscore_stage_id ON session_scores (stage_id);
CREATE INDEX sessionscore_status ON session_scores (status);
CREATE INDEX sessionscore_status_started_at ON session_scores (status, started_at);
CREATE INDEX sessionscore_total_score ON session_scores (total_score);
-- Spelled with explicit casts so that PostgreSQL deparses the predicate exactly as TARSy's
-- migration left it (a plain IN list deparses as a varchar[] cast to text[]).
CREATE UNIQUE INDEX sessionscore_session_id ON session_scores (session_id)
    WHERE status::text = ANY (ARRAY['pending'::varchar::text, 'in_progress'::varchar::text]);

CREATE INDEX sessionreviewactivity_session_id_created_at
    ON session_review_activities (session_id, created_at);
