-- +goose Up
-- Dashboard sign-ins: a session of their own, apart from the API's refresh
-- tokens, so neither works as the other, with an idle and an absolute end.
CREATE TABLE auth_dashboard_sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER   NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    token_hash   TEXT      NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP
);
CREATE UNIQUE INDEX auth_dashboard_sessions_hash_key ON auth_dashboard_sessions (token_hash);
CREATE INDEX auth_dashboard_sessions_user_idx ON auth_dashboard_sessions (user_id);

-- +goose Down
DROP TABLE auth_dashboard_sessions;
