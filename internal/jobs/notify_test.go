package jobs_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

func TestBatchSummaryEmailedToEachRecipient(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	settings := map[string]any{"batch_report_recipients": []string{"ops@acme.test", "boss@acme.test", "gone@acme.test"}}
	if got := s.Do("PUT", "/v1/organizations/"+org+"/settings", s.RootToken, settings); got.Status != http.StatusOK {
		t.Fatalf("settings: got %d %s", got.Status, got.Body)
	}
	s.SMTP.RejectRecipient(func(rcpt string) *smtp.SMTPError {
		if strings.HasPrefix(rcpt, "gone@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
		}
		return nil
	})
	w := s.StartWorker(4)
	file := header +
		"A,A,a@acme.test,No,,auto,on,\r\n" +
		"B,B,b@acme.test,No,+15559990001,auto,on,\r\n" + // in nobody's pool
		"C,C,c@acme.test,No,+15559990002,auto,on,\r\n" +
		"D,D,d@acme.test,No,,auto,on,\r\n"
	b := s.Invite(org, group, []byte(file))
	if b.Succeeded != 2 || b.Failed != 2 {
		t.Fatalf("got %+v, want 2 succeeded and 2 failed", b)
	}
	// Two invitations and two summaries; the third summary is refused.
	s.SMTP.WaitForMessages(t, 4, 10*time.Second)
	waitNotified(t, s, b.ID)
	csv := s.Do("GET", "/v1/batches/"+b.ID+"/report.csv", s.RootToken, nil).Body
	for _, rcpt := range []string{"ops@acme.test", "boss@acme.test"} {
		msgs := s.MessagesTo(rcpt)
		if len(msgs) != 1 {
			t.Fatalf("got %d summaries to %s, want 1", len(msgs), rcpt)
		}
		m := msgs[0]
		text := m.Text()
		for _, want := range []string{"Acme", "root@test.example", "Import & Invite", stacktest.PublicURL + "/v1/batches/" + b.ID + "/report.csv",
			"2 × The multiline_number <number> is not in this organization's pool"} {
			if !strings.Contains(text, want) {
				t.Errorf("summary to %s lacks %q:\n%s", rcpt, want, text)
			}
		}
		att := m.Attachments()
		if len(att) != 1 || !strings.HasSuffix(att[0].Filename, ".csv") || !bytes.Equal(att[0].Body, csv) {
			t.Errorf("summary to %s: got %d attachments, want the report CSV", rcpt, len(att))
		}
	}
	states := map[string]string{}
	rows, _ := s.DB.Query(`SELECT recipient, state FROM batch_notifications WHERE batch_id = $1`, b.ID)
	for rows.Next() {
		var r, st string
		rows.Scan(&r, &st)
		states[r] = st
	}
	rows.Close()
	if states["ops@acme.test"] != "sent" || states["boss@acme.test"] != "sent" || states["gone@acme.test"] != "failed" {
		t.Errorf("notifications: got %v, want two sent and gone@ failed", states)
	}
	if got, _ := s.Store.Batch(context.Background(), b.ID); got.Status != store.BatchCompleted {
		t.Errorf("batch: got %s, want completed", got.Status)
	}

	// A finalizer delivered again sends no second summary.
	h := jobs.NewHandler(jobs.Config{PublicURL: stacktest.PublicURL, InvitationTTL: time.Hour}, s.Store, nil, s.Feeder, w.Metrics, zerologNop())
	defer h.Close()
	if err := h.Mux().ProcessTask(context.Background(), jobs.NewFinalizeTask(s.Queues, b.ID)); err != nil {
		t.Fatalf("second finalize: %v", err)
	}
	for _, rcpt := range []string{"ops@acme.test", "boss@acme.test"} {
		if err := h.Mux().ProcessTask(context.Background(), jobs.NewNotifyTask(s.Queues, b.ID, rcpt)); err != nil {
			t.Fatalf("second notify: %v", err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(s.SMTP.Messages()); n != 4 {
		t.Errorf("got %d emails, want 4", n)
	}
}

func TestBatchSummaryAfterTransientFailure(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	s.Do("PUT", "/v1/organizations/"+org+"/settings", s.RootToken, map[string]any{"batch_report_recipients": []string{"ops@acme.test"}})
	s.StartWorker(2)
	s.SMTP.FailTransient(1200 * time.Millisecond)
	up := s.Upload(s.RootToken, org, group, stacktest.CSV("acme.test", 0, 2), map[string]string{"invite": "false"})
	var b store.Batch
	up.JSON(t, &b)
	done := s.WaitBatch(b.ID, 30*time.Second)
	if done.Status != store.BatchCompleted {
		t.Fatalf("got %s, want completed while the mail server refuses", done.Status)
	}
	waitNotified(t, s, b.ID)
	if msgs := s.MessagesTo("ops@acme.test"); len(msgs) != 1 || !strings.Contains(msgs[0].Text(), "Import") {
		t.Fatalf("got %d summaries, want 1", len(msgs))
	}
}

// waitNotified waits until batch id has notified_at: every summary email was handled.
func waitNotified(t *testing.T, s *stacktest.Stack, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var done bool
		if err := s.DB.Get(&done, `SELECT notified_at IS NOT NULL FROM batches WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch %s was not notified within 20s", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
