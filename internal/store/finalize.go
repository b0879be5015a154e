package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// ReportRow is one line of the Batch Operations Report.
type ReportRow struct {
	Line            int    `db:"line"`
	RawIdentifier   string `db:"raw_identifier"`
	Firstname       string `db:"firstname"`
	Lastname        string `db:"lastname"`
	Status          string `db:"status"`
	Reason          string `db:"reason"`
	ReasonCode      string `db:"reason_code"` // one of the Code constants; invalid_value for rows refused at upload
	MultilineNumber string `db:"multiline_number"`
	Invitation      string `db:"invitation"`
	AccountID       string `db:"account_id"`
}

// Finalized describes a batch the finalizer closed.
type Finalized struct {
	Batch   Batch
	Pending int // rows still in flight: the batch was not closed
	Closed  bool
}

// FinalizeBatch closes batch id once: under the batch's row lock it cancels the rows a cancel
// request stopped, and when no row is pending it builds the report with build, stores it
// and sets the final status. A batch already finished or with rows in flight is left as it
// is (Closed false).
func (s *Store) FinalizeBatch(ctx context.Context, id string, build func([]ReportRow) ([]byte, error)) (Finalized, error) {
	var f Finalized
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		const qlock = `SELECT finished_at IS NOT NULL AS finished, cancel_requested_at IS NOT NULL AS cancel
			FROM batches WHERE id = $1 FOR UPDATE`
		var st struct {
			Finished bool `db:"finished"`
			Cancel   bool `db:"cancel"`
		}
		if err := tx.GetContext(ctx, &st, qlock, id); err != nil {
			return fmt.Errorf("lock batch: %w", mapErr(err))
		}
		if st.Finished {
			return nil
		}
		if st.Cancel {
			// Rows that already hold an account are in flight (their invitation is being
			// sent); they finish on their own and the last of them finalizes again.
			const qc = `SELECT line FROM batch_rows r WHERE batch_id = $1 AND status = 'pending'
				AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.batch_id = r.batch_id AND a.batch_line = r.line)`
			var lines []int
			if err := tx.SelectContext(ctx, &lines, qc, id); err != nil {
				return fmt.Errorf("rows to cancel: %w", mapErr(err))
			}
			if len(lines) > 0 {
				outcomes := make([]Outcome, len(lines))
				for i, line := range lines {
					outcomes[i] = Outcome{BatchID: id, Line: line, Status: RowCanceled, Code: CodeCanceled}
				}
				if _, err := tx.ExecContext(ctx, qsettle, settleArgs(outcomes)...); err != nil {
					return fmt.Errorf("cancel rows: %w", mapErr(err))
				}
			}
		}
		const qp = `SELECT count(*) FROM batch_rows WHERE batch_id = $1 AND status = 'pending'`
		if err := tx.GetContext(ctx, &f.Pending, qp, id); err != nil {
			return fmt.Errorf("count pending rows: %w", mapErr(err))
		}
		if f.Pending > 0 {
			return nil
		}
		var rows []ReportRow
		if err := tx.SelectContext(ctx, &rows, qreportRows, id); err != nil {
			return fmt.Errorf("read report rows: %w", mapErr(err))
		}
		csv, err := build(rows)
		if err != nil {
			return fmt.Errorf("build report: %w", err)
		}
		const qi = `INSERT INTO batch_reports (batch_id, csv) VALUES ($1, $2)`
		if _, err := tx.ExecContext(ctx, qi, id, csv); err != nil {
			return fmt.Errorf("store report: %w", mapErr(err))
		}
		status := BatchCompleted
		if st.Cancel {
			status = BatchCanceled
		}
		const qb = `UPDATE batches SET status = $2, finished_at = now(), started_at = COALESCE(started_at, now()),
				unqueued = 0
			WHERE id = $1 AND finished_at IS NULL`
		if _, err := tx.ExecContext(ctx, qb, id, status); err != nil {
			return fmt.Errorf("finish batch: %w", mapErr(err))
		}
		f.Closed = true
		return nil
	})
	if err != nil {
		return Finalized{}, err
	}
	f.Batch, err = s.Batch(ctx, id)
	return f, err
}

// qreportRows reads the lines of batch id's report, in file order.
const qreportRows = `SELECT line, raw_identifier, firstname, lastname, status, reason, reason_code,
		CASE WHEN number <> '' THEN number ELSE multiline_number END AS multiline_number,
		invitation, COALESCE(account_id::text, '') AS account_id
	FROM batch_rows WHERE batch_id = $1 ORDER BY line`

// ReportRows returns the lines of batch id's report, in file order. Once the batch has
// finished they no longer change, so a report built from them at any later time is the one
// the finalizer stored.
func (s *Store) ReportRows(ctx context.Context, id string) ([]ReportRow, error) {
	var rows []ReportRow
	if err := s.db.SelectContext(ctx, &rows, qreportRows, id); err != nil {
		return nil, fmt.Errorf("read report rows: %w", mapErr(err))
	}
	return rows, nil
}

// UnfinishedBatch is a batch the reconciler looks at.
type UnfinishedBatch struct {
	ID            string     `db:"id"`
	Pending       int        `db:"pending"`
	CreatedAt     time.Time  `db:"created_at"`
	EnqueuedAt    *time.Time `db:"enqueued_at"`
	LastSettledAt *time.Time `db:"last_settled_at"`
}

// UnfinishedBatches lists batches without a final status, oldest first.
func (s *Store) UnfinishedBatches(ctx context.Context, limit int) ([]UnfinishedBatch, error) {
	const q = `SELECT b.id, b.created_at, b.enqueued_at,
			(SELECT count(*) FROM batch_rows r WHERE r.batch_id = b.id AND r.status = 'pending') AS pending,
			(SELECT max(r.settled_at) FROM batch_rows r WHERE r.batch_id = b.id) AS last_settled_at
		FROM batches b WHERE b.finished_at IS NULL ORDER BY b.created_at LIMIT $1`
	var out []UnfinishedBatch
	if err := s.db.SelectContext(ctx, &out, q, limit); err != nil {
		return nil, fmt.Errorf("unfinished batches: %w", mapErr(err))
	}
	return out, nil
}
