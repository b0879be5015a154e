package store

import (
	"context"
	"fmt"
)

// RowState is where a row stands: its outcome so far and its invitation, if it has one.
type RowState struct {
	Status       string  `db:"status"`
	InvitationID *string `db:"invitation_id"`
}

// RowState returns the state of row line of batch batchID.
func (s *Store) RowState(ctx context.Context, batchID string, line int) (RowState, error) {
	// A pending row's account and invitation are found through the account (ClaimRows).
	const q = `SELECT r.status, COALESCE(r.invitation_id, (SELECT i.id FROM accounts a
			JOIN invitations i ON i.account_id = a.id AND i.state = 'pending'
			WHERE a.batch_id = r.batch_id AND a.batch_line = r.line LIMIT 1)) AS invitation_id
		FROM batch_rows r WHERE r.batch_id = $1 AND r.line = $2`
	var st RowState
	if err := s.db.GetContext(ctx, &st, q, batchID, line); err != nil {
		return RowState{}, fmt.Errorf("row state: %w", mapErr(err))
	}
	return st, nil
}

// SettleRow settles a pending row with an outcome; it reports false when the row had already
// been settled, which makes a second delivery of a task harmless.
func (s *Store) SettleRow(ctx context.Context, batchID string, line int, status, reason string) (bool, error) {
	const q = `UPDATE batch_rows SET status = $3, reason = $4, settled_at = now()
		WHERE batch_id = $1 AND line = $2 AND status = 'pending'`
	res, err := s.db.ExecContext(ctx, q, batchID, line, status, reason)
	if err != nil {
		return false, fmt.Errorf("settle row: %w", mapErr(err))
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// InvitationFailed records an invitation the mail server refused for good: the account
// exists, so the row succeeded, but its invitation failed with the server's reason.
func (s *Store) InvitationFailed(ctx context.Context, batchID string, line int, invitationID, reason string) error {
	const q = `WITH inv AS (
			UPDATE invitations SET state = 'failed', failure_reason = $4, attempts = attempts + 1
			WHERE id = $3 AND state = 'pending'
		)
		UPDATE batch_rows r SET status = 'succeeded', invitation = 'failed',
			reason = 'account created; invitation not delivered: ' || $4, settled_at = now(),
			account_id = a.id, number = COALESCE((SELECT e164 FROM numbers WHERE account_id = a.id), ''),
			invitation_id = $3
		FROM accounts a
		WHERE r.batch_id = $1 AND r.line = $2 AND r.status = 'pending'
			AND a.batch_id = r.batch_id AND a.batch_line = r.line`
	if _, err := s.db.ExecContext(ctx, q, batchID, line, invitationID, reason); err != nil {
		return fmt.Errorf("record invitation failed: %w", mapErr(err))
	}
	return nil
}
