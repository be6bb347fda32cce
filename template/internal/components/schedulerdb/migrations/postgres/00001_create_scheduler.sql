-- Scheduled jobs and their run history. Times are Unix milliseconds (durations
-- microseconds), the same on both engines. A run is named by its job and the
-- scheduled time of its tick: the primary key is what makes a tick run once
-- however many scheduler instances fire it.
-- +goose Up
CREATE TABLE scheduler_runs (
    job         text   NOT NULL,
    tick_ms     bigint NOT NULL,
    instance    text   NOT NULL,
    started_ms  bigint NOT NULL,
    duration_us bigint NOT NULL DEFAULT 0,
    outcome     text   NOT NULL,
    error       text   NOT NULL DEFAULT '',
    PRIMARY KEY (job, tick_ms)
);

CREATE TABLE scheduler_jobs (
    name        text   PRIMARY KEY,
    spec        text   NOT NULL,
    next_run_ms bigint NOT NULL,
    updated_ms  bigint NOT NULL
);

-- +goose Down
DROP TABLE scheduler_jobs;
DROP TABLE scheduler_runs;
