-- +goose Up
-- Undoing a batch (store.UndoBatch) removes the accounts it created that are not active yet.
-- The batch keeps the record: when, by whom, how many accounts were removed and kept.
ALTER TABLE batches ADD COLUMN undone_at timestamptz, ADD COLUMN undone_by text,
    ADD COLUMN undo_removed integer NOT NULL DEFAULT 0 CHECK (undo_removed >= 0),
    ADD COLUMN undo_kept integer NOT NULL DEFAULT 0 CHECK (undo_kept >= 0),
    ADD CONSTRAINT batches_undone_check CHECK (undone_at IS NULL OR finished_at IS NOT NULL);

-- A removed account's invitations go with it; the hashes of their tokens stay here, so that
-- an old link answers 410 (withdrawn) rather than 404 (never existed). Only hashes: as for
-- invitations, nothing here lets anyone compute a link.
CREATE TABLE withdrawn_links (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    batch_id     uuid NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    language     text NOT NULL DEFAULT 'en',
    withdrawn_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX withdrawn_links_batch_idx ON withdrawn_links (batch_id);

-- +goose Down
DROP TABLE withdrawn_links;
ALTER TABLE batches DROP CONSTRAINT batches_undone_check,
    DROP COLUMN undo_kept, DROP COLUMN undo_removed, DROP COLUMN undone_by, DROP COLUMN undone_at;
