-- +goose Up
-- A settled row keeps the account, number and invitation it produced as a record of the
-- batch, the way its report shows them; it is not a live reference. As foreign keys they
-- cost two lookups (each taking a row lock) and two index entries per row when a row
-- settles, a third of the cost of recording an invitation, and protected nothing: accounts
-- and invitations are never deleted once a row has settled with them (a failed row's account
-- is undone before the row settles, and a row that failed names none). Were that to change,
-- the record should still say what the batch did rather than lose it to SET NULL.
ALTER TABLE batch_rows DROP CONSTRAINT batch_rows_account_id_fkey;
ALTER TABLE batch_rows DROP CONSTRAINT batch_rows_invitation_id_fkey;
DROP INDEX batch_rows_account_idx;
DROP INDEX batch_rows_invitation_idx;

-- +goose Down
CREATE INDEX batch_rows_invitation_idx ON batch_rows (invitation_id) WHERE invitation_id IS NOT NULL;
CREATE INDEX batch_rows_account_idx ON batch_rows (account_id) WHERE account_id IS NOT NULL;
ALTER TABLE batch_rows ADD CONSTRAINT batch_rows_invitation_id_fkey
    FOREIGN KEY (invitation_id) REFERENCES invitations (id) ON DELETE SET NULL;
ALTER TABLE batch_rows ADD CONSTRAINT batch_rows_account_id_fkey
    FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE SET NULL;
