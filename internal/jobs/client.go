package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"

	"github.com/multiline/onboarding/internal/store"
)

// Client enqueues the service's tasks.
type Client struct {
	asynq  *asynq.Client
	queues Queues
}

// NewClient returns a Client over an Asynq client.
func NewClient(c *asynq.Client, q Queues) *Client { return &Client{asynq: c, queues: q} }

// EnqueueRetryFor is how long an enqueue that fails (Redis is away: restarting, or Sentinel
// failing over to a replica) is tried again, with backoff, before the error is returned and
// the work is left to the reconciler. It covers a failover of a few seconds; an upload
// whose enqueue fails answers that much later, stored all the same.
const EnqueueRetryFor = 5 * time.Second

// EnqueueBatch enqueues one task per line of batch batchID; see EnqueueRows.
func (c *Client) EnqueueBatch(ctx context.Context, batchID string, lines []int) error {
	keys := make([]store.RowKey, len(lines))
	for i, line := range lines {
		keys[i] = store.RowKey{BatchID: batchID, Line: line}
	}
	return c.EnqueueRows(ctx, keys)
}

// EnqueueRows enqueues the task of each row. Tasks that already exist are left alone, so a
// second call (say, by the reconciler) is harmless. It stops at the first failure (Redis is
// away: the rest would fail too, one timeout each).
func (c *Client) EnqueueRows(ctx context.Context, rows []store.RowKey) error {
	// A few concurrent enqueuers: each Enqueue is one Redis round trip.
	const workers = 8
	next := make(chan store.RowKey)
	var mu sync.Mutex
	var firstErr error
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(workers, len(rows)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for row := range next {
				if failed.Load() {
					continue
				}
				if err := c.enqueue(ctx, NewRowTask(c.queues, row.BatchID, row.Line)); err != nil {
					failed.Store(true)
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("enqueue row %d of batch %s: %w", row.Line, row.BatchID, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, row := range rows {
		next <- row
	}
	close(next)
	wg.Wait()
	return firstErr
}

// EnqueueFinalize enqueues the finalizer of batch batchID unless it is already queued.
func (c *Client) EnqueueFinalize(ctx context.Context, batchID string) error {
	return c.enqueue(ctx, NewFinalizeTask(c.queues, batchID))
}

// enqueue enqueues t unless a task with its id exists. Every enqueue of the service goes
// through it, so it is where a failing one is retried: from 50 ms, doubling up to a second,
// for EnqueueRetryFor.
func (c *Client) enqueue(ctx context.Context, t *asynq.Task) error {
	deadline := time.Now().Add(EnqueueRetryFor)
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		_, err := c.asynq.EnqueueContext(ctx, t)
		if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
			return nil
		}
		if err == nil || ctx.Err() != nil || time.Now().Add(delay).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}
