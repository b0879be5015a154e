package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/multiline/onboarding/internal/store"
)

// notEnoughNumbers is the source page's wording, word for word.
const notEnoughNumbers = "Unable to move account(s). You do not have enough numbers available in the selected organization"

// moveAccounts moves pending invitations to another organization, all or nothing.
func (s *Server) moveAccounts(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	var body struct {
		AccountIDs        []string `json:"account_ids"`
		OrganizationID    string   `json:"organization_id"`
		PermissionGroupID *string  `json:"permission_group_id"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	dest := strings.TrimSpace(body.OrganizationID)
	if dest == "" {
		return errorf(http.StatusUnprocessableEntity, "organization_missing",
			"the organization_id is required: the organization to move the accounts to")
	}
	if !admin.InScope(dest) {
		return errOutOfScope()
	}
	if _, err := s.store.Organization(r.Context(), dest); errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "organization_not_found", "no organization has id %q", dest)
	} else if err != nil {
		return err
	}
	if body.PermissionGroupID != nil {
		if _, err := s.store.PermissionGroup(r.Context(), dest, *body.PermissionGroupID); errors.Is(err, store.ErrNotFound) {
			return errorf(http.StatusUnprocessableEntity, "unknown_permission_group",
				"the permission_group_id %q is not a permission group of the destination; list them at GET /v1/organizations/%s/permission-groups",
				*body.PermissionGroupID, dest)
		} else if err != nil {
			return err
		}
	}
	valid, malformed, err := accountIDs(body.AccountIDs)
	if err != nil {
		return err
	}
	if len(malformed) > 0 {
		return moveRefused(&store.MoveError{Code: store.MoveNotFound, Accounts: problems(malformed, "this is not an account id")}, dest)
	}
	moved, err := s.store.MoveAccounts(r.Context(), admin, store.Move{AccountIDs: valid, OrganizationID: dest,
		PermissionGroupID: body.PermissionGroupID})
	var me *store.MoveError
	if errors.As(err, &me) {
		return moveRefused(me, dest)
	}
	if err != nil {
		return err
	}
	orgs := []string{dest}
	for _, m := range moved {
		orgs = append(orgs, m.FromOrganizationID)
	}
	s.checkPools(r, orgs...)
	writeJSON(w, http.StatusOK, map[string]any{"organization_id": dest, "moved": len(moved), "accounts": moved})
	return nil
}

func problems(ids []string, reason string) []store.MoveProblem {
	out := make([]store.MoveProblem, len(ids))
	for i, id := range ids {
		out[i] = store.MoveProblem{AccountID: id, Reason: reason}
	}
	return out
}

// moveRefused says why a move to organization dest was refused; nothing was moved.
func moveRefused(me *store.MoveError, dest string) error {
	var e *Error
	switch me.Code {
	case store.MoveTooFew:
		e = errorf(http.StatusConflict, me.Code, "%s", notEnoughNumbers).with(map[string]int{
			"needed": me.Needed, "available": me.Available})
	case store.MoveNotFound:
		// An account outside the admin's scope gets this answer too, word for word: telling
		// it apart from an id nobody has would confirm that the id is an account elsewhere.
		e = errorf(http.StatusNotFound, me.Code,
			"%d account(s) are not accounts of the organizations you administer; check the ids, remove them and send again (nothing was moved)", len(me.Accounts))
	case store.MoveNoGroup:
		e = errorf(http.StatusUnprocessableEntity, me.Code,
			"the destination organization has no default permission group; name one with permission_group_id "+
				"(list them at GET /v1/organizations/%s/permission-groups) or set its default_permission_group_id in its settings (nothing was moved)", dest)
	case store.MoveDomain:
		e = errorf(http.StatusUnprocessableEntity, me.Code,
			"%d account(s) have an email address outside the destination's allowed_email_domains; remove them, or allow their domains in the destination's settings, and send again (nothing was moved)", len(me.Accounts))
	case store.MoveEmailRequired:
		e = errorf(http.StatusUnprocessableEntity, me.Code,
			"%d account(s) are identified by a phone number, and the destination uses SMTP data offload, which takes email addresses only; remove them and send again (nothing was moved)", len(me.Accounts))
	case store.MoveAlreadyThere:
		e = errorf(http.StatusUnprocessableEntity, me.Code,
			"%d account(s) are in the destination organization already; remove them and send again (nothing was moved)", len(me.Accounts))
	default:
		e = errorf(http.StatusConflict, me.Code,
			"only invited accounts that are not active yet can be moved; %d account(s) are not; remove them and send again (nothing was moved)", len(me.Accounts))
	}
	for _, p := range me.Accounts {
		e = e.with(p)
	}
	return e
}
