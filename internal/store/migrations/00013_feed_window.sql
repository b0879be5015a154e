-- +goose Up
-- Rows reach the queue through a window per organization (store.Feed): queued_through is the
-- highest line of the batch handed to Redis so far (its pending rows up to it have a task),
-- unqueued how many of its pending rows are past it and have none yet. Batches stored before
-- this migration had every row enqueued at upload.
ALTER TABLE batches ADD COLUMN queued_through integer NOT NULL DEFAULT 2147483647,
    ADD COLUMN unqueued integer NOT NULL DEFAULT 0 CHECK (unqueued >= 0);
ALTER TABLE batches ALTER COLUMN queued_through SET DEFAULT 0;
-- The feed looks for an organization's batches that have rows to hand out, oldest first.
CREATE INDEX batches_unqueued_idx ON batches (organization_id, created_at, id) WHERE unqueued > 0;

-- +goose Down
DROP INDEX batches_unqueued_idx;
ALTER TABLE batches DROP COLUMN unqueued, DROP COLUMN queued_through;
