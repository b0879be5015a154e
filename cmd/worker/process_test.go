package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/testenv"
)

var (
	buildOnce sync.Once
	binDir    string
	binErr    error
)

// TestMain removes the worker binary that the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// workerBinary builds the worker once for all the tests of the package and returns its path.
func workerBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "multiline-worker-test-"); binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "worker"), "github.com/multiline/onboarding/cmd/worker").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("build worker: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return filepath.Join(binDir, "worker")
}

// workerEnv is the environment of a worker process on the stack s with Redis at redisURL.
func workerEnv(s *stacktest.Stack, redisURL string, concurrency int) []string {
	return append(os.Environ(),
		"DATABASE_URL="+s.DBURL,
		"REDIS_URL="+redisURL,
		"SMTP_URL="+s.SMTP.URL(),
		"SMS_URL="+s.SMS.URL(),
		"PUBLIC_URL="+stacktest.PublicURL,
		"TOKEN_SECRET="+stacktest.TokenSecret,
		fmt.Sprintf("WORKER_CONCURRENCY=%d", concurrency),
		"LOG_LEVEL=warn",
	)
}

// refusedStart runs the worker binary with env, which must exit with an error within 20 s,
// and returns its log.
func refusedStart(t *testing.T, env []string) string {
	t.Helper()
	cmd := exec.Command(workerBinary(t))
	cmd.Env = append(slices.Clip(env), "WORKER_ADDR="+freeAddr(t))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("the worker exited 0, want it to refuse to start:\n%s", out.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Errorf("the worker still runs after 20 s, want it to refuse to start:\n%s", out.String())
	}
	return out.String()
}

// workerProcess is a running worker binary.
type workerProcess struct {
	addr   string // WORKER_ADDR
	cmd    *exec.Cmd
	log    string // its stderr
	exited chan struct{}
}

// startWorkerProcess starts the worker binary with env, on a WORKER_ADDR of its own, and
// waits until it is ready; it is killed when the test ends.
func startWorkerProcess(t testing.TB, bin string, env []string, name string) *workerProcess {
	t.Helper()
	addr := freeAddr(t)
	w := &workerProcess{addr: addr, log: filepath.Join(t.TempDir(), name+".log"), exited: make(chan struct{})}
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
		checkJSONLines(t, name, w.log)
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
func (w *workerProcess) kill(t testing.TB) {
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
func waitFinished(t testing.TB, s *stacktest.Stack, id string, deadline time.Time) store.Batch {
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

// checkAccounts fails the test unless the organization has one account per row (rows of
// them) and every account holds exactly one number that no other holds.
func checkAccounts(t *testing.T, s *stacktest.Stack, orgID string, rows int) {
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
	if c.Accounts != rows || c.Identifiers != c.Accounts {
		t.Errorf("accounts: got %d with %d distinct identifiers, want %d, all distinct", c.Accounts, c.Identifiers, rows)
	}
	if c.Held != c.Holders || c.Holders != c.Accounts {
		t.Errorf("numbers: got %d held by %d accounts of %d, want one number per account and one account per number",
			c.Held, c.Holders, c.Accounts)
	}
}

func freeAddr(t testing.TB) string {
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

// waitLog polls the logs of workers until one has a line containing text or deadline
// passes, and returns when it was first seen.
func waitLog(workers []*workerProcess, text string, deadline time.Time) (time.Time, bool) {
	for {
		for _, w := range workers {
			if b, err := os.ReadFile(w.log); err == nil && bytes.Contains(b, []byte(text)) {
				return time.Now(), true
			}
		}
		if time.Now().After(deadline) {
			return time.Time{}, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// emailsTo sorts the recipients user0@domain to user<n-1>@domain of the emails s.SMTP got
// into those who got none, two, and more than two.
func emailsTo(s *stacktest.Stack, domain string, n int) (lost, twice, more []string) {
	count := map[string]int{}
	for _, m := range s.SMTP.Messages() {
		count[strings.ToLower(strings.Join(m.To, ","))]++
	}
	for i := range n {
		rcpt := fmt.Sprintf("user%d@%s", i, domain)
		switch c := count[rcpt]; {
		case c == 0:
			lost = append(lost, rcpt)
		case c == 2:
			twice = append(twice, rcpt)
		case c > 2:
			more = append(more, fmt.Sprintf("%s (%d)", rcpt, c))
		}
	}
	return lost, twice, more
}

// checkJSONLines fails the test unless every line of a worker's log is a JSON object: Asynq's
// and go-redis's own lines (a pool that cannot dial, Sentinel's "new master") go through
// zerolog too.
func checkJSONLines(t testing.TB, name, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read %s worker's log: %v", name, err)
		return
	}
	var bad []string
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) > 0 && !json.Valid(line) {
			bad = append(bad, string(line))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%s worker's log has %d lines that are not JSON, e.g. %q", name, len(bad), bad[:min(3, len(bad))])
	}
}
