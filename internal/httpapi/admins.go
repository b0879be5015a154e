package httpapi

import (
	"errors"
	"net/http"
	"net/mail"
	"slices"
	"strings"

	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

// AdminTokenPrefix starts every admin token, so a leaked one is easy to recognise.
const AdminTokenPrefix = "mla_"

func (s *Server) createAdmin(w http.ResponseWriter, r *http.Request, caller store.Admin) error {
	var body struct {
		Email           string   `json:"email"`
		Privileges      []string `json:"privileges"`
		OrganizationIDs []string `json:"organization_ids"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	addr, err := mail.ParseAddress(strings.TrimSpace(body.Email))
	if err != nil || addr.Name != "" {
		return errorf(http.StatusUnprocessableEntity, "invalid_email", "email must be a plain address such as admin@example.com")
	}
	var bad []any
	privs := []string{}
	for _, p := range body.Privileges {
		if !store.ValidPrivilege(p) {
			bad = append(bad, p)
		} else if !slices.Contains(privs, p) {
			privs = append(privs, p)
		}
	}
	if len(bad) > 0 {
		return errorf(http.StatusUnprocessableEntity, "invalid_privileges",
			"privileges must be among accounts, numbers, organizations, administrators, reports").with(bad...)
	}
	// An admin cannot hand out what they do not have: privileges or a wider scope.
	for _, p := range privs {
		if !caller.Has(store.Privilege(p)) {
			return errorf(http.StatusForbidden, "missing_privilege", "you cannot grant the %s privilege, which your role lacks", p)
		}
	}
	if len(body.OrganizationIDs) == 0 && !caller.AllOrganizations {
		return errorf(http.StatusForbidden, "out_of_scope",
			"you may only create admins for organizations in your scope; list them in organization_ids")
	}
	for _, id := range body.OrganizationIDs {
		if !caller.InScope(id) {
			return errOutOfScope().with(id)
		}
	}
	plain, hash := token.New(AdminTokenPrefix)
	a, err := s.store.CreateAdmin(r.Context(), store.NewAdmin{
		Email: strings.ToLower(addr.Address), Privileges: privs,
		OrganizationIDs: body.OrganizationIDs, TokenHash: hash, CreatedBy: caller.ID,
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return errorf(http.StatusConflict, "email_taken", "an admin with email %q already exists", addr.Address)
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusUnprocessableEntity, "unknown_organization", "an organization in organization_ids does not exist")
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		store.Admin
		Token string `json:"token"`
	}{a, plain})
	return nil
}
