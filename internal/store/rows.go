package store

import (
	"context"
	"fmt"
)

// RowKey names a batch row.
type RowKey struct {
	BatchID string
	Line    int
}

// RowState is where a row stands: its status so far, and the account and live invitation an
// earlier attempt made for it, if any.
type RowState struct {
	Status       string `db:"status"`
	AccountID    string `db:"account_id"`
	Number       string `db:"number"`
	InvitationID string `db:"invitation_id"`
}

// RowState returns the state of row line of batch batchID.
func (s *Store) RowState(ctx context.Context, batchID string, line int) (RowState, error) {
	// A pending row's account and invitation are found through the account (see ClaimRows).
	const q = `SELECT r.status, COALESCE(a.id::text, '') AS account_id, COALESCE(n.e164, '') AS number,
			COALESCE(i.id::text, '') AS invitation_id
		FROM batch_rows r
		LEFT JOIN accounts a ON a.batch_id = r.batch_id AND a.batch_line = r.line
		LEFT JOIN numbers n ON n.account_id = a.id
		LEFT JOIN invitations i ON i.account_id = a.id AND i.state = 'pending'
		WHERE r.batch_id = $1 AND r.line = $2`
	var st RowState
	if err := s.db.GetContext(ctx, &st, q, batchID, line); err != nil {
		return RowState{}, fmt.Errorf("row state: %w", mapErr(err))
	}
	return st, nil
}

// ReleaseLease gives up holder's lease on invitation id, so that the next attempt at its row,
// wherever it runs, need not wait for the lease to run out. The attempt that holds it calls
// this when it stops without sending.
func (s *Store) ReleaseLease(ctx context.Context, id, holder string) error {
	const q = `UPDATE invitations SET lease_holder = NULL, lease_until = NULL
		WHERE id = $1 AND lease_holder = $2 AND state = 'pending'`
	if _, err := s.db.ExecContext(ctx, q, id, holder); err != nil {
		return fmt.Errorf("release lease: %w", mapErr(err))
	}
	return nil
}
