package jobs_test

import (
	"context"
	"github.com/lib/pq"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

const header = "firstname,lastname,email address or device,social_messaging,multiline_number,monitor_calls,monitor_sms,Language\r\n"

func TestInvitationsInEveryLanguage(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	s.StartWorker(4)
	tests := []struct {
		language, rcpt, subject, greeting, expiry string
	}{
		{"English", "en@acme.test", "Acme has invited you to MultiLine", "Hello Ada Lovelace,", "This link is valid until"},
		{"Italian", "it@acme.test", "Acme La invita a MultiLine", "Gentile Ada Lovelace,", "Il link è valido fino al giorno"},
		{"Deutsch", "de@acme.test", "Acme hat Sie zu MultiLine eingeladen", "Guten Tag Ada Lovelace,", ""},
		{"French", "fr@acme.test", "Acme vous invite à rejoindre MultiLine", "Bonjour Ada Lovelace,", "Ce lien est valable jusqu'au"},
		{"es", "es@acme.test", "Acme le invita a MultiLine", "Hola, Ada Lovelace:", "El enlace es válido hasta el"},
		{"", "none@acme.test", "Acme has invited you to MultiLine", "Hello Ada Lovelace,", ""},
	}
	file := header
	for _, tc := range tests {
		file += "Ada,Lovelace," + tc.rcpt + ",No,,auto,on," + tc.language + "\r\n"
	}
	if b := s.Invite(org, group, []byte(file)); b.Succeeded != len(tests) {
		t.Fatalf("got %+v, want %d succeeded", b, len(tests))
	}
	s.SMTP.WaitForMessages(t, len(tests), 10*time.Second)
	for _, tc := range tests {
		t.Run(tc.rcpt, func(t *testing.T) {
			msgs := s.MessagesTo(tc.rcpt)
			if len(msgs) != 1 {
				t.Fatalf("got %d emails, want 1", len(msgs))
			}
			m := msgs[0]
			if got := m.Subject(); got != tc.subject {
				t.Errorf("subject: got %q, want %q", got, tc.subject)
			}
			for _, body := range []string{m.Text(), m.HTML()} {
				if !strings.Contains(body, tc.greeting) || !strings.Contains(body, tc.expiry) {
					t.Errorf("body lacks %q or %q:\n%s", tc.greeting, tc.expiry, body)
				}
				if !strings.Contains(body, stacktest.PublicURL+"/activate/") || !strings.Contains(body, "15550000") {
					t.Errorf("body lacks the activation link or the number:\n%s", body)
				}
			}
		})
	}
}

func TestCustomTemplateUsedByRowTasks(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	custom := map[string]string{
		"subject": "Benvenuto {{.FirstName}} in {{.Organization}}",
		"text":    "Ciao {{.FirstName}}, attiva qui: {{.Link}} (numero {{.Number}})",
		"html":    `<p>Ciao {{.FirstName}}</p><p><a href="{{.Link}}">Attiva</a></p>`,
	}
	if got := s.Do("PUT", "/v1/organizations/"+org+"/invitation-templates/Italian", s.RootToken, custom); got.Status != http.StatusOK {
		t.Fatalf("put template: got %d %s", got.Status, got.Body)
	}
	s.StartWorker(2)
	s.Invite(org, group, []byte(header+"Maria,Rossi,maria@acme.test,No,,auto,on,Italian\r\nJohn,Smith,john@acme.test,No,,auto,on,English\r\n"))
	s.SMTP.WaitForMessages(t, 2, 10*time.Second)
	it, en := s.MessagesTo("maria@acme.test"), s.MessagesTo("john@acme.test")
	if len(it) != 1 || len(en) != 1 {
		t.Fatalf("got %d and %d emails, want 1 each", len(it), len(en))
	}
	if got, want := it[0].Subject(), "Benvenuto Maria in Acme"; got != want {
		t.Errorf("custom subject: got %q, want %q", got, want)
	}
	if got := it[0].Text(); !strings.HasPrefix(got, "Ciao Maria, attiva qui: "+stacktest.PublicURL+"/activate/") || !strings.Contains(got, "(numero +1555") {
		t.Errorf("custom text: got %q", got)
	}
	if got := it[0].HTML(); !strings.Contains(got, "<p>Ciao Maria</p>") {
		t.Errorf("custom html: got %q", got)
	}
	if got, want := en[0].Subject(), "Acme has invited you to MultiLine"; got != want {
		t.Errorf("English keeps the default: got %q, want %q", got, want)
	}
}

func TestHeaderInjectionAttemptsAddNoHeader(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	// A template whose subject renders a line break followed by a header.
	evil := map[string]string{
		"subject": `Welcome{{"\r\n"}}Bcc: subject@evil.test{{"\n"}}X-Evil: 1 {{.FirstName}}`,
		"text":    "{{.Link}}",
		"html":    `<a href="{{.Link}}">go</a>`,
	}
	if got := s.Do("PUT", "/v1/organizations/"+org+"/invitation-templates/de", s.RootToken, evil); got.Status != http.StatusOK {
		t.Fatalf("put template: got %d %s", got.Status, got.Body)
	}
	s.StartWorker(2)
	file := header +
		`"Eve"" <name@evil.test>, x@evil.test",Smith,eve@acme.test,No,,auto,on,English` + "\r\n" +
		"Mallory\u2028Bcc: sep@evil.test,Jones,mallory@acme.test,No,,auto,on,English\r\n" +
		"Trent,Moore,trent@acme.test,No,,auto,on,German\r\n"
	if b := s.Invite(org, group, []byte(file)); b.Succeeded != 3 {
		t.Fatalf("got %+v, want 3 succeeded", b)
	}
	allowed := map[string]bool{"From": true, "To": true, "Subject": true, "Message-Id": true, "Date": true,
		"Mime-Version": true, "Content-Type": true, "Auto-Submitted": true, "Content-Transfer-Encoding": true}
	for _, m := range s.SMTP.WaitForMessages(t, 3, 10*time.Second) {
		if len(m.To) != 1 || !strings.HasSuffix(m.To[0], "@acme.test") {
			t.Errorf("envelope recipients: got %v, want one @acme.test", m.To)
		}
		for _, name := range m.HeaderNames() {
			if !allowed[name] {
				t.Errorf("email to %v has header %s: %q", m.To, name, m.Header.Get(name))
			}
		}
		to, err := mail.ParseAddressList(m.Header.Get("To"))
		if err != nil || len(to) != 1 || to[0].Address != m.To[0] {
			t.Errorf("To header %q: got %v (%v), want only %s", m.Header.Get("To"), to, err, m.To[0])
		}
		if strings.ContainsAny(m.Subject(), "\r\n") {
			t.Errorf("subject spans lines: %q", m.Subject())
		}
	}
	if got, want := s.MessagesTo("trent@acme.test")[0].Subject(), "Welcome Bcc: subject@evil.test X-Evil: 1 Trent"; got != want {
		t.Errorf("subject: got %q, want %q (one line, harmless)", got, want)
	}
}

// resend posts a Resend Invitation request and returns its per-account answer by account id.
func resend(t *testing.T, s *stacktest.Stack, org string, ids ...string) map[string]store.ResendResult {
	t.Helper()
	got := s.Do("POST", "/v1/organizations/"+org+"/invitations/resend", s.RootToken, map[string]any{"account_ids": ids})
	if got.Status != http.StatusAccepted {
		t.Fatalf("resend: got %d %s, want 202", got.Status, got.Body)
	}
	var body struct {
		Accounts []store.ResendResult `json:"accounts"`
	}
	got.JSON(t, &body)
	out := map[string]store.ResendResult{}
	for _, r := range body.Accounts {
		out[r.AccountID] = r
	}
	return out
}

func TestResendSendsOncePerAccountAndReplacesTheLink(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	w := s.StartWorker(4)
	s.Invite(org, group, []byte(header+"A,A,a@acme.test,No,,auto,on,\r\nB,B,b@acme.test,No,,auto,on,\r\n"))
	s.SMTP.WaitForMessages(t, 2, 10*time.Second)
	oldA := s.ActivationToken(s.MessagesTo("a@acme.test")[0])
	// c is imported without an invitation, so it has no number yet.
	up := s.Upload(s.RootToken, org, group, []byte(header+"C,C,c@acme.test,No,,auto,on,\r\n"), map[string]string{"invite": "false"})
	var b store.Batch
	up.JSON(t, &b)
	s.WaitBatch(b.ID, 30*time.Second)
	accts := s.Accounts(org)
	a, bb, c := accts["a@acme.test"].ID, accts["b@acme.test"].ID, accts["c@acme.test"].ID
	if accts["c@acme.test"].MultilineNumber != nil {
		t.Fatalf("c holds a number before the resend: %v", *accts["c@acme.test"].MultilineNumber)
	}

	s.AgeInvitations(store.ResendCooldownPeriod, a, bb) // invited a minute ago: out of the resend cooldown
	missing := "00000000-0000-0000-0000-000000000000"
	res := resend(t, s, org, a, bb, c, a, missing, "not-an-id")
	for _, id := range []string{a, bb, c} {
		if res[id].Status != store.ResendQueued || res[id].Number == "" {
			t.Errorf("account %s: got %+v, want queued with a number", id, res[id])
		}
	}
	for _, id := range []string{missing, "not-an-id"} {
		if res[id].Status != store.ResendNotSent || res[id].Code != store.ResendNotFound {
			t.Errorf("account %s: got %+v, want not_sent not_found", id, res[id])
		}
	}
	if len(res) != 5 {
		t.Errorf("got %d answers, want 5 (the duplicate once)", len(res))
	}
	s.SMTP.WaitForMessages(t, 5, 10*time.Second)
	// An email is recorded as sent just after the server accepts it: wait for the records.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var recorded int
		s.DB.Get(&recorded, `SELECT count(*) FROM invitations WHERE id = ANY($1::uuid[]) AND state = 'sent'`,
			pq.Array([]string{res[a].InvitationID, res[bb].InvitationID, res[c].InvitationID}))
		if recorded == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d resent invitations recorded as sent, want 3", recorded)
		}
	}

	// The same request's tasks delivered again send nothing more.
	tokens, err := token.NewInvitations(stacktest.TokenSecret)
	if err != nil {
		t.Fatal(err)
	}
	h := jobs.NewHandler(jobs.Config{PublicURL: stacktest.PublicURL, InvitationTTL: time.Hour, Tokens: tokens}, s.Store, nil, s.Feeder, w.Metrics, zerologNop())
	defer h.Close()
	for _, id := range []string{a, bb, c} {
		if err := h.Mux().ProcessTask(context.Background(), jobs.NewInvitationTask(s.Queues, res[id].InvitationID)); err != nil {
			t.Fatalf("second run: %v", err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	for rcpt, want := range map[string]int{"a@acme.test": 2, "b@acme.test": 2, "c@acme.test": 1} {
		if got := len(s.MessagesTo(rcpt)); got != want {
			t.Errorf("emails to %s: got %d, want %d", rcpt, got, want)
		}
	}
	if got := s.Do("GET", "/v1/activation/"+oldA, "", nil); got.Status != http.StatusGone || got.ErrorCode(t) != "invitation_gone" {
		t.Errorf("old link: got %d %s, want 410 invitation_gone", got.Status, got.Body)
	}
	newA := s.ActivationToken(s.MessagesTo("a@acme.test")[1])
	if got := s.Do("GET", "/v1/activation/"+newA, "", nil); got.Status != http.StatusOK {
		t.Errorf("new link: got %d %s, want 200", got.Status, got.Body)
	}
	after := s.Accounts(org)["c@acme.test"]
	if after.Status != "invited" || after.MultilineNumber == nil || *after.MultilineNumber != res[c].Number ||
		after.Invitation == nil || *after.Invitation != "sent" {
		t.Errorf("c after resend: got %+v, want invited with %s and a sent invitation", after, res[c].Number)
	}
}

func TestResendWithoutNumbers(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 1)
	s.StartWorker(2)
	up := s.Upload(s.RootToken, org, group, []byte(header+"A,A,a@acme.test,No,,auto,on,\r\nB,B,b@acme.test,No,,auto,on,\r\nPhone,User,+15557654321,No,,auto,on,\r\n"),
		map[string]string{"invite": "false"})
	var b store.Batch
	up.JSON(t, &b)
	s.WaitBatch(b.ID, 30*time.Second)
	accts := s.Accounts(org)
	a, bb := accts["a@acme.test"].ID, accts["b@acme.test"].ID
	res := resend(t, s, org, a, bb)
	queued, short := res[a], res[bb]
	if queued.Status != store.ResendQueued {
		queued, short = short, queued
	}
	if queued.Status != store.ResendQueued || queued.Number != "+15550000000" {
		t.Errorf("got %+v, want one of a and b queued with the only number", queued)
	}
	if short.Status != store.ResendNotSent || short.Code != store.ResendNoNumber || !strings.HasPrefix(short.Reason, "Not sent: no number available") {
		t.Errorf("got %+v, want the other not_sent no_number", short)
	}
	tok := s.ActivationToken(s.SMTP.WaitForMessages(t, 1, 10*time.Second)[0])
	if got := s.Do("POST", "/v1/activation/"+tok, "", map[string]any{}); got.Status != http.StatusOK {
		t.Fatalf("activate: got %d %s", got.Status, got.Body)
	}
	if r := resend(t, s, org, queued.AccountID)[queued.AccountID]; r.Status != store.ResendNotSent || r.Code != store.ResendActive {
		t.Errorf("active account: got %+v, want not_sent active_already", r)
	}
}

func TestResendRetriesAfter421AndSendsOnce(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	up := s.Upload(s.RootToken, org, group, stacktest.CSV("acme.test", 0, 3), map[string]string{"invite": "false"})
	var b store.Batch
	up.JSON(t, &b)
	s.StartWorker(3)
	s.WaitBatch(b.ID, 30*time.Second)
	var ids []string
	for _, a := range s.Accounts(org) {
		ids = append(ids, a.ID)
	}
	s.SMTP.FailTransient(1200 * time.Millisecond)
	resend(t, s, org, ids...)
	msgs := s.SMTP.WaitForMessages(t, 3, 20*time.Second)
	time.Sleep(500 * time.Millisecond)
	seen := map[string]int{}
	for _, m := range s.SMTP.Messages() {
		seen[m.To[0]]++
	}
	if len(msgs) != 3 || len(seen) != 3 || len(s.SMTP.Messages()) != 3 {
		t.Errorf("got %d emails to %v, want one to each of 3", len(s.SMTP.Messages()), seen)
	}
	var sent int
	s.DB.Get(&sent, `SELECT count(*) FROM invitations WHERE state = 'sent'`)
	if sent != 3 {
		t.Errorf("got %d sent invitations, want 3", sent)
	}
}

func TestRefusedInvitationShowsOnTheAccount(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	s.SMTP.RejectRecipient(func(rcpt string) *smtp.SMTPError {
		if strings.HasPrefix(rcpt, "bad@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
		}
		return nil
	})
	s.StartWorker(2)
	s.Invite(org, group, []byte(header+"B,B,bad@acme.test,No,,auto,on,\r\nG,G,good@acme.test,No,,auto,on,\r\n"))
	check := func(when string) {
		t.Helper()
		accts := s.Accounts(org)
		bad, good := accts["bad@acme.test"], accts["good@acme.test"]
		if bad.Invitation == nil || *bad.Invitation != "failed" || bad.InvitationError == nil || !strings.Contains(*bad.InvitationError, "550") {
			t.Errorf("%s: bad account got invitation %v error %v, want failed with the 550", when, bad.Invitation, bad.InvitationError)
		}
		if bad.Status != store.AccountInvitationFailed {
			t.Errorf("%s: bad account status: got %s, want invitation_failed", when, bad.Status)
		}
		if good.Invitation == nil || *good.Invitation != "sent" || good.Status != "invited" {
			t.Errorf("%s: good account got %s with invitation %v, want invited and sent", when, good.Status, good.Invitation)
		}
	}
	check("after the batch")
	if r := resend(t, s, org, s.Accounts(org)["bad@acme.test"].ID); len(r) != 1 {
		t.Fatalf("resend: got %v", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var pending int
		s.DB.Get(&pending, `SELECT count(*) FROM invitations WHERE state = 'pending'`)
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	check("after a resend")
	if n := len(s.SMTP.Messages()); n != 1 {
		t.Errorf("got %d emails delivered, want 1", n)
	}
}

func TestReconcilerSendsInvitationsWhoseTaskWasLost(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	up := s.Upload(s.RootToken, org, group, stacktest.CSV("acme.test", 0, 2), map[string]string{"invite": "false"})
	var b store.Batch
	up.JSON(t, &b)
	w := s.StartWorker(2)
	s.WaitBatch(b.ID, 30*time.Second)
	w.Stop()
	var ids []string
	for _, a := range s.Accounts(org) {
		ids = append(ids, a.ID)
	}
	resend(t, s, org, ids...)
	s.Redis.Flush(t) // the resend's tasks are gone; its invitations wait in PostgreSQL
	s.StartWorker(2)
	time.Sleep(300 * time.Millisecond)
	if n := len(s.SMTP.Messages()); n != 0 {
		t.Fatalf("got %d emails before reconciling, want 0", n)
	}
	if err := s.Reconciler().ReconcileInvitations(context.Background()); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	s.SMTP.WaitForMessages(t, 2, 10*time.Second)
	if err := s.Reconciler().ReconcileInvitations(context.Background()); err != nil {
		t.Fatalf("second reconcile: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(s.SMTP.Messages()); n != 2 {
		t.Errorf("got %d emails, want 2", n)
	}
}
