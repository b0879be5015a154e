-- +goose Up
-- Batch summary emails to the organization's designated administrators: one row per batch and
-- recipient, so that each gets one email however often the notify task runs, and so that
-- what was sent (or refused) is kept in PostgreSQL, not only in Redis.
CREATE TABLE batch_notifications (
    batch_id       uuid NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    recipient      text NOT NULL CHECK (recipient LIKE '%_@_%'),
    state          text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts       integer NOT NULL DEFAULT 0,
    failure_reason text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    PRIMARY KEY (batch_id, recipient),
    CHECK ((state = 'sent') = (sent_at IS NOT NULL))
);

-- Invitations waiting for their email: the reconciler looks for those whose task was lost.
CREATE INDEX invitations_pending_idx ON invitations (created_at) WHERE state = 'pending';

-- +goose Down
DROP INDEX invitations_pending_idx;
DROP TABLE batch_notifications;
