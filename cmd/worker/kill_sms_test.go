package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/testenv"
)

const (
	mixedRows        = 300 // half emails, half device numbers
	mixedConcurrency = 4
	mixedKillAfter   = 80 // sends (emails and SMS) before the kill
	mixedDomain      = "mixed.test"
)

func mixedDevice(i int) string { return fmt.Sprintf("+1555766%04d", i) }

// mixedCSV is a file of n rows, every other one identified by a device number.
func mixedCSV(n int) []byte {
	var b strings.Builder
	b.WriteString("firstname,lastname,email address or device,social_messaging,multiline_number,monitor_calls,monitor_sms,forwarding_number,Language\r\n")
	langs := []string{"English", "Italian", "German", "French", "Spanish"}
	for i := range n {
		id := fmt.Sprintf("user%d@%s", i, mixedDomain)
		if i%2 == 1 {
			id = mixedDevice(i)
		}
		fmt.Fprintf(&b, "User,%d,%s,No,,auto,on,,%s\r\n", i, id, langs[i%len(langs)])
	}
	return []byte(b.String())
}

// TestWorkerKilledMidMixedBatch kills one of two real worker processes with SIGKILL while
// they send a batch of emails and SMS. The batch finishes with every row succeeded; each
// person gets one email or one SMS, at most the sends the dead worker had in flight
// (WORKER_CONCURRENCY) are repeated, and every link in every copy opens (DESIGN.md 7, 7a).
func TestWorkerKilledMidMixedBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and runs a 300-row batch through two of them")
	}
	t.Parallel()
	bin := workerBinary(t)
	redisSrv := testenv.StartRedisServer(t)
	s := stacktest.NewOn(t, redisSrv.Redis())
	// Each send takes a while, so that the kill lands in the middle of the batch with
	// sends in flight on both channels.
	s.SMTP.SetDelay(40 * time.Millisecond)
	s.SMS.SetDelay(40 * time.Millisecond)
	orgID, groupID := s.Org("Mixed Ltd", 0, mixedRows+50)
	env := workerEnv(s, redisSrv.URL(), mixedConcurrency)
	victim := startWorkerProcess(t, bin, env, "first")
	startWorkerProcess(t, bin, env, "second")

	got := s.Upload(s.RootToken, orgID, groupID, mixedCSV(mixedRows), map[string]string{"invite": "true"})
	if got.Status != http.StatusAccepted {
		t.Fatalf("upload: got %d %s, want 202", got.Status, got.Body)
	}
	var batch store.Batch
	got.JSON(t, &batch)

	sends := func() int { return len(s.SMTP.Messages()) + len(s.SMS.Messages()) }
	for deadline := time.Now().Add(60 * time.Second); sends() < mixedKillAfter; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d sends within 60s", sends())
		}
		select {
		case <-s.SMS.Changed():
		case <-time.After(20 * time.Millisecond): // emails have no change channel to wait on
		}
	}
	victim.kill(t)
	killed := time.Now()
	t.Logf("killed the first of two workers with %d emails and %d SMS sent", len(s.SMTP.Messages()), len(s.SMS.Messages()))

	deadline := killed.Add(150 * time.Second)
	b := waitFinished(t, s, batch.ID, deadline)
	if b.FinishedAt == nil || b.Status != store.BatchCompleted || b.Succeeded != mixedRows {
		t.Fatalf("batch after the kill: got status %s, %d/%d processed, %d succeeded, %d failed; want completed with %d succeeded",
			b.Status, b.Processed, b.Total, b.Succeeded, b.Failed, mixedRows)
	}
	t.Logf("batch finished %.1fs after the kill", b.FinishedAt.Sub(killed).Seconds())
	if left := waitQueuesIdle(t, s, deadline); left != "" {
		t.Logf("tasks still queued at the deadline, more sends may follow: %s", left)
	}

	// One copy or two per person, counted over both channels; the tokens of every copy.
	copies := map[string][]string{}
	for _, m := range s.SMTP.Messages() {
		rcpt := strings.ToLower(strings.Join(m.To, ","))
		if strings.HasSuffix(rcpt, "@"+mixedDomain) {
			copies[rcpt] = append(copies[rcpt], s.ActivationToken(m))
		}
	}
	for _, m := range s.SMS.Messages() {
		copies[m.To] = append(copies[m.To], s.SMSToken(m))
	}
	var lost, twice, more []string
	for i := range mixedRows {
		rcpt := fmt.Sprintf("user%d@%s", i, mixedDomain)
		if i%2 == 1 {
			rcpt = mixedDevice(i)
		}
		switch n := len(copies[rcpt]); {
		case n == 0:
			lost = append(lost, rcpt)
		case n == 2:
			twice = append(twice, rcpt)
		case n > 2:
			more = append(more, fmt.Sprintf("%s (%d)", rcpt, n))
		}
	}
	var dupSMS int
	for _, r := range twice {
		if strings.HasPrefix(r, "+") {
			dupSMS++
		}
	}
	t.Logf("sends: %d emails, %d SMS (%d SMS requests) to %d people; %d got none, %d got two (%d by SMS), %d more",
		len(s.SMTP.Messages()), len(s.SMS.Messages()), s.SMS.Requests(), len(copies), len(lost), len(twice), dupSMS, len(more))
	if len(lost) > 0 || len(more) > 0 {
		t.Errorf("%d people got nothing (lost rows), e.g. %v; %d got more than two, e.g. %v",
			len(lost), lost[:min(5, len(lost))], len(more), more[:min(5, len(more))])
	}
	if len(twice) > mixedConcurrency {
		t.Errorf("%d people got two copies, want at most %d (the sends in flight in the dead worker), e.g. %v",
			len(twice), mixedConcurrency, twice[:min(5, len(twice))])
	}
	checkAccounts(t, s, orgID, mixedRows)

	var checked int
	var dead []string
	rcpts := make([]string, 0, len(copies))
	for r := range copies {
		rcpts = append(rcpts, r)
	}
	slices.Sort(rcpts)
	for _, r := range rcpts {
		for i, tok := range copies[r] {
			checked++
			if code := s.ActivationStatus(tok); code != http.StatusOK {
				dead = append(dead, fmt.Sprintf("%s copy %d: %d", r, i+1, code))
			}
		}
	}
	t.Logf("links: %d checked, %d dead", checked, len(dead))
	if len(dead) > 0 {
		t.Errorf("%d of %d links do not open, e.g. %v", len(dead), checked, dead[:min(5, len(dead))])
	}
}
