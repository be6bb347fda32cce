-- +goose Up
-- Conversations; user_id is '' without the auth service.
CREATE TABLE ai_conversations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT      NOT NULL DEFAULT '',
    title      TEXT      NOT NULL DEFAULT '',
    profile    TEXT      NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX ai_conversations_user_idx ON ai_conversations (user_id, id);

-- Messages of a conversation, in order. status is complete, partial (the answer was cut
-- short; content is what arrived) or error.
CREATE TABLE ai_messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER   NOT NULL REFERENCES ai_conversations (id) ON DELETE CASCADE,
    role            TEXT      NOT NULL,
    content         TEXT      NOT NULL,
    status          TEXT      NOT NULL DEFAULT 'complete',
    tool_calls      TEXT,
    tool_call_id    TEXT      NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX ai_messages_conversation_idx ON ai_messages (conversation_id, id);

-- The usage ledger: one row per provider call (and per tool call). day is the UTC date
-- ('2006-01-02') for quotas and daily totals on both engines.
CREATE TABLE ai_usage (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TIMESTAMP NOT NULL,
    day             TEXT      NOT NULL,
    user_id         TEXT      NOT NULL DEFAULT '',
    conversation_id INTEGER,
    kind            TEXT      NOT NULL,
    profile         TEXT      NOT NULL DEFAULT '',
    provider        TEXT      NOT NULL,
    model           TEXT      NOT NULL,
    input_tokens    INTEGER   NOT NULL DEFAULT 0,
    output_tokens   INTEGER   NOT NULL DEFAULT 0,
    latency_ms      INTEGER   NOT NULL DEFAULT 0,
    cost_usd        REAL      NOT NULL DEFAULT 0,
    priced          BOOLEAN   NOT NULL DEFAULT FALSE,
    status          TEXT      NOT NULL,
    error           TEXT      NOT NULL DEFAULT ''
);
CREATE INDEX ai_usage_day_idx ON ai_usage (day, model);
CREATE INDEX ai_usage_user_idx ON ai_usage (user_id, day);

-- +goose Down
DROP TABLE ai_usage;
DROP TABLE ai_messages;
DROP TABLE ai_conversations;
