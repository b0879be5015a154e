package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/lib/pq"

	"github.com/multiline/onboarding/internal/sentence"
)

// Reason codes of a row's outcome: stable, snake_case, few enough for a metric label. The
// reason a person reads is built from the code and a detail by Outcome.Reason, and nowhere
// else.
const (
	CodeNone              = "none"                // succeeded; its invitation sent or not asked for
	CodeInvalid           = "invalid_value"       // refused by validation at upload
	CodeAccountExists     = "account_exists"      // no detail: see AccountExistsReason
	CodeNumberUnavailable = "number_unavailable"  // detail: "<number> <why>"
	CodeNoNumber          = "no_number"           // the pool was empty
	CodeRejected          = "rejected"            // PostgreSQL refused the row; detail: its message
	CodeCanceled          = "canceled"            // the batch was canceled before the row ran
	CodeGaveUp            = "gave_up"             // detail: "<n> attempts: <last error>"
	CodeInvitationFailed  = "invitation_failed"   // not delivered: the mail server refused it (detail: its reply) or its template rendered no usable email (detail: why)
	CodeInvitationNotSent = "invitation_not_sent" // the account is a device number and SMS is not configured; detail: why
	CodeDomainNotAllowed  = "domain_not_allowed"  // the address's domain is not one the organization allows; detail: DomainNotAllowed
	CodeEmailRequired     = "email_required"      // a device number in an organization with SMTP data offload
)

// SettledCodes lists, for each final status of a row, the reason codes it can have: the
// label values of the worker's settled-rows counter, which exist at zero from the start.
var SettledCodes = map[string][]string{
	RowSucceeded: {CodeNone, CodeInvitationFailed, CodeInvitationNotSent, CodeGaveUp}, // gave_up: its invitation
	RowFailed:    {CodeAccountExists, CodeNumberUnavailable, CodeNoNumber, CodeRejected, CodeGaveUp, CodeDomainNotAllowed, CodeEmailRequired},
	RowCanceled:  {CodeCanceled},
}

// AccountExistsReason is the reason of a row whose identifier has an account already, in the
// report and in the dry run. Identifiers are unique across every organization, so the row is
// refused wherever that account is and the admin must change it: that much they learn,
// unavoidably. The sentence is the same whether the account is in this organization or
// another, and says nothing of where it is.
const AccountExistsReason = "an account with this email address or device already exists, in this organization or another; " +
	"an address or device has one account only, so change it or remove the row"

// canceledReason is the reason of rows a cancel stopped before they got an account.
const canceledReason = "the batch was canceled before this row was processed"

const notByEmail = "invitations are sent by email and this account is identified by a phone number; invite it from the device"

// EmailRequiredReason is the reason of a device row in an organization that uses SMTP data
// offload, in the report and on resend: the same words as the upload's check (csvfile).
const EmailRequiredReason = "the email address or device is a phone number, but this organization uses SMTP data offload: give the user's email address"

// Outcome is how one batch row settles. Every way a row settles (created, failed, refused
// invitation, gave up, canceled) is an Outcome written by the one statement of settle.
type Outcome struct {
	BatchID      string
	Line         int
	Status       string // RowSucceeded, RowFailed or RowCanceled
	Code         string // one of the Code constants
	Detail       string // what Reason adds to the code's sentence
	AccountID    string // the account the row created, "" when none
	Number       string // the number it holds, "" when none
	InvitationID string // the invitation this outcome settles, "" when none
	Invitation   string // InvitationSent, InvitationNotSent or InvitationFailed
}

// Reason is the sentence a person reads in the report for this outcome: the code's sentence
// with the detail, starting with a capital however the detail was composed (see
// sentence.Capitalize). Every reason stored in batch_rows comes from here, that of a row
// refused at upload (CodeInvalid, the validation problems as the detail) included.
func (o Outcome) Reason() string { return sentence.Capitalize(o.reason()) }

func (o Outcome) reason() string {
	switch o.Code {
	case CodeNone:
		return ""
	case CodeAccountExists:
		return AccountExistsReason
	case CodeNumberUnavailable:
		return "the multiline_number " + o.Detail
	case CodeNoNumber:
		return "no number available in this organization"
	case CodeRejected:
		return "the database refused this row: " + o.Detail
	case CodeCanceled:
		return canceledReason
	case CodeGaveUp:
		if o.AccountID != "" {
			return "account created; invitation not delivered: gave up after " + o.Detail
		}
		return "gave up after " + o.Detail
	case CodeInvitationFailed:
		return "account created; invitation not delivered: " + o.Detail
	case CodeInvitationNotSent:
		if o.Detail != "" {
			return "account created; invitation not sent: " + o.Detail
		}
		return notByEmail
	case CodeEmailRequired:
		return EmailRequiredReason
	case CodeDomainNotAllowed:
		return o.Detail + "; " + DomainHint
	}
	return o.Detail
}

// Settle settles rows with their outcomes in one statement and returns the ids of batches
// that have no pending row left afterwards. A row that has settled already keeps its first
// outcome, so settling twice is harmless.
func (s *Store) Settle(ctx context.Context, outcomes []Outcome) ([]string, error) {
	st, err := s.prepared(ctx, qsettle)
	if err != nil {
		return nil, err
	}
	if _, err := st.ExecContext(ctx, settleArgs(outcomes)...); err != nil {
		return nil, fmt.Errorf("settle rows: %w", mapErr(err))
	}
	return s.SettledBatches(ctx, batchesOf(outcomes))
}

// qsettle writes outcomes: the row's status, reason and what it produced; its invitation's
// state (sent or failed, and the lease given up); the account invited once its email went
// out. Guards on state sit in the SETs, not in WHEREs: a WHERE on status would let the
// planner pick the partial index of pending rows, whose size statistics never see.
const qsettle = `WITH u AS (
		SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[],
			$7::text[], $8::text[], $9::text[])
			AS u(batch_id, line, status, code, reason, account_id, number, invitation_id, invitation)
	), inv AS (
		UPDATE invitations i SET
			state = CASE WHEN i.state <> 'pending' THEN i.state WHEN u.invitation = 'sent' THEN 'sent' ELSE 'failed' END,
			sent_at = CASE WHEN i.state = 'pending' AND u.invitation = 'sent' THEN now() ELSE i.sent_at END,
			failure_reason = CASE WHEN i.state = 'pending' AND u.invitation <> 'sent' THEN u.reason ELSE i.failure_reason END,
			attempts = i.attempts + 1, lease_holder = NULL, lease_until = NULL
		FROM u WHERE u.invitation_id <> '' AND i.id = u.invitation_id::uuid
		RETURNING i.account_id, i.state
	), acc AS (
		UPDATE accounts a SET status = 'invited'
		WHERE a.id = ANY (ARRAY(SELECT account_id FROM inv WHERE state = 'sent')) AND a.status = 'not_invited'
	)
	UPDATE batch_rows r SET
		status = CASE WHEN r.status = 'pending' THEN u.status ELSE r.status END,
		reason_code = CASE WHEN r.status = 'pending' THEN u.code ELSE r.reason_code END,
		reason = CASE WHEN r.status = 'pending' THEN u.reason ELSE r.reason END,
		settled_at = CASE WHEN r.status = 'pending' THEN now() ELSE r.settled_at END,
		account_id = CASE WHEN r.status = 'pending' THEN NULLIF(u.account_id, '')::uuid ELSE r.account_id END,
		number = CASE WHEN r.status = 'pending' THEN u.number ELSE r.number END,
		invitation_id = CASE WHEN r.status = 'pending' THEN NULLIF(u.invitation_id, '')::uuid ELSE r.invitation_id END,
		invitation = CASE WHEN r.status = 'pending' THEN u.invitation ELSE r.invitation END
	FROM u WHERE r.batch_id = u.batch_id AND r.line = u.line`

func settleArgs(outcomes []Outcome) []any {
	n := len(outcomes)
	batchIDs, statuses, codes, reasons := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	accounts, numbers, invitations, sent := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	lines := make([]int64, n)
	for i, o := range outcomes {
		batchIDs[i], lines[i], statuses[i], codes[i], reasons[i] = o.BatchID, int64(o.Line), o.Status, o.Code, o.Reason()
		accounts[i], numbers[i], invitations[i], sent[i] = o.AccountID, o.Number, o.InvitationID, o.Invitation
		if sent[i] == "" {
			sent[i] = InvitationNotSent
		}
	}
	return []any{pq.Array(batchIDs), pq.Array(lines), pq.Array(statuses), pq.Array(codes), pq.Array(reasons),
		pq.Array(accounts), pq.Array(numbers), pq.Array(invitations), pq.Array(sent)}
}

func batchesOf(outcomes []Outcome) []string {
	var ids []string
	for _, o := range outcomes {
		if !slices.Contains(ids, o.BatchID) {
			ids = append(ids, o.BatchID)
		}
	}
	return ids
}

// SettledBatches returns those of ids with no pending row that have not finished. It runs
// after the commit that settled rows: two flushes settling a batch's last rows at once each
// see the other's work once both have committed, so at least one of them finds the batch
// settled.
func (s *Store) SettledBatches(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	// batches.pending is kept by a trigger on batch_rows (migration 00003).
	const q = `SELECT id FROM batches WHERE id = ANY($1::uuid[]) AND pending = 0 AND finished_at IS NULL`
	st, err := s.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []string
	if err := st.SelectContext(ctx, &out, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("settled batches: %w", mapErr(err))
	}
	return out, nil
}
