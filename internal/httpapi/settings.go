package httpapi

import (
	"errors"
	"net/http"
	"net/mail"
	"slices"
	"strings"

	"github.com/multiline/onboarding/internal/store"
)

// settingsBody is the body of PUT /v1/organizations/{org}/settings: the fields present change,
// the others stay as they are.
type settingsBody struct {
	SocialMessaging          *bool     `json:"social_messaging"`
	SMTPDataOffload          *bool     `json:"smtp_data_offload"`
	BatchReportRecipients    *[]string `json:"batch_report_recipients"`
	DefaultPermissionGroupID *string   `json:"default_permission_group_id"`
	AllowedEmailDomains      *[]string `json:"allowed_email_domains"`
	PoolAlertThreshold       *int      `json:"pool_alert_threshold"`
}

func (s *Server) updateSettings(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, err := s.existingOrg(r, admin)
	if err != nil {
		return err
	}
	var body settingsBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	set := store.OrganizationSettings{SocialMessaging: body.SocialMessaging, SMTPDataOffload: body.SMTPDataOffload}
	if body.BatchReportRecipients != nil {
		if set.BatchReportRecipients, err = recipients(*body.BatchReportRecipients); err != nil {
			return err
		}
	}
	if body.DefaultPermissionGroupID != nil {
		if set.DefaultPermissionGroupID, err = s.orgGroup(r, org, "default_permission_group_id", *body.DefaultPermissionGroupID); err != nil {
			return err
		}
	}
	if t := body.PoolAlertThreshold; t != nil && (*t < 0 || *t > maxPoolAlertThreshold) {
		return errorf(http.StatusUnprocessableEntity, "invalid_threshold",
			"the pool_alert_threshold must be a whole number from 0 (no threshold) to %d, not %d", maxPoolAlertThreshold, *t)
	}
	set.PoolAlertThreshold = body.PoolAlertThreshold
	if body.AllowedEmailDomains != nil {
		if set.AllowedEmailDomains, err = allowedDomains(*body.AllowedEmailDomains); err != nil {
			return err
		}
	}
	o, err := s.store.UpdateOrganizationSettings(r.Context(), org, set)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "organization_not_found", "no organization has id %q", org)
	}
	if err != nil {
		return err
	}
	if set.PoolAlertThreshold != nil {
		s.checkPools(r, org)
		if o, err = s.store.Organization(r.Context(), org); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

// maxPoolAlertThreshold is the largest pool_alert_threshold (the schema's bound).
const maxPoolAlertThreshold = 1000000

// recipients checks a list of email recipients: plain addresses, answered lower case.
func recipients(raw []string) ([]string, error) {
	out := []string{}
	var bad []any
	for _, v := range raw {
		addr, err := mail.ParseAddress(strings.TrimSpace(v))
		if err != nil || addr.Name != "" || strings.ContainsAny(v, "\r\n") {
			bad = append(bad, v)
			continue
		}
		out = append(out, strings.ToLower(addr.Address))
	}
	if len(bad) > 0 {
		return nil, errorf(http.StatusUnprocessableEntity, "invalid_recipients",
			"the batch_report_recipients must be plain email addresses such as admin@example.com").with(bad...)
	}
	return out, nil
}

// allowedDomains checks a list of allowed email domains and returns it normalised, without
// repeats; an empty list allows any domain.
func allowedDomains(raw []string) ([]string, error) {
	if len(raw) > store.MaxAllowedDomains {
		return nil, errorf(http.StatusUnprocessableEntity, "too_many_domains",
			"send at most %d allowed_email_domains, not %d", store.MaxAllowedDomains, len(raw))
	}
	out := []string{}
	var bad []any
	for _, v := range raw {
		d, err := store.NormalizeEmailDomain(v)
		if err != nil {
			bad = append(bad, map[string]string{"domain": v, "message": err.Error()})
			continue
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if len(bad) > 0 {
		return nil, errorf(http.StatusUnprocessableEntity, "invalid_domains",
			`the allowed_email_domains must be domains such as "@example.com" (or [] to allow any); nothing was changed`).with(bad...)
	}
	return out, nil
}

// orgGroup checks that id, sent as field, is a permission group of organization org.
func (s *Server) orgGroup(r *http.Request, org, field, id string) (*string, error) {
	id = strings.TrimSpace(id)
	g, err := s.store.PermissionGroup(r.Context(), org, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(http.StatusUnprocessableEntity, "unknown_permission_group",
			"the %s %q is not a permission group of this organization; list them at GET /v1/organizations/%s/permission-groups",
			field, id, org)
	}
	if err != nil {
		return nil, err
	}
	return &g.ID, nil
}
