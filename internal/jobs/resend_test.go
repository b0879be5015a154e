package jobs_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

// importOnly imports file into org without inviting and returns the accounts by identifier.
func importOnly(t *testing.T, s *stacktest.Stack, org, group, file string) map[string]store.Account {
	t.Helper()
	up := s.Upload(s.RootToken, org, group, []byte(header+file), map[string]string{"invite": "false"})
	var b store.Batch
	up.JSON(t, &b)
	s.WaitBatch(b.ID, 30*time.Second)
	return s.Accounts(org)
}

func TestResendCooldown(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	s.SMTP.RejectRecipient(func(rcpt string) *smtp.SMTPError {
		if strings.HasPrefix(rcpt, "bad@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
		}
		return nil
	})
	s.StartWorker(4)
	accts := importOnly(t, s, org, group, "A,A,a@acme.test,No,,auto,on,\r\nB,B,b@acme.test,No,,auto,on,\r\nX,X,bad@acme.test,No,,auto,on,\r\n")
	a, b, bad := accts["a@acme.test"].ID, accts["b@acme.test"].ID, accts["bad@acme.test"].ID

	first := resend(t, s, org, a)[a]
	if first.Status != store.ResendQueued {
		t.Fatalf("first resend of a: got %+v, want queued", first)
	}
	if got := s.WaitInvitationRecorded(first.InvitationID, 10*time.Second); got != "sent" {
		t.Fatalf("first invitation of a: got %s, want sent", got)
	}
	link := s.ActivationToken(s.MessagesTo("a@acme.test")[0])

	// Within the cooldown: nothing for a, while b in the same request goes out.
	asked := time.Now()
	res := resend(t, s, org, a, b)
	cool := res[a]
	if cool.Status != store.ResendNotSent || cool.Code != store.ResendCooldown || cool.InvitationID != "" {
		t.Errorf("a within the cooldown: got %+v, want not_sent cooldown", cool)
	}
	if cool.ResendAfter == nil || cool.ResendAfter.Before(asked.Add(50*time.Second)) || cool.ResendAfter.After(asked.Add(61*time.Second)) {
		t.Errorf("a's resend_after: got %v, want about a minute after %v", cool.ResendAfter, asked)
	} else if want := "resend it from " + cool.ResendAfter.Format(time.RFC3339); !strings.Contains(cool.Reason, want) {
		t.Errorf("a's reason: got %q, want it to say %q", cool.Reason, want)
	}
	if res[b].Status != store.ResendQueued {
		t.Fatalf("b in the same request: got %+v, want queued", res[b])
	}
	if got := s.WaitInvitationRecorded(res[b].InvitationID, 10*time.Second); got != "sent" {
		t.Errorf("b's invitation: got %s, want sent", got)
	}

	// Pressing Resend again and again (the report: 6 emails in 9 s).
	for i := range 5 {
		if r := resend(t, s, org, a)[a]; r.Code != store.ResendCooldown {
			t.Errorf("resend %d of a within the cooldown: got %+v, want cooldown", i+2, r)
		}
	}
	time.Sleep(300 * time.Millisecond) // room for an email that should not come
	if got := len(s.MessagesTo("a@acme.test")); got != 1 {
		t.Errorf("emails to a within the cooldown: got %d, want 1", got)
	}
	if got := len(s.MessagesTo("b@acme.test")); got != 1 {
		t.Errorf("emails to b: got %d, want 1", got)
	}
	var invitations int
	s.DB.Get(&invitations, `SELECT count(*) FROM invitations WHERE account_id = $1`, a)
	if invitations != 1 {
		t.Errorf("invitations of a: got %d, want 1 (the cooldown creates and revokes none)", invitations)
	}
	if got := s.Do("GET", "/v1/activation/"+link, "", nil); got.Status != http.StatusOK {
		t.Errorf("a's link after the refused resends: got %d %s, want 200 (still live)", got.Status, got.Body)
	}

	// An invitation whose email failed reached nobody: it does not hold the account back.
	for i := range 2 {
		r := resend(t, s, org, bad)[bad]
		if r.Status != store.ResendQueued {
			t.Fatalf("resend %d of bad: got %+v, want queued", i+1, r)
		}
		if got := s.WaitInvitationRecorded(r.InvitationID, 10*time.Second); got != "failed" {
			t.Fatalf("invitation %d of bad: got %s, want failed", i+1, got)
		}
	}

	// Once the cooldown is over, a can be resent.
	s.AgeInvitations(store.ResendCooldownPeriod, a)
	again := resend(t, s, org, a)[a]
	if again.Status != store.ResendQueued {
		t.Fatalf("a after the cooldown: got %+v, want queued", again)
	}
	if got := s.WaitInvitationRecorded(again.InvitationID, 10*time.Second); got != "sent" {
		t.Errorf("a's second invitation: got %s, want sent", got)
	}
	if got := len(s.MessagesTo("a@acme.test")); got != 2 {
		t.Errorf("emails to a after the cooldown: got %d, want 2", got)
	}
}

// TestConcurrentResendsSendOnce checks that resends of one account that run at the same time,
// as from several api processes, send it one email: each waits for the account's lock and
// then sees the invitation of the one before.
func TestConcurrentResendsSendOnce(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	s.StartWorker(4)
	c := importOnly(t, s, org, group, "C,C,c@acme.test,No,,auto,on,\r\n")["c@acme.test"].ID

	const n = 8
	body, _ := json.Marshal(map[string]any{"account_ids": []string{c}})
	type answer struct {
		status int
		result store.ResendResult
		err    error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, s.API.URL+"/v1/organizations/"+org+"/invitations/resend", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+s.RootToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answers[i].err = err
				return
			}
			defer resp.Body.Close()
			var got struct {
				Accounts []store.ResendResult `json:"accounts"`
			}
			answers[i].status = resp.StatusCode
			answers[i].err = json.NewDecoder(resp.Body).Decode(&got)
			if len(got.Accounts) == 1 {
				answers[i].result = got.Accounts[0]
			}
		})
	}
	wg.Wait()
	var queued []string
	for i, a := range answers {
		switch {
		case a.err != nil || a.status != http.StatusAccepted:
			t.Errorf("request %d: got %d (%v), want 202", i, a.status, a.err)
		case a.result.Status == store.ResendQueued:
			queued = append(queued, a.result.InvitationID)
		case a.result.Code != store.ResendCooldown && a.result.Code != store.ResendInProgress:
			t.Errorf("request %d: got %+v, want queued, cooldown or in_progress", i, a.result)
		}
	}
	if len(queued) != 1 {
		t.Fatalf("got %d requests queued, want 1", len(queued))
	}
	s.WaitInvitationRecorded(queued[0], 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	if got := len(s.MessagesTo("c@acme.test")); got != 1 {
		t.Errorf("emails to c: got %d, want 1", got)
	}
}
