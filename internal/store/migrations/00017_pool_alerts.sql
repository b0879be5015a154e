-- +goose Up
-- The pool alert ("Threshold exceeded for invitations", store/pool_alert.go): an
-- organization's pool is low when the numbers its pending invitations need exceed its
-- Available numbers, or Available falls under pool_alert_threshold (0: no threshold).
ALTER TABLE organizations ADD COLUMN pool_alert_threshold integer NOT NULL DEFAULT 0
    CHECK (pool_alert_threshold BETWEEN 0 AND 1000000);

-- Its state, one row per organization once checked: raised while low, with the level that
-- raised it. An episode begins when the level crosses from ok to low and ends when it
-- recovers; each episode emails the alert recipients once, so the state lives here, where
-- every process sees it, and a change of it is made under this row's lock.
CREATE TABLE pool_alerts (
    organization_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    raised          boolean NOT NULL DEFAULT false,
    episode         integer NOT NULL DEFAULT 0 CHECK (episode >= 0),
    raised_at       timestamptz,
    cleared_at      timestamptz,
    available       integer NOT NULL DEFAULT 0,
    needed          integer NOT NULL DEFAULT 0,
    threshold       integer NOT NULL DEFAULT 0,
    CHECK (NOT raised OR raised_at IS NOT NULL)
);

-- One email per episode and recipient, so that each gets one however often the check runs
-- or its task is delivered.
CREATE TABLE pool_alert_emails (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    episode         integer NOT NULL,
    recipient       text NOT NULL CHECK (recipient LIKE '%_@_%'),
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    failure_reason  text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    PRIMARY KEY (organization_id, episode, recipient),
    CHECK ((state = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX pool_alert_emails_pending_idx ON pool_alert_emails (organization_id) WHERE state = 'pending';

-- The numbers each organization's pending work will take from its Available pool: the rows
-- of its unfinished, uncanceled batches that have no account yet and either need a free
-- number (Import & Invite without a multiline_number) or name one that is Available now.
-- A row with an account holds its number already. One definition for the alert's check and
-- the metrics scrape.
CREATE VIEW pool_needs AS
    SELECT b.organization_id, count(*)::int AS needed
    FROM batches b
    JOIN batch_rows r ON r.batch_id = b.id AND r.status = 'pending'
    WHERE b.finished_at IS NULL AND b.cancel_requested_at IS NULL
        AND ((b.invite AND r.multiline_number = '')
            OR (r.multiline_number <> '' AND EXISTS (SELECT 1 FROM numbers n
                WHERE n.e164 = r.multiline_number AND n.organization_id = b.organization_id AND n.state = 'available')))
        AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.batch_id = r.batch_id AND a.batch_line = r.line)
    GROUP BY b.organization_id;

-- +goose Down
DROP VIEW pool_needs;
DROP TABLE pool_alert_emails;
DROP TABLE pool_alerts;
ALTER TABLE organizations DROP COLUMN pool_alert_threshold;
