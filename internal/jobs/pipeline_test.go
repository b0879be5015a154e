package jobs_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/hibiken/asynq"

	"github.com/multiline/onboarding/internal/jobs"
	batchreport "github.com/multiline/onboarding/internal/report"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

// upload posts a file and returns the accepted batch.
func upload(t *testing.T, s *stacktest.Stack, org, group string, file []byte, invite bool) store.Batch {
	t.Helper()
	got := s.Upload(s.RootToken, org, group, file, map[string]string{"invite": fmt.Sprint(invite)})
	if got.Status != http.StatusAccepted {
		t.Fatalf("upload: got %d %s, want 202", got.Status, got.Body)
	}
	var b store.Batch
	got.JSON(t, &b)
	return b
}

// report downloads and parses a finished batch's report.
func report(t *testing.T, s *stacktest.Stack, id string) [][]string {
	t.Helper()
	got := s.Do("GET", "/v1/batches/"+id+"/report.csv", s.RootToken, nil)
	if got.Status != 200 {
		t.Fatalf("report: got %d %s", got.Status, got.Body)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(got.Body, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatalf("parse report: %v", err)
	}
	return recs
}

// checkInvariants asserts what must hold after any batch: one account per identifier, one
// holder per number, every number in its account's organization, no pending row left.
func checkInvariants(t *testing.T, s *stacktest.Stack) {
	t.Helper()
	var n int
	queries := map[string]string{
		"numbers held by two accounts":             `SELECT count(*) FROM (SELECT account_id FROM numbers WHERE account_id IS NOT NULL GROUP BY account_id HAVING count(*) > 1) x`,
		"accounts sharing an identifier":           `SELECT count(*) FROM (SELECT identifier FROM accounts GROUP BY identifier HAVING count(*) > 1) x`,
		"succeeded invite rows lacking a number":   `SELECT count(*) FROM batch_rows r JOIN batches b ON b.id = r.batch_id WHERE b.invite AND r.status = 'succeeded' AND r.number = ''`,
		"rows whose number is not their account's": `SELECT count(*) FROM batch_rows r WHERE r.number <> '' AND r.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM numbers n WHERE n.e164 = r.number AND n.account_id = r.account_id)`,
		"reserved numbers without an account":      `SELECT count(*) FROM numbers WHERE state <> 'available' AND account_id IS NULL`,
		"failed rows holding an account":           `SELECT count(*) FROM batch_rows WHERE status IN ('failed', 'canceled') AND account_id IS NOT NULL`,
		"accounts without a row":                   `SELECT count(*) FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM batch_rows r WHERE r.account_id = a.id)`,
	}
	for what, q := range queries {
		if err := s.DB.Get(&n, q); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n != 0 {
			t.Errorf("%s: got %d, want 0", what, n)
		}
	}
}

func TestImportAndInviteEndToEnd(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 30)
	s.StartWorker(8)
	b := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 20), true)
	done := s.WaitBatch(b.ID, 30*time.Second)
	if done.Status != "completed" || done.Succeeded != 20 || done.Failed != 0 || done.Processed != 20 {
		t.Fatalf("got %+v, want completed with 20 succeeded", done)
	}
	msgs := s.SMTP.WaitForMessages(t, 20, 10*time.Second)
	if len(msgs) != 20 {
		t.Fatalf("got %d emails, want 20", len(msgs))
	}
	if !strings.Contains(msgs[0].Text(), stacktest.PublicURL+"/activate/") {
		t.Errorf("invitation lacks the activation link:\n%s", msgs[0].Text())
	}
	recs := report(t, s, b.ID)
	if len(recs) != 21 || strings.Join(recs[0], ",") != strings.Join(batchreport.Columns, ",") {
		t.Fatalf("report: got %d lines, header %v", len(recs), recs[0])
	}
	for i, r := range recs[1:] {
		if r[0] != fmt.Sprint(i+2) || r[4] != "succeeded" || r[7] != "sent" || !strings.HasPrefix(r[6], "+1555") {
			t.Errorf("report line %d: got %v", i+1, r)
		}
	}
	var accounts struct {
		Accounts []store.Account `json:"accounts"`
	}
	s.Do("GET", "/v1/organizations/"+org+"/accounts", s.RootToken, nil).JSON(t, &accounts)
	if len(accounts.Accounts) != 20 || accounts.Accounts[0].Status != "invited" || accounts.Accounts[0].MultilineNumber == nil {
		t.Errorf("accounts: got %d, first %+v", len(accounts.Accounts), accounts.Accounts[0])
	}
	var o store.Organization
	s.Do("GET", "/v1/organizations/"+org, s.RootToken, nil).JSON(t, &o)
	if o.Numbers.Reserved != 20 || o.Numbers.Available != 10 {
		t.Errorf("numbers: got %+v, want 20 reserved and 10 available", o.Numbers)
	}
	checkInvariants(t, s)
}

func TestImportWithoutNumbersAndNamedNumbers(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 3)
	s.Org("Other", 100, 2)
	file := "email address or device,social_messaging,multiline_number,monitor_calls,monitor_sms\n" +
		"a@acme.test,No,,auto,on\n" + // Import, no number: account without number
		"b@acme.test,No,+15550000001,off,off\n" + // named, Available here
		"c@acme.test,No,+15550000100,auto,on\n" + // named, another org's
		"d@acme.test,No,+15550000001,auto,on\n" + // named, just reserved by row 3
		"e@acme.test,No,+15559999999,auto,on\n" // in nobody's pool
	s.StartWorker(1) // one at a time, so row 3 reserves before row 5
	b := s.WaitBatch(upload(t, s, org, group, []byte(file), false).ID, 30*time.Second)
	if b.Succeeded != 2 || b.Failed != 3 {
		t.Fatalf("got %d succeeded, %d failed; want 2 and 3", b.Succeeded, b.Failed)
	}
	recs := report(t, s, b.ID)
	want := []struct{ status, reason string }{
		{"succeeded", ""},
		{"succeeded", ""},
		{"failed", "The multiline_number +15550000100 is not in this organization's pool"}, // as for nobody's number
		{"failed", `Row 5, multiline_number: "+15550000001" is also the multiline_number of row 3; a number goes to one account`},
		{"failed", "The multiline_number +15559999999 is not in this organization's pool"},
	}
	for i, w := range want {
		if r := recs[i+1]; r[4] != w.status || r[5] != w.reason || r[7] != "not_sent" {
			t.Errorf("row %d: got %v, want %s %q not_sent", i+2, r, w.status, w.reason)
		}
	}
	if len(s.SMTP.Messages()) != 0 {
		t.Errorf("Import sent %d emails, want none", len(s.SMTP.Messages()))
	}
	again := "email address or device,social_messaging,multiline_number,monitor_calls,monitor_sms\n" +
		"f@acme.test,No,+15550000001,auto,on\n"
	b = s.WaitBatch(upload(t, s, org, group, []byte(again), true).ID, 30*time.Second)
	if r := report(t, s, b.ID)[1]; r[4] != "failed" || r[5] != "The multiline_number +15550000001 is reserved, not Available" {
		t.Errorf("a reserved number named again: got %v", r)
	}
	checkInvariants(t, s)
}

func TestRowTaskRunTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 5)
	b := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 2), true)
	w := s.StartWorker(2)
	done := s.WaitBatch(b.ID, 30*time.Second)
	w.Stop()
	before := snapshot(t, s)
	// Deliver every task of the batch again, as Asynq's at-least-once delivery may.
	h := jobs.NewHandler(jobs.Config{PublicURL: stacktest.PublicURL, InvitationTTL: time.Hour}, s.Store, nil, s.Feeder, w.Metrics, zerologNop())
	defer h.Close()
	for line := 2; line <= 3; line++ {
		if err := h.Mux().ProcessTask(context.Background(), jobs.NewRowTask(s.Queues, b.ID, line)); err != nil {
			t.Fatalf("second run of row %d: %v", line, err)
		}
	}
	if err := h.Mux().ProcessTask(context.Background(), jobs.NewFinalizeTask(s.Queues, b.ID)); err != nil {
		t.Fatalf("second finalize: %v", err)
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("second run changed the database:\nbefore %s\nafter  %s", before, after)
	}
	if n := len(s.SMTP.Messages()); n != 2 {
		t.Errorf("got %d emails, want 2", n)
	}
	again, _ := s.Store.Batch(context.Background(), b.ID)
	if *again.FinishedAt != *done.FinishedAt {
		t.Errorf("finished_at moved from %v to %v", done.FinishedAt, again.FinishedAt)
	}
}

// snapshot renders the rows, accounts, numbers and invitations a row task touches.
func snapshot(t *testing.T, s *stacktest.Stack) string {
	t.Helper()
	var out string
	if err := s.DB.Get(&out, `SELECT concat_ws(' | ',
		(SELECT string_agg(concat_ws(',', line, status, reason, account_id, number, invitation, settled_at), ';' ORDER BY line) FROM batch_rows),
		(SELECT string_agg(concat_ws(',', id, status), ';' ORDER BY id) FROM accounts),
		(SELECT string_agg(concat_ws(',', e164, state, account_id, updated_at), ';' ORDER BY e164) FROM numbers),
		(SELECT string_agg(concat_ws(',', id, state, encode(token_hash, 'hex'), sent_at), ';' ORDER BY id) FROM invitations),
		(SELECT string_agg(md5(csv), ';') FROM batch_reports))`); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConcurrentBatchesDrainOnePool(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 900)
	// Two worker processes' worth of servers, reserving from one pool at once.
	s.StartWorker(10)
	s.StartWorker(10)
	ids := make(chan string, 5)
	for i := range 5 {
		go func() {
			ids <- upload(t, s, org, group, stacktest.CSV("acme.test", i*200, 200), true).ID
		}()
	}
	succeeded, failed := 0, 0
	for range 5 {
		b := s.WaitBatch(<-ids, 90*time.Second)
		succeeded += b.Succeeded
		failed += b.Failed
	}
	if succeeded != 900 || failed != 100 {
		t.Fatalf("got %d succeeded and %d failed, want 900 and 100", succeeded, failed)
	}
	var distinct, noNumber int
	s.DB.Get(&distinct, `SELECT count(DISTINCT number) FROM batch_rows WHERE status = 'succeeded'`)
	s.DB.Get(&noNumber, `SELECT count(*) FROM batch_rows WHERE status = 'failed' AND reason = 'No number available in this organization'`)
	if distinct != 900 || noNumber != 100 {
		t.Errorf("got %d distinct numbers and %d 'No number available', want 900 and 100", distinct, noNumber)
	}
	var accounts int
	s.DB.Get(&accounts, `SELECT count(*) FROM accounts`)
	if accounts != 900 {
		t.Errorf("got %d accounts, want 900 (failed rows leave nothing behind)", accounts)
	}
	if n := len(s.SMTP.WaitForMessages(t, 900, 20*time.Second)); n != 900 {
		t.Errorf("got %d emails, want 900", n)
	}
	checkInvariants(t, s)
}

func TestCancel(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 100)
	b := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 50), false)
	got := s.Do("POST", "/v1/batches/"+b.ID+"/cancel", s.RootToken, nil)
	if got.Status != http.StatusAccepted {
		t.Fatalf("cancel: got %d %s", got.Status, got.Body)
	}
	if got := s.Do("GET", "/v1/batches/"+b.ID+"/report.csv", s.RootToken, nil); got.Status != http.StatusConflict {
		t.Errorf("report before the batch finished: got %d, want 409", got.Status)
	}
	s.StartWorker(4)
	done := s.WaitBatch(b.ID, 30*time.Second)
	if done.Status != "canceled" || done.Canceled != 50 || done.Succeeded != 0 {
		t.Fatalf("got %+v, want canceled with 50 canceled rows", done)
	}
	for _, r := range report(t, s, b.ID)[1:] {
		if r[4] != "canceled" {
			t.Errorf("report row %v, want canceled", r)
		}
	}
	if got := s.Do("POST", "/v1/batches/"+b.ID+"/cancel", s.RootToken, nil); got.Status != http.StatusConflict {
		t.Errorf("cancel of a finished batch: got %d, want 409", got.Status)
	}
	checkInvariants(t, s)
}

func TestReconcilerAfterRedisLosesEverything(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 100)
	b := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 40), true)
	s.Redis.Flush(t) // every task of the batch is gone
	s.StartWorker(4)
	time.Sleep(300 * time.Millisecond)
	if got, _ := s.Store.Batch(context.Background(), b.ID); got.Processed != 0 {
		t.Fatalf("rows settled without tasks: %+v", got)
	}
	if err := s.Reconciler().Once(context.Background()); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	done := s.WaitBatch(b.ID, 30*time.Second)
	if done.Succeeded != 40 {
		t.Fatalf("got %+v, want 40 succeeded", done)
	}
	if n := len(s.SMTP.WaitForMessages(t, 40, 5*time.Second)); n != 40 {
		t.Errorf("got %d emails, want 40", n)
	}
	checkInvariants(t, s)
}

func TestReconcilerFinalizesSettledBatch(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	b := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 3), false)
	s.StartWorker(2)
	s.WaitBatch(b.ID, 30*time.Second)
	// Simulate a finalizer that never ran: reopen the batch.
	s.DB.MustExec(`DELETE FROM batch_reports`)
	s.DB.MustExec(`UPDATE batches SET status = 'processing', finished_at = NULL`)
	if err := s.Reconciler().Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if done := s.WaitBatch(b.ID, 10*time.Second); done.Status != "completed" {
		t.Errorf("got %s, want completed", done.Status)
	}
}

func TestSMTPTransientFailureSendsEachInvitationOnce(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 40)
	s.SMTP.FailTransient(1500 * time.Millisecond)
	s.StartWorker(4)
	b := s.WaitBatch(upload(t, s, org, group, stacktest.CSV("acme.test", 0, 30), true).ID, 60*time.Second)
	if b.Succeeded != 30 {
		t.Fatalf("got %+v, want 30 succeeded", b)
	}
	msgs := s.SMTP.WaitForMessages(t, 30, 5*time.Second)
	seen := map[string]int{}
	for _, m := range msgs {
		seen[strings.Join(m.To, ",")]++
	}
	if len(msgs) != 30 || len(seen) != 30 {
		t.Errorf("got %d emails to %d recipients, want 30 to 30", len(msgs), len(seen))
	}
	var sent int
	s.DB.Get(&sent, `SELECT count(*) FROM batch_rows WHERE invitation = 'sent'`)
	if sent != 30 {
		t.Errorf("got %d rows with invitation sent, want 30", sent)
	}
}

func TestSMTPPermanentRefusalFailsThoseInvitations(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 40)
	s.SMTP.RejectRecipient(func(rcpt string) *smtp.SMTPError {
		if strings.HasPrefix(rcpt, "user1") { // user1, user10..user19
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
		}
		return nil
	})
	s.StartWorker(4)
	b := s.WaitBatch(upload(t, s, org, group, stacktest.CSV("acme.test", 0, 20), true).ID, 30*time.Second)
	if b.Succeeded != 20 {
		t.Fatalf("got %+v, want 20 succeeded (accounts exist)", b)
	}
	var failed, sent int
	s.DB.Get(&failed, `SELECT count(*) FROM batch_rows WHERE invitation = 'failed' AND reason LIKE '%550%No such user%'`)
	s.DB.Get(&sent, `SELECT count(*) FROM batch_rows WHERE invitation = 'sent'`)
	if failed != 11 || sent != 9 {
		t.Errorf("got %d failed and %d sent invitations, want 11 and 9", failed, sent)
	}
	if n := len(s.SMTP.Messages()); n != 9 {
		t.Errorf("got %d emails delivered, want 9", n)
	}
}

func TestSameFileTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 40)
	s.StartWorker(4)
	file := stacktest.CSV("acme.test", 0, 15)
	first := s.WaitBatch(upload(t, s, org, group, file, true).ID, 30*time.Second)
	s.SMTP.WaitForMessages(t, 15, 5*time.Second)
	before := snapshotAccounts(t, s)
	second := s.WaitBatch(upload(t, s, org, group, file, true).ID, 30*time.Second)
	if first.Succeeded != 15 || second.Failed != 15 || second.Succeeded != 0 {
		t.Fatalf("first %+v, second %+v; want 15 succeeded then 15 failed", first, second)
	}
	if after := snapshotAccounts(t, s); after != before {
		t.Errorf("second upload changed accounts or numbers")
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(s.SMTP.Messages()); n != 15 {
		t.Errorf("got %d emails, want 15", n)
	}
	for _, r := range report(t, s, second.ID)[1:] {
		if r[5] != "A"+store.AccountExistsReason[1:] { // "an account…", starting with a capital
			t.Errorf("second upload row reason %q", r[5])
		}
	}
}

func snapshotAccounts(t *testing.T, s *stacktest.Stack) string {
	var out string
	if err := s.DB.Get(&out, `SELECT concat_ws(' | ',
		(SELECT string_agg(concat_ws(',', id, status), ';' ORDER BY id) FROM accounts),
		(SELECT string_agg(concat_ws(',', e164, state, account_id), ';' ORDER BY e164) FROM numbers),
		(SELECT count(*) FROM invitations))`); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWorkerStoppedMidBatch(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 400)
	s.SMTP.SetDelay(2 * time.Millisecond)
	s.WorkerOptions(func(c *asynq.Config) { c.ShutdownTimeout = 50 * time.Millisecond })
	w := s.StartWorker(8)
	b := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 300), true)
	for {
		got, _ := s.Store.Batch(context.Background(), b.ID)
		if got.Processed >= 30 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.Stop()
	mid, _ := s.Store.Batch(context.Background(), b.ID)
	s.StartWorker(8)
	done := s.WaitBatch(b.ID, 60*time.Second)
	if mid.Processed >= 300 {
		t.Logf("the batch finished before the worker stopped; the restart had nothing to do")
	}
	if done.Succeeded != 300 {
		t.Fatalf("got %+v, want 300 succeeded", done)
	}
	seen := map[string]int{}
	for _, m := range s.SMTP.WaitForMessages(t, 300, 5*time.Second) {
		seen[strings.Join(m.To, ",")]++
	}
	if len(seen) != 300 {
		t.Errorf("got emails to %d recipients, want 300", len(seen))
	}
	checkInvariants(t, s)
}

// TestReconcilerEnqueuesABatchNeverEnqueued stores a batch the way the api does, as if the
// api died between its commit and its enqueue.
func TestReconcilerEnqueuesABatchNeverEnqueued(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	b, pending, err := s.Store.CreateBatch(context.Background(), store.NewBatch{OrganizationID: org,
		PermissionGroupID: group, UploadedBy: "root@test.example", Invite: true},
		[]store.NewRow{
			{Line: 2, RawIdentifier: "a@acme.test", Identifier: "a@acme.test", IdentifierKind: "email", MonitorCalls: "auto", MonitorSMS: "on"},
			{Line: 3, RawIdentifier: "b@acme.test", Identifier: "b@acme.test", IdentifierKind: "email", MonitorCalls: "off", MonitorSMS: "off"},
		})
	if err != nil || len(pending) != 2 {
		t.Fatalf("create batch: %v, pending %v", err, pending)
	}
	s.StartWorker(2)
	time.Sleep(200 * time.Millisecond)
	if got, _ := s.Store.Batch(context.Background(), b.ID); got.Processed != 0 {
		t.Fatalf("rows settled before anything was enqueued: %+v", got)
	}
	if err := s.Reconciler().Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if done := s.WaitBatch(b.ID, 20*time.Second); done.Succeeded != 2 {
		t.Errorf("got %+v, want 2 succeeded", done)
	}
	// A second pass over a finished batch does nothing.
	if err := s.Reconciler().Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(s.SMTP.Messages()); n != 2 {
		t.Errorf("got %d emails, want 2", n)
	}
}

// TestRowsGiveUpWhenTheMailServerNeverRecovers keeps the SMTP server answering 421 past the
// last retry: every row settles (account created, invitation failed with the reason) and the
// batch finishes.
func TestRowsGiveUpWhenTheMailServerNeverRecovers(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	s.SMTP.FailTransient(time.Minute)
	s.WorkerOptions(func(c *asynq.Config) {
		c.RetryDelayFunc = func(int, error, *asynq.Task) time.Duration { return 20 * time.Millisecond }
		c.DelayedTaskCheckInterval = 50 * time.Millisecond // retries come back at once, not in 5 s
	})
	s.StartWorker(4)
	b := s.WaitBatch(upload(t, s, org, group, stacktest.CSV("acme.test", 0, 3), true).ID, 60*time.Second)
	if b.Status != "completed" || b.Succeeded != 3 {
		t.Fatalf("got %+v, want completed with 3 rows succeeded (accounts exist)", b)
	}
	for _, r := range report(t, s, b.ID)[1:] {
		if r[7] != "failed" || !strings.Contains(r[5], "gave up after 9 attempts") || !strings.Contains(r[5], "421") {
			t.Errorf("row %v: want invitation failed with the give-up reason", r)
		}
	}
	if n := len(s.SMTP.Messages()); n != 0 {
		t.Errorf("got %d emails through a failing server", n)
	}
	checkInvariants(t, s)
}

func TestEnqueueingABatchTwiceIsHarmless(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	b := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 5), false)
	if err := s.Client.EnqueueBatch(context.Background(), b.ID, []int{2, 3, 4, 5, 6}); err != nil {
		t.Fatalf("second enqueue: %v", err)
	}
	info, err := s.Inspector.GetQueueInfo(s.Queues.Rows())
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != 5 {
		t.Errorf("got %d row tasks, want 5", info.Size)
	}
}
