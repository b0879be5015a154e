package jobs_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

// TestPoolAlertEmails walks the pool alert through two episodes against the real API,
// worker and SMTP server: an Import & Invite batch needing more numbers than are Available
// raises it with one email to the recipient, not one per row; it clears when the level
// recovers; a batch that takes Available under the threshold raises it again, and staying
// low sends nothing more.
func TestPoolAlertEmails(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 3)
	settings := func(body map[string]any) store.Organization {
		t.Helper()
		got := s.Do("PUT", "/v1/organizations/"+org+"/settings", s.RootToken, body)
		if got.Status != http.StatusOK {
			t.Fatalf("settings %v: got %d %s", body, got.Status, got.Body)
		}
		var o store.Organization
		got.JSON(t, &o)
		return o
	}
	settings(map[string]any{"batch_report_recipients": []string{"ops@acme.test"}})
	w := s.StartWorker(4)
	alertsTo := func() []string {
		var subjects []string
		for _, m := range s.MessagesTo("ops@acme.test") {
			if subject := m.Header.Get("Subject"); strings.HasPrefix(subject, "Threshold exceeded") {
				subjects = append(subjects, subject)
			}
		}
		return subjects
	}
	// waitAlerts waits for the nth alert email to ops@ (who gets the batch summaries too).
	waitAlerts := func(n int) []string {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); len(alertsTo()) < n; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("alerts to ops@: got %q, want %d", alertsTo(), n)
			}
		}
		return alertsTo()
	}
	waitRaised := func(want bool) store.Organization {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			var o store.Organization
			s.Do("GET", "/v1/organizations/"+org, s.RootToken, nil).JSON(t, &o)
			if (o.PoolAlertRaisedAt != nil) == want {
				return o
			}
			if time.Now().After(deadline) {
				t.Fatalf("pool alert raised: got %v, want %v", o.PoolAlertRaisedAt != nil, want)
			}
		}
	}

	// Six rows need a free number each; three are Available. The rows wait (their queue is
	// paused) while a reconciler pass checks the pool, so that the alert sees the need of all
	// six whatever the timing of the workers' own checks.
	if err := s.Inspector.PauseQueue(s.Queues.Rows()); err != nil {
		t.Fatal(err)
	}
	up := s.Upload(s.RootToken, org, group, stacktest.CSV("acme.test", 1, 6), map[string]string{"invite": "true"})
	if up.Status != http.StatusAccepted {
		t.Fatalf("upload: got %d %s", up.Status, up.Body)
	}
	var pending store.Batch
	up.JSON(t, &pending)
	if err := s.Reconciler().Once(context.Background()); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	waitAlerts(1)
	if err := s.Inspector.UnpauseQueue(s.Queues.Rows()); err != nil {
		t.Fatal(err)
	}
	b := s.WaitBatch(pending.ID, 30*time.Second)
	if b.Succeeded != 3 || b.Failed != 3 {
		t.Fatalf("batch: got %d succeeded, %d failed; want 3 and 3 (no number)", b.Succeeded, b.Failed)
	}
	waitAlerts(1)
	// Its rows have settled: nothing is needed any more, and with no threshold an empty pool is
	// not low.
	waitRaised(false)
	if got := alertsTo(); len(got) != 1 || got[0] != "Threshold exceeded for invitations: Acme has 3 available numbers" {
		t.Fatalf("alerts to ops@: got %q, want one, saying 3 available", got)
	}
	var body string
	for _, m := range s.MessagesTo("ops@acme.test") {
		if strings.HasPrefix(m.Header.Get("Subject"), "Threshold exceeded") {
			body = m.Text()
		}
	}
	if !strings.Contains(body, "Needed now:          6") || !strings.Contains(body, "about 3 of those rows will fail") {
		t.Errorf("alert text: got\n%s\nwant the need of 6 and the shortfall of 3", body)
	}

	// Ten numbers more and a threshold of 8: 10 Available, not low.
	if got := s.Do("POST", "/v1/organizations/"+org+"/numbers", s.RootToken, map[string]any{"numbers": stacktest.Numbers(100, 10)}); got.Status != http.StatusOK {
		t.Fatalf("add numbers: got %d %s", got.Status, got.Body)
	}
	if o := settings(map[string]any{"pool_alert_threshold": 8}); o.PoolAlertThreshold != 8 || o.PoolAlertRaisedAt != nil {
		t.Fatalf("threshold: got %d, raised at %v; want 8 and not raised", o.PoolAlertThreshold, o.PoolAlertRaisedAt)
	}
	// Three more accounts take Available to 7, under 8: raised again, by the worker.
	s.Invite(org, group, stacktest.CSV("acme.test", 20, 3))
	waitRaised(true)
	if got := waitAlerts(2); len(got) != 2 || got[1] != "Threshold exceeded for invitations: Acme has 7 available numbers" {
		t.Fatalf("alerts to ops@: got %q, want a second one, saying 7 available", got)
	}

	// Still low: the reconciler's passes plan nothing more.
	for range 2 {
		if err := s.Reconciler().Once(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var episodes, emails int
	s.DB.Get(&episodes, `SELECT episode FROM pool_alerts WHERE organization_id = $1`, org)
	s.DB.Get(&emails, `SELECT count(*) FROM pool_alert_emails WHERE organization_id = $1`, org)
	if episodes != 2 || emails != 2 {
		t.Errorf("after the reconciler: got episode %d and %d emails, want 2 and 2", episodes, emails)
	}
	for deadline := time.Now().Add(10 * time.Second); testutil.ToFloat64(w.Metrics.EmailsSent.WithLabelValues("pool_alert")) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("multiline_email_sent_total{kind=\"pool_alert\"}: got %v, want 2", testutil.ToFloat64(w.Metrics.EmailsSent.WithLabelValues("pool_alert")))
		}
	}
}
