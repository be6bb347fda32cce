-- +goose Up
-- Generations run as River jobs (POST /api/v1/ai/jobs); status is queued, done or failed.
CREATE TABLE ai_jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT      NOT NULL DEFAULT '',
    profile     TEXT      NOT NULL DEFAULT '',
    prompt      TEXT      NOT NULL,
    system      TEXT      NOT NULL DEFAULT '',
    status      TEXT      NOT NULL,
    result      TEXT      NOT NULL DEFAULT '',
    error       TEXT      NOT NULL DEFAULT '',
    attempts    INTEGER   NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX ai_jobs_user_idx ON ai_jobs (user_id, id);

-- +goose Down
DROP TABLE ai_jobs;
