package jobs_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/token"
)

// flakySender refuses each recipient's first email with a temporary error and keeps every
// Message-ID it was asked to send, per recipient.
type flakySender struct {
	mu  sync.Mutex
	ids map[string][]string
}

func (f *flakySender) Send(_ context.Context, msg mailer.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids[msg.To] = append(f.ids[msg.To], msg.MessageID)
	if len(f.ids[msg.To]) == 1 {
		return errors.New("connection reset")
	}
	return nil
}

func (f *flakySender) sent(rcpt string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ids[rcpt]...)
}

func TestMessageIDsUseTheDomainOfMailFromAndSurviveRetries(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 5)
	if got := s.Do("PUT", "/v1/organizations/"+org+"/settings", s.RootToken,
		map[string]any{"batch_report_recipients": []string{"ops@acme.test"}}); got.Status != http.StatusOK {
		t.Fatalf("settings: got %d %s", got.Status, got.Body)
	}
	tokens, err := token.NewInvitations(stacktest.TokenSecret)
	if err != nil {
		t.Fatal(err)
	}
	mail := &flakySender{ids: map[string][]string{}}
	m := metrics.NewWorker(metrics.NewRegistry())
	h := jobs.NewHandler(jobs.Config{PublicURL: stacktest.PublicURL, InvitationTTL: time.Hour, Tokens: tokens,
		MailFrom: "MultiLine <no-reply@Example.COM>"}, s.Store, mail, s.Feeder, m, zerologNop())
	cfg := jobs.ServerConfig(2, 10*time.Second, m, zerologNop())
	cfg.RetryDelayFunc = func(int, error, *asynq.Task) time.Duration { return 100 * time.Millisecond }
	srv := jobs.NewServers(s.Redis.Opt, s.Queues, cfg)
	if err := srv.Start(h.Mux()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); h.Close() })

	b := upload(t, s, org, group, []byte(header+"A,A,a@acme.test,No,,auto,on,\r\n"), true)
	s.WaitBatch(b.ID, 30*time.Second)
	waitNotified(t, s, b.ID)

	var invitationID string
	if err := s.DB.Get(&invitationID, `SELECT i.id FROM invitations i JOIN accounts a ON a.id = i.account_id WHERE a.identifier = 'a@acme.test'`); err != nil {
		t.Fatal(err)
	}
	summary := regexp.MustCompile(`^<batch-summary-` + regexp.QuoteMeta(b.ID) + `-[0-9a-f]{16}@example\.com>$`)
	for _, tc := range []struct {
		rcpt  string
		match func(string) bool
		want  string
	}{
		{"a@acme.test", func(id string) bool { return id == "<invitation-"+invitationID+"@example.com>" }, "<invitation-" + invitationID + "@example.com>"},
		{"ops@acme.test", summary.MatchString, summary.String()},
	} {
		ids := mail.sent(tc.rcpt)
		if len(ids) != 2 {
			t.Fatalf("%s: got %d attempts, want 2 (a refusal, then a retry)", tc.rcpt, len(ids))
		}
		if !tc.match(ids[0]) {
			t.Errorf("%s: got Message-ID %q, want %s", tc.rcpt, ids[0], tc.want)
		}
		if ids[1] != ids[0] {
			t.Errorf("%s: retry got Message-ID %q, want the first attempt's %q", tc.rcpt, ids[1], ids[0])
		}
	}
}
