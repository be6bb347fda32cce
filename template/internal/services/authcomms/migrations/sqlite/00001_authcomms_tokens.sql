-- +goose Up
-- Single-use links sent by email: only a SHA-256 of each token is kept. purpose is
-- 'verify' (confirm the address) or 'reset' (set a new password); email is the address the
-- link was sent to, which must still be the account's when it is used.
CREATE TABLE authcomms_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER   NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    purpose    TEXT      NOT NULL CHECK (purpose IN ('verify', 'reset')),
    email      TEXT      NOT NULL,
    token_hash TEXT      NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE UNIQUE INDEX authcomms_tokens_hash_key ON authcomms_tokens (token_hash);
CREATE INDEX authcomms_tokens_user_idx ON authcomms_tokens (user_id, purpose);
CREATE INDEX authcomms_tokens_expires_idx ON authcomms_tokens (expires_at);

-- +goose Down
DROP TABLE authcomms_tokens;
