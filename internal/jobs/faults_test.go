package jobs_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/testenv"
)

// mailCount waits for at least want emails and returns how many each recipient got.
func mailCount(t *testing.T, s *stacktest.Stack, want int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, m := range s.SMTP.WaitForMessages(t, want, 30*time.Second) {
		got[strings.Join(m.To, ",")]++
	}
	return got
}

// checkOnce fails unless each of n recipients got exactly one email, and every link in every
// email opens the activation page.
func checkOnce(t *testing.T, s *stacktest.Stack, n int) {
	t.Helper()
	counts := mailCount(t, s, n)
	twice := 0
	for _, c := range counts {
		if c > 1 {
			twice++
		}
	}
	if len(counts) != n || twice != 0 {
		t.Errorf("got emails to %d recipients, %d of them more than once; want %d recipients, once each", len(counts), twice, n)
	}
	dead := 0
	for _, m := range s.SMTP.Messages() {
		if code := s.ActivationStatus(s.ActivationToken(m)); code != 200 {
			dead++
		}
	}
	if dead != 0 {
		t.Errorf("%d links do not open the activation page", dead)
	}
}

// waitProcessed waits until batch id has at least n rows processed and returns how long that
// took.
func waitProcessed(t *testing.T, s *stacktest.Stack, id string, n int, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		b, err := s.Store.Batch(context.Background(), id)
		if err != nil {
			t.Fatalf("get batch: %v", err)
		}
		if b.Processed >= n {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("batch %s: %d of %d rows processed after %s, want %d", id, b.Processed, b.Total, timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPostgresOutageSendsNobodyTwice drops every connection of the worker's database while
// invitations are being sent and refuses new ones for a second, as a PostgreSQL restart does.
// Emails the mail server accepted during the outage are recorded when PostgreSQL answers
// again, not sent again: nobody gets two, and every link opens.
func TestPostgresOutageSendsNobodyTwice(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 400)
	workerDB, err := store.Open(context.Background(), s.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { workerDB.Close() })
	// 30 ms per email: at any moment about as many sends are in flight as the worker runs
	// tasks, and their records fall into the outage.
	s.SMTP.SetDelay(30 * time.Millisecond)
	w := s.StartWorkerWith(8, store.New(workerDB))
	b := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 300), true)
	s.SMTP.WaitForCount(t, 10, 30*time.Second)

	u, _ := url.Parse(s.DBURL)
	name := strings.TrimPrefix(u.Path, "/")
	admin, err := sql.Open("postgres", testenv.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	var killed int
	if err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1`, name).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the outage
	if _, err := admin.Exec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS true`); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatalf("no connection was open to drop")
	}

	done := s.WaitBatch(b.ID, 90*time.Second)
	if done.Status != "completed" || done.Succeeded != 300 {
		t.Fatalf("got %+v, want completed with 300 succeeded", done)
	}
	checkOnce(t, s, 300)
	retried := testutil.ToFloat64(w.Metrics.RecordRetries)
	t.Logf("%d connections dropped; %.0f records written again", killed, retried)
	if retried == 0 {
		t.Errorf("no record had to be written again: the outage missed the sends, and the test tested nothing")
	}
	checkInvariants(t, s)
}

// TestRedisFlushedMidBatch deletes every key of the deployment's queues mid-batch, as a
// FLUSHALL does. The watch notices within seconds and the batch resumes; the rows whose
// tasks were running when their keys went are enqueued again and wait for those runs, so
// nothing is sent twice.
func TestRedisFlushedMidBatch(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 400)
	s.SMTP.SetDelay(5 * time.Millisecond)
	watch := s.Watch(jobs.WatchInterval)
	s.StartWorker(8)
	b := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 300), true)
	at := waitProcessed(t, s, b.ID, 40, 30*time.Second)
	s.Redis.Flush(t)
	mid, _ := s.Store.Batch(context.Background(), b.ID)
	// Rows in flight at the flush finish on their own; one more means a task that was
	// enqueued again ran.
	resumed := waitProcessed(t, s, b.ID, mid.Processed+9, 30*time.Second)
	t.Logf("flushed at %d of 300 rows (%s after the upload); resumed %s later", mid.Processed, at, resumed)
	if resumed > 15*time.Second {
		t.Errorf("resumed %s after the flush, want within 15 s", resumed)
	}
	done := s.WaitBatch(b.ID, 60*time.Second)
	if done.Succeeded != 300 {
		t.Fatalf("got %+v, want 300 succeeded", done)
	}
	checkOnce(t, s, 300)
	if n := testutil.ToFloat64(watch.RedisRecoveries.WithLabelValues(metrics.RedisEmpty)); n < 1 {
		t.Errorf("the watch counted %v recoveries from an empty Redis, want at least 1", n)
	}
	checkInvariants(t, s)
}

// TestRedisRestartedMidBatch kills the test's own redis-server mid-batch and starts it again
// empty two seconds later. An upload while Redis is away is stored and answered 202 once its
// enqueue has been retried for a few seconds; both
// batches finish after Redis is back, resumed within 15 s, and nothing is sent twice.
func TestRedisRestartedMidBatch(t *testing.T) {
	t.Parallel()
	s, srv := stacktest.NewWithPrivateRedis(t)
	org, group := s.Org("Acme", 0, 400)
	s.SMTP.SetDelay(5 * time.Millisecond)
	s.Watch(jobs.WatchInterval)
	s.StartWorker(8)
	first := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 300), true)
	waitProcessed(t, s, first.ID, 40, 30*time.Second)

	srv.Kill()
	start := time.Now()
	second := upload(t, s, org, group, stacktest.CSV("beta.test", 0, 20), true)
	// The enqueue is retried for EnqueueRetryFor before the upload answers.
	if took, want := time.Since(start), jobs.EnqueueRetryFor+3*time.Second; took > want {
		t.Errorf("the upload while Redis was away took %s, want an answer within %s", took, want)
	}
	mid, _ := s.Store.Batch(context.Background(), first.ID)
	time.Sleep(2 * time.Second) // the outage
	srv.Start()

	resumed := waitProcessed(t, s, first.ID, mid.Processed+9, 30*time.Second)
	t.Logf("Redis away at %d of 300 rows; resumed %s after it was back", mid.Processed, resumed)
	if resumed > 15*time.Second {
		t.Errorf("resumed %s after Redis was back, want within 15 s", resumed)
	}
	for _, id := range []string{first.ID, second.ID} {
		if done := s.WaitBatch(id, 60*time.Second); done.Status != "completed" || done.Failed != 0 {
			t.Errorf("batch %s: got %+v, want completed with no row failed", id, done)
		}
	}
	checkOnce(t, s, 320)
	checkInvariants(t, s)
}

// TestOneBadRowFailsOnlyItself makes PostgreSQL refuse one row's account (a check the
// validator does not know, as a trigger), while two batches run together so that their rows
// share claims. Only that row fails, with PostgreSQL's reason; the rest of its group and the
// other batch succeed.
func TestOneBadRowFailsOnlyItself(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	s.DB.MustExec(`CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.identifier = 'user7@acme.test' THEN
				RAISE EXCEPTION 'identifier refused by a site rule' USING ERRCODE = 'check_violation';
			END IF;
			RETURN NEW;
		END $$`)
	s.DB.MustExec(`CREATE TRIGGER refuse_bad BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION refuse_bad()`)
	org, group := s.Org("Acme", 0, 200)
	s.SMTP.SetDelay(2 * time.Millisecond)
	a := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 60), true)
	b := upload(t, s, org, group, stacktest.CSV("beta.test", 0, 60), true)
	s.StartWorker(16)
	doneA, doneB := s.WaitBatch(a.ID, 60*time.Second), s.WaitBatch(b.ID, 60*time.Second)
	if doneA.Succeeded != 59 || doneA.Failed != 1 || doneB.Succeeded != 60 {
		t.Fatalf("got %d+%d and %d+%d succeeded+failed, want 59+1 and 60+0", doneA.Succeeded, doneA.Failed, doneB.Succeeded, doneB.Failed)
	}
	var row struct {
		Line   int    `db:"line"`
		Code   string `db:"reason_code"`
		Reason string `db:"reason"`
	}
	if err := s.DB.Get(&row, `SELECT line, reason_code, reason FROM batch_rows WHERE batch_id = $1 AND status = 'failed'`, a.ID); err != nil {
		t.Fatal(err)
	}
	if row.Line != 9 || row.Code != store.CodeRejected || !strings.Contains(row.Reason, "identifier refused by a site rule") {
		t.Errorf("got failed row %+v, want line 9 rejected with the trigger's words", row)
	}
	checkOnce(t, s, 119)
	checkInvariants(t, s)
}
