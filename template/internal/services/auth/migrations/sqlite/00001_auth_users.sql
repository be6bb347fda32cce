-- +goose Up
CREATE TABLE auth_users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT      NOT NULL,
    username      TEXT      NOT NULL,
    full_name     TEXT      NOT NULL DEFAULT '',
    password_hash TEXT      NOT NULL,
    role          TEXT      NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    active        BOOLEAN   NOT NULL DEFAULT 1,
    search_text   TEXT      NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX auth_users_email_key ON auth_users (email);
CREATE UNIQUE INDEX auth_users_username_key ON auth_users (lower(username));
CREATE INDEX auth_users_created_at_idx ON auth_users (created_at, id);

CREATE TABLE auth_refresh_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER   NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    family_id  TEXT      NOT NULL,
    token_hash TEXT      NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX auth_refresh_tokens_hash_key ON auth_refresh_tokens (token_hash);
CREATE INDEX auth_refresh_tokens_family_idx ON auth_refresh_tokens (family_id);
CREATE INDEX auth_refresh_tokens_user_idx ON auth_refresh_tokens (user_id);

-- +goose Down
DROP TABLE auth_refresh_tokens;
DROP TABLE auth_users;
