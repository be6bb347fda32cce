-- One row per account being onboarded whose steps are not all done: written before the
-- account is created (user_id 0 until it exists), deleted once every step is done. Times are
-- Unix milliseconds, the same on both engines. A row whose lease has run out belongs to no
-- one: the retry picks it up (after a crash, or when a step failed).
-- +goose Up
CREATE TABLE onboarding_pending (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           text    NOT NULL,
    user_id         bigint  NOT NULL DEFAULT 0,
    profile_cached  boolean NOT NULL DEFAULT 0,
    event_tracked   boolean NOT NULL DEFAULT 0,
    welcome_sent    boolean NOT NULL DEFAULT 0,
    welcome_id      text    NOT NULL DEFAULT '',
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text    NOT NULL DEFAULT '',
    created_ms      bigint  NOT NULL,
    updated_ms      bigint  NOT NULL,
    next_ms         bigint  NOT NULL,
    lease_ms        bigint  NOT NULL DEFAULT 0
);

CREATE INDEX onboarding_pending_next ON onboarding_pending (next_ms);

-- +goose Down
DROP TABLE onboarding_pending;
