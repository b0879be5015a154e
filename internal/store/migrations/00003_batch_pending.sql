-- +goose Up
-- batches.pending counts the batch's rows still pending, kept by statement triggers on
-- batch_rows so that no code path can forget it. "Has the batch's last row settled?" is then
-- a primary-key lookup: counting pending rows through an index instead walks the index
-- entries of every row settled since the last vacuum, which made each check cost as much as
-- the batch had rows.
ALTER TABLE batches ADD COLUMN pending integer NOT NULL DEFAULT 0;
UPDATE batches b SET pending = (SELECT count(*) FROM batch_rows r WHERE r.batch_id = b.id AND r.status = 'pending');
ALTER TABLE batches ADD CONSTRAINT batches_pending_check CHECK (pending BETWEEN 0 AND total);

-- +goose StatementBegin
CREATE FUNCTION batch_rows_count_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE batches b SET pending = b.pending + d.n
        FROM (SELECT batch_id, count(*) AS n FROM new_rows WHERE status = 'pending' GROUP BY batch_id) d
        WHERE b.id = d.batch_id;
        RETURN NULL;
    END IF;
    -- Lock the batches in id order, so that two transactions settling rows of the same
    -- batches queue behind each other instead of deadlocking.
    PERFORM 1 FROM batches
    WHERE id IN (SELECT batch_id FROM old_rows WHERE status = 'pending'
                 UNION SELECT batch_id FROM new_rows WHERE status = 'pending')
    ORDER BY id FOR NO KEY UPDATE;
    UPDATE batches b SET pending = b.pending + d.n
    FROM (SELECT batch_id, sum(delta) AS n FROM (
              SELECT batch_id, -1 AS delta FROM old_rows WHERE status = 'pending'
              UNION ALL
              SELECT batch_id, 1 FROM new_rows WHERE status = 'pending') x
          GROUP BY batch_id HAVING sum(delta) <> 0) d
    WHERE b.id = d.batch_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER batch_rows_pending_insert AFTER INSERT ON batch_rows
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION batch_rows_count_pending();
CREATE TRIGGER batch_rows_pending_update AFTER UPDATE ON batch_rows
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION batch_rows_count_pending();

-- +goose Down
DROP TRIGGER batch_rows_pending_update ON batch_rows;
DROP TRIGGER batch_rows_pending_insert ON batch_rows;
DROP FUNCTION batch_rows_count_pending();
ALTER TABLE batches DROP COLUMN pending;
