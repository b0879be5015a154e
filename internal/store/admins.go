package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Privilege is a right an admin's role grants.
type Privilege string

// The privileges of SPEC.md.
const (
	PrivAccounts       Privilege = "accounts"
	PrivNumbers        Privilege = "numbers"
	PrivOrganizations  Privilege = "organizations"
	PrivAdministrators Privilege = "administrators"
	PrivReports        Privilege = "reports"
)

// AllPrivileges lists every privilege, in a stable order.
var AllPrivileges = []Privilege{PrivAccounts, PrivNumbers, PrivOrganizations, PrivAdministrators, PrivReports}

// ValidPrivilege reports whether p is one of AllPrivileges.
func ValidPrivilege(p string) bool { return slices.Contains(AllPrivileges, Privilege(p)) }

// Admin is an administrator of the management portal, as authenticated by a bearer token.
type Admin struct {
	ID               string         `db:"id" json:"id"`
	Email            string         `db:"email" json:"email"`
	Privileges       pq.StringArray `db:"privileges" json:"privileges"`
	AllOrganizations bool           `db:"all_organizations" json:"all_organizations"`
	OrganizationIDs  pq.StringArray `db:"organization_ids" json:"organization_ids"`
	CreatedAt        time.Time      `db:"created_at" json:"created_at"`
}

// Has reports whether the admin holds privilege p.
func (a Admin) Has(p Privilege) bool { return slices.Contains(a.Privileges, string(p)) }

// InScope reports whether the admin may act on organization orgID.
func (a Admin) InScope(orgID string) bool {
	return a.AllOrganizations || slices.Contains(a.OrganizationIDs, orgID)
}

// NewAdmin is what CreateAdmin stores.
type NewAdmin struct {
	Email           string
	Privileges      []string
	OrganizationIDs []string // empty: every organization
	TokenHash       []byte
	CreatedBy       string // "" for the seed admin
}

const adminColumns = `a.id, a.email, a.privileges, a.all_organizations, a.created_at,
	ARRAY(SELECT ao.organization_id::text FROM admin_organizations ao WHERE ao.admin_id = a.id ORDER BY 1) AS organization_ids`

// CreateAdmin stores a new admin. ErrNotFound means an organization id does not exist;
// ErrConflict means the email is taken.
func (s *Store) CreateAdmin(ctx context.Context, n NewAdmin) (Admin, error) {
	var a Admin
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		const q = `INSERT INTO admins (email, token_hash, privileges, all_organizations, created_by)
			VALUES ($1, $2, $3, $4, NULLIF($5, '')::uuid) RETURNING id`
		var id string
		if err := tx.GetContext(ctx, &id, q, n.Email, n.TokenHash, pq.Array(n.Privileges),
			len(n.OrganizationIDs) == 0, n.CreatedBy); err != nil {
			return fmt.Errorf("insert admin: %w", mapErr(err))
		}
		if len(n.OrganizationIDs) > 0 {
			const qs = `INSERT INTO admin_organizations (admin_id, organization_id)
				SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING`
			if _, err := tx.ExecContext(ctx, qs, id, pq.Array(n.OrganizationIDs)); err != nil {
				return fmt.Errorf("insert admin scope: %w", mapErr(err))
			}
		}
		const qa = `SELECT ` + adminColumns + ` FROM admins a WHERE a.id = $1`
		return tx.GetContext(ctx, &a, qa, id)
	})
	return a, err
}

// AdminByTokenHash finds the admin whose token hashes to hash.
func (s *Store) AdminByTokenHash(ctx context.Context, hash []byte) (Admin, error) {
	const q = `SELECT ` + adminColumns + ` FROM admins a WHERE a.token_hash = $1`
	var a Admin
	if err := s.db.GetContext(ctx, &a, q, hash); err != nil {
		return Admin{}, fmt.Errorf("admin by token: %w", mapErr(err))
	}
	return a, nil
}

// UpsertAdminToken sets the token of the admin with email, creating the admin with every
// privilege and every organization when missing. seed-demo uses it so that running it again
// prints a token that works. The old token stops working, and so do the queue UI sessions
// signed in with it: the admin's sessions are deleted.
func (s *Store) UpsertAdminToken(ctx context.Context, email string, hash []byte) (Admin, error) {
	const q = `WITH up AS (
			INSERT INTO admins (email, token_hash, privileges, all_organizations)
			VALUES ($1, $2, $3, true)
			ON CONFLICT (lower(email)) DO UPDATE SET token_hash = EXCLUDED.token_hash
			RETURNING id
		), ended AS (
			DELETE FROM admin_sessions s USING up WHERE s.admin_id = up.id
		)
		SELECT id FROM up`
	privs := make([]string, len(AllPrivileges))
	for i, p := range AllPrivileges {
		privs[i] = string(p)
	}
	var id string
	if err := s.db.GetContext(ctx, &id, q, email, hash, pq.Array(privs)); err != nil {
		return Admin{}, fmt.Errorf("upsert admin: %w", mapErr(err))
	}
	var a Admin
	const qa = `SELECT ` + adminColumns + ` FROM admins a WHERE a.id = $1`
	if err := s.db.GetContext(ctx, &a, qa, id); err != nil {
		return Admin{}, fmt.Errorf("get admin: %w", mapErr(err))
	}
	return a, nil
}
