package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/testenv"
)

// An enqueue that fails while Redis is away is tried again for a few seconds: a batch
// enqueued while Redis restarts is in Redis when the call returns, and nothing waits for the
// reconciler. When Redis stays away, the call gives up after jobs.EnqueueRetryFor.
func TestEnqueueRetriesWhileRedisIsAway(t *testing.T) {
	t.Parallel()
	t.Run("back within the retries", func(t *testing.T) {
		t.Parallel()
		srv := testenv.StartRedisServer(t)
		r := srv.Redis()
		cli := asynq.NewClient(r.Opt)
		defer cli.Close()
		insp := asynq.NewInspector(r.Opt)
		defer insp.Close()
		q := jobs.Queues{}
		client := jobs.NewClient(cli, q)

		srv.Kill()
		errc := make(chan error, 2)
		go func() {
			errc <- client.EnqueueBatch(context.Background(), "b1", []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
		}()
		go func() { errc <- client.EnqueueFinalize(context.Background(), "b2") }()
		// The calls are retrying while Redis is away (no condition to poll for: nothing
		// answers); then it comes back, empty.
		time.Sleep(time.Second)
		srv.Start()
		for range 2 {
			if err := <-errc; err != nil {
				t.Errorf("enqueue while Redis restarted: got %v, want nil", err)
			}
		}
		info, err := insp.GetQueueInfo(q.Rows())
		if err != nil || info.Pending != 11 {
			t.Errorf("rows queue after the restart: got %+v, %v, want 11 pending", info, err)
		}
		if _, err := insp.GetTaskInfo(q.Finalize(), jobs.FinalizeTaskID("b2")); err != nil {
			t.Errorf("finalizer after the restart: %v", err)
		}
	})
	t.Run("away for good", func(t *testing.T) {
		t.Parallel()
		srv := testenv.StartRedisServer(t)
		cli := asynq.NewClient(srv.Redis().Opt)
		defer cli.Close()
		client := jobs.NewClient(cli, jobs.Queues{})
		srv.Kill()
		start := time.Now()
		err := client.EnqueueBatch(context.Background(), "b1", make([]int, 100))
		took := time.Since(start)
		if err == nil {
			t.Fatal("enqueue with Redis gone: got nil, want an error")
		}
		if took < jobs.EnqueueRetryFor-time.Second || took > jobs.EnqueueRetryFor+3*time.Second {
			t.Errorf("enqueue with Redis gone gave up after %s, want about %s", took, jobs.EnqueueRetryFor)
		}
	})
}
