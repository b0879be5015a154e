package httpapi

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/sentence"
	"github.com/multiline/onboarding/internal/store"
)

// maxAccountsPerRequest bounds resend and move requests, like an upload.
const maxAccountsPerRequest = 1000

// notEnoughNumbers is the source page's wording, word for word.
const notEnoughNumbers = "Unable to move account(s). You do not have enough numbers available in the selected organization"

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// accountIDs checks a request's account_ids: present, at most maxAccountsPerRequest, and
// returns them without duplicates, lower-cased, with those that are not uuids apart.
func accountIDs(ids []string) (valid, malformed []string, err error) {
	if len(ids) == 0 {
		return nil, nil, errorf(http.StatusUnprocessableEntity, "no_accounts",
			`send at least one account id: {"account_ids": ["..."]}; list them at GET /v1/organizations/{org}/accounts`)
	}
	if len(ids) > maxAccountsPerRequest {
		return nil, nil, errorf(http.StatusUnprocessableEntity, "too_many_accounts",
			"send at most %d account ids per request, not %d", maxAccountsPerRequest, len(ids))
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		id = strings.ToLower(strings.TrimSpace(id))
		switch {
		case seen[id]:
		case !uuidPattern.MatchString(id):
			malformed = append(malformed, id)
		default:
			valid = append(valid, id)
		}
		seen[id] = true
	}
	return valid, malformed, nil
}

// resendInvitations is Resend Invitation. The API stores and enqueues only: in one
// transaction it reserves a number for each account that has none, revokes the live
// invitation (the old link stops working at once) and creates a new one; after the commit it
// enqueues one email per new invitation. The answer says per account whether an email is on
// its way ("queued") or why not ("not_sent" with a code and a reason); whether the email was
// delivered shows on the account (GET /v1/organizations/{org}/accounts: invitation and
// invitation_error).
func (s *Server) resendInvitations(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, err := s.existingOrg(r, admin)
	if err != nil {
		return err
	}
	var body struct {
		AccountIDs []string `json:"account_ids"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	valid, malformed, err := accountIDs(body.AccountIDs)
	if err != nil {
		return err
	}
	results := []store.ResendResult{}
	if len(valid) > 0 {
		if results, err = s.store.ResendInvitations(r.Context(), org, valid); err != nil {
			return err
		}
	}
	for _, id := range malformed {
		results = append(results, store.ResendResult{AccountID: id, Status: store.ResendNotSent,
			Code: store.ResendNotFound, Reason: "this is not an account id"})
	}
	var invitations []string
	for _, res := range results {
		if res.Status == store.ResendQueued {
			invitations = append(invitations, res.InvitationID)
		}
	}
	if len(invitations) > 0 {
		// Stored already: a failed enqueue delays these emails until the reconciler finds
		// the invitations waiting.
		if err := s.queue.EnqueueInvitations(r.Context(), invitations); err != nil {
			s.metrics.EnqueueErrors.WithLabelValues(metrics.TaskInvitation).Inc()
			zerolog.Ctx(r.Context()).Warn().Err(err).Msg("could not enqueue invitations; the reconciler will")
		} else {
			s.metrics.Enqueued.WithLabelValues(metrics.TaskInvitation).Add(float64(len(invitations)))
		}
	}
	for i := range results {
		results[i].Reason = sentence.Capitalize(results[i].Reason)
	}
	writeJSON(w, http.StatusAccepted, map[string]any{
		"organization_id": org,
		"queued":          len(invitations),
		"not_sent":        len(results) - len(invitations),
		"accounts":        results,
	})
	return nil
}

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
		return moveRefused(&store.MoveError{Code: store.MoveNotFound, Accounts: problems(malformed, "this is not an account id")})
	}
	moved, err := s.store.MoveAccounts(r.Context(), admin, store.Move{AccountIDs: valid, OrganizationID: dest,
		PermissionGroupID: body.PermissionGroupID})
	var me *store.MoveError
	if errors.As(err, &me) {
		return moveRefused(me)
	}
	if err != nil {
		return err
	}
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

// moveRefused says why a move was refused; nothing was moved.
func moveRefused(me *store.MoveError) error {
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
