package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/smtptest"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/testenv"
)

const (
	killRows        = 1000
	killConcurrency = 8
	killAfterEmails = 200
	killDomain      = "kill.test"
)

// TestWorkerKilledMidBatch runs three real worker processes on a 1000-row Import & Invite
// batch and kills one with SIGKILL while they send it. The batch must still finish with every
// row succeeded; each person gets an email, at most the rows the dead worker had in flight
// get two, and every link in every email opens (DESIGN.md 6, 7, 7a). A surviving worker gives
// the dead one's tasks back once their lease has ended, and says so in its log.
func TestWorkerKilledMidBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and runs a 1000-row batch through three of them")
	}
	t.Parallel()
	bin := workerBinary(t)
	redisSrv := testenv.StartRedisServer(t)
	s := stacktest.NewOn(t, redisSrv.Redis())
	// At most WORKER_CONCURRENCY row sends at once per worker, each waiting this long for
	// its MAIL command: the batch takes seconds, so the kill lands in the middle of it.
	s.SMTP.SetDelay(50 * time.Millisecond)
	orgID, groupID := s.Org("Killed Worker Ltd", 0, killRows+200)

	env := workerEnv(s, redisSrv.URL(), killConcurrency)
	victim := startWorkerProcess(t, bin, env, "first")
	survivors := []*workerProcess{startWorkerProcess(t, bin, env, "second"), startWorkerProcess(t, bin, env, "third")}

	got := s.Upload(s.RootToken, orgID, groupID, stacktest.CSV(killDomain, 0, killRows), map[string]string{"invite": "true"})
	if got.Status != http.StatusAccepted {
		t.Fatalf("upload: got %d %s, want 202", got.Status, got.Body)
	}
	var batch store.Batch
	got.JSON(t, &batch)
	uploaded := time.Now()

	s.SMTP.WaitForCount(t, killAfterEmails, 60*time.Second)
	victim.kill(t)
	killed := time.Now()
	atKill := len(s.SMTP.Messages())
	t.Logf("killed the first of three workers %.1fs after the upload, with %d emails received", killed.Sub(uploaded).Seconds(), atKill)

	deadline := killed.Add(180 * time.Second)
	b := waitFinished(t, s, batch.ID, deadline)
	if b.FinishedAt != nil {
		t.Logf("batch finished %.1fs after the kill: status %s, %d succeeded, %d failed of %d",
			b.FinishedAt.Sub(killed).Seconds(), b.Status, b.Succeeded, b.Failed, b.Total)
	}
	// The dead worker's tasks were given back by a survivor, within the lease (30 s), the
	// margin (5 s) and a lease pass (2 s) of the kill, not Asynq's 60 to 90 s.
	const gaveBack = "gave back the tasks of a worker"
	if at, ok := waitLog(survivors, gaveBack, deadline); !ok {
		t.Errorf("no surviving worker logged %q", gaveBack)
	} else if stall := at.Sub(killed); stall > 50*time.Second {
		t.Errorf("the dead worker's tasks were given back %.1fs after the kill, want within 50 s", stall.Seconds())
	} else {
		t.Logf("a survivor gave the dead worker's tasks back %.1fs after the kill", stall.Seconds())
	}
	if b.FinishedAt == nil || b.Status != store.BatchCompleted || b.Succeeded != killRows {
		t.Errorf("batch after the kill: got status %s, %d/%d processed, %d succeeded, %d failed; want completed with %d succeeded",
			b.Status, b.Processed, b.Total, b.Succeeded, b.Failed, killRows)
	}
	// A task the dead worker held is recovered only after its lease, possibly after the
	// batch finished; its email (if it sends one) must be counted too.
	if left := waitQueuesIdle(t, s, deadline); left != "" {
		t.Logf("tasks still queued at the deadline, more emails may follow: %s", left)
	} else {
		t.Logf("queues idle %.1fs after the kill", time.Since(killed).Seconds())
	}

	byRcpt := map[string][]smtptest.Message{}
	var others int
	msgs := s.SMTP.Messages()
	for _, m := range msgs {
		rcpt := strings.ToLower(strings.Join(m.To, ","))
		if !strings.HasSuffix(rcpt, "@"+killDomain) {
			others++ // the batch summary to administrators
			continue
		}
		byRcpt[rcpt] = append(byRcpt[rcpt], m)
	}
	lost, twice, more := emailsTo(s, killDomain, killRows)
	t.Logf("emails: %d to %d recipients (%d other); %d recipients got none, %d got two, %d got more",
		len(msgs), len(byRcpt), others, len(lost), len(twice), len(more))
	if len(lost) > 0 {
		t.Errorf("%d recipients got no email (lost rows), e.g. %v", len(lost), lost[:min(10, len(lost))])
	}
	if len(more) > 0 {
		t.Errorf("%d recipients got more than two emails, e.g. %v", len(more), more[:min(10, len(more))])
	}
	if len(twice) > killConcurrency {
		t.Errorf("%d recipients got two emails, want at most %d (the rows in flight when the worker died), e.g. %v",
			len(twice), killConcurrency, twice[:min(10, len(twice))])
	}

	checkAccounts(t, s, orgID, killRows)

	// Every link in every email must open, both copies of a duplicate.
	statuses := map[int]int{}
	var dead []string
	var checked, sameLink, firstDead, secondDead int
	rcpts := make([]string, 0, len(byRcpt))
	for rcpt := range byRcpt {
		rcpts = append(rcpts, rcpt)
	}
	slices.Sort(rcpts)
	for _, rcpt := range rcpts {
		copies := byRcpt[rcpt]
		var toks []string
		for i, m := range copies {
			tok := s.ActivationToken(m)
			toks = append(toks, tok)
			code := s.ActivationStatus(tok)
			checked++
			statuses[code]++
			if code != http.StatusOK {
				dead = append(dead, fmt.Sprintf("%s copy %d of %d: %d", rcpt, i+1, len(copies), code))
				if len(copies) == 2 && i == 0 {
					firstDead++
				} else if len(copies) == 2 {
					secondDead++
				}
			}
		}
		if len(toks) == 2 && toks[0] == toks[1] {
			sameLink++
		}
	}
	t.Logf("links: %d checked, answers %v; of %d duplicates, %d carry one link twice, %d first copies and %d second copies dead",
		checked, statuses, len(twice), sameLink, firstDead, secondDead)
	if len(dead) > 0 {
		t.Errorf("%d of %d activation links do not open (GET /v1/activation/<token> is not 200), e.g.:\n  %s",
			len(dead), checked, strings.Join(dead[:min(10, len(dead))], "\n  "))
	}
}
