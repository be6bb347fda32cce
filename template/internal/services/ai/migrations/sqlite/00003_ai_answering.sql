-- +goose Up
-- answering_until is the lease of the instance answering a prompt of the conversation: set
-- (to the latest the answer can end) by a conditional UPDATE that only one instance can win,
-- cleared when the answer ends; NULL or past, the conversation takes a prompt. In the database
-- so that instances sharing it (replicas, `serve` and `ai chat`) answer one prompt at a time.
ALTER TABLE ai_conversations ADD COLUMN answering_until TIMESTAMP;

-- +goose Down
ALTER TABLE ai_conversations DROP COLUMN answering_until;
