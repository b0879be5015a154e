package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// shortListSize is how many Available numbers an invited person may choose from.
const shortListSize = 5

// ActivationAccount is the part of an account its invited user sees.
type ActivationAccount struct {
	ID               string `db:"id" json:"id"`
	Identifier       string `db:"identifier" json:"identifier"`
	Firstname        string `db:"firstname" json:"firstname"`
	Lastname         string `db:"lastname" json:"lastname"`
	Language         string `db:"language" json:"language"`
	Status           string `db:"status" json:"status"`
	OrganizationID   string `db:"organization_id" json:"organization_id"`
	OrganizationName string `db:"organization_name" json:"organization_name"`
}

// Activation is an invitation as its activation link sees it.
type Activation struct {
	InvitationID string            `db:"invitation_id" json:"-"`
	TokenHash    []byte            `db:"token_hash" json:"-"`
	State        string            `db:"state" json:"-"`
	ExpiresAt    time.Time         `db:"expires_at" json:"expires_at"`
	UsedAt       *time.Time        `db:"used_at" json:"-"`
	Expired      bool              `db:"expired" json:"-"`
	Account      ActivationAccount `db:"account" json:"account"`
	Number       *string           `db:"number" json:"number"`
	Numbers      []string          `db:"-" json:"numbers"`
}

// Why an activation link no longer works.
const (
	GoneExpired   = "expired"
	GoneUsed      = "used"
	GoneReplaced  = "replaced"
	GoneFailed    = "failed"
	GoneWithdrawn = "withdrawn" // the account was removed when its batch was undone
)

// InvitationGoneError refuses an activation link that worked once but no longer does.
type InvitationGoneError struct {
	Why      string    // GoneExpired, GoneUsed, GoneReplaced or GoneFailed
	At       time.Time // when it expired or was used; zero otherwise
	Language string    // the account's, to say it in
}

func (e *InvitationGoneError) Error() string { return "invitation " + e.Why }

// ErrNumberNotOffered refuses a number an invited person picked that is not on the short list
// offered to them now. It gives no reason on purpose: whether the number is reserved,
// assigned, in another organization or unknown is not theirs to learn.
var ErrNumberNotOffered = errors.New("number is not on the short list offered for this account")

// ErrNoNumberToKeep means the person asked to keep their number but none is reserved for them.
var ErrNoNumberToKeep = errors.New("no number is reserved for this account")

const activationQuery = `SELECT i.id AS invitation_id, i.token_hash, i.state, i.expires_at, i.used_at,
		i.expires_at <= now() AS expired,
		a.id AS "account.id", a.identifier AS "account.identifier", a.firstname AS "account.firstname",
		a.lastname AS "account.lastname", a.language AS "account.language", a.status AS "account.status",
		a.organization_id AS "account.organization_id", o.name AS "account.organization_name",
		n.e164 AS number
	FROM invitations i
	JOIN accounts a ON a.id = i.account_id
	JOIN organizations o ON o.id = a.organization_id
	LEFT JOIN numbers n ON n.account_id = a.id
	WHERE i.token_hash = $1`

// Activation finds the invitation whose token hashes to hash, with its account, its number and
// a short list of the organization's Available numbers. ErrNotFound: no such token;
// *InvitationGoneError: the link no longer works.
func (s *Store) Activation(ctx context.Context, hash []byte) (Activation, error) {
	var a Activation
	if err := s.db.GetContext(ctx, &a, activationQuery, hash); err != nil {
		return Activation{}, withdrawn(ctx, s.db, hash, fmt.Errorf("get activation: %w", mapErr(err)))
	}
	if err := a.usable(hash); err != nil {
		return Activation{}, err
	}
	numbers, err := s.AvailableNumbers(ctx, a.Account.OrganizationID, shortListSize)
	if err != nil {
		return Activation{}, err
	}
	a.Numbers = numbers
	return a, nil
}

// withdrawn returns, for a token whose invitation was not found (err), an
// *InvitationGoneError when its link was withdrawn by an undo (see UndoBatch), and err
// otherwise.
func withdrawn(ctx context.Context, db sqlx.QueryerContext, hash []byte, err error) error {
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	var lang string
	const q = `SELECT language FROM withdrawn_links WHERE token_hash = $1`
	switch qerr := sqlx.GetContext(ctx, db, &lang, q, hash); {
	case errors.Is(qerr, sql.ErrNoRows):
		return err
	case qerr != nil:
		return fmt.Errorf("withdrawn links: %w", qerr)
	}
	return &InvitationGoneError{Why: GoneWithdrawn, Language: lang}
}

// usable says whether the link still activates. The row was found by hash, so the comparison
// of digests below can only fail if the lookup ever matched loosely; it runs in constant time
// all the same, so that nothing about a token leaks through timing.
func (a Activation) usable(hash []byte) error {
	if subtle.ConstantTimeCompare(a.TokenHash, hash) != 1 {
		return ErrNotFound
	}
	switch {
	case a.State == "used" || a.Account.Status == "active":
		at := time.Time{}
		if a.UsedAt != nil {
			at = *a.UsedAt
		}
		return &InvitationGoneError{Why: GoneUsed, At: at, Language: a.Account.Language}
	case a.State == "revoked":
		return &InvitationGoneError{Why: GoneReplaced, Language: a.Account.Language}
	case a.State == "failed":
		return &InvitationGoneError{Why: GoneFailed, Language: a.Account.Language}
	case a.Expired:
		return &InvitationGoneError{Why: GoneExpired, At: a.ExpiresAt, Language: a.Account.Language}
	}
	return nil
}

// Activate activates the account invited with the token that hashes to hash, in one
// transaction: with number "" (or the reserved one) it keeps the reserved number, otherwise it
// releases that (back to Available) and takes number, which must be on the short list that
// Activation offers: among the first shortListSize Available numbers of the account's
// organization, in the order shown. The number becomes Assigned, the account active and the
// invitation used. Errors: ErrNotFound, *InvitationGoneError, ErrNumberNotOffered,
// ErrNoNumberToKeep.
func (s *Store) Activate(ctx context.Context, hash []byte, number string) (Activation, error) {
	var a Activation
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &a, activationQuery+` FOR UPDATE OF i, a`, hash); err != nil {
			return withdrawn(ctx, tx, hash, fmt.Errorf("lock invitation: %w", mapErr(err)))
		}
		if err := a.usable(hash); err != nil {
			return err
		}
		current := ""
		if a.Number != nil {
			current = *a.Number
		}
		switch {
		case (number == "" || number == current) && current == "":
			return ErrNoNumberToKeep
		case number == "" || number == current:
			number = current
			const q = `UPDATE numbers SET state = 'assigned', updated_at = now() WHERE e164 = $1 AND account_id = $2`
			if _, err := tx.ExecContext(ctx, q, number, a.Account.ID); err != nil {
				return fmt.Errorf("assign number: %w", mapErr(err))
			}
		default:
			// Checked before the reserved number is released, which would put it on the list.
			var offered bool
			const qo = `SELECT EXISTS (SELECT 1 FROM (` + shortListQuery + `) l WHERE l.e164 = $3)`
			if err := tx.GetContext(ctx, &offered, qo, a.Account.OrganizationID, shortListSize, number); err != nil {
				return fmt.Errorf("check short list: %w", mapErr(err))
			}
			if !offered {
				return ErrNumberNotOffered
			}
			if current != "" {
				// Released first: an account holds one number at a time.
				const q = `UPDATE numbers SET state = 'available', account_id = NULL, updated_at = now()
					WHERE e164 = $1 AND account_id = $2`
				if _, err := tx.ExecContext(ctx, q, current, a.Account.ID); err != nil {
					return fmt.Errorf("release number: %w", mapErr(err))
				}
			}
			const q = `UPDATE numbers SET state = 'assigned', account_id = $2, updated_at = now()
				WHERE e164 = $1 AND organization_id = $3 AND state = 'available'`
			res, err := tx.ExecContext(ctx, q, number, a.Account.ID, a.Account.OrganizationID)
			if err != nil {
				return fmt.Errorf("assign number: %w", mapErr(err))
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrNumberNotOffered // taken by someone else since the check
			}
		}
		const qa = `UPDATE accounts SET status = 'active', activated_at = now() WHERE id = $1`
		if _, err := tx.ExecContext(ctx, qa, a.Account.ID); err != nil {
			return fmt.Errorf("activate account: %w", mapErr(err))
		}
		// A pending invitation whose link works was sent; only recording that had not
		// happened yet.
		const qi = `UPDATE invitations SET state = 'used', used_at = now(), sent_at = COALESCE(sent_at, now())
			WHERE id = $1`
		if _, err := tx.ExecContext(ctx, qi, a.InvitationID); err != nil {
			return fmt.Errorf("use invitation: %w", mapErr(err))
		}
		a.Account.Status = "active"
		a.Number = &number
		a.Numbers = []string{}
		return nil
	})
	if err != nil {
		return Activation{}, err
	}
	return a, nil
}

// shortListQuery lists up to $2 Available numbers of organization $1, in the order an invited
// person sees them; Activate checks a pick against the same query.
const shortListQuery = `SELECT e164 FROM numbers WHERE organization_id = $1 AND state = 'available'
		ORDER BY e164 LIMIT $2`

// AvailableNumbers lists up to limit Available numbers of organization orgID.
func (s *Store) AvailableNumbers(ctx context.Context, orgID string, limit int) ([]string, error) {
	out := []string{}
	if err := s.db.SelectContext(ctx, &out, shortListQuery, orgID, limit); err != nil {
		return nil, fmt.Errorf("list available numbers: %w", mapErr(err))
	}
	return out, nil
}
