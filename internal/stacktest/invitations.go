package stacktest

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/multiline/onboarding/internal/smstest"
	"github.com/multiline/onboarding/internal/smtptest"
	"github.com/multiline/onboarding/internal/store"
)

var activationLink = regexp.MustCompile(regexp.QuoteMeta(PublicURL) + `/activate/([A-Za-z0-9_-]+)`)

// ActivationToken returns the token of the activation link in an invitation email's text,
// failing the test when there is none.
func (s *Stack) ActivationToken(m smtptest.Message) string {
	s.t.Helper()
	match := activationLink.FindStringSubmatch(m.Text())
	if match == nil {
		s.t.Fatalf("no activation link in the email to %v:\n%s", m.To, m.Text())
	}
	return match[1]
}

// SMSToken returns the token of the activation link in an SMS's text, failing the test when
// there is none.
func (s *Stack) SMSToken(m smstest.Message) string {
	s.t.Helper()
	match := activationLink.FindStringSubmatch(m.Body)
	if match == nil {
		s.t.Fatalf("no activation link in the SMS to %s: %q", m.To, m.Body)
	}
	return match[1]
}

// SMSTo returns the accepted SMS to number, oldest first.
func (s *Stack) SMSTo(number string) []smstest.Message {
	var out []smstest.Message
	for _, m := range s.SMS.Messages() {
		if m.To == number {
			out = append(out, m)
		}
	}
	return out
}

// MessagesTo returns the accepted messages whose envelope recipient is rcpt, oldest first.
func (s *Stack) MessagesTo(rcpt string) []smtptest.Message {
	var out []smtptest.Message
	for _, m := range s.SMTP.Messages() {
		if strings.EqualFold(strings.Join(m.To, ","), rcpt) {
			out = append(out, m)
		}
	}
	return out
}

// Invite uploads file with Import & Invite, waits for the batch to finish and returns it;
// a worker must be running.
func (s *Stack) Invite(orgID, groupID string, file []byte) store.Batch {
	s.t.Helper()
	got := s.Upload(s.RootToken, orgID, groupID, file, map[string]string{"invite": "true"})
	if got.Status != http.StatusAccepted {
		s.t.Fatalf("upload: got %d %s, want 202", got.Status, got.Body)
	}
	var b store.Batch
	got.JSON(s.t, &b)
	return s.WaitBatch(b.ID, 30*time.Second)
}

// Accounts lists an organization's accounts through the API, keyed by identifier.
func (s *Stack) Accounts(orgID string) map[string]store.Account {
	s.t.Helper()
	got := s.Do("GET", "/v1/organizations/"+orgID+"/accounts", s.RootToken, nil)
	if got.Status != http.StatusOK {
		s.t.Fatalf("list accounts: got %d %s", got.Status, got.Body)
	}
	var body struct {
		Accounts []store.Account `json:"accounts"`
	}
	got.JSON(s.t, &body)
	out := make(map[string]store.Account, len(body.Accounts))
	for _, a := range body.Accounts {
		out[a.Identifier] = a
	}
	return out
}

// NumberState returns a number's state and holder as "state" or "state:account".
func (s *Stack) NumberState(e164 string) string {
	s.t.Helper()
	var row struct {
		State   string  `db:"state"`
		Account *string `db:"account_id"`
	}
	if err := s.DB.Get(&row, `SELECT state, account_id FROM numbers WHERE e164 = $1`, e164); err != nil {
		s.t.Fatalf("number %s: %v", e164, err)
	}
	if row.Account == nil {
		return row.State
	}
	return fmt.Sprintf("%s:%s", row.State, *row.Account)
}

// AgeInvitations moves the creation time of the invitations of accountIDs back by d, as if
// they had been created d earlier: the resend cooldown counts from it.
func (s *Stack) AgeInvitations(d time.Duration, accountIDs ...string) {
	s.t.Helper()
	const q = `UPDATE invitations SET created_at = created_at - $1 * interval '1 microsecond'
		WHERE account_id = ANY($2::uuid[])`
	if _, err := s.DB.Exec(q, d.Microseconds(), pq.Array(accountIDs)); err != nil {
		s.t.Fatalf("age invitations: %v", err)
	}
}

// ExpireInvitations makes the live invitations of accountIDs expire a minute ago, as if
// INVITATION_TTL had passed since they were sent.
func (s *Stack) ExpireInvitations(accountIDs ...string) {
	s.t.Helper()
	const q = `UPDATE invitations SET expires_at = now() - interval '1 minute'
		WHERE account_id = ANY($1::uuid[]) AND state IN ('pending', 'sent')`
	if _, err := s.DB.Exec(q, pq.Array(accountIDs)); err != nil {
		s.t.Fatalf("expire invitations: %v", err)
	}
}

// WaitInvitationRecorded waits until the invitation is no longer pending (its email was sent
// or failed and the worker recorded it) and returns its state.
func (s *Stack) WaitInvitationRecorded(id string, timeout time.Duration) string {
	s.t.Helper()
	var state string
	for deadline := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		if err := s.DB.Get(&state, `SELECT state FROM invitations WHERE id = $1`, id); err != nil {
			s.t.Fatalf("invitation %s: %v", id, err)
		}
		if state != "pending" {
			return state
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("invitation %s still pending after %s", id, timeout)
		}
	}
}
