package main

import (
	"bufio"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/testenv"
)

const (
	rateRows   = 300
	ratePerSec = 20
	rateDomain = "rate.test"
)

// TestSendRateSharedByTwoWorkers runs two real worker processes with SMTP_RATE=20 on one
// Import & Invite batch. Between them they send at most 20 emails in any second, as counted
// by the SMTP server's clock, both send a part, the batch takes as long as the rate says, and
// everyone gets one email.
func TestSendRateSharedByTwoWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and runs a rate-limited batch through two of them")
	}
	// Not parallel: the SMTP server's clock counts, and it should run with as little else
	// in this process as can be.
	bin := workerBinary(t)
	redisSrv := testenv.StartRedisServer(t)
	s := stacktest.NewOn(t, redisSrv.Redis())
	orgID, groupID := s.Org("Rate Limited Ltd", 0, rateRows+50)
	env := append(workerEnv(s, redisSrv.URL(), 64), "SMTP_RATE="+strconv.Itoa(ratePerSec))
	workers := []*workerProcess{startWorkerProcess(t, bin, env, "first"), startWorkerProcess(t, bin, env, "second")}

	stalls := testenv.WatchStalls(t)
	b := uploadInvite(t, s, orgID, groupID, rateDomain, rateRows)
	// A fifth of the way, the time left the API tells must be about the time the rest takes.
	s.SMTP.WaitForCount(t, rateRows/5, time.Minute)
	var mid struct {
		Processed   int  `json:"processed"`
		SecondsLeft *int `json:"seconds_left"`
	}
	s.Do(http.MethodGet, "/v1/batches/"+b.ID, s.RootToken, nil).JSON(t, &mid)
	asked := time.Now()
	b = waitFinished(t, s, b.ID, time.Now().Add(3*time.Minute))
	checkCompleted(t, b, rateRows)
	checkEmailsOnce(t, s, rateRows, rateDomain)

	var at []time.Time
	for _, m := range s.SMTP.Messages() {
		if strings.HasSuffix(strings.Join(m.To, ","), "@"+rateDomain) {
			at = append(at, m.Received)
		}
	}
	if len(at) < 2 {
		t.Fatalf("got %d invitation emails, want %d", len(at), rateRows)
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	busiest, stall := testenv.BusiestSecond(at), stalls()
	slack := testenv.RateSlack(ratePerSec, stall)
	span := at[len(at)-1].Sub(at[0])
	t.Logf("%d emails in %.1fs (%.1f a second); busiest second %d emails (this process stalled %v at worst); sent by the workers: %d and %d",
		len(at), span.Seconds(), float64(len(at)-1)/span.Seconds(), busiest, stall.Round(time.Millisecond),
		sentBy(t, workers[0]), sentBy(t, workers[1]))
	// Slots are 50 ms apart. The SMTP server stamps each message with its own clock: one
	// more is allowed for the varying delay of a message, and what arrived while this
	// process could not run, to be stamped at once after.
	if busiest > ratePerSec+slack {
		t.Errorf("the busiest second had %d emails, want at most %d (SMTP_RATE=%d, plus %d for delivery jitter and a stall of %v)",
			busiest, ratePerSec+slack, ratePerSec, slack, stall)
	}
	if min := time.Duration(rateRows-1) * time.Second / ratePerSec * 95 / 100; span < min {
		t.Errorf("%d emails took %.1fs, want at least %.1fs at %d a second", len(at), span.Seconds(), min.Seconds(), ratePerSec)
	}
	if mid.SecondsLeft == nil || b.FinishedAt == nil {
		t.Errorf("at %d of %d rows the batch had no seconds_left (or did not finish)", mid.Processed, rateRows)
	} else {
		took := b.FinishedAt.Sub(asked).Seconds()
		t.Logf("at %d of %d rows the API said %ds left; the rest took %.1fs", mid.Processed, rateRows, *mid.SecondsLeft, took)
		if diff := float64(*mid.SecondsLeft) - took; diff > 0.35*took+2 || -diff > 0.35*took+2 {
			t.Errorf("seconds_left was %d, the rest took %.1fs: want within 35%% (and 2 s)", *mid.SecondsLeft, took)
		}
	}
	for i, w := range workers {
		if n := sentBy(t, w); n == 0 {
			t.Errorf("worker %d sent no invitation: the rate was not shared", i+1)
		}
	}
}

// sentBy reads a worker's count of invitation emails sent from its /metrics.
func sentBy(t *testing.T, w *workerProcess) int {
	t.Helper()
	resp, err := http.Get("http://" + w.addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape worker: %v", err)
	}
	defer resp.Body.Close()
	const series = `multiline_email_sent_total{kind="invitation"} `
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	t.Fatalf("worker's /metrics has no %s", series)
	return 0
}
