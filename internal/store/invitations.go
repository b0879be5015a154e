package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// What ResendInvitations did for one account.
const (
	ResendQueued  = "queued"   // a new invitation replaces the old one; its email goes out next
	ResendNotSent = "not_sent" // nothing changed for this account; Code and Reason say why
)

// Why ResendInvitations left an account alone.
const (
	ResendNotFound   = "not_found"          // no such account in this organization
	ResendActive     = "active_already"     // the account is active: nothing to invite to
	ResendPhone      = "phone_account"      // the account is a device number and the organization uses SMTP data offload
	ResendNoNumber   = "no_number"          // the account holds no number and the pool is empty
	ResendInProgress = "in_progress"        // an invitation to it is being sent right now
	ResendCooldown   = "cooldown"           // it was invited less than ResendCooldownPeriod ago
	ResendDomain     = "domain_not_allowed" // its address is outside the organization's allowed email domains
)

// ResendCooldownPeriod is how long after an account's last invitation was created a resend
// leaves it alone, so that pressing Resend again and again does not fill one person's inbox.
// Invitations whose email failed do not count: nobody received them.
const ResendCooldownPeriod = time.Minute

// sendingGrace is how long a pending invitation counts as being sent (its task retrying with
// backoff) before a resend may replace it.
const sendingGrace = 10 * time.Minute

// ResendResult is what ResendInvitations did for one account.
type ResendResult struct {
	AccountID    string `json:"account_id"`
	Status       string `json:"status"`
	Code         string `json:"code,omitempty"`
	Reason       string `json:"reason,omitempty"`
	Number       string `json:"multiline_number,omitempty"`
	InvitationID string `json:"invitation_id,omitempty"`
	// ResendAfter is, for Code ResendCooldown, when the account can be resent.
	ResendAfter *time.Time `json:"resend_after,omitempty"`
}

type resendAccount struct {
	ID             string  `db:"id"`
	Status         string  `db:"status"`
	Identifier     string  `db:"identifier"`
	IdentifierKind string  `db:"identifier_kind"`
	Number         *string `db:"number"`
	LiveState      *string `db:"live_state"`
	Sending        bool    `db:"sending"`
}

// ResendInvitations prepares a new invitation for each of accountIDs in organization orgID, in
// one transaction: the account must not be active, must not have been invited within
// ResendCooldownPeriod and must hold a number (one is reserved from the pool when it has
// none); its live invitation is revoked, so the old link stops working at once, and a new
// pending one is created. An account whose address is outside the organization's allowed
// email domains is left alone (ResendDomain). The new invitation's token hash is a placeholder, the digest of a
// random uuid nobody ever sees: the worker that sends the email sets the real one, as the
// token only ever travels in the email. Results come in the order of accountIDs.
func (s *Store) ResendInvitations(ctx context.Context, orgID string, accountIDs []string) ([]ResendResult, error) {
	results := make([]ResendResult, len(accountIDs))
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for i, id := range accountIDs {
			results[i] = ResendResult{AccountID: id, Status: ResendNotSent, Code: ResendNotFound,
				Reason: "no account with this id in this organization"}
		}
		// Invitations before accounts: Settle (qsettle) locks in that order too.
		const qlockInv = `SELECT i.id FROM invitations i JOIN accounts a ON a.id = i.account_id
			WHERE a.id = ANY($1::uuid[]) AND a.organization_id = $2 AND i.state IN ('pending', 'sent')
			ORDER BY i.id FOR UPDATE OF i`
		var locked []string
		if err := tx.SelectContext(ctx, &locked, qlockInv, pq.Array(accountIDs), orgID); err != nil {
			return fmt.Errorf("lock invitations: %w", mapErr(err))
		}
		const qacc = `SELECT a.id, a.status, a.identifier, a.identifier_kind, n.e164 AS number,
				i.state AS live_state,
				COALESCE(i.state = 'pending' AND i.created_at > now() - $3 * interval '1 second', false) AS sending
			FROM accounts a
			LEFT JOIN numbers n ON n.account_id = a.id
			LEFT JOIN invitations i ON i.account_id = a.id AND i.state IN ('pending', 'sent')
			WHERE a.id = ANY($1::uuid[]) AND a.organization_id = $2
			ORDER BY a.id FOR UPDATE OF a`
		var accs []resendAccount
		if err := tx.SelectContext(ctx, &accs, qacc, pq.Array(accountIDs), orgID, sendingGrace.Seconds()); err != nil {
			return fmt.Errorf("lock accounts: %w", mapErr(err))
		}
		recent, err := recentInvitations(ctx, tx, accountIDs)
		if err != nil {
			return err
		}
		var org struct {
			Allowed pq.StringArray `db:"allowed_email_domains"`
			Offload bool           `db:"smtp_data_offload"`
		}
		if err := tx.GetContext(ctx, &org, `SELECT allowed_email_domains, smtp_data_offload FROM organizations WHERE id = $1`, orgID); err != nil {
			return fmt.Errorf("allowed domains: %w", mapErr(err))
		}
		allowed := org.Allowed
		var eligible, needNumber []string
		number := map[string]string{}
		verdict := map[string]ResendResult{}
		for _, a := range accs {
			cool, cooling := recent[a.ID]
			switch {
			case a.Status == "active":
				verdict[a.ID] = ResendResult{Code: ResendActive, Reason: "the account is active already; there is nothing to invite to"}
			case a.IdentifierKind != "email" && org.Offload:
				verdict[a.ID] = ResendResult{Code: ResendPhone, Reason: "not sent: " + EmailRequiredReason}
			case !DomainAllowed(allowed, a.Identifier, a.IdentifierKind):
				verdict[a.ID] = ResendResult{Code: ResendDomain,
					Reason: "not sent: " + DomainNotAllowed(a.Identifier, allowed, "this organization") + "; " + DomainHint}
			case a.Sending:
				verdict[a.ID] = ResendResult{Code: ResendInProgress,
					Reason: "an invitation to this account is being sent right now; look at its invitation state in a few minutes and resend if it failed"}
			case cooling:
				verdict[a.ID] = cool
			case a.Number == nil:
				needNumber = append(needNumber, a.ID)
			default:
				number[a.ID] = *a.Number
				eligible = append(eligible, a.ID)
			}
		}
		if len(needNumber) > 0 {
			got, err := reserveFree(ctx, tx, orgID, needNumber)
			if err != nil {
				return err
			}
			for _, id := range needNumber {
				if n, ok := got[id]; ok {
					number[id] = n
					eligible = append(eligible, id)
				} else {
					verdict[id] = ResendResult{Code: ResendNoNumber,
						Reason: "not sent: no number available in this organization; add numbers to its pool and resend"}
				}
			}
		}
		invitationOf := map[string]string{}
		if len(eligible) > 0 {
			const qrevoke = `UPDATE invitations SET state = 'revoked'
				WHERE account_id = ANY($1::uuid[]) AND state IN ('pending', 'sent')`
			if _, err := tx.ExecContext(ctx, qrevoke, pq.Array(eligible)); err != nil {
				return fmt.Errorf("revoke invitations: %w", mapErr(err))
			}
			const qinsert = `INSERT INTO invitations (account_id, token_hash, expires_at)
				SELECT a, sha256(convert_to(gen_random_uuid()::text, 'UTF8')), now() + interval '7 days'
				FROM unnest($1::uuid[]) AS a
				RETURNING id, account_id`
			var invs []struct {
				ID        string `db:"id"`
				AccountID string `db:"account_id"`
			}
			if err := tx.SelectContext(ctx, &invs, qinsert, pq.Array(eligible)); err != nil {
				return fmt.Errorf("insert invitations: %w", mapErr(err))
			}
			for _, inv := range invs {
				invitationOf[inv.AccountID] = inv.ID
			}
		}
		for i, id := range accountIDs {
			if inv, ok := invitationOf[id]; ok {
				results[i] = ResendResult{AccountID: id, Status: ResendQueued, Number: number[id], InvitationID: inv}
			} else if v, ok := verdict[id]; ok {
				v.AccountID, v.Status = id, ResendNotSent
				results[i] = v
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// recentInvitations returns a cooldown verdict for each of accountIDs whose last invitation
// (failed ones aside) was created within ResendCooldownPeriod. It must run after the
// accounts are locked, as a statement of its own: under READ COMMITTED it then sees the
// invitations of a concurrent resend of the same accounts that committed while this one
// waited for their locks, which the rows joined before that wait do not show.
func recentInvitations(ctx context.Context, tx selecter, accountIDs []string) (map[string]ResendResult, error) {
	const q = `SELECT account_id, max(created_at) + $2 * interval '1 second' AS resend_after,
			statement_timestamp() AS now
		FROM invitations
		WHERE account_id = ANY($1::uuid[]) AND state <> 'failed'
		GROUP BY account_id
		HAVING max(created_at) > statement_timestamp() - $2 * interval '1 second'`
	var rows []struct {
		AccountID   string    `db:"account_id"`
		ResendAfter time.Time `db:"resend_after"`
		Now         time.Time `db:"now"`
	}
	if err := tx.SelectContext(ctx, &rows, q, pq.Array(accountIDs), ResendCooldownPeriod.Seconds()); err != nil {
		return nil, fmt.Errorf("recent invitations: %w", mapErr(err))
	}
	out := make(map[string]ResendResult, len(rows))
	for _, r := range rows {
		// Whole seconds, rounded up: resending at the time shown is never refused.
		after := r.ResendAfter.Truncate(time.Second)
		if after.Before(r.ResendAfter) {
			after = after.Add(time.Second)
		}
		after = after.UTC()
		out[r.AccountID] = ResendResult{Code: ResendCooldown, ResendAfter: &after,
			Reason: fmt.Sprintf("not sent: this account was invited less than %d seconds ago; resend it from %s (in %d s)",
				int(ResendCooldownPeriod.Seconds()), after.Format(time.RFC3339), int(math.Ceil(r.ResendAfter.Sub(r.Now).Seconds())))}
	}
	return out, nil
}

// reserveFree reserves one Available number of organization orgID for each of accounts while
// the pool lasts, and returns account -> number. SKIP LOCKED: concurrent reservations take
// different numbers instead of queueing on the same ones; the partial index of Available
// numbers keeps the pick short however drained the pool is.
func reserveFree(ctx context.Context, tx selecter, orgID string, accounts []string) (map[string]string, error) {
	const q = `WITH picked AS (
			SELECT e164, row_number() OVER (ORDER BY e164) AS k FROM (
				SELECT e164 FROM numbers WHERE organization_id = $1 AND state = 'available'
				ORDER BY e164 LIMIT $2 FOR UPDATE SKIP LOCKED) free
		)
		UPDATE numbers n SET state = 'reserved', account_id = ($3::uuid[])[picked.k], updated_at = now()
		FROM picked
		WHERE n.e164 = picked.e164
		RETURNING n.e164, n.account_id`
	var got []struct {
		E164      string `db:"e164"`
		AccountID string `db:"account_id"`
	}
	if err := tx.SelectContext(ctx, &got, q, orgID, len(accounts), pq.Array(accounts)); err != nil {
		return nil, fmt.Errorf("reserve numbers: %w", mapErr(err))
	}
	out := make(map[string]string, len(got))
	for _, g := range got {
		out[g.AccountID] = g.E164
	}
	return out, nil
}

// InvitationSend is what the email of one pending invitation needs.
type InvitationSend struct {
	InvitationID     string    `db:"invitation_id"`
	AccountID        string    `db:"account_id"`
	Identifier       string    `db:"identifier"`
	IdentifierKind   string    `db:"identifier_kind"`
	Firstname        string    `db:"firstname"`
	Lastname         string    `db:"lastname"`
	Language         string    `db:"language"`
	OrganizationID   string    `db:"organization_id"`
	OrganizationName string    `db:"organization_name"`
	Number           string    `db:"number"`
	ExpiresAt        time.Time `db:"expires_at"`
}

// PrepareInvitationSend gives pending invitation id the token hash and expiry of the email
// about to be sent, and returns what that email needs. ErrNotFound means the invitation is no
// longer pending (sent, failed, revoked, used) or gone: there is nothing to send.
func (s *Store) PrepareInvitationSend(ctx context.Context, id string, hash []byte, expires time.Time) (InvitationSend, error) {
	const q = `WITH inv AS (
			UPDATE invitations SET token_hash = $2, expires_at = $3
			WHERE id = $1 AND state = 'pending'
			RETURNING id, account_id, expires_at
		)
		SELECT inv.id AS invitation_id, inv.expires_at, a.id AS account_id, a.identifier, a.identifier_kind,
			a.firstname, a.lastname, a.language, a.organization_id, o.name AS organization_name,
			COALESCE(n.e164, '') AS number
		FROM inv
		JOIN accounts a ON a.id = inv.account_id
		JOIN organizations o ON o.id = a.organization_id
		LEFT JOIN numbers n ON n.account_id = a.id`
	var out InvitationSend
	if err := s.db.GetContext(ctx, &out, q, id, hash, expires); err != nil {
		return InvitationSend{}, fmt.Errorf("prepare invitation: %w", mapErr(err))
	}
	return out, nil
}

// RecordInvitationSend records the outcome of a pending invitation's email: sent (and its
// account invited) or failed with the mail server's reason. It reports false when the
// invitation was no longer pending, i.e. the outcome had been recorded already.
func (s *Store) RecordInvitationSend(ctx context.Context, id string, sent bool, reason string) (bool, error) {
	const q = `WITH inv AS (
			UPDATE invitations SET state = CASE WHEN $2 THEN 'sent' ELSE 'failed' END,
				sent_at = CASE WHEN $2 THEN now() END, failure_reason = $3, attempts = attempts + 1
			WHERE id = $1 AND state = 'pending'
			RETURNING account_id
		), acc AS (
			UPDATE accounts a SET status = 'invited' FROM inv
			WHERE $2 AND a.id = inv.account_id AND a.status = 'not_invited'
		)
		SELECT count(*) FROM inv`
	var n int
	if err := s.db.GetContext(ctx, &n, q, id, sent, reason); err != nil {
		return false, fmt.Errorf("record invitation: %w", mapErr(err))
	}
	return n == 1, nil
}

// StalePendingInvitations lists invitations created more than olderThan ago that still wait
// for their email and that no pending batch row will send (row tasks send those): their task
// was lost, say when Redis lost its data.
func (s *Store) StalePendingInvitations(ctx context.Context, olderThan time.Duration, limit int) ([]string, error) {
	const q = `SELECT i.id FROM invitations i
		WHERE i.state = 'pending' AND i.created_at < now() - $1 * interval '1 microsecond'
			AND NOT EXISTS (SELECT 1 FROM accounts a JOIN batch_rows r ON r.batch_id = a.batch_id AND r.line = a.batch_line
				WHERE a.id = i.account_id AND r.status = 'pending')
		ORDER BY i.created_at LIMIT $2`
	var ids []string
	if err := s.db.SelectContext(ctx, &ids, q, olderThan.Microseconds(), limit); err != nil {
		return nil, fmt.Errorf("stale invitations: %w", mapErr(err))
	}
	return ids, nil
}
