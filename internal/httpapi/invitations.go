package httpapi

import (
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/sentence"
	"github.com/multiline/onboarding/internal/store"
)

// maxAccountsPerRequest bounds resend and move requests, like an upload.
const maxAccountsPerRequest = 1000

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
	var notAccounts []store.ResendResult
	for _, id := range malformed {
		notAccounts = append(notAccounts, store.ResendResult{AccountID: id, Status: store.ResendNotSent,
			Code: store.ResendNotFound, Reason: "this is not an account id"})
	}
	out, err := s.resend(r, org, valid, notAccounts...)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, out)
	return nil
}

// resendable are the statuses of accounts a batch's resend may ask for; the default is its
// failed and expired invitations.
var (
	resendable     = []string{store.AccountNotInvited, store.AccountInvited, store.AccountInvitationFailed, store.AccountInvitationExpired}
	resendDefaults = []string{store.AccountInvitationFailed, store.AccountInvitationExpired}
)

// resendBatch is Resend Invitation for the accounts a batch created that have the statuses
// asked for (by default its failed and expired invitations): the same resend, cooldown and
// checks as for a list of accounts, on the batch's accounts still in its organization.
func (s *Server) resendBatch(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	b, err := s.batchInScope(r, admin)
	if err != nil {
		return err
	}
	var body struct {
		Status []string `json:"status"`
	}
	if err := decodeOptionalJSON(r, &body); err != nil {
		return err
	}
	if slices.Contains(body.Status, store.AccountActive) {
		return errorf(http.StatusUnprocessableEntity, "invalid_status",
			"active accounts have nothing to be invited to; ask for some of %s", strings.Join(resendable, ", "))
	}
	statuses, err := statusFilter(body.Status, resendable)
	if err != nil {
		return err
	}
	if len(statuses) == 0 {
		statuses = resendDefaults
	}
	ids, err := s.store.BatchAccounts(r.Context(), b.ID, b.OrganizationID, statuses)
	if err != nil {
		return err
	}
	out, err := s.resend(r, b.OrganizationID, ids)
	if err != nil {
		return err
	}
	out["batch_id"], out["status"] = b.ID, statuses
	writeJSON(w, http.StatusAccepted, out)
	return nil
}

// resend is Resend Invitation for accounts ids of organization org: it stores the new
// invitations, enqueues their emails and returns the answer, per account (and per one of
// extra, ids that are no accounts) whether an email is on its way or why not.
func (s *Server) resend(r *http.Request, org string, ids []string, extra ...store.ResendResult) (map[string]any, error) {
	results := []store.ResendResult{}
	if len(ids) > 0 {
		var err error
		if results, err = s.store.ResendInvitations(r.Context(), org, ids); err != nil {
			return nil, err
		}
	}
	results = append(results, extra...)
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
	s.checkPools(r, org) // a resend reserves numbers for accounts that had none
	return map[string]any{
		"organization_id": org,
		"queued":          len(invitations),
		"not_sent":        len(results) - len(invitations),
		"accounts":        results,
	}, nil
}
