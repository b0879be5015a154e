package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// An account's status as the API shows it. The database stores the account's lifecycle
// (not_invited, invited, active); the invitation states are read from its latest invitation
// when it is shown (see accountStatus), so nothing has to run for an invitation to count as
// expired, and a resend, which makes a new invitation, ends the state at once.
const (
	AccountNotInvited        = "not_invited"
	AccountInvited           = "invited"
	AccountActive            = "active"
	AccountInvitationFailed  = "invitation_failed"  // its latest invitation was refused or not sent; InvitationError says why
	AccountInvitationExpired = "invitation_expired" // its latest invitation was sent and its link has expired unused
)

// AccountStatuses are the statuses an account can have, in the order of its life.
var AccountStatuses = []string{AccountNotInvited, AccountInvited, AccountInvitationFailed, AccountInvitationExpired, AccountActive}

// accountStatus is the status of account a whose latest invitation is i: active wins; then a
// failed invitation, or a sent one whose link expired unused; otherwise the stored lifecycle.
const accountStatus = `CASE WHEN a.status = 'active' THEN 'active'
		WHEN i.state = 'failed' THEN 'invitation_failed'
		WHEN i.state = 'sent' AND i.expires_at <= now() THEN 'invitation_expired'
		ELSE a.status END`

// Account is a MultiLine user account.
type Account struct {
	ID                string  `db:"id" json:"id"`
	OrganizationID    string  `db:"organization_id" json:"organization_id"`
	PermissionGroupID *string `db:"permission_group_id" json:"permission_group_id"`
	Identifier        string  `db:"identifier" json:"identifier"`
	Firstname         string  `db:"firstname" json:"firstname"`
	Lastname          string  `db:"lastname" json:"lastname"`
	Language          string  `db:"language" json:"language"`
	Status            string  `db:"status" json:"status"`
	MultilineNumber   *string `db:"multiline_number" json:"multiline_number"`
	NumberState       *string `db:"number_state" json:"number_state"`
	Invitation        *string `db:"invitation" json:"invitation"`
	InvitationError   *string `db:"invitation_error" json:"invitation_error,omitempty"`
	// InvitationExpiresAt is when the link of its latest invitation stops working.
	InvitationExpiresAt *time.Time `db:"invitation_expires_at" json:"invitation_expires_at,omitempty"`
	BatchID             *string    `db:"batch_id" json:"batch_id"`
	CreatedAt           time.Time  `db:"created_at" json:"created_at"`
	ActivatedAt         *time.Time `db:"activated_at" json:"activated_at"`
}

const accountColumns = `a.id, a.organization_id, a.permission_group_id, a.identifier, a.firstname, a.lastname,
	a.language, ` + accountStatus + ` AS status, n.e164 AS multiline_number, n.state AS number_state,
	i.state AS invitation, NULLIF(i.failure_reason, '') AS invitation_error,
	CASE WHEN i.state IN ('pending', 'sent') THEN i.expires_at END AS invitation_expires_at,
	a.batch_id, a.created_at, a.activated_at`

// latestInvitation joins i, the latest invitation of account a, if any.
const latestInvitation = `LEFT JOIN LATERAL (SELECT state, failure_reason, expires_at FROM invitations
		WHERE account_id = a.id ORDER BY created_at DESC LIMIT 1) i ON true`

const accountJoins = `FROM accounts a
	LEFT JOIN numbers n ON n.account_id = a.id
	` + latestInvitation

// AccountCursor is where a page of accounts ends: the last account's creation time and id,
// the order Accounts lists them in.
type AccountCursor struct {
	CreatedAt time.Time
	ID        string
}

// AccountPage is one page of an organization's accounts.
type AccountPage struct {
	Accounts []Account
	Total    int            // the organization's accounts (with the statuses asked for), all pages together
	Next     *AccountCursor // where the next page starts; nil on the last page
}

// Accounts lists up to limit of organization orgID's accounts, oldest first, after the
// cursor when it is not nil, then skipping offset of them; with statuses, only accounts with
// one of them (AccountStatuses). Paging by cursor keeps its place while accounts are added or
// moved away; offset is kept for clients that used it.
func (s *Store) Accounts(ctx context.Context, orgID string, statuses []string, after *AccountCursor, limit, offset int) (AccountPage, error) {
	args := []any{orgID, pq.Array(statuses), limit + 1, offset}
	// $2 is NULL without statuses: every account.
	where := `WHERE a.organization_id = $1 AND ($2::text[] IS NULL OR ` + accountStatus + ` = ANY($2))`
	q := `SELECT ` + accountColumns + ` ` + accountJoins + ` ` + where
	if after != nil {
		q += ` AND (a.created_at, a.id) > ($5::timestamptz, $6::uuid)`
		args = append(args, after.CreatedAt, after.ID)
	}
	q += ` ORDER BY a.created_at, a.id LIMIT $3 OFFSET $4`
	page := AccountPage{Accounts: []Account{}}
	if err := s.db.SelectContext(ctx, &page.Accounts, q, args...); err != nil {
		return AccountPage{}, fmt.Errorf("list accounts: %w", mapErr(err))
	}
	countQ := `SELECT count(*) FROM accounts a WHERE a.organization_id = $1`
	countArgs := []any{orgID}
	if statuses != nil {
		countQ = `SELECT count(*) FROM accounts a ` + latestInvitation + ` ` + where
		countArgs = args[:2]
	}
	if err := s.db.GetContext(ctx, &page.Total, countQ, countArgs...); err != nil {
		return AccountPage{}, fmt.Errorf("count accounts: %w", mapErr(err))
	}
	if len(page.Accounts) > limit {
		page.Accounts = page.Accounts[:limit]
		last := page.Accounts[limit-1]
		page.Next = &AccountCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	return page, nil
}

// BatchAccounts returns the ids of the accounts batch batchID created that are in
// organization orgID still and have one of statuses (AccountStatuses), oldest first.
func (s *Store) BatchAccounts(ctx context.Context, batchID, orgID string, statuses []string) ([]string, error) {
	const q = `SELECT a.id FROM accounts a ` + latestInvitation + `
		WHERE a.batch_id = $1 AND a.organization_id = $2 AND ` + accountStatus + ` = ANY($3)
		ORDER BY a.batch_line`
	ids := []string{}
	if err := s.db.SelectContext(ctx, &ids, q, batchID, orgID, pq.Array(statuses)); err != nil {
		return nil, fmt.Errorf("batch accounts: %w", mapErr(err))
	}
	return ids, nil
}

// NumberAvailability says, for each of numbers, why it cannot be reserved in organization
// orgID right now; numbers Available there are absent from the map. A number of another
// organization's pool gets the same reason as a number in nobody's pool: to this
// organization both are numbers it does not have, and telling them apart would show an
// admin which numbers other organizations hold.
func (s *Store) NumberAvailability(ctx context.Context, orgID string, numbers []string) (map[string]string, error) {
	return numberAvailability(ctx, s.db, orgID, numbers)
}

func numberAvailability(ctx context.Context, db sqlx.QueryerContext, orgID string, numbers []string) (map[string]string, error) {
	const q = `SELECT u.e164, CASE
			WHEN n.e164 IS NULL OR n.organization_id <> $1 THEN 'is not in this organization''s pool'
			ELSE 'is ' || n.state || ', not Available' END AS why
		FROM unnest($2::text[]) AS u(e164)
		LEFT JOIN numbers n ON n.e164 = u.e164
		WHERE n.e164 IS NULL OR n.organization_id <> $1 OR n.state <> 'available'`
	var rows []struct {
		E164 string `db:"e164"`
		Why  string `db:"why"`
	}
	if err := sqlx.SelectContext(ctx, db, &rows, q, orgID, pq.Array(numbers)); err != nil {
		return nil, fmt.Errorf("number availability: %w", mapErr(err))
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.E164] = r.Why
	}
	return out, nil
}

// ExistingIdentifiers returns those of identifiers that already have an account.
func (s *Store) ExistingIdentifiers(ctx context.Context, identifiers []string) (map[string]bool, error) {
	const q = `SELECT identifier FROM accounts WHERE identifier = ANY($1::text[])`
	var found []string
	if err := s.db.SelectContext(ctx, &found, q, pq.Array(identifiers)); err != nil {
		return nil, fmt.Errorf("existing identifiers: %w", mapErr(err))
	}
	out := make(map[string]bool, len(found))
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}
