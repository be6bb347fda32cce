-- +goose Up
-- When the account's current email address was confirmed (a link sent to it
-- was opened); NULL while it is not. Accounts that existed before stay
-- unconfirmed, and a new address starts unconfirmed.
ALTER TABLE auth_users ADD COLUMN email_verified_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE auth_users DROP COLUMN email_verified_at;
