package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

// TestInvitationWithoutItsLinkIsNotSent puts templates that validation refuses straight into a
// worker's template cache, as though a gap in validation had let them through: the check
// made before every send is what stops them, for a batch row and for a resend.
func TestInvitationWithoutItsLinkIsNotSent(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	w := s.StartWorker(2)
	w.Handler().CacheTemplate(org, "en", mailer.Template{Subject: "Hi {{.FirstName}}",
		Text: `Hi{{if ne .FirstName "Bob"}}, activate: {{.Link}}{{end}}`,
		HTML: `<p>Hi{{if ne .FirstName "Bob"}} <a href="{{.Link}}">activate</a>{{end}}</p>`})
	// Fails to render for Zed alone: eq compares a bool with text in a branch only Zed takes.
	w.Handler().CacheTemplate(org, "de", mailer.Template{Subject: "Hallo",
		Text: `{{.Link}}{{if eq .FirstName "Zed"}}{{eq (not .Number) "x"}}{{end}}`,
		HTML: `<a href="{{.Link}}">los</a>`})

	b := s.Invite(org, group, []byte(header+
		"Alice,A,alice@acme.test,No,,auto,on,English\r\n"+
		"Bob,B,bob@acme.test,No,,auto,on,English\r\n"+
		"Hans,H,hans@acme.test,No,,auto,on,German\r\n"+
		"Zed,Z,zed@acme.test,No,,auto,on,German\r\n"))
	if b.Status != "completed" || b.Succeeded != 4 {
		t.Fatalf("got %+v, want completed with 4 succeeded", b)
	}
	s.SMTP.WaitForMessages(t, 2, 10*time.Second)
	for rcpt, want := range map[string]int{"alice@acme.test": 1, "hans@acme.test": 1, "bob@acme.test": 0, "zed@acme.test": 0} {
		if got := len(s.MessagesTo(rcpt)); got != want {
			t.Errorf("emails to %s: got %d, want %d", rcpt, got, want)
		}
	}
	if m := s.MessagesTo("alice@acme.test"); len(m) == 1 {
		s.ActivationToken(m[0])
	}
	wantReason := map[string]string{
		"bob@acme.test": "the invitation template rendered without the activation link in its text body",
		"zed@acme.test": "the invitation template did not render: invitation template text: does not render",
	}
	accts := s.Accounts(org)
	for rcpt, reason := range wantReason {
		a := accts[rcpt]
		if a.Invitation == nil || *a.Invitation != "failed" || a.InvitationError == nil || !strings.Contains(*a.InvitationError, reason) {
			t.Errorf("%s: got invitation %v error %v, want failed with %q", rcpt, deref(a.Invitation), deref(a.InvitationError), reason)
		}
	}
	for _, r := range report(t, s, b.ID)[1:] {
		if reason, ok := wantReason[r[1]]; ok && (r[4] != "succeeded" || r[7] != "failed" ||
			!strings.Contains(r[5], "invitation not delivered: "+reason)) {
			t.Errorf("report line %v: want succeeded, invitation failed, reason %q", r, reason)
		}
	}
	if n := testutil.ToFloat64(w.Metrics.TaskRetries.WithLabelValues(jobs.TypeRow)); n != 0 {
		t.Errorf("row task errors: got %v, want 0 (the failures are permanent)", n)
	}
	unsent := func(reason string) float64 { return testutil.ToFloat64(w.Metrics.EmailsUnsent.WithLabelValues(reason)) }
	if a, b := unsent(metrics.UnsentNoLink), unsent(metrics.UnsentRenderFailed); a != 1 || b != 1 {
		t.Errorf("unsent emails: got no_link %v, render_failed %v, want 1 each", a, b)
	}

	// Resend Invitation goes through the same check.
	res := resend(t, s, org, accts["bob@acme.test"].ID)
	var state string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s.DB.Get(&state, `SELECT state FROM invitations WHERE id = $1`, res[accts["bob@acme.test"].ID].InvitationID)
		if state != "pending" || time.Now().After(deadline) {
			break
		}
	}
	if state != "failed" {
		t.Errorf("resent invitation: got state %q, want failed", state)
	}
	resent := "The" + strings.TrimPrefix(wantReason["bob@acme.test"], "the") // the whole reason, starting with a capital
	if a := s.Accounts(org)["bob@acme.test"]; a.InvitationError == nil || !strings.HasPrefix(*a.InvitationError, resent) {
		t.Errorf("resent invitation error: got %v, want %q", deref(a.InvitationError), resent)
	}
	if n := len(s.MessagesTo("bob@acme.test")); n != 0 {
		t.Errorf("emails to bob after the resend: got %d, want 0", n)
	}
	if n := unsent(metrics.UnsentNoLink); n != 2 {
		t.Errorf("unsent emails without their link: got %v, want 2", n)
	}
}

func deref(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestStoredTemplateRefusedNowSendsTheDefault stores, as an API without today's checks did, a
// template that leaves Bob without a link: the worker sends Bob the default invitation.
func TestStoredTemplateRefusedNowSendsTheDefault(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	if _, err := s.Store.PutInvitationTemplate(context.Background(), store.InvitationTemplate{OrganizationID: org, Language: "en",
		Subject: "Hi {{.FirstName}}", Text: `Hi{{if ne .FirstName "Bob"}}, activate: {{.Link}}{{end}}`,
		HTML: `{{if ne .FirstName "Bob"}}<a href="{{.Link}}">activate</a>{{end}}`}); err != nil {
		t.Fatal(err)
	}
	s.StartWorker(2)
	if b := s.Invite(org, group, []byte(header+"Bob,B,bob@acme.test,No,,auto,on,English\r\n")); b.Succeeded != 1 {
		t.Fatalf("got %+v, want 1 succeeded", b)
	}
	s.SMTP.WaitForMessages(t, 1, 10*time.Second)
	m := s.MessagesTo("bob@acme.test")
	if len(m) != 1 {
		t.Fatalf("got %d emails to bob, want 1", len(m))
	}
	if got, want := m[0].Subject(), "Acme has invited you to MultiLine"; got != want {
		t.Errorf("subject: got %q, want the default's %q", got, want)
	}
	s.ActivationToken(m[0])
}
