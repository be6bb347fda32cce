-- +goose Up
-- Raw events. occurred_at is UTC text of one fixed width ('2006-01-02 15:04:05.000000'),
-- written by the service, so comparing the text compares the times.
CREATE TABLE analytics_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT      NOT NULL,
    user_id     TEXT,
    properties  TEXT      NOT NULL DEFAULT '{}',
    occurred_at TIMESTAMP NOT NULL
);
-- Ranges (counts, unique users, retention) and, by name, counts and funnels: both cover the
-- columns those queries read, so they never visit the table.
CREATE INDEX analytics_events_time_idx ON analytics_events (occurred_at, name, user_id);
CREATE INDEX analytics_events_name_idx ON analytics_events (name, occurred_at, user_id);

-- Hourly roll-up, maintained in the transaction that stores the events; kept after the raw
-- events are deleted.
CREATE TABLE analytics_hourly (
    hour  TIMESTAMP NOT NULL,
    name  TEXT      NOT NULL,
    count INTEGER   NOT NULL,
    PRIMARY KEY (hour, name)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE analytics_hourly;
DROP TABLE analytics_events;
