package jobs_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/stacktest"
)

// makeActive moves row task id of the stack's rows queue from pending to active, as a
// worker's dequeue does, with its lease ending at leaseEnd; without msg its hash loses its
// message, as a hash evicted and recreated by a later HSET does.
func makeActive(t *testing.T, s *stacktest.Stack, id string, leaseEnd time.Time, msg bool) {
	t.Helper()
	ctx, c := context.Background(), s.Redis.Client
	p := "asynq:{" + s.Queues.Rows() + "}:"
	if n, err := c.LRem(ctx, p+"pending", 0, id).Result(); err != nil || n != 1 {
		t.Fatalf("take %s off pending: %d, %v", id, n, err)
	}
	c.LPush(ctx, p+"active", id)
	c.ZAdd(ctx, p+"lease", redisZ(leaseEnd, id))
	c.HSet(ctx, p+"t:"+id, "state", "active")
	if !msg {
		c.HDel(ctx, p+"t:"+id, "msg")
	}
}

// The reconciler takes for lost an active row task whose hash lost its message (an evicting
// Redis) or whose lease ended long ago (a dead worker), and the batch finishes; the watch's
// lease pass gives back an active task whose lease just ended, within seconds, and counts it.
func TestLostActiveTasksAreGivenBack(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 20)
	b := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 6), false)
	// Lines 2..7: a stub, one whose worker died a minute ago, one alive, and three pending.
	makeActive(t, s, jobs.RowTaskID(b.ID, 2), time.Now().Add(time.Minute), false)
	makeActive(t, s, jobs.RowTaskID(b.ID, 3), time.Now().Add(-time.Minute), true)
	makeActive(t, s, jobs.RowTaskID(b.ID, 4), time.Now().Add(time.Hour), true)

	if err := s.Reconciler().Once(context.Background()); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	states := map[int]string{}
	for line := 2; line <= 4; line++ {
		info, err := s.Inspector.GetTaskInfo(s.Queues.Rows(), jobs.RowTaskID(b.ID, line))
		if err != nil {
			t.Fatalf("row %d: %v", line, err)
		}
		states[line] = info.State.String()
	}
	if states[2] != "pending" || states[3] != "pending" || states[4] != "active" {
		t.Errorf("after reconciling: got task states %v, want 2 and 3 pending again, 4 still active", states)
	}

	// The alive one's worker dies now: its lease ends, and the lease pass gives it back.
	m := metrics.NewWorker(metrics.NewRegistry())
	leases := s.Leases(m)
	// And a lease is left behind by a task whose hash was evicted whole.
	ended := time.Now().Add(-jobs.LeaseMargin - time.Second)
	s.Redis.Client.ZAdd(context.Background(), "asynq:{"+s.Queues.Rows()+"}:lease", redisZ(ended, jobs.RowTaskID(b.ID, 4)), redisZ(ended, "row:gone:2"))
	if n, err := leases.PastLease(context.Background(), s.Queues.Rows()); err != nil || n != 2 {
		t.Errorf("tasks past their lease: got %d, %v, want 2", n, err)
	}
	if err := leases.Once(context.Background()); err != nil {
		t.Fatalf("lease pass: %v", err)
	}
	if n := testutil.ToFloat64(m.TasksReclaimed.WithLabelValues(metrics.ReclaimLeaseExpired)); n != 1 {
		t.Errorf("tasks reclaimed for their lease: got %v, want 1", n)
	}
	if n := testutil.ToFloat64(m.TasksReclaimed.WithLabelValues(metrics.ReclaimNoPayload)); n != 1 {
		t.Errorf("leases without a task removed: got %v, want 1", n)
	}
	if n, _ := leases.PastLease(context.Background(), s.Queues.Rows()); n != 0 {
		t.Errorf("tasks past their lease after the pass: got %d, want 0", n)
	}
	s.StartWorker(4)
	done := s.WaitBatch(b.ID, 30*time.Second)
	if done.Succeeded != 6 {
		t.Errorf("got %+v, want 6 rows succeeded", done)
	}
	checkInvariants(t, s)
}

// A finished batch whose summary emails were never planned (its finalizer's retries ran out
// while Redis was away) gets them from the reconciler, once.
func TestReconcilerSendsSummariesNeverPlanned(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	b := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 2), false)
	// The batch finishes with nobody to notify; then recipients are named and the batch
	// looks as if its finalizer had closed it and never planned its emails.
	w := s.StartWorker(4)
	s.WaitBatch(b.ID, 30*time.Second)
	waitNotified(t, s, b.ID)
	w.Stop()
	settings := map[string]any{"batch_report_recipients": []string{"ops@acme.test", "boss@acme.test"}}
	if got := s.Do("PUT", "/v1/organizations/"+org+"/settings", s.RootToken, settings); got.Status != http.StatusOK {
		t.Fatalf("settings: got %d %s", got.Status, got.Body)
	}
	s.DB.MustExec(`UPDATE batches SET notified_at = NULL WHERE id = $1`, b.ID)

	s.StartWorker(4)
	for range 2 { // a second pass finds nothing more to send
		if err := s.Reconciler().Once(context.Background()); err != nil {
			t.Fatalf("reconcile: %v", err)
		}
	}
	waitNotified(t, s, b.ID)
	for _, rcpt := range []string{"ops@acme.test", "boss@acme.test"} {
		if n := len(s.MessagesTo(rcpt)); n != 1 {
			t.Errorf("summaries to %s: got %d, want 1", rcpt, n)
		}
	}
}

func TestMarkersSitInTheirQueuesSlots(t *testing.T) {
	t.Parallel()
	q := jobs.Queues{Prefix: "p:"}
	names, keys := q.Names(), q.Markers()
	if len(keys) != len(names) {
		t.Fatalf("got %d markers for %d queues", len(keys), len(names))
	}
	for i, name := range names {
		if want := "asynq:{" + name + "}:multiline_marker"; keys[i] != want {
			t.Errorf("marker %d: got %s, want %s", i, keys[i], want)
		}
	}
}

// redisZ is a lease: task id's entry in a lease set, ending at end.
func redisZ(end time.Time, id string) redis.Z {
	return redis.Z{Score: float64(end.Unix()), Member: id}
}
