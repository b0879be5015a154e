package httpapi

import (
	"errors"
	"net/http"
	"net/mail"
	"strings"

	"github.com/multiline/onboarding/internal/csvfile"
	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/store"
)

func (s *Server) listOrganizations(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	orgs, err := s.store.Organizations(r.Context(), admin)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"organizations": orgs})
	return nil
}

func (s *Server) getOrganization(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, err := orgInScope(r, admin)
	if err != nil {
		return err
	}
	o, err := s.store.Organization(r.Context(), org)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "organization_not_found", "no organization has id %q", org)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *Server) createOrganization(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	var body struct {
		Name            string `json:"name"`
		SocialMessaging bool   `json:"social_messaging"`
		SMTPDataOffload bool   `json:"smtp_data_offload"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	name := strings.TrimSpace(body.Name)
	if err := validName("name", name); err != nil {
		return err
	}
	o, err := s.store.CreateOrganization(r.Context(), admin, store.NewOrganization{
		Name: name, SocialMessaging: body.SocialMessaging, SMTPDataOffload: body.SMTPDataOffload,
	})
	if errors.Is(err, store.ErrConflict) {
		return errorf(http.StatusConflict, "name_taken", "an organization named %q already exists; choose another name", name)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, o)
	return nil
}

func (s *Server) updateSettings(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, err := orgInScope(r, admin)
	if err != nil {
		return err
	}
	var body struct {
		SocialMessaging       *bool     `json:"social_messaging"`
		SMTPDataOffload       *bool     `json:"smtp_data_offload"`
		BatchReportRecipients *[]string `json:"batch_report_recipients"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	set := store.OrganizationSettings{SocialMessaging: body.SocialMessaging, SMTPDataOffload: body.SMTPDataOffload}
	if body.BatchReportRecipients != nil {
		set.BatchReportRecipients = []string{}
		var bad []any
		for _, raw := range *body.BatchReportRecipients {
			addr, err := mail.ParseAddress(strings.TrimSpace(raw))
			if err != nil || addr.Name != "" || strings.ContainsAny(raw, "\r\n") {
				bad = append(bad, raw)
				continue
			}
			set.BatchReportRecipients = append(set.BatchReportRecipients, strings.ToLower(addr.Address))
		}
		if len(bad) > 0 {
			return errorf(http.StatusUnprocessableEntity, "invalid_recipients",
				"the batch_report_recipients must be plain email addresses such as admin@example.com").with(bad...)
		}
	}
	o, err := s.store.UpdateOrganizationSettings(r.Context(), org, set)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "organization_not_found", "no organization has id %q", org)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *Server) listPermissionGroups(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, err := s.existingOrg(r, admin)
	if err != nil {
		return err
	}
	groups, err := s.store.PermissionGroups(r.Context(), org)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"permission_groups": groups})
	return nil
}

func (s *Server) createPermissionGroup(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, err := orgInScope(r, admin)
	if err != nil {
		return err
	}
	var body struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	name := strings.TrimSpace(body.Name)
	if err := validName("name", name); err != nil {
		return err
	}
	g, err := s.store.CreatePermissionGroup(r.Context(), org, name)
	switch {
	case errors.Is(err, store.ErrConflict):
		return errorf(http.StatusConflict, "name_taken", "this organization already has a permission group named %q", name)
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, "organization_not_found", "no organization has id %q", org)
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusCreated, g)
	return nil
}

func (s *Server) addNumbers(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, err := orgInScope(r, admin)
	if err != nil {
		return err
	}
	var body struct {
		Numbers []string `json:"numbers"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if len(body.Numbers) == 0 {
		return errorf(http.StatusUnprocessableEntity, "no_numbers", `send at least one number: {"numbers": ["+15550100001"]}`)
	}
	if len(body.Numbers) > 10000 {
		return errorf(http.StatusUnprocessableEntity, "too_many_numbers", "send at most 10000 numbers per request, not %d", len(body.Numbers))
	}
	normalised := make([]string, 0, len(body.Numbers))
	seen := make(map[string]bool, len(body.Numbers))
	var bad []any
	for _, raw := range body.Numbers {
		n, err := csvfile.NormalizeNumber(raw)
		if err != nil {
			bad = append(bad, map[string]string{"number": raw, "message": err.Error()})
			continue
		}
		if !seen[n] {
			seen[n] = true
			normalised = append(normalised, n)
		}
	}
	if len(bad) > 0 {
		return errorf(http.StatusUnprocessableEntity, "invalid_numbers",
			"%d number(s) are not phone numbers in international format such as +15550100001; nothing was added", len(bad)).with(bad...)
	}
	res, err := s.store.AddNumbers(r.Context(), org, normalised)
	var owned *store.NumbersOwnedError
	switch {
	case errors.As(err, &owned):
		// A number belongs to one organization, so one that another organization holds
		// cannot be added, and the admin learns that much: it is refused. The answer says
		// only that the number is not available to this organization, never that another
		// organization holds it or which one (the details are the admin's own numbers).
		details := make([]any, len(owned.Numbers))
		for i, n := range owned.Numbers {
			details[i] = n
		}
		return errorf(http.StatusConflict, "numbers_unavailable",
			"%d number(s) cannot be added: they are not available to this organization; remove them and send again (nothing was added)", len(owned.Numbers)).with(details...)
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, "organization_not_found", "no organization has id %q", org)
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// existingOrg checks scope and that the organization exists.
func (s *Server) existingOrg(r *http.Request, admin store.Admin) (string, error) {
	org, err := orgInScope(r, admin)
	if err != nil {
		return "", err
	}
	if _, err := s.store.Organization(r.Context(), org); errors.Is(err, store.ErrNotFound) {
		return "", errorf(http.StatusNotFound, "organization_not_found", "no organization has id %q", org)
	} else if err != nil {
		return "", err
	}
	return org, nil
}

// validName checks the name of an organization or a permission group. Names are shown in
// emails (an organization's in the subject of its invitations), so they hold no control
// characters and no bidirectional controls, which make text show in another order.
func validName(field, v string) error {
	bidi, hasBidi := mailer.BidiControl(v)
	switch {
	case v == "":
		return errorf(http.StatusUnprocessableEntity, "invalid_"+field, "%s is required", field)
	case len([]rune(v)) > 200:
		return errorf(http.StatusUnprocessableEntity, "invalid_"+field, "%s must be at most 200 characters", field)
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errorf(http.StatusUnprocessableEntity, "invalid_"+field, "%s must not contain control characters", field)
	case hasBidi:
		return errorf(http.StatusUnprocessableEntity, "invalid_"+field,
			"%s must not contain the bidirectional control character %U, which makes text show in another order than it is written; remove it", field, bidi)
	}
	return nil
}
