-- +goose Up
-- When the session (refresh-token family) began: its login. Every token of a
-- family carries it, so a refresh past AUTH_SESSION_MAX_AGE is refused however
-- often the session was refreshed. Tokens issued before take the oldest
-- creation time their family still has: the login, unless it was cleaned up.
ALTER TABLE auth_refresh_tokens ADD COLUMN session_started_at TIMESTAMP;
UPDATE auth_refresh_tokens SET session_started_at = (
    SELECT MIN(f.created_at) FROM auth_refresh_tokens f WHERE f.family_id = auth_refresh_tokens.family_id
);
-- SQLite cannot add NOT NULL to an existing column; the service always writes it.

-- +goose Down
ALTER TABLE auth_refresh_tokens DROP COLUMN session_started_at;
