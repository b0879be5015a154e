package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

// TestWorkerKilledMidBatch kills a real worker process with SIGKILL while it is sending a
// 1000-row Import & Invite batch and starts another. The batch must still finish with every
// row succeeded; each person gets an email, at most the rows the dead worker had in flight
// get two, and every link in every email opens (DESIGN.md 6, 7, 7a).
func TestWorkerKilledMidBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and runs a 1000-row batch through it")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "worker")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/multiline/onboarding/cmd/worker").CombinedOutput(); err != nil {
		t.Fatalf("build worker: %v\n%s", err, out)
	}
	redisSrv := testenv.StartRedisServer(t)
	s := stacktest.NewOn(t, redisSrv.Redis())
	// At most 2*WORKER_CONCURRENCY sends at once, each waiting this long for its MAIL
	// command: the batch takes seconds, so the kill lands in the middle of it.
	s.SMTP.SetDelay(50 * time.Millisecond)
	orgID, groupID := s.Org("Killed Worker Ltd", 0, killRows+200)

	env := append(os.Environ(),
		"DATABASE_URL="+s.DBURL,
		"REDIS_URL="+redisSrv.URL(),
		"SMTP_URL="+s.SMTP.URL(),
		"PUBLIC_URL="+stacktest.PublicURL,
		"TOKEN_SECRET="+stacktest.TokenSecret,
		fmt.Sprintf("WORKER_CONCURRENCY=%d", killConcurrency),
		"LOG_LEVEL=warn",
	)
	first := startWorkerProcess(t, bin, env, "first")

	got := s.Upload(s.RootToken, orgID, groupID, stacktest.CSV(killDomain, 0, killRows), map[string]string{"invite": "true"})
	if got.Status != http.StatusAccepted {
		t.Fatalf("upload: got %d %s, want 202", got.Status, got.Body)
	}
	var batch store.Batch
	got.JSON(t, &batch)
	uploaded := time.Now()

	s.SMTP.WaitForCount(t, killAfterEmails, 60*time.Second)
	first.kill(t)
	killed := time.Now()
	atKill := len(s.SMTP.Messages())
	t.Logf("killed the first worker %.1fs after the upload, with %d emails received", killed.Sub(uploaded).Seconds(), atKill)
	startWorkerProcess(t, bin, env, "second")

	deadline := killed.Add(180 * time.Second)
	b := waitFinished(t, s, batch.ID, deadline)
	if b.FinishedAt != nil {
		t.Logf("batch finished %.1fs after the kill: status %s, %d succeeded, %d failed of %d",
			b.FinishedAt.Sub(killed).Seconds(), b.Status, b.Succeeded, b.Failed, b.Total)
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
	var lost, twice, more []string
	for i := range killRows {
		rcpt := fmt.Sprintf("user%d@%s", i, killDomain)
		switch n := len(byRcpt[rcpt]); {
		case n == 0:
			lost = append(lost, rcpt)
		case n == 2:
			twice = append(twice, rcpt)
		case n > 2:
			more = append(more, fmt.Sprintf("%s (%d)", rcpt, n))
		}
	}
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

	checkAccounts(t, s, orgID)

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

// workerProcess is a running worker binary.
type workerProcess struct {
	cmd    *exec.Cmd
	log    string // its stderr
	exited chan struct{}
}

// startWorkerProcess starts the worker binary with env, on a WORKER_ADDR of its own, and
// waits until it is ready; it is killed when the test ends.
func startWorkerProcess(t *testing.T, bin string, env []string, name string) *workerProcess {
	t.Helper()
	addr := freeAddr(t)
	w := &workerProcess{log: filepath.Join(t.TempDir(), name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(w.log)
	if err != nil {
		t.Fatal(err)
	}
	w.cmd = exec.Command(bin)
	w.cmd.Env = append(slices.Clip(env), "WORKER_ADDR="+addr)
	w.cmd.Stdout, w.cmd.Stderr = logFile, logFile
	if err := w.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s worker: %v", name, err)
	}
	go func() {
		_ = w.cmd.Wait()
		logFile.Close()
		close(w.exited)
	}()
	t.Cleanup(func() {
		w.kill(t)
		if tail := logTail(w.log, 20); t.Failed() && tail != "" {
			t.Logf("%s worker's log ends:\n%s", name, tail)
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return w
			}
		}
		select {
		case <-w.exited:
			t.Fatalf("%s worker exited before it was ready:\n%s", name, logTail(w.log, 20))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s worker not ready on %s within 20s:\n%s", name, addr, logTail(w.log, 20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL, as the OOM killer or a lost machine would, and waits for the exit.
func (w *workerProcess) kill(t *testing.T) {
	t.Helper()
	select {
	case <-w.exited:
		return
	default:
	}
	if err := w.cmd.Process.Kill(); err != nil {
		t.Errorf("kill worker: %v", err)
	}
	<-w.exited
}

// waitFinished polls batch id until it finishes or deadline passes, and returns it.
func waitFinished(t *testing.T, s *stacktest.Stack, id string, deadline time.Time) store.Batch {
	t.Helper()
	for {
		b, err := s.Store.Batch(context.Background(), id)
		if err != nil {
			t.Fatalf("get batch: %v", err)
		}
		if b.FinishedAt != nil || time.Now().After(deadline) {
			return b
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitQueuesIdle waits until the queues that send invitations hold no task that may still
// run, or deadline passes; it returns what is left, "" for nothing.
func waitQueuesIdle(t *testing.T, s *stacktest.Stack, deadline time.Time) string {
	t.Helper()
	for {
		var left []string
		for _, q := range []string{s.Queues.Rows(), s.Queues.Invitations()} {
			info, err := s.Inspector.GetQueueInfo(q)
			if err != nil {
				continue // a queue nothing was ever enqueued to
			}
			if n := info.Pending + info.Active + info.Scheduled + info.Retry; n > 0 {
				left = append(left, fmt.Sprintf("%s: %d pending, %d active, %d scheduled, %d retry",
					q, info.Pending, info.Active, info.Scheduled, info.Retry))
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return strings.Join(left, "; ")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkAccounts fails the test unless the organization has one account per row and every
// account holds exactly one number that no other holds.
func checkAccounts(t *testing.T, s *stacktest.Stack, orgID string) {
	t.Helper()
	var c struct {
		Accounts    int `db:"accounts"`
		Identifiers int `db:"identifiers"`
		Held        int `db:"held"`
		Holders     int `db:"holders"`
	}
	const q = `SELECT
			(SELECT count(*) FROM accounts WHERE organization_id = $1) AS accounts,
			(SELECT count(DISTINCT lower(identifier)) FROM accounts WHERE organization_id = $1) AS identifiers,
			(SELECT count(*) FROM numbers WHERE organization_id = $1 AND account_id IS NOT NULL) AS held,
			(SELECT count(DISTINCT account_id) FROM numbers WHERE organization_id = $1) AS holders`
	if err := s.DB.GetContext(testenv.Context(t), &c, q, orgID); err != nil {
		t.Fatalf("count accounts and numbers: %v", err)
	}
	t.Logf("database: %d accounts, %d distinct identifiers, %d numbers held by %d accounts", c.Accounts, c.Identifiers, c.Held, c.Holders)
	if c.Accounts != killRows || c.Identifiers != c.Accounts {
		t.Errorf("accounts: got %d with %d distinct identifiers, want %d, all distinct", c.Accounts, c.Identifiers, killRows)
	}
	if c.Held != c.Holders || c.Holders != c.Accounts {
		t.Errorf("numbers: got %d held by %d accounts of %d, want one number per account and one account per number",
			c.Held, c.Holders, c.Accounts)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return string(bytes.Join(lines[max(0, len(lines)-n):], []byte("\n")))
}
