-- TARSy's schema at its "Phase 11: Operations" release: 10 tables.
--
-- Written by hand from the catalog of a real TARSy database (see facts/phase11.md) so that
-- reading this DDL back from PostgreSQL's catalog gives the same columns, keys, ON DELETE
-- actions and index names. Schema-unqualified: it lands in the first schema of search_path.
-- Tables come in an order that lets every foreign key be declared inline.

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
    deleted_at timestamptz
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
        REFERENCES chat_user_messages (message_id) ON DELETE SET NULL
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
    iteration_strategy varchar NOT NULL,
    session_id varchar NOT NULL REFERENCES alert_sessions (session_id) ON DELETE CASCADE,
    stage_id varchar NOT NULL REFERENCES stages (stage_id) ON DELETE CASCADE,
    llm_provider varchar
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
    stage_id varchar REFERENCES stages (stage_id) ON DELETE CASCADE
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
    stage_id varchar REFERENCES stages (stage_id) ON DELETE CASCADE
);

CREATE TABLE events (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    channel varchar NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    session_id varchar NOT NULL REFERENCES alert_sessions (session_id) ON DELETE CASCADE
);

CREATE INDEX alertsession_agent_type ON alert_sessions (agent_type);
CREATE INDEX alertsession_alert_type ON alert_sessions (alert_type);
CREATE INDEX alertsession_chain_id ON alert_sessions (chain_id);
CREATE INDEX alertsession_deleted_at ON alert_sessions (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX alertsession_status ON alert_sessions (status);
CREATE INDEX alertsession_status_created_at ON alert_sessions (status, created_at);
CREATE INDEX alertsession_status_last_interaction_at
    ON alert_sessions (status, last_interaction_at);
CREATE INDEX alertsession_status_started_at ON alert_sessions (status, started_at);

CREATE INDEX chat_created_at ON chats (created_at);
CREATE INDEX chat_pod_id_last_interaction_at ON chats (pod_id, last_interaction_at);
CREATE UNIQUE INDEX chat_session_id ON chats (session_id);

CREATE INDEX chatusermessage_chat_id ON chat_user_messages (chat_id);
CREATE INDEX chatusermessage_created_at ON chat_user_messages (created_at);

CREATE UNIQUE INDEX stage_session_id_stage_index ON stages (session_id, stage_index);

CREATE INDEX agentexecution_session_id ON agent_executions (session_id);
CREATE UNIQUE INDEX agentexecution_stage_id_agent_index ON agent_executions (stage_id, agent_index);

CREATE INDEX message_execution_id_sequence_number ON messages (execution_id, sequence_number);
CREATE INDEX message_stage_id_execution_id ON messages (stage_id, execution_id);

CREATE INDEX llminteraction_execution_id_created_at ON llm_interactions (execution_id, created_at);
CREATE INDEX llminteraction_session_id_created_at ON llm_interactions (session_id, created_at);
CREATE INDEX llminteraction_stage_id_created_at ON llm_interactions (stage_id, created_at);

CREATE INDEX mcpinteraction_execution_id_created_at ON mcp_interactions (execution_id, created_at);
CREATE INDEX mcpinteraction_stage_id_created_at ON mcp_interactions (stage_id, created_at);

CREATE INDEX timelineevent_created_at ON timeline_events (created_at);
CREATE INDEX timelineevent_execution_id_sequence_number
    ON timeline_events (execution_id, sequence_number);
CREATE INDEX timelineevent_session_id_sequence_number
    ON timeline_events (session_id, sequence_number);
CREATE INDEX timelineevent_stage_id_sequence_number ON timeline_events (stage_id, sequence_number);

CREATE INDEX event_channel ON events (channel);
CREATE INDEX event_channel_id ON events (channel, id);
CREATE INDEX event_created_at ON events (created_at);
CREATE INDEX event_session_id ON events (session_id);
