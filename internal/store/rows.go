package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// RowWork is a pending batch row with what a worker needs to settle it.
type RowWork struct {
	BatchID                         string  `db:"batch_id"`
	Line                            int     `db:"line"`
	OrganizationID                  string  `db:"organization_id"`
	OrganizationName                string  `db:"organization_name"`
	PermissionGroupID               string  `db:"permission_group_id"`
	Invite                          bool    `db:"invite"`
	BatchStatus                     string  `db:"batch_status"`
	CancelRequested                 bool    `db:"cancel_requested"`
	Status                          string  `db:"status"`
	Identifier                      string  `db:"identifier"`
	IdentifierKind                  string  `db:"identifier_kind"`
	Firstname                       string  `db:"firstname"`
	Lastname                        string  `db:"lastname"`
	SocialMessaging                 bool    `db:"social_messaging"`
	MultilineNumber                 string  `db:"multiline_number"`
	MonitorCalls                    string  `db:"monitor_calls"`
	MonitorSMS                      string  `db:"monitor_sms"`
	ForwardingNumber                string  `db:"forwarding_number"`
	RestrictIncomingSocialMessaging bool    `db:"restrict_incoming_social_messaging"`
	Language                        string  `db:"language"`
	AccountID                       *string `db:"account_id"`
	InvitationID                    *string `db:"invitation_id"`
	InvitationState                 *string `db:"invitation_state"`
	Number                          string  `db:"number"`
}

// RowFailure is a permanent reason a row cannot succeed; the row is settled as failed with it.
type RowFailure struct {
	Reason string
}

func (e *RowFailure) Error() string { return e.Reason }

// RowWork loads row line of batch batchID with its batch and invitation.
func (s *Store) RowWork(ctx context.Context, batchID string, line int) (RowWork, error) {
	const q = `SELECT r.batch_id, r.line, b.organization_id, o.name AS organization_name,
			b.permission_group_id, b.invite, b.status AS batch_status,
			b.cancel_requested_at IS NOT NULL AS cancel_requested, r.status, r.identifier,
			r.identifier_kind, r.firstname, r.lastname, r.social_messaging, r.multiline_number,
			r.monitor_calls, r.monitor_sms, r.forwarding_number, r.restrict_incoming_social_messaging,
			r.language, r.account_id, r.invitation_id, i.state AS invitation_state, r.number
		FROM batch_rows r
		JOIN batches b ON b.id = r.batch_id
		JOIN organizations o ON o.id = b.organization_id
		LEFT JOIN invitations i ON i.id = r.invitation_id
		WHERE r.batch_id = $1 AND r.line = $2`
	var w RowWork
	if err := s.db.GetContext(ctx, &w, q, batchID, line); err != nil {
		return RowWork{}, fmt.Errorf("load row: %w", mapErr(err))
	}
	return w, nil
}

// NewInvitation is the invitation CreateAccount stores with an Import & Invite account.
type NewInvitation struct {
	TokenHash []byte
	ExpiresAt time.Time
}

// Created is what CreateAccount made for a row.
type Created struct {
	AccountID    string
	InvitationID string // "" for Import
	Number       string // "" when no number was reserved
}

// ErrBatchCanceled means the row's batch was canceled before the row got its account.
var ErrBatchCanceled = errors.New("batch canceled")

// ErrRowNotPending means the row was settled, or got its account, since it was loaded.
var ErrRowNotPending = errors.New("row is no longer waiting for an account")

// CreateAccount creates the row's account in one transaction with its number reservation and,
// when inv is not nil, its invitation. A named number must be Available in the batch's
// organization; with an invitation and no named number, any Available number of the
// organization is reserved. Permanent problems return *RowFailure and leave nothing behind.
// An Import row without invitation is settled as succeeded in the same transaction.
func (s *Store) CreateAccount(ctx context.Context, w RowWork, inv *NewInvitation) (Created, error) {
	var c Created
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// The row lock orders us against a cancel and against a second delivery of this task.
		const qlock = `SELECT r.status = 'pending' AND r.account_id IS NULL AS open,
				b.cancel_requested_at IS NOT NULL AS canceled
			FROM batch_rows r JOIN batches b ON b.id = r.batch_id
			WHERE r.batch_id = $1 AND r.line = $2 FOR UPDATE OF r`
		var state struct {
			Open     bool `db:"open"`
			Canceled bool `db:"canceled"`
		}
		if err := tx.GetContext(ctx, &state, qlock, w.BatchID, w.Line); err != nil {
			return fmt.Errorf("lock row: %w", mapErr(err))
		}
		if !state.Open {
			return ErrRowNotPending
		}
		if state.Canceled {
			return ErrBatchCanceled
		}
		const qacc = `INSERT INTO accounts (organization_id, permission_group_id, identifier, identifier_kind,
				firstname, lastname, social_messaging, monitor_calls, monitor_sms, forwarding_number,
				restrict_incoming_social_messaging, language, batch_id, batch_line)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
			ON CONFLICT (identifier) DO NOTHING RETURNING id`
		err := tx.GetContext(ctx, &c.AccountID, qacc, w.OrganizationID, w.PermissionGroupID, w.Identifier,
			w.IdentifierKind, w.Firstname, w.Lastname, w.SocialMessaging, w.MonitorCalls, w.MonitorSMS,
			w.ForwardingNumber, w.RestrictIncomingSocialMessaging, w.Language, w.BatchID, w.Line)
		if errors.Is(err, sql.ErrNoRows) {
			return &RowFailure{Reason: fmt.Sprintf("an account for %s already exists", w.Identifier)}
		}
		if err != nil {
			return fmt.Errorf("insert account: %w", mapErr(err))
		}

		switch {
		case w.MultilineNumber != "":
			if err := reserveNamed(ctx, tx, w.OrganizationID, w.MultilineNumber, c.AccountID); err != nil {
				return err
			}
			c.Number = w.MultilineNumber
		case inv != nil:
			// SKIP LOCKED: concurrent workers each take a different free number instead of
			// queueing on the first one; the partial index keeps this a short scan however
			// drained the pool is.
			const qany = `UPDATE numbers SET state = 'reserved', account_id = $2, updated_at = now()
				WHERE e164 = (SELECT e164 FROM numbers
					WHERE organization_id = $1 AND state = 'available'
					ORDER BY e164 LIMIT 1 FOR UPDATE SKIP LOCKED)
				RETURNING e164`
			err := tx.GetContext(ctx, &c.Number, qany, w.OrganizationID, c.AccountID)
			if errors.Is(err, sql.ErrNoRows) {
				return &RowFailure{Reason: "no number available in this organization"}
			}
			if err != nil {
				return fmt.Errorf("reserve number: %w", mapErr(err))
			}
		}

		if inv != nil {
			const qinv = `INSERT INTO invitations (account_id, token_hash, expires_at) VALUES ($1, $2, $3) RETURNING id`
			if err := tx.GetContext(ctx, &c.InvitationID, qinv, c.AccountID, inv.TokenHash, inv.ExpiresAt); err != nil {
				return fmt.Errorf("insert invitation: %w", mapErr(err))
			}
		}
		const qrow = `UPDATE batch_rows SET account_id = $3, number = $4, invitation_id = NULLIF($5, '')::uuid,
				status = CASE WHEN $6 THEN 'succeeded' ELSE status END,
				settled_at = CASE WHEN $6 THEN now() ELSE settled_at END
			WHERE batch_id = $1 AND line = $2`
		if _, err := tx.ExecContext(ctx, qrow, w.BatchID, w.Line, c.AccountID, c.Number, c.InvitationID, inv == nil); err != nil {
			return fmt.Errorf("update row: %w", mapErr(err))
		}
		return nil
	})
	return c, err
}

// reserveNamed reserves number e164 for account, or says why it cannot be had.
func reserveNamed(ctx context.Context, tx *sqlx.Tx, orgID, e164, accountID string) error {
	const q = `UPDATE numbers SET state = 'reserved', account_id = $3, updated_at = now()
		WHERE e164 = $1 AND organization_id = $2 AND state = 'available' RETURNING e164`
	var got string
	err := tx.GetContext(ctx, &got, q, e164, orgID, accountID)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("reserve number %s: %w", e164, mapErr(err))
	}
	const qwhy = `SELECT organization_id = $2 AS ours, state FROM numbers WHERE e164 = $1`
	var why struct {
		Ours  bool   `db:"ours"`
		State string `db:"state"`
	}
	switch err := tx.GetContext(ctx, &why, qwhy, e164, orgID); {
	case errors.Is(err, sql.ErrNoRows):
		return &RowFailure{Reason: fmt.Sprintf("multiline_number %s is not in this organization's pool", e164)}
	case err != nil:
		return fmt.Errorf("look up number %s: %w", e164, mapErr(err))
	case !why.Ours:
		return &RowFailure{Reason: fmt.Sprintf("multiline_number %s is allocated to another organization", e164)}
	default:
		return &RowFailure{Reason: fmt.Sprintf("multiline_number %s is %s, not Available", e164, why.State)}
	}
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

// RotateInvitationToken replaces a pending invitation's token before a retried send: the
// token of an earlier attempt only ever lived in that attempt's memory.
func (s *Store) RotateInvitationToken(ctx context.Context, invitationID string, inv NewInvitation) error {
	const q = `UPDATE invitations SET token_hash = $2, expires_at = $3 WHERE id = $1 AND state = 'pending'`
	res, err := s.db.ExecContext(ctx, q, invitationID, inv.TokenHash, inv.ExpiresAt)
	if err != nil {
		return fmt.Errorf("rotate invitation token: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrRowNotPending
	}
	return nil
}

// InvitationSent records a delivered invitation: the invitation is sent, the account
// invited and the row succeeded, in one statement.
func (s *Store) InvitationSent(ctx context.Context, batchID string, line int, invitationID string) error {
	const q = `WITH inv AS (
			UPDATE invitations SET state = 'sent', sent_at = now(), attempts = attempts + 1
			WHERE id = $3 AND state = 'pending' RETURNING account_id
		), acc AS (
			UPDATE accounts SET status = 'invited'
			WHERE id IN (SELECT account_id FROM inv) AND status = 'not_invited'
		)
		UPDATE batch_rows SET status = 'succeeded', invitation = 'sent', settled_at = now()
		WHERE batch_id = $1 AND line = $2 AND status = 'pending'`
	if _, err := s.db.ExecContext(ctx, q, batchID, line, invitationID); err != nil {
		return fmt.Errorf("record invitation sent: %w", mapErr(err))
	}
	return nil
}

// InvitationFailed records an invitation the mail server refused for good: the account
// exists, so the row succeeded, but its invitation failed with the server's reason.
func (s *Store) InvitationFailed(ctx context.Context, batchID string, line int, invitationID, reason string) error {
	const q = `WITH inv AS (
			UPDATE invitations SET state = 'failed', failure_reason = $4, attempts = attempts + 1
			WHERE id = $3 AND state = 'pending'
		)
		UPDATE batch_rows SET status = 'succeeded', invitation = 'failed',
			reason = 'account created; invitation not delivered: ' || $4, settled_at = now()
		WHERE batch_id = $1 AND line = $2 AND status = 'pending'`
	if _, err := s.db.ExecContext(ctx, q, batchID, line, invitationID, reason); err != nil {
		return fmt.Errorf("record invitation failed: %w", mapErr(err))
	}
	return nil
}

// StartBatch moves a queued batch to processing; later calls change nothing.
func (s *Store) StartBatch(ctx context.Context, batchID string) error {
	const q = `UPDATE batches SET status = 'processing', started_at = now() WHERE id = $1 AND status = 'queued'`
	if _, err := s.db.ExecContext(ctx, q, batchID); err != nil {
		return fmt.Errorf("start batch: %w", mapErr(err))
	}
	return nil
}

// BatchSettled reports whether every row of batch batchID has settled.
func (s *Store) BatchSettled(ctx context.Context, batchID string) (bool, error) {
	const q = `SELECT NOT EXISTS (SELECT 1 FROM batch_rows WHERE batch_id = $1 AND status = 'pending')`
	var done bool
	if err := s.db.GetContext(ctx, &done, q, batchID); err != nil {
		return false, fmt.Errorf("batch settled: %w", mapErr(err))
	}
	return done, nil
}
