package store

import (
	"context"
	"fmt"
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
		UPDATE batch_rows SET status = 'succeeded', invitation = 'failed',
			reason = 'account created; invitation not delivered: ' || $4, settled_at = now()
		WHERE batch_id = $1 AND line = $2 AND status = 'pending'`
	if _, err := s.db.ExecContext(ctx, q, batchID, line, invitationID, reason); err != nil {
		return fmt.Errorf("record invitation failed: %w", mapErr(err))
	}
	return nil
}
