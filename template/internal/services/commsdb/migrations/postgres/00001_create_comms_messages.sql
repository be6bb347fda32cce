-- Every email and SMS of the comms service with its status. Times are Unix milliseconds,
-- the same on both engines; payload is the message as JSON (attachments included, base64),
-- so a resend or a delivery from another process needs nothing else.
-- +goose Up
CREATE TABLE comms_messages (
    id          text    PRIMARY KEY,
    channel     text    NOT NULL,
    status      text    NOT NULL,
    provider    text    NOT NULL DEFAULT '',
    provider_id text    NOT NULL DEFAULT '',
    error       text    NOT NULL DEFAULT '',
    attempts    integer NOT NULL DEFAULT 0,
    created_ms  bigint  NOT NULL,
    updated_ms  bigint  NOT NULL,
    sent_ms     bigint  NOT NULL DEFAULT 0,
    payload     text    NOT NULL
);

CREATE INDEX comms_messages_created ON comms_messages (created_ms, id);
CREATE INDEX comms_messages_status_created ON comms_messages (status, created_ms);

-- +goose Down
DROP TABLE comms_messages;
