package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Move asks MoveAccounts to move pending invitations to another organization.
type Move struct {
	AccountIDs        []string
	OrganizationID    string  // the destination
	PermissionGroupID *string // a group of the destination; nil: the destination's default
}

// Moved is one account MoveAccounts moved.
type Moved struct {
	AccountID          string `json:"account_id"`
	FromOrganizationID string `json:"from_organization_id"`
	ReleasedNumber     string `json:"released_number,omitempty"`
	Number             string `json:"multiline_number"`
	// The permission group the account has in the destination: the one the move named, or
	// the destination's default.
	PermissionGroupID   string `json:"permission_group_id"`
	PermissionGroupName string `json:"permission_group_name"`
}

// Why MoveAccounts refused a move; nothing changed. There is no "out of scope" reason: an
// account in an organization outside the caller's scope is MoveNotFound, like an id that no
// account has, so that a scoped admin cannot learn which ids are accounts elsewhere.
const (
	MoveNotFound      = "accounts_not_found"
	MoveNotPending    = "not_pending"
	MoveAlreadyThere  = "already_there"
	MoveTooFew        = "not_enough_numbers"
	MoveNoGroup       = "no_permission_group" // the move names no group and the destination has no default
	MoveDomain        = "domain_not_allowed"  // addresses outside the destination's allowed email domains
	MoveEmailRequired = "email_required"      // device numbers into a destination with SMTP data offload
)

// MoveError refuses a move and names the accounts at fault (none for MoveTooFew).
type MoveError struct {
	Code      string
	Accounts  []MoveProblem
	Needed    int // for MoveTooFew: numbers the accounts need
	Available int // for MoveTooFew: Available numbers in the destination
}

// NoAccountInScope is the reason of an account id a move did not find: no account has it,
// or its account is in an organization outside the caller's scope; the two read the same.
const NoAccountInScope = "no account has this id in the organizations you administer"

// MoveProblem is one account a move cannot take.
type MoveProblem struct {
	AccountID string `json:"account_id"`
	Reason    string `json:"reason"`
}

func (e *MoveError) Error() string { return "move refused: " + e.Code }

type moveAccount struct {
	ID             string  `db:"id"`
	OrganizationID string  `db:"organization_id"`
	Identifier     string  `db:"identifier"`
	IdentifierKind string  `db:"identifier_kind"`
	Status         string  `db:"status"`
	Live           bool    `db:"live"`
	Number         *string `db:"number"`
}

// MoveAccounts moves invited, not yet active accounts to another organization, all or nothing,
// in one transaction: it releases their numbers in the source organizations (back to
// Available), moves the accounts and reserves one Available number each in the destination.
// Only accounts of organizations in scope's scope are seen at all: any other account is
// refused as not found (the caller checks the destination and that m.PermissionGroupID is
// one of its groups). The accounts take m.PermissionGroupID, or the destination's default
// permission group; a destination with neither refuses the move (MoveNoGroup).
// The accounts' invitations stay valid: their links activate the accounts in their new
// organization. A refusal is a *MoveError and changes nothing.
func (s *Store) MoveAccounts(ctx context.Context, scope Admin, m Move) ([]Moved, error) {
	var moved []Moved
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// Accounts before numbers, as every other writer of both locks them.
		// Accounts outside the scope are left out here, not refused later: they are neither
		// read nor locked, so nothing about them (state, a lock held on them) shapes the answer.
		const qlock = `SELECT a.id, a.organization_id, a.identifier, a.identifier_kind, a.status, n.e164 AS number,
				EXISTS (SELECT 1 FROM invitations i WHERE i.account_id = a.id AND i.state IN ('pending', 'sent')) AS live
			FROM accounts a LEFT JOIN numbers n ON n.account_id = a.id
			WHERE a.id = ANY($1::uuid[]) AND ($2 OR a.organization_id = ANY($3::uuid[]))
			ORDER BY a.id FOR UPDATE OF a`
		var accs []moveAccount
		if err := tx.SelectContext(ctx, &accs, qlock, pq.Array(m.AccountIDs), scope.AllOrganizations,
			pq.Array(scope.OrganizationIDs)); err != nil {
			return fmt.Errorf("lock accounts: %w", mapErr(err))
		}
		dest, err := destinationOf(ctx, tx, m)
		if err != nil {
			return err
		}
		if err := checkMovable(m, dest, accs); err != nil {
			return err
		}
		group := dest.group
		if group.ID == "" {
			return &MoveError{Code: MoveNoGroup}
		}
		ids := make([]string, len(accs))
		for i, a := range accs {
			ids[i] = a.ID
		}
		// Plain FOR UPDATE, not SKIP LOCKED: a number another transaction holds for a
		// moment must count if it stays Available, or the answer could be a false refusal.
		const qfree = `SELECT e164 FROM numbers WHERE organization_id = $1 AND state = 'available'
			ORDER BY e164 LIMIT $2 FOR UPDATE`
		var free []string
		if err := tx.SelectContext(ctx, &free, qfree, m.OrganizationID, len(ids)); err != nil {
			return fmt.Errorf("lock destination numbers: %w", mapErr(err))
		}
		if len(free) < len(ids) {
			return &MoveError{Code: MoveTooFew, Needed: len(ids), Available: len(free)}
		}
		// Release, then move, then reserve: the numbers' composite foreign key to their
		// account's organization holds after every statement.
		const qrelease = `UPDATE numbers SET state = 'available', account_id = NULL, updated_at = now()
			WHERE account_id = ANY($1::uuid[])`
		if _, err := tx.ExecContext(ctx, qrelease, pq.Array(ids)); err != nil {
			return fmt.Errorf("release numbers: %w", mapErr(err))
		}
		const qmove = `UPDATE accounts SET organization_id = $2, permission_group_id = $3
			WHERE id = ANY($1::uuid[])`
		if _, err := tx.ExecContext(ctx, qmove, pq.Array(ids), m.OrganizationID, group.ID); err != nil {
			return fmt.Errorf("move accounts: %w", mapErr(err))
		}
		const qreserve = `UPDATE numbers n SET state = 'reserved', account_id = u.account_id, updated_at = now()
			FROM unnest($1::text[], $2::uuid[]) AS u(e164, account_id)
			WHERE n.e164 = u.e164 AND n.state = 'available'`
		res, err := tx.ExecContext(ctx, qreserve, pq.Array(free[:len(ids)]), pq.Array(ids))
		if err != nil {
			return fmt.Errorf("reserve numbers: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); int(n) != len(ids) {
			return fmt.Errorf("reserve numbers: reserved %d of %d locked numbers", n, len(ids))
		}
		for i, a := range accs {
			mv := Moved{AccountID: a.ID, FromOrganizationID: a.OrganizationID, Number: free[i],
				PermissionGroupID: group.ID, PermissionGroupName: group.Name}
			if a.Number != nil {
				mv.ReleasedNumber = *a.Number
			}
			moved = append(moved, mv)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return moved, nil
}

// destination is what a move needs of the destination organization.
type destination struct {
	domains pq.StringArray
	offload bool // SMTP data offload: email identifiers only
	// group is the permission group the moved accounts take: the move's, or the
	// destination's default; zero when there is neither.
	group PermissionGroup
}

// destinationOf reads the destination of m under a share lock, so that a change of its
// settings waits for the move.
func destinationOf(ctx context.Context, tx *sqlx.Tx, m Move) (destination, error) {
	const q = `SELECT o.allowed_email_domains AS domains, o.smtp_data_offload AS offload, coalesce(g.id::text, '') AS "group.id",
			coalesce(g.organization_id::text, '') AS "group.organization_id", coalesce(g.name, '') AS "group.name",
			coalesce(g.created_at, o.created_at) AS "group.created_at"
		FROM organizations o LEFT JOIN permission_groups g
			ON g.organization_id = o.id AND g.id = COALESCE($2::uuid, o.default_permission_group_id)
		WHERE o.id = $1 FOR SHARE OF o`
	var row struct {
		Domains pq.StringArray  `db:"domains"`
		Offload bool            `db:"offload"`
		Group   PermissionGroup `db:"group"`
	}
	if err := tx.GetContext(ctx, &row, q, m.OrganizationID, m.PermissionGroupID); err != nil {
		return destination{}, fmt.Errorf("destination: %w", mapErr(err))
	}
	return destination{domains: row.Domains, offload: row.Offload, group: row.Group}, nil
}

// checkMovable refuses a move when an account is missing (or outside the scope: accs holds
// only accounts in scope), already in the destination, not a pending invitation, or has an
// address outside the destination's allowed email domains.
func checkMovable(m Move, dest destination, accs []moveAccount) error {
	found := make(map[string]moveAccount, len(accs))
	for _, a := range accs {
		found[a.ID] = a
	}
	checks := []struct {
		code string
		bad  func(a moveAccount, ok bool) string
	}{
		{MoveNotFound, func(a moveAccount, ok bool) string {
			if !ok {
				return NoAccountInScope
			}
			return ""
		}},
		{MoveAlreadyThere, func(a moveAccount, ok bool) string {
			if a.OrganizationID == m.OrganizationID {
				return "the account is in the destination organization already"
			}
			return ""
		}},
		{MoveNotPending, func(a moveAccount, ok bool) string {
			switch {
			case a.Status == "active":
				return "the account is active; only pending invitations can be moved"
			case a.Status != "invited" && !a.Live:
				return "the account has not been invited; only pending invitations can be moved"
			}
			return ""
		}},
		{MoveDomain, func(a moveAccount, ok bool) string {
			if !DomainAllowed(dest.domains, a.Identifier, a.IdentifierKind) {
				return DomainNotAllowed(a.Identifier, dest.domains, "the destination")
			}
			return ""
		}},
		{MoveEmailRequired, func(a moveAccount, ok bool) string {
			if dest.offload && a.IdentifierKind != "email" {
				return "the account is identified by a phone number, and the destination uses SMTP data offload: it takes email addresses only"
			}
			return ""
		}},
	}
	for _, c := range checks {
		var problems []MoveProblem
		for _, id := range m.AccountIDs {
			a, ok := found[id]
			if !ok && c.code != MoveNotFound {
				continue
			}
			if why := c.bad(a, ok); why != "" {
				problems = append(problems, MoveProblem{AccountID: id, Reason: why})
			}
		}
		if len(problems) > 0 {
			return &MoveError{Code: c.code, Accounts: problems}
		}
	}
	return nil
}
