-- +goose Up
CREATE TABLE dbtest_parts (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    widget_id INTEGER NOT NULL REFERENCES dbtest_widgets (id) ON DELETE CASCADE,
    label     TEXT NOT NULL
);

-- +goose Down
DROP TABLE dbtest_parts;
