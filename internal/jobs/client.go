package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

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

func (c *Client) enqueue(ctx context.Context, t *asynq.Task) error {
	_, err := c.asynq.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	return err
}
