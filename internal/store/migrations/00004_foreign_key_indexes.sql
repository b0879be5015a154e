-- +goose Up
-- Indexes behind foreign keys that are followed from the referenced side: undoing a failed
-- row's account (ON DELETE SET NULL on batch_rows.account_id, CASCADE on invitations), and
-- finding whether a pending batch row owns an invitation. Without them each of those is a
-- scan of the whole table.
CREATE INDEX batch_rows_account_idx ON batch_rows (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX batch_rows_invitation_idx ON batch_rows (invitation_id) WHERE invitation_id IS NOT NULL;
CREATE INDEX invitations_account_idx ON invitations (account_id);

-- +goose Down
DROP INDEX invitations_account_idx;
DROP INDEX batch_rows_invitation_idx;
DROP INDEX batch_rows_account_idx;
