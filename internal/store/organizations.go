package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// NumberCounts counts an organization's numbers by state.
type NumberCounts struct {
	Available int `db:"available" json:"available"`
	Reserved  int `db:"reserved" json:"reserved"`
	Assigned  int `db:"assigned" json:"assigned"`
}

// Organization is a customer organization with its settings and number pool counts.
type Organization struct {
	ID                    string         `db:"id" json:"id"`
	Name                  string         `db:"name" json:"name"`
	SocialMessaging       bool           `db:"social_messaging" json:"social_messaging"`
	SMTPDataOffload       bool           `db:"smtp_data_offload" json:"smtp_data_offload"`
	BatchReportRecipients pq.StringArray `db:"batch_report_recipients" json:"batch_report_recipients"`
	// AllowedEmailDomains are the domains its accounts' email addresses may have ("@example.com");
	// none: any (see domains.go).
	AllowedEmailDomains pq.StringArray `db:"allowed_email_domains" json:"allowed_email_domains"`
	// DefaultPermissionGroupID is the group a moved account takes when the move names none.
	DefaultPermissionGroupID *string `db:"default_permission_group_id" json:"default_permission_group_id"`
	// PoolAlertThreshold raises the pool alert when Available falls under it (0: only when
	// the pending invitations need more than Available); PoolAlertRaisedAt is when the alert
	// now raised was, nil while it is not (see pool_alert.go).
	PoolAlertThreshold int          `db:"pool_alert_threshold" json:"pool_alert_threshold"`
	PoolAlertRaisedAt  *time.Time   `db:"pool_alert_raised_at" json:"pool_alert_raised_at"`
	CreatedAt          time.Time    `db:"created_at" json:"created_at"`
	Numbers            NumberCounts `db:"numbers" json:"numbers"`
}

const organizationColumns = `o.id, o.name, o.social_messaging, o.smtp_data_offload,
	o.batch_report_recipients, o.allowed_email_domains, o.default_permission_group_id, o.created_at,
	o.pool_alert_threshold, (SELECT a.raised_at FROM pool_alerts a WHERE a.organization_id = o.id AND a.raised) AS pool_alert_raised_at,
	count(n.e164) FILTER (WHERE n.state = 'available') AS "numbers.available",
	count(n.e164) FILTER (WHERE n.state = 'reserved') AS "numbers.reserved",
	count(n.e164) FILTER (WHERE n.state = 'assigned') AS "numbers.assigned"`

// NewOrganization is what CreateOrganization stores.
type NewOrganization struct {
	Name            string
	SocialMessaging bool
	SMTPDataOffload bool
}

// CreateOrganization stores an organization and, when the creator's scope is a list of
// organizations, adds the new one to it. ErrConflict means the name is taken.
func (s *Store) CreateOrganization(ctx context.Context, creator Admin, n NewOrganization) (Organization, error) {
	var id string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		const q = `INSERT INTO organizations (name, social_messaging, smtp_data_offload)
			VALUES ($1, $2, $3) RETURNING id`
		if err := tx.GetContext(ctx, &id, q, n.Name, n.SocialMessaging, n.SMTPDataOffload); err != nil {
			return fmt.Errorf("insert organization: %w", mapErr(err))
		}
		if creator.AllOrganizations || creator.ID == "" {
			return nil
		}
		const qs = `INSERT INTO admin_organizations (admin_id, organization_id) VALUES ($1, $2)`
		if _, err := tx.ExecContext(ctx, qs, creator.ID, id); err != nil {
			return fmt.Errorf("extend admin scope: %w", mapErr(err))
		}
		return nil
	})
	if err != nil {
		return Organization{}, err
	}
	return s.Organization(ctx, id)
}

// Organization returns one organization with its number counts.
func (s *Store) Organization(ctx context.Context, id string) (Organization, error) {
	const q = `SELECT ` + organizationColumns + `
		FROM organizations o LEFT JOIN numbers n ON n.organization_id = o.id
		WHERE o.id = $1 GROUP BY o.id`
	var o Organization
	if err := s.db.GetContext(ctx, &o, q, id); err != nil {
		return Organization{}, fmt.Errorf("get organization: %w", mapErr(err))
	}
	return o, nil
}

// Organizations lists the organizations in the admin's scope, by name.
func (s *Store) Organizations(ctx context.Context, scope Admin) ([]Organization, error) {
	const q = `SELECT ` + organizationColumns + `
		FROM organizations o LEFT JOIN numbers n ON n.organization_id = o.id
		WHERE $1 OR o.id = ANY($2::uuid[])
		GROUP BY o.id ORDER BY lower(o.name)`
	orgs := []Organization{}
	if err := s.db.SelectContext(ctx, &orgs, q, scope.AllOrganizations, pq.Array(scope.OrganizationIDs)); err != nil {
		return nil, fmt.Errorf("list organizations: %w", mapErr(err))
	}
	return orgs, nil
}

// PermissionGroup is a set of user permissions within one organization.
type PermissionGroup struct {
	ID             string    `db:"id" json:"id"`
	OrganizationID string    `db:"organization_id" json:"organization_id"`
	Name           string    `db:"name" json:"name"`
	CreatedAt      time.Time `db:"created_at" json:"created_at"`
}

// CreatePermissionGroup stores a group in organization orgID. An organization's first group
// becomes its default permission group, unless its settings name one already. ErrConflict:
// the name is taken there.
func (s *Store) CreatePermissionGroup(ctx context.Context, orgID, name string) (PermissionGroup, error) {
	const q = `WITH g AS (
			INSERT INTO permission_groups (organization_id, name) VALUES ($1, $2)
			RETURNING id, organization_id, name, created_at
		), d AS (
			UPDATE organizations o SET default_permission_group_id = g.id FROM g
			WHERE o.id = g.organization_id AND o.default_permission_group_id IS NULL
		)
		SELECT id, organization_id, name, created_at FROM g`
	var g PermissionGroup
	if err := s.db.GetContext(ctx, &g, q, orgID, name); err != nil {
		return PermissionGroup{}, fmt.Errorf("insert permission group: %w", mapErr(err))
	}
	return g, nil
}

// PermissionGroups lists the groups of organization orgID by name.
func (s *Store) PermissionGroups(ctx context.Context, orgID string) ([]PermissionGroup, error) {
	const q = `SELECT id, organization_id, name, created_at FROM permission_groups
		WHERE organization_id = $1 ORDER BY lower(name)`
	groups := []PermissionGroup{}
	if err := s.db.SelectContext(ctx, &groups, q, orgID); err != nil {
		return nil, fmt.Errorf("list permission groups: %w", mapErr(err))
	}
	return groups, nil
}

// PermissionGroup returns group id if it belongs to organization orgID.
func (s *Store) PermissionGroup(ctx context.Context, orgID, id string) (PermissionGroup, error) {
	const q = `SELECT id, organization_id, name, created_at FROM permission_groups
		WHERE organization_id = $1 AND id = $2`
	var g PermissionGroup
	if err := s.db.GetContext(ctx, &g, q, orgID, id); err != nil {
		return PermissionGroup{}, fmt.Errorf("get permission group: %w", mapErr(err))
	}
	return g, nil
}
