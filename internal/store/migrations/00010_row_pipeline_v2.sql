-- +goose Up
-- Row pipeline v2: a row is worked on only by its own task, so nothing records which task
-- took another's row on.
DROP TABLE batch_row_takers;
ALTER TABLE accounts DROP COLUMN batch_owner;

-- The attempt that is sending an invitation holds it until lease_until: another delivery of
-- the same row task (Redis lost its data and the row was enqueued again, or Asynq recovered
-- a task whose worker it took for dead) waits instead of sending a second email. The holder
-- names a worker process, so that process's own retries resume at once.
ALTER TABLE invitations ADD COLUMN lease_holder text, ADD COLUMN lease_until timestamptz;

-- Why a row failed, or what became of its invitation, as a stable code an admin can filter
-- and count (the reason beside it is the sentence for a person).
ALTER TABLE batch_rows ADD COLUMN reason_code text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE batch_rows DROP COLUMN reason_code;
ALTER TABLE invitations DROP COLUMN lease_until, DROP COLUMN lease_holder;
ALTER TABLE accounts ADD COLUMN batch_owner int;
CREATE TABLE batch_row_takers (
    batch_id uuid NOT NULL,
    line     int  NOT NULL,
    PRIMARY KEY (batch_id, line),
    FOREIGN KEY (batch_id, line) REFERENCES batch_rows (batch_id, line) ON DELETE CASCADE
);
