package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

// batchResend is the answer of POST /v1/batches/{id}/resend.
type batchResend struct {
	BatchID  string               `json:"batch_id"`
	Status   []string             `json:"status"`
	Queued   int                  `json:"queued"`
	NotSent  int                  `json:"not_sent"`
	Accounts []store.ResendResult `json:"accounts"`
}

func TestInvitationStates(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	var refuse atomic.Bool
	refuse.Store(true)
	s.SMTP.RejectRecipient(func(rcpt string) *smtp.SMTPError {
		if refuse.Load() && strings.HasPrefix(rcpt, "fail@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
		}
		return nil
	})
	s.StartWorker(4)
	b := s.Invite(org, group, []byte(csvHeader+"A,A,a@acme.test,No,,auto,on\r\nF,F,fail@acme.test,No,,auto,on\r\n"+
		"E,E,exp@acme.test,No,,auto,on\r\nU,U,used@acme.test,No,,auto,on\r\n"))
	s.SMTP.WaitForMessages(t, 3, 10*time.Second)
	accts := s.Accounts(org)
	fail, exp := accts["fail@acme.test"], accts["exp@acme.test"]
	oldLink := s.ActivationToken(s.MessagesTo("exp@acme.test")[0])
	s.ExpireInvitations(exp.ID)
	if got := s.Do("POST", "/v1/activation/"+s.ActivationToken(s.MessagesTo("used@acme.test")[0]), "", map[string]any{}); got.Status != http.StatusOK {
		t.Fatalf("activate used@: got %d %s", got.Status, got.Body)
	}

	list := func(status string) accountPage {
		t.Helper()
		got := s.Do("GET", "/v1/organizations/"+org+"/accounts?"+url.Values{"status": {status}}.Encode(), s.RootToken, nil)
		if got.Status != http.StatusOK {
			t.Fatalf("accounts ?status=%s: got %d %s", status, got.Status, got.Body)
		}
		var p accountPage
		got.JSON(t, &p)
		return p
	}
	ids := func(p accountPage) string {
		var out []string
		for _, a := range p.Accounts {
			out = append(out, a.Identifier)
		}
		slices.Sort(out) // the list is in creation order, which the workers decide
		return strings.Join(out, ",")
	}

	t.Run("each account's status", func(t *testing.T) {
		accts := s.Accounts(org)
		for who, want := range map[string]string{"a@acme.test": store.AccountInvited, "fail@acme.test": store.AccountInvitationFailed,
			"exp@acme.test": store.AccountInvitationExpired, "used@acme.test": store.AccountActive} {
			if got := accts[who].Status; got != want {
				t.Errorf("%s: got status %s, want %s", who, got, want)
			}
		}
		if e := accts["fail@acme.test"].InvitationError; e == nil || !strings.Contains(*e, "550") {
			t.Errorf("fail@: got invitation_error %v, want the server's 550", deref(e))
		}
	})

	t.Run("the list filters by status", func(t *testing.T) {
		for status, want := range map[string]string{
			store.AccountInvitationFailed:                               "fail@acme.test",
			store.AccountInvitationExpired:                              "exp@acme.test",
			store.AccountInvitationFailed + "," + store.AccountActive:   "fail@acme.test,used@acme.test",
			store.AccountInvited + "," + store.AccountInvitationExpired: "a@acme.test,exp@acme.test",
		} {
			p := list(status)
			if got := ids(p); got != want || p.Total == nil || *p.Total != strings.Count(want, "@") {
				t.Errorf("?status=%s: got %s (total %v), want %s", status, got, deref(p.Total), want)
			}
		}
		p := list(store.AccountInvited + "," + store.AccountInvitationFailed + "," + store.AccountInvitationExpired)
		for page, after := 0, ""; ; page++ {
			q := url.Values{"status": {"invited,invitation_failed,invitation_expired"}, "limit": {"2"}}
			if after != "" {
				q.Set("after", after)
			}
			var pg accountPage
			s.Do("GET", "/v1/organizations/"+org+"/accounts?"+q.Encode(), s.RootToken, nil).JSON(t, &pg)
			if *pg.Total != 3 || (page == 0) != (pg.Next != nil) {
				t.Fatalf("page %d: got total %d, next %v; want 3 in pages of 2", page, *pg.Total, deref(pg.Next))
			}
			if pg.Next == nil {
				break
			}
			after = *pg.Next
		}
		if len(p.Accounts) != 3 {
			t.Errorf("three statuses: got %s", ids(p))
		}
		got := s.Do("GET", "/v1/organizations/"+org+"/accounts?status=pending", s.RootToken, nil)
		if code, message := got.Error(t); got.Status != http.StatusBadRequest || code != "invalid_status" || !strings.Contains(message, "invitation_expired") {
			t.Errorf("?status=pending: got %d %s, want 400 invalid_status listing the statuses", got.Status, got.Body)
		}
	})

	t.Run("the batch's failed and expired invitations are resent", func(t *testing.T) {
		refuse.Store(false) // the mailbox exists now
		var res batchResend
		got := s.Do("POST", "/v1/batches/"+b.ID+"/resend", s.RootToken, map[string]any{"status": []string{"invitation_failed", "invitation_expired"}})
		got.JSON(t, &res)
		byID := map[string]store.ResendResult{}
		for _, r := range res.Accounts {
			byID[r.AccountID] = r
		}
		// exp@'s invitation went out seconds ago: the cooldown holds it back; fail@'s failed,
		// and failed invitations do not count.
		if got.Status != http.StatusAccepted || res.Queued != 1 || len(res.Accounts) != 2 ||
			byID[fail.ID].Status != store.ResendQueued || byID[exp.ID].Code != store.ResendCooldown {
			t.Fatalf("resend: got %d %s, want fail@ queued and exp@ in its cooldown", got.Status, got.Body)
		}
		s.AgeInvitations(2*time.Minute, exp.ID)
		res = batchResend{}
		s.Do("POST", "/v1/batches/"+b.ID+"/resend", s.RootToken, nil).JSON(t, &res)
		if res.Queued != 1 || len(res.Accounts) != 1 || res.Accounts[0].AccountID != exp.ID ||
			strings.Join(res.Status, ",") != "invitation_failed,invitation_expired" {
			t.Fatalf("resend with the default statuses: got %+v, want exp@ alone queued (fail@ is invited again)", res)
		}
		s.WaitInvitationRecorded(res.Accounts[0].InvitationID, 10*time.Second)
		accts := s.Accounts(org)
		if st := accts["exp@acme.test"]; st.Status != store.AccountInvited || st.InvitationExpiresAt == nil || !st.InvitationExpiresAt.After(time.Now().Add(time.Hour)) {
			t.Errorf("exp@ after the resend: got %s expiring %v, want invited with a fresh expiry", st.Status, deref(st.InvitationExpiresAt))
		}
		if st := s.ActivationStatus(oldLink); st != http.StatusGone {
			t.Errorf("exp@'s old link: got %d, want 410", st)
		}
		msgs := s.MessagesTo("exp@acme.test")
		if st := s.ActivationStatus(s.ActivationToken(msgs[len(msgs)-1])); st != http.StatusOK {
			t.Errorf("exp@'s new link: got %d, want 200", st)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		other, _ := s.Org("Other", 500, 1)
		for _, tc := range []struct {
			name, tok string
			body      any
			status    int
			code      string
		}{
			{"active", s.RootToken, map[string]any{"status": []string{"active"}}, http.StatusUnprocessableEntity, "invalid_status"},
			{"unknown status", s.RootToken, map[string]any{"status": []string{"bounced"}}, http.StatusBadRequest, "invalid_status"},
			{"out of scope", s.NewAdmin("other@test.example", []string{other}, string(store.PrivAccounts)), nil, http.StatusForbidden, "out_of_scope"},
			{"reports only", s.NewAdmin("reports@test.example", nil, string(store.PrivReports)), nil, http.StatusForbidden, "missing_privilege"},
		} {
			got := s.Do("POST", "/v1/batches/"+b.ID+"/resend", tc.tok, tc.body)
			if got.Status != tc.status || got.ErrorCode(t) != tc.code {
				t.Errorf("%s: got %d %s, want %d %s", tc.name, got.Status, got.Body, tc.status, tc.code)
			}
		}
		if got := s.Do("POST", "/v1/batches/00000000-0000-0000-0000-000000000000/resend", s.RootToken, nil); got.Status != http.StatusNotFound {
			t.Errorf("unknown batch: got %d %s, want 404", got.Status, got.Body)
		}
	})
}
