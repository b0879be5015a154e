-- +goose Up
-- A batch row is written once, when it settles; until then its account is found through the
-- account's own batch_id and batch_line.
CREATE INDEX accounts_batch_row_idx ON accounts (batch_id, batch_line) WHERE batch_id IS NOT NULL;

-- +goose Down
DROP INDEX accounts_batch_row_idx;
