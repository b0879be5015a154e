package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// NumbersOwnedError refuses numbers that another organization already owns.
type NumbersOwnedError struct {
	Numbers []string
}

func (e *NumbersOwnedError) Error() string {
	return "numbers owned by another organization: " + strings.Join(e.Numbers, ", ")
}

// AddedNumbers says what AddNumbers did with each number.
type AddedNumbers struct {
	Added         []string `json:"added"`
	AlreadyInPool []string `json:"already_in_pool"`
}

// AddNumbers adds E.164 numbers to organization orgID's pool as Available, all or nothing:
// if any is owned by another organization nothing is added and *NumbersOwnedError names them.
// Numbers already in this pool are reported, not touched.
func (s *Store) AddNumbers(ctx context.Context, orgID string, numbers []string) (AddedNumbers, error) {
	res := AddedNumbers{Added: []string{}, AlreadyInPool: []string{}}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// Insert first, then look: a concurrent insert by another organization has either
		// committed (we see it now) or made our insert wait for it.
		const qi = `INSERT INTO numbers (e164, organization_id)
			SELECT unnest($2::text[]), $1
			ON CONFLICT (e164) DO NOTHING RETURNING e164`
		if err := tx.SelectContext(ctx, &res.Added, qi, orgID, pq.Array(numbers)); err != nil {
			return fmt.Errorf("insert numbers: %w", mapErr(err))
		}
		const qo = `SELECT e164 FROM numbers WHERE e164 = ANY($2::text[]) AND organization_id <> $1 ORDER BY e164`
		var owned []string
		if err := tx.SelectContext(ctx, &owned, qo, orgID, pq.Array(numbers)); err != nil {
			return fmt.Errorf("check number owners: %w", mapErr(err))
		}
		if len(owned) > 0 {
			return &NumbersOwnedError{Numbers: owned}
		}
		return nil
	})
	if err != nil {
		return AddedNumbers{}, err
	}
	added := make(map[string]bool, len(res.Added))
	for _, n := range res.Added {
		added[n] = true
	}
	for _, n := range numbers {
		if !added[n] {
			res.AlreadyInPool = append(res.AlreadyInPool, n)
		}
	}
	return res, nil
}

// Number is one number of a pool.
type Number struct {
	E164           string  `db:"e164" json:"number"`
	OrganizationID string  `db:"organization_id" json:"organization_id"`
	State          string  `db:"state" json:"state"`
	AccountID      *string `db:"account_id" json:"account_id"`
}

// NumberByE164 returns one number, whoever owns it.
func (s *Store) NumberByE164(ctx context.Context, e164 string) (Number, error) {
	const q = `SELECT e164, organization_id, state, account_id FROM numbers WHERE e164 = $1`
	var n Number
	if err := s.db.GetContext(ctx, &n, q, e164); err != nil {
		return Number{}, fmt.Errorf("get number: %w", mapErr(err))
	}
	return n, nil
}
