package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ErrBatchRunning refuses to undo a batch that has not finished: its rows may still be
// creating accounts.
var ErrBatchRunning = errors.New("batch has not finished")

// Undo is what undoing a batch did, and what it left.
type Undo struct {
	UndoneAt time.Time       `json:"undone_at"` // when the batch was first undone
	UndoneBy string          `json:"undone_by"`
	Removed  []UndoneAccount `json:"removed"` // by this call; none when an earlier one removed them
	Kept     []KeptAccount   `json:"kept"`
}

// UndoneAccount is an account an undo removed.
type UndoneAccount struct {
	AccountID      string `json:"account_id"`
	Identifier     string `json:"identifier"`
	ReleasedNumber string `json:"released_number,omitempty"`
}

// Why an undo kept an account the batch created.
const (
	KeptActive = "active" // the person activated it
	KeptMoved  = "moved"  // it was moved to another organization, which now decides about it
)

// KeptAccount is an account the batch created that its undo left in place.
type KeptAccount struct {
	AccountID  string `json:"account_id"`
	Identifier string `json:"identifier"`
	Code       string `json:"code"` // KeptActive or KeptMoved
	Reason     string `json:"reason"`
}

type undoAccount struct {
	ID             string `db:"id"`
	Identifier     string `db:"identifier"`
	OrganizationID string `db:"organization_id"`
	Status         string `db:"status"`
}

// UndoBatch removes the accounts that finished batch id created and that are neither active
// nor moved to another organization, in one transaction: their numbers go back to Available,
// their invitations (so their links) go with them, and the hashes of those links are kept in
// withdrawn_links so that the links answer 410. The batch records when and by whom it was
// undone and how many accounts were removed and kept. Calling it again removes nothing more
// (unless an account of the batch has become removable since, say a move back) and answers
// the same kept accounts. ErrNotFound: no such batch; ErrBatchRunning: it has not finished.
func (s *Store) UndoBatch(ctx context.Context, id, by string) (Undo, error) {
	out := Undo{Removed: []UndoneAccount{}, Kept: []KeptAccount{}}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// The batch first: two undos of one batch queue here.
		var b struct {
			OrganizationID string `db:"organization_id"`
			Finished       bool   `db:"finished"`
		}
		const qb = `SELECT organization_id, finished_at IS NOT NULL AS finished FROM batches WHERE id = $1 FOR NO KEY UPDATE`
		if err := tx.GetContext(ctx, &b, qb, id); err != nil {
			return fmt.Errorf("lock batch: %w", mapErr(err))
		}
		if !b.Finished {
			return ErrBatchRunning
		}
		// Invitations before accounts, as Resend, Settle and Activate lock them.
		const qinv = `SELECT i.id FROM invitations i JOIN accounts a ON a.id = i.account_id
			WHERE a.batch_id = $1 ORDER BY i.id FOR UPDATE OF i`
		var locked []string
		if err := tx.SelectContext(ctx, &locked, qinv, id); err != nil {
			return fmt.Errorf("lock invitations: %w", mapErr(err))
		}
		const qacc = `SELECT id, identifier, organization_id, status FROM accounts
			WHERE batch_id = $1 ORDER BY batch_line, id FOR UPDATE`
		var accs []undoAccount
		if err := tx.SelectContext(ctx, &accs, qacc, id); err != nil {
			return fmt.Errorf("lock accounts: %w", mapErr(err))
		}
		var remove []string
		for _, a := range accs {
			switch {
			case a.Status == AccountActive:
				out.Kept = append(out.Kept, KeptAccount{AccountID: a.ID, Identifier: a.Identifier, Code: KeptActive,
					Reason: "the account is active: its user activated it, so it stays"})
			case a.OrganizationID != b.OrganizationID:
				out.Kept = append(out.Kept, KeptAccount{AccountID: a.ID, Identifier: a.Identifier, Code: KeptMoved,
					Reason: "the account was moved to another organization, so it stays"})
			default:
				remove = append(remove, a.ID)
				out.Removed = append(out.Removed, UndoneAccount{AccountID: a.ID, Identifier: a.Identifier})
			}
		}
		if err := removeAccounts(ctx, tx, id, remove, out.Removed); err != nil {
			return err
		}
		const qdone = `UPDATE batches SET undone_at = COALESCE(undone_at, now()), undone_by = COALESCE(undone_by, $2),
				undo_removed = undo_removed + $3, undo_kept = $4
			WHERE id = $1 RETURNING undone_at, undone_by`
		var done struct {
			At time.Time `db:"undone_at"`
			By string    `db:"undone_by"`
		}
		if err := tx.GetContext(ctx, &done, qdone, id, by, len(remove), len(out.Kept)); err != nil {
			return fmt.Errorf("record undo: %w", mapErr(err))
		}
		out.UndoneAt, out.UndoneBy = done.At, done.By
		return nil
	})
	if err != nil {
		return Undo{}, err
	}
	return out, nil
}

// removeAccounts withdraws the links of accounts ids of batch batchID, releases their
// numbers (noting each in removed, which lists ids in order) and deletes them.
func removeAccounts(ctx context.Context, tx *sqlx.Tx, batchID string, ids []string, removed []UndoneAccount) error {
	if len(ids) == 0 {
		return nil
	}
	const qlinks = `INSERT INTO withdrawn_links (token_hash, batch_id, language)
		SELECT i.token_hash, $2, a.language FROM invitations i JOIN accounts a ON a.id = i.account_id
		WHERE a.id = ANY($1::uuid[])
		ON CONFLICT (token_hash) DO NOTHING`
	if _, err := tx.ExecContext(ctx, qlinks, pq.Array(ids), batchID); err != nil {
		return fmt.Errorf("withdraw links: %w", mapErr(err))
	}
	const qrelease = `WITH held AS (SELECT e164, account_id FROM numbers WHERE account_id = ANY($1::uuid[]) FOR UPDATE)
		UPDATE numbers n SET state = 'available', account_id = NULL, updated_at = now()
		FROM held WHERE n.e164 = held.e164 RETURNING n.e164, held.account_id`
	released := map[string]string{}
	if err := reserveInto(ctx, tx, released, qrelease, pq.Array(ids)); err != nil {
		return fmt.Errorf("release numbers: %w", err)
	}
	for i := range removed {
		removed[i].ReleasedNumber = released[removed[i].AccountID]
	}
	// Their invitations go with them (ON DELETE CASCADE).
	const qdel = `DELETE FROM accounts WHERE id = ANY($1::uuid[])`
	if _, err := tx.ExecContext(ctx, qdel, pq.Array(ids)); err != nil {
		return fmt.Errorf("remove accounts: %w", mapErr(err))
	}
	return nil
}
