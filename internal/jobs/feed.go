package jobs

import (
	"context"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/store"
)

// Feeder hands rows to the queue through each organization's window (store.Feed): the api
// when a batch is stored, the workers as rows settle, the reconciler as a safety net. So
// while several organizations have rows pending, the row tasks in Redis are a fair mix of
// theirs, and a small upload waits behind little whatever another organization has queued.
// It enqueues finalizers and invitations as Client does.
type Feeder struct {
	*Client
	store    *store.Store
	capacity *capacity
}

// NewFeeder returns a Feeder; inspector tells it how many row tasks the workers run at once.
func NewFeeder(st *store.Store, client *Client, inspector *asynq.Inspector) *Feeder {
	return &Feeder{Client: client, store: st, capacity: &capacity{inspector: inspector, queue: client.queues.Rows()}}
}

// Feed enqueues the rows that the windows of batchIDs' organizations (every organization's,
// when nil) let in now, and returns how many.
func (f *Feeder) Feed(ctx context.Context, batchIDs []string) (int, error) {
	keys, err := f.store.Feed(ctx, batchIDs, f.capacity.get())
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	return len(keys), f.EnqueueRows(ctx, keys)
}

// defaultCapacity is the capacity assumed while no worker is known: the default
// WORKER_CONCURRENCY of one worker.
const defaultCapacity = 512

// capacity is how many row tasks the workers run at once, the sum of the concurrency of the
// Asynq servers serving the rows queue, read from Redis at most every capacityTTL.
type capacity struct {
	inspector *asynq.Inspector
	queue     string
	mu        sync.Mutex
	value     int
	read      time.Time
}

const capacityTTL = 10 * time.Second

func (c *capacity) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.value > 0 && time.Since(c.read) < capacityTTL {
		return c.value
	}
	c.value, c.read = defaultCapacity, time.Now()
	servers, err := c.inspector.Servers()
	if err != nil {
		return c.value
	}
	sum := 0
	for _, s := range servers {
		if s.Queues[c.queue] > 0 {
			sum += s.Concurrency
		}
	}
	if sum > 0 {
		c.value = sum
	}
	return c.value
}

// FeedLoop feeds, one feed at a time, the organizations of the batches whose rows settled
// since the last feed (see loop). A Handler runs one; so does the benchmark's literal peer.
type FeedLoop struct{ l *loop }

// Loop starts a FeedLoop over f; Close stops it.
func (f *Feeder) Loop(log zerolog.Logger) *FeedLoop {
	return &FeedLoop{newLoop("feed rows to the queue", 0, func(ctx context.Context, ids []string) error {
		_, err := f.Feed(ctx, ids)
		return err
	}, log.With().Str("component", "feed").Logger())}
}

// Settled notes that rows of batchIDs settled: their organizations have room again.
func (l *FeedLoop) Settled(batchIDs ...string) { l.l.settled(batchIDs...) }

// Close stops the loop after the feed under way.
func (l *FeedLoop) Close() { l.l.close() }
