-- +goose Up
-- User search through indexes (issue 18).
--
-- Substrings of 3 or more characters: a GIN trigram index (pg_trgm) on
-- search_text, which `search_text LIKE '%term%'` uses as it is. pg_trgm ships
-- with PostgreSQL (contrib) and is a trusted extension since PostgreSQL 13: the
-- database's owner, or any role with CREATE on the database, may create it
-- without being a superuser. Where it cannot be created (not installed, not
-- allow-listed on a managed service, no privilege) this migration still
-- succeeds, without the index: search gives the same answers through a
-- sequential scan. To add the index later, as a role that may:
--
--   CREATE EXTENSION IF NOT EXISTS pg_trgm;
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS auth_users_search_trgm_idx
--       ON auth_users USING gin (search_text gin_trgm_ops);
--
-- The index is built in this migration's transaction: on a large table it
-- takes a while (7 s for a million users on a busy 2-vCPU VM) and holds writes to auth_users
-- meanwhile.
-- +goose StatementBegin
DO $$
DECLARE
    ext_schema name;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'auth: cannot create extension pg_trgm (%): user search works without its index, through a sequential scan', SQLERRM;
    END;
    SELECT n.nspname INTO ext_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    IF ext_schema IS NOT NULL THEN
        -- The operator class is named with its schema: the extension may live
        -- outside search_path (Supabase puts extensions in "extensions").
        EXECUTE format('CREATE INDEX IF NOT EXISTS auth_users_search_trgm_idx ON auth_users USING gin (search_text %I.gin_trgm_ops)', ext_schema);
    END IF;
END
$$;
-- +goose StatementEnd

-- Searches of 1 or 2 characters (too short for trigrams) match the start of
-- the email or the username: `LIKE 'te%'` can use a btree index under any
-- collation only with the pattern operator class.
CREATE INDEX auth_users_email_prefix_idx ON auth_users (email text_pattern_ops);
CREATE INDEX auth_users_username_prefix_idx ON auth_users (lower(username) text_pattern_ops);

-- +goose Down
DROP INDEX auth_users_username_prefix_idx;
DROP INDEX auth_users_email_prefix_idx;
DROP INDEX IF EXISTS auth_users_search_trgm_idx;
-- pg_trgm stays: other tables may use it, and dropping it may need a privilege
-- the migration does not have.
