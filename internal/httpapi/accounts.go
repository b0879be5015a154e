package httpapi

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/multiline/onboarding/internal/sentence"
	"github.com/multiline/onboarding/internal/store"
)

// listAccounts is GET /v1/organizations/{org}/accounts: a page of the organization's
// accounts, oldest first, with ?status= those with the statuses named (repeated, or
// comma-separated).
func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, err := s.existingOrg(r, admin)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 1000, 1, 5000)
	if err != nil {
		return err
	}
	offset, err := queryInt(r, "offset", 0, 0, 1<<30)
	if err != nil {
		return err
	}
	var after *store.AccountCursor
	if v := r.URL.Query().Get("after"); v != "" {
		if offset != 0 {
			return errorf(http.StatusBadRequest, "invalid_offset", "use after or offset, not both")
		}
		c, ok := decodeAccountCursor(v)
		if !ok {
			return errorf(http.StatusBadRequest, "invalid_after", "the after parameter must be the next value of a previous page")
		}
		after = &c
	}
	statuses, err := statusFilter(r.URL.Query()["status"], store.AccountStatuses)
	if err != nil {
		return err
	}
	page, err := s.store.Accounts(r.Context(), org, statuses, after, limit, offset)
	if err != nil {
		return err
	}
	for i, a := range page.Accounts {
		if a.InvitationError != nil {
			reason := sentence.Capitalize(*a.InvitationError)
			page.Accounts[i].InvitationError = &reason
		}
	}
	var next *string
	if page.Next != nil {
		c := encodeAccountCursor(*page.Next)
		next = &c
	}
	writeJSON(w, http.StatusOK, accountList{Accounts: page.Accounts, Total: page.Total, Next: next})
	return nil
}

// accountList is the answer of GET /v1/organizations/{org}/accounts.
type accountList struct {
	Accounts []store.Account `json:"accounts"`
	Total    int             `json:"total"` // the organization's accounts, all pages together
	Next     *string         `json:"next"`  // pass as ?after= for the next page; null on the last
}

// encodeAccountCursor makes the opaque next value of a page of accounts: the last account's
// creation time in microseconds (PostgreSQL's precision) and its id.
func encodeAccountCursor(c store.AccountCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + c.ID))
}

// decodeAccountCursor reads what encodeAccountCursor made; ok is false for anything else.
func decodeAccountCursor(s string) (store.AccountCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.AccountCursor{}, false
	}
	micros, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return store.AccountCursor{}, false
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return store.AccountCursor{}, false
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return store.AccountCursor{}, false
	}
	return store.AccountCursor{CreatedAt: time.UnixMicro(us).UTC(), ID: u.String()}, true
}

// statusFilter reads the account statuses of a ?status= query or a body's "status" list:
// each of values may hold several separated by commas. It returns nil for none, and a 400
// naming the allowed ones (of allowed) for any other.
func statusFilter(values, allowed []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for _, st := range strings.Split(v, ",") {
			st = strings.TrimSpace(st)
			switch {
			case st == "":
			case !slices.Contains(allowed, st):
				return nil, errorf(http.StatusBadRequest, "invalid_status",
					"status %q is not one of %s", st, strings.Join(allowed, ", ")).with(st)
			case !slices.Contains(out, st):
				out = append(out, st)
			}
		}
	}
	return out, nil
}
