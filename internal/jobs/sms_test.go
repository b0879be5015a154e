package jobs_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/smstest"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/testenv"
)

// device is the device number of test person i.
func device(i int) string { return fmt.Sprintf("+1555765%04d", i) }

// smsGreetings are the first words of the default SMS text of each language.
var smsGreetings = map[string]string{"English": "Hi Ada,", "Italian": "Ciao Ada,", "German": "Hallo Ada,",
	"French": "Bonjour Ada,", "Spanish": "Hola Ada,"}

// TestMixedFileGetsOneEmailOrOneSMSPerRow: emails and device numbers in one file, in the
// five languages; each row gets one email or one SMS, in its language, and every link opens.
func TestMixedFileGetsOneEmailOrOneSMSPerRow(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 20)
	s.StartWorker(4)
	langs := []string{"English", "Italian", "German", "French", "Spanish"}
	file := header
	for i, lang := range langs {
		file += fmt.Sprintf("Ada,Lovelace,ada%d@acme.test,No,,auto,on,%s\r\n", i, lang)
		file += fmt.Sprintf("Ada,Lovelace,%s,No,,auto,on,%s\r\n", device(i), lang)
	}
	b := s.Invite(org, group, []byte(file))
	if b.Succeeded != 10 || b.Failed != 0 {
		t.Fatalf("got %+v, want 10 succeeded", b)
	}
	s.SMTP.WaitForMessages(t, 5, 10*time.Second)
	s.SMS.WaitForCount(t, 5, 10*time.Second)
	var links, open int
	for i, lang := range langs {
		emails, texts := s.MessagesTo(fmt.Sprintf("ada%d@acme.test", i)), s.SMSTo(device(i))
		if len(emails) != 1 || len(texts) != 1 {
			t.Errorf("%s: got %d emails and %d SMS, want 1 and 1", lang, len(emails), len(texts))
			continue
		}
		if sms := texts[0]; !strings.HasPrefix(sms.Body, smsGreetings[lang]) || !strings.Contains(sms.Body, "Acme") || sms.From != smstest.From {
			t.Errorf("%s: SMS %q from %s, want it to start %q, name Acme, come from %s", lang, sms.Body, sms.From, smsGreetings[lang], smstest.From)
		}
		for _, tok := range []string{s.ActivationToken(emails[0]), s.SMSToken(texts[0])} {
			links++
			if code := s.ActivationStatus(tok); code == http.StatusOK {
				open++
			}
		}
	}
	t.Logf("%d emails, %d SMS (%d requests), %d of %d links open", len(s.SMTP.Messages()), len(s.SMS.Messages()), s.SMS.Requests(), open, links)
	if open != 10 || links != 10 || len(s.SMS.Messages()) != 5 || s.SMS.Requests() != 5 {
		t.Errorf("got %d of %d links open and %d SMS in %d requests, want 10 of 10 and 5 in 5", open, links, len(s.SMS.Messages()), s.SMS.Requests())
	}
	for _, r := range report(t, s, b.ID)[1:] {
		if r[4] != "succeeded" || r[7] != "sent" {
			t.Errorf("report line %v: want succeeded and sent", r)
		}
	}
	if a := s.Accounts(org)[device(0)]; a.Status != "invited" {
		t.Errorf("device account: got status %s, want invited", a.Status)
	}
	checkInvariants(t, s)
}

// TestSMS429ThenRecoverySendsOnce: the provider answers 429 with Retry-After: 1 twice; the
// rows wait that long, then each person gets one SMS.
func TestSMS429ThenRecoverySendsOnce(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	s.SMS.FailNext(2, smstest.TooManyRequests)
	w := s.StartWorker(4)
	file := header
	for i := range 3 {
		file += fmt.Sprintf("Ada,Lovelace,%s,No,,auto,on,English\r\n", device(i))
	}
	b := s.Invite(org, group, []byte(file))
	if b.Succeeded != 3 {
		t.Fatalf("got %+v, want 3 succeeded", b)
	}
	reqs := s.SMS.RequestLog()
	perRcpt := map[string]int{}
	for _, m := range s.SMS.Messages() {
		perRcpt[m.To]++
	}
	// Each refused recipient's next request came after the Retry-After.
	var waited []time.Duration
	for i, r := range reqs {
		if r.Status != http.StatusTooManyRequests {
			continue
		}
		for _, later := range reqs[i+1:] {
			if later.To == r.To {
				waited = append(waited, later.At.Sub(r.At))
				break
			}
		}
	}
	t.Logf("%d requests, %d SMS to %d recipients; waits after 429: %v", len(reqs), len(s.SMS.Messages()), len(perRcpt), waited)
	if len(reqs) != 5 || len(s.SMS.Messages()) != 3 || len(perRcpt) != 3 {
		t.Errorf("got %d requests and %d SMS to %d recipients, want 5, 3 and 3", len(reqs), len(s.SMS.Messages()), len(perRcpt))
	}
	for _, d := range waited {
		if d < 900*time.Millisecond {
			t.Errorf("retried %s after a 429 with Retry-After: 1, want at least 1s", d)
		}
	}
	if got := testutil.ToFloat64(w.Metrics.SMSFailed.WithLabelValues(metrics.SMSRateLimited)); got != 2 {
		t.Errorf("sms failed rate_limited: got %v, want 2", got)
	}
	if got := testutil.ToFloat64(w.Metrics.SMSSent); got != 3 {
		t.Errorf("sms sent: got %v, want 3", got)
	}
}

// TestSMSPermanentRefusalFailsTheInvitation: an unsubscribed and an invalid number fail
// their invitations at once, with Twilio's reason in the report; the others go out.
func TestSMSPermanentRefusalFailsTheInvitation(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	s.SMS.Refuse(func(to string) *smstest.Fault {
		switch to {
		case device(1):
			f := smstest.Unsubscribed()
			return &f
		case device(2):
			f := smstest.InvalidNumber(to)
			return &f
		}
		return nil
	})
	w := s.StartWorker(4)
	file := header
	for i := range 4 {
		file += fmt.Sprintf("Ada,Lovelace,%s,No,,auto,on,English\r\n", device(i))
	}
	b := s.Invite(org, group, []byte(file))
	if b.Succeeded != 4 {
		t.Fatalf("got %+v, want 4 succeeded (the accounts exist)", b)
	}
	want := map[string]string{
		device(0): "", device(3): "",
		device(1): "Account created; invitation not delivered: sms provider: 400 21610 Attempt to send to unsubscribed recipient",
		device(2): "Account created; invitation not delivered: sms provider: 400 21211 The 'To' number " + device(2) + " is not a valid phone number.",
	}
	for _, r := range report(t, s, b.ID)[1:] {
		reason, ok := want[r[1]]
		switch {
		case !ok:
			t.Errorf("report line for %s", r[1])
		case reason == "" && (r[7] != "sent" || r[5] != ""):
			t.Errorf("%s: got invitation %s reason %q, want sent", r[1], r[7], r[5])
		case reason != "" && (r[7] != "failed" || r[5] != reason):
			t.Errorf("%s: got invitation %s reason %q, want failed %q", r[1], r[7], r[5], reason)
		}
	}
	if n := s.SMS.Requests(); n != 4 {
		t.Errorf("got %d requests, want 4 (a refusal is not retried)", n)
	}
	for class, n := range map[string]float64{metrics.SMSOptedOut: 1, metrics.SMSInvalidNumber: 1, metrics.SMSTransient: 0} {
		if got := testutil.ToFloat64(w.Metrics.SMSFailed.WithLabelValues(class)); got != n {
			t.Errorf("sms failed %s: got %v, want %v", class, got, n)
		}
	}
}

// TestDeviceRowsWithoutSMS: with SMS_URL unset a device row is created and its invitation
// not sent, and the report says SMS is not configured.
func TestDeviceRowsWithoutSMS(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	s.WithoutSMS()
	org, group := s.Org("Acme", 0, 10)
	s.StartWorker(2)
	b := s.Invite(org, group, []byte(header+"Ada,Lovelace,"+device(0)+",No,,auto,on,English\r\n"))
	if b.Succeeded != 1 {
		t.Fatalf("got %+v, want 1 succeeded", b)
	}
	r := report(t, s, b.ID)[1]
	if r[7] != "not_sent" || !strings.Contains(r[5], "SMS is not configured") {
		t.Errorf("report: got invitation %s reason %q, want not_sent saying SMS is not configured", r[7], r[5])
	}
	if n := s.SMS.Requests(); n != 0 {
		t.Errorf("got %d SMS requests, want none", n)
	}
}

// TestResendSendsAnSMSWithANewLink: Resend Invitation of a device account sends one SMS
// whose link opens, and the old link answers 410.
func TestResendSendsAnSMSWithANewLink(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	s.StartWorker(2)
	s.Invite(org, group, []byte(header+"Ada,Lovelace,"+device(0)+",No,,auto,on,Italian\r\n"))
	first := s.SMS.WaitForCount(t, 1, 10*time.Second)[0]
	oldTok := s.SMSToken(first)
	// Past the resend cooldown.
	s.DB.MustExec(`UPDATE invitations SET created_at = created_at - interval '2 minutes'`)
	id := s.Accounts(org)[device(0)].ID
	if r := resend(t, s, org, id)[id]; r.Status != store.ResendQueued {
		t.Fatalf("resend: got %+v, want queued", r)
	}
	second := s.SMS.WaitForCount(t, 2, 10*time.Second)[1]
	newTok := s.SMSToken(second)
	if second.To != device(0) || !strings.HasPrefix(second.Body, "Ciao Ada,") || newTok == oldTok {
		t.Errorf("resent SMS: got %q to %s, want the Italian text with a new link", second.Body, second.To)
	}
	if old, cur := s.ActivationStatus(oldTok), s.ActivationStatus(newTok); old != http.StatusGone || cur != http.StatusOK {
		t.Errorf("links after the resend: old %d, new %d, want 410 and 200", old, cur)
	}
}

// TestOffloadRefusesDeviceRows: an organization with SMTP data offload accepts only email
// identifiers: the dry run says so, and a device row uploaded before offload was turned on
// fails with that reason when it runs.
func TestOffloadRefusesDeviceRows(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	file := []byte(header + "Ada,Lovelace," + device(0) + ",No,,auto,on,English\r\nBob,B,bob@acme.test,No,,auto,on,English\r\n")
	b := upload(t, s, org, group, file, true)
	s.DB.MustExec(`UPDATE organizations SET smtp_data_offload = true WHERE id = $1`, org)
	w := s.StartWorker(2)
	done := s.WaitBatch(b.ID, 30*time.Second)
	if done.Succeeded != 1 || done.Failed != 1 {
		t.Fatalf("got %+v, want 1 succeeded and 1 failed", done)
	}
	r := report(t, s, b.ID)[1]
	if r[4] != "failed" || !strings.Contains(r[5], "SMTP data offload") {
		t.Errorf("device row: got %s %q, want failed for SMTP data offload", r[4], r[5])
	}
	if got := testutil.ToFloat64(w.Metrics.RowsSettled.WithLabelValues(store.RowFailed, store.CodeEmailRequired)); got != 1 {
		t.Errorf("rows settled failed email_required: got %v, want 1", got)
	}
	dryFile := []byte(header + "Ada,Lovelace," + device(1) + ",No,,auto,on,English\r\nCy,C,cy@acme.test,No,,auto,on,English\r\n")
	got := s.Upload(s.RootToken, org, group, dryFile, map[string]string{"dry_run": "true"})
	var dry struct {
		Invalid int `json:"invalid"`
		Errors  []struct {
			Row     int    `json:"row"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	got.JSON(t, &dry)
	if got.Status != http.StatusOK || dry.Invalid != 1 || len(dry.Errors) != 1 || dry.Errors[0].Row != 2 || !strings.Contains(dry.Errors[0].Message, "SMTP data offload") {
		t.Errorf("dry run: got %d %s, want row 2 refused for SMTP data offload", got.Status, got.Body)
	}
}

// TestMoveAndOffloadWithDeviceAccounts: a moved device account keeps a link that opens; a
// destination with SMTP data offload refuses it (422 email_required), and a resend in such an
// organization leaves it alone (phone_account).
func TestMoveAndOffloadWithDeviceAccounts(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	other, _ := s.Org("Other", 100, 10)
	offload, _ := s.Org("Offload", 200, 10)
	s.DB.MustExec(`UPDATE organizations SET smtp_data_offload = true WHERE id = $1`, offload)
	s.StartWorker(2)
	s.Invite(org, group, []byte(header+"Ada,Lovelace,"+device(0)+",No,,auto,on,English\r\n"))
	tok := s.SMSToken(s.SMS.WaitForCount(t, 1, 10*time.Second)[0])
	id := s.Accounts(org)[device(0)].ID

	got := s.Do("POST", "/v1/accounts/move", s.RootToken, map[string]any{"account_ids": []string{id}, "organization_id": offload})
	if code := got.ErrorCode(t); got.Status != http.StatusUnprocessableEntity || code != store.MoveEmailRequired {
		t.Errorf("move into an offload organization: got %d %s, want 422 email_required", got.Status, got.Body)
	}
	if got := s.Do("POST", "/v1/accounts/move", s.RootToken, map[string]any{"account_ids": []string{id}, "organization_id": other}); got.Status != http.StatusOK {
		t.Fatalf("move: got %d %s, want 200", got.Status, got.Body)
	}
	if code := s.ActivationStatus(tok); code != http.StatusOK {
		t.Errorf("the moved account's SMS link: got %d, want 200", code)
	}
	s.DB.MustExec(`UPDATE organizations SET smtp_data_offload = true WHERE id = $1`, other)
	s.DB.MustExec(`UPDATE invitations SET created_at = created_at - interval '2 minutes'`)
	if r := resend(t, s, other, id)[id]; r.Status != store.ResendNotSent || r.Code != store.ResendPhone || !strings.Contains(r.Reason, "SMTP data offload") {
		t.Errorf("resend in an offload organization: got %+v, want not_sent phone_account about SMTP data offload", r)
	}
	if n := len(s.SMS.Messages()); n != 1 {
		t.Errorf("got %d SMS, want 1 (the move sends none; the refused resend none)", n)
	}
}

// TestResendRefusedByTheProviderShowsOnTheAccount: a resend's SMS refused for good fails
// the invitation with Twilio's reason, once.
func TestResendRefusedByTheProviderShowsOnTheAccount(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	s.StartWorker(2)
	b := upload(t, s, org, group, []byte(header+"Ada,Lovelace,"+device(0)+",No,,auto,on,English\r\n"), false)
	s.WaitBatch(b.ID, 30*time.Second)
	s.SMS.Refuse(func(string) *smstest.Fault { f := smstest.Unsubscribed(); return &f })
	id := s.Accounts(org)[device(0)].ID
	if r := resend(t, s, org, id)[id]; r.Status != store.ResendQueued {
		t.Fatalf("resend: got %+v, want queued", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Accounts(org)[device(0)].Status != "invitation_failed" {
		if time.Now().After(deadline) {
			t.Fatalf("account: got %+v after 10s, want invitation_failed", s.Accounts(org)[device(0)])
		}
		time.Sleep(50 * time.Millisecond) // polling the condition, within the deadline
	}
	a := s.Accounts(org)[device(0)]
	if a.InvitationError == nil || !strings.Contains(*a.InvitationError, "21610 Attempt to send to unsubscribed recipient") {
		t.Errorf("invitation_error: got %v, want Twilio's 21610 reason", a.InvitationError)
	}
	if n := s.SMS.Requests(); n != 1 {
		t.Errorf("got %d requests, want 1 (a refusal is not retried)", n)
	}
}

// TestSMSRate: with SMS_RATE=20 two workers send a batch of device rows at most 20 SMS in
// any second between them (as the provider's clock tells), and each person gets one. Not
// parallel: the fake provider's clock counts.
func TestSMSRate(t *testing.T) {
	const rows, rate = 60, 20
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, rows+5)
	s.SendRates(0, rate)
	s.StartWorker(16)
	s.StartWorker(16)
	file := header
	for i := range rows {
		file += fmt.Sprintf("Ada,Lovelace,%s,No,,auto,on,English\r\n", device(i))
	}
	stalls := testenv.WatchStalls(t)
	b := s.Invite(org, group, []byte(file))
	if b.Succeeded != rows {
		t.Fatalf("got %+v, want %d succeeded", b, rows)
	}
	var at []time.Time
	for _, m := range s.SMS.WaitForCount(t, rows, 30*time.Second) {
		at = append(at, m.DateCreated)
	}
	for i := range rows {
		if n := len(s.SMSTo(device(i))); n != 1 {
			t.Errorf("%s got %d SMS, want 1", device(i), n)
		}
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	busiest, stall := testenv.BusiestSecond(at), stalls()
	slack := testenv.RateSlack(rate, stall)
	span := at[len(at)-1].Sub(at[0])
	t.Logf("%d SMS in %.2fs; busiest second %d (this process stalled %v at worst)", len(at), span.Seconds(), busiest, stall.Round(time.Millisecond))
	if busiest > rate+slack {
		t.Errorf("the busiest second had %d SMS, want at most %d (SMS_RATE=%d, plus %d for delivery jitter and a stall of %v)", busiest, rate+slack, rate, slack, stall)
	}
	if min := time.Duration(rows-1) * time.Second / rate * 95 / 100; span < min {
		t.Errorf("%d SMS took %.2fs, want at least %.2fs at %d a second", len(at), span.Seconds(), min.Seconds(), rate)
	}
}
