-- +goose Up
-- A row task may take on fresh rows of its batch besides its own, so that many rows share a
-- transaction and an SMTP connection (store.ClaimRows). Until a taken row settles, its
-- account names the line whose task sends the invitation and settles the row; the row's own
-- task then leaves it alone.
ALTER TABLE accounts ADD COLUMN batch_owner int;

-- The rows whose task took others on, so that a second run of that task knows to look for
-- them. A table of its own: an update of batch_rows would take the batch's pending-counter
-- lock out of its order.
CREATE TABLE batch_row_takers (
    batch_id uuid NOT NULL,
    line     int  NOT NULL,
    PRIMARY KEY (batch_id, line),
    FOREIGN KEY (batch_id, line) REFERENCES batch_rows (batch_id, line) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE batch_row_takers;
ALTER TABLE accounts DROP COLUMN batch_owner;
