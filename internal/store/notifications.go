package store

import (
	"context"
	"fmt"
	"time"
)

// PlanBatchNotifications records, once per finished batch, one summary email to each of its
// organization's batch report recipients, and returns the recipients whose email is still to
// be sent. A batch whose recipients have all been handled (or that has none) gets notified_at
// and returns nothing; so does a batch that has not finished.
func (s *Store) PlanBatchNotifications(ctx context.Context, batchID string) ([]string, error) {
	// The SELECT after the INSERT cannot see the rows it inserts (one snapshot per
	// statement), hence the UNION with what the INSERT returns.
	const q = `WITH b AS (
			SELECT b.id, o.batch_report_recipients FROM batches b
			JOIN organizations o ON o.id = b.organization_id
			WHERE b.id = $1 AND b.finished_at IS NOT NULL AND b.notified_at IS NULL
		), ins AS (
			INSERT INTO batch_notifications (batch_id, recipient)
			SELECT b.id, r FROM b, unnest(b.batch_report_recipients) AS r
			ON CONFLICT (batch_id, recipient) DO NOTHING
			RETURNING recipient
		)
		SELECT recipient FROM ins
		UNION
		SELECT n.recipient FROM batch_notifications n JOIN b ON b.id = n.batch_id WHERE n.state = 'pending'
		ORDER BY 1`
	var out []string
	if err := s.db.SelectContext(ctx, &out, q, batchID); err != nil {
		return nil, fmt.Errorf("plan notifications: %w", mapErr(err))
	}
	if len(out) == 0 {
		return nil, s.markNotified(ctx, batchID)
	}
	return out, nil
}

// UnnotifiedBatches lists the batches that finished more than olderThan ago and whose
// summary emails are not all recorded: never planned (the finalizer's retries ran out while
// Redis was away) or planned and still pending. Oldest first, at most limit.
func (s *Store) UnnotifiedBatches(ctx context.Context, olderThan time.Duration, limit int) ([]string, error) {
	const q = `SELECT id FROM batches
		WHERE finished_at IS NOT NULL AND notified_at IS NULL AND finished_at < now() - $1 * interval '1 microsecond'
		ORDER BY finished_at LIMIT $2`
	var ids []string
	if err := s.db.SelectContext(ctx, &ids, q, olderThan.Microseconds(), limit); err != nil {
		return nil, fmt.Errorf("unnotified batches: %w", mapErr(err))
	}
	return ids, nil
}

// NotificationState returns the state (pending, sent, failed) of batch batchID's summary
// email to recipient; ErrNotFound when none was planned.
func (s *Store) NotificationState(ctx context.Context, batchID, recipient string) (string, error) {
	const q = `SELECT state FROM batch_notifications WHERE batch_id = $1 AND recipient = $2`
	var state string
	if err := s.db.GetContext(ctx, &state, q, batchID, recipient); err != nil {
		return "", fmt.Errorf("notification state: %w", mapErr(err))
	}
	return state, nil
}

// RecordNotification records the outcome of a pending summary email: sent, or failed with
// the mail server's reason. When it was the batch's last pending one, the batch gets
// notified_at.
func (s *Store) RecordNotification(ctx context.Context, batchID, recipient string, sent bool, reason string) error {
	const q = `UPDATE batch_notifications SET state = CASE WHEN $3 THEN 'sent' ELSE 'failed' END,
			sent_at = CASE WHEN $3 THEN now() END, failure_reason = $4, attempts = attempts + 1
		WHERE batch_id = $1 AND recipient = $2 AND state = 'pending'`
	if _, err := s.db.ExecContext(ctx, q, batchID, recipient, sent, reason); err != nil {
		return fmt.Errorf("record notification: %w", mapErr(err))
	}
	return s.markNotified(ctx, batchID)
}

// markNotified sets notified_at on a finished batch with no summary email pending.
func (s *Store) markNotified(ctx context.Context, batchID string) error {
	const q = `UPDATE batches SET notified_at = now()
		WHERE id = $1 AND finished_at IS NOT NULL AND notified_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM batch_notifications WHERE batch_id = $1 AND state = 'pending')`
	if _, err := s.db.ExecContext(ctx, q, batchID); err != nil {
		return fmt.Errorf("mark notified: %w", mapErr(err))
	}
	return nil
}

// ReasonCount is a failure reason and how many rows of a batch it hit.
type ReasonCount struct {
	Reason string `db:"reason"`
	Count  int    `db:"count"`
}

// TopFailureReasons returns the most common reasons why rows of batch batchID failed or their
// invitation did, most frequent first, at most limit of them. Addresses and numbers in the
// reasons are replaced by <address> and <number> first, so that "multiline_number
// +15550000001 is reserved, not Available" and the same for +15550000002 count as one reason.
func (s *Store) TopFailureReasons(ctx context.Context, batchID string, limit int) ([]ReasonCount, error) {
	const q = `SELECT reason, count(*) AS count FROM (
			SELECT regexp_replace(regexp_replace(reason,
				'[^[:space:],;:"()<>]+@[^[:space:],;:"()<>]+', '<address>', 'g'),
				'\+?[0-9][0-9 ()-]{5,}[0-9]', '<number>', 'g') AS reason
			FROM batch_rows
			WHERE batch_id = $1 AND reason <> '' AND (status = 'failed' OR invitation = 'failed')
		) r
		GROUP BY reason ORDER BY count(*) DESC, reason LIMIT $2`
	out := []ReasonCount{}
	if err := s.db.SelectContext(ctx, &out, q, batchID, limit); err != nil {
		return nil, fmt.Errorf("top failure reasons: %w", mapErr(err))
	}
	return out, nil
}
