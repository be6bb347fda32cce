-- +goose Up
-- User search through an index (issue 18): an FTS5 table with the trigram
-- tokenizer over auth_users.search_text finds any substring of 3 or more
-- characters without reading every row. External content: the index holds
-- only trigrams, the text stays in auth_users; the triggers keep it in sync
-- with every insert, update and delete, whoever writes the row. Searches of 1
-- or 2 characters do not use it: they match the start of the email or the
-- username through the unique indexes of 00001.
CREATE VIRTUAL TABLE auth_users_fts USING fts5(
    search_text,
    content = 'auth_users',
    content_rowid = 'id',
    tokenize = 'trigram'
);
-- The rows that exist already.
INSERT INTO auth_users_fts (auth_users_fts) VALUES ('rebuild');

-- +goose StatementBegin
CREATE TRIGGER auth_users_fts_insert AFTER INSERT ON auth_users BEGIN
    INSERT INTO auth_users_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER auth_users_fts_delete AFTER DELETE ON auth_users BEGIN
    INSERT INTO auth_users_fts (auth_users_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER auth_users_fts_update AFTER UPDATE OF search_text ON auth_users
WHEN old.search_text IS NOT new.search_text BEGIN
    INSERT INTO auth_users_fts (auth_users_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO auth_users_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER auth_users_fts_update;
DROP TRIGGER auth_users_fts_delete;
DROP TRIGGER auth_users_fts_insert;
DROP TABLE auth_users_fts;
