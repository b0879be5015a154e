package store

import (
	"context"
	"fmt"

	"github.com/lib/pq"
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

// GiveUpTakenRows settles the pending rows that the task of row owner took on, on that task's
// last attempt: each keeps its account, and its invitation fails with reason, so that the
// batch finishes. It returns how many rows it settled.
func (s *Store) GiveUpTakenRows(ctx context.Context, batchID string, owner int, reason string) (int, error) {
	const q = `WITH owned AS (
			SELECT a.id AS account_id, a.batch_line AS line, i.id AS invitation_id,
				COALESCE(n.e164, '') AS number
			FROM accounts a
			JOIN batch_rows r ON r.batch_id = a.batch_id AND r.line = a.batch_line AND r.status = 'pending'
			LEFT JOIN invitations i ON i.account_id = a.id AND i.state = 'pending'
			LEFT JOIN numbers n ON n.account_id = a.id
			WHERE a.batch_id = $1 AND a.batch_owner = $2 AND a.batch_line <> $2
			FOR UPDATE OF r
		), inv AS (
			UPDATE invitations SET state = 'failed', failure_reason = $3, attempts = attempts + 1
			WHERE id IN (SELECT invitation_id FROM owned) AND state = 'pending'
		)
		UPDATE batch_rows r SET status = 'succeeded', settled_at = now(),
			invitation = CASE WHEN o.invitation_id IS NULL THEN r.invitation ELSE 'failed' END,
			reason = 'account created; invitation not delivered: ' || $3,
			account_id = o.account_id, number = o.number, invitation_id = o.invitation_id
		FROM owned o WHERE r.batch_id = $1 AND r.line = o.line AND r.status = 'pending'`
	res, err := s.db.ExecContext(ctx, q, batchID, owner, reason)
	if err != nil {
		return 0, fmt.Errorf("give up rows taken on: %w", mapErr(err))
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// RowKey names a batch row.
type RowKey struct {
	BatchID string
	Line    int
}

// RowLook is what a row task needs to know before it claims its row: whether there is
// anything for it to do.
type RowLook struct {
	Exists  bool
	Settled bool
	Owner   int  // the line of the task that took the row on; 0 when none or the row's own
	TookOn  bool // the row's task took other rows on in an earlier run
}

// LookAtRows reads, without locking, where the rows of keys stand. A row that has settled, or
// that another row's task has taken on, needs nothing from its own task; answering that
// without ClaimRows' locks keeps those tasks from queueing behind the claims under way.
func (s *Store) LookAtRows(ctx context.Context, keys []RowKey) ([]RowLook, error) {
	batchIDs, lines := make([]string, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		batchIDs[i], lines[i] = k.BatchID, int64(k.Line)
	}
	const q = `SELECT k.ord, r.status <> 'pending' AS settled,
			COALESCE(NULLIF(a.batch_owner, k.line), 0) AS owner,
			EXISTS (SELECT 1 FROM batch_row_takers t WHERE t.batch_id = k.batch_id AND t.line = k.line) AS took_on
		FROM unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS k(batch_id, line, ord)
		CROSS JOIN LATERAL (SELECT status FROM batch_rows
			WHERE batch_id = k.batch_id AND line = k.line OFFSET 0) r
		LEFT JOIN LATERAL (SELECT batch_owner FROM accounts
			WHERE batch_id = k.batch_id AND batch_line = k.line OFFSET 0) a ON true`
	st, err := s.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	var found []struct {
		Ord     int  `db:"ord"`
		Settled bool `db:"settled"`
		Owner   int  `db:"owner"`
		TookOn  bool `db:"took_on"`
	}
	if err := st.SelectContext(ctx, &found, pq.Array(batchIDs), pq.Array(lines)); err != nil {
		return nil, fmt.Errorf("look at rows: %w", mapErr(err))
	}
	out := make([]RowLook, len(keys))
	for _, f := range found {
		out[f.Ord-1] = RowLook{Exists: true, Settled: f.Settled, Owner: f.Owner, TookOn: f.TookOn}
	}
	return out, nil
}
