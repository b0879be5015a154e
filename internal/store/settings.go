package store

import (
	"context"
	"fmt"

	"github.com/lib/pq"
)

// OrganizationSettings are the settings an admin may change; nil fields stay as they are.
type OrganizationSettings struct {
	SocialMessaging       *bool
	SMTPDataOffload       *bool
	BatchReportRecipients []string // nil: unchanged; empty: nobody
	AllowedEmailDomains   []string // nil: unchanged; empty: any domain (see NormalizeEmailDomain)
	// DefaultPermissionGroupID must name a group of the organization (the caller checks;
	// the schema refuses any other).
	DefaultPermissionGroupID *string
	PoolAlertThreshold       *int // 0: no threshold
}

// UpdateOrganizationSettings changes the given settings of organization id.
func (s *Store) UpdateOrganizationSettings(ctx context.Context, id string, set OrganizationSettings) (Organization, error) {
	const q = `UPDATE organizations SET
			social_messaging = COALESCE($2, social_messaging),
			smtp_data_offload = COALESCE($3, smtp_data_offload),
			batch_report_recipients = CASE WHEN $4 THEN $5::text[] ELSE batch_report_recipients END,
			default_permission_group_id = COALESCE($6::uuid, default_permission_group_id),
			allowed_email_domains = CASE WHEN $7 THEN $8::text[] ELSE allowed_email_domains END,
			pool_alert_threshold = COALESCE($9, pool_alert_threshold)
		WHERE id = $1`
	res, err := s.db.ExecContext(ctx, q, id, set.SocialMessaging, set.SMTPDataOffload,
		set.BatchReportRecipients != nil, pq.Array(orEmpty(set.BatchReportRecipients)), set.DefaultPermissionGroupID,
		set.AllowedEmailDomains != nil, pq.Array(orEmpty(set.AllowedEmailDomains)), set.PoolAlertThreshold)
	if err != nil {
		return Organization{}, fmt.Errorf("update organization: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Organization{}, ErrNotFound
	}
	return s.Organization(ctx, id)
}

// orEmpty is list, or an empty list for nil: a text[] column takes no NULL.
func orEmpty(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
