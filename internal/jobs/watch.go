package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/metrics"
)

// WatchInterval is how often a worker looks at Redis by default.
const WatchInterval = 2 * time.Second

// Watch notices within seconds that Redis lost its data (a FLUSHALL, a restart without
// persistence, a failover to an empty replica) or that it answers again after an outage,
// and then has the reconciler enqueue the work of every unfinished batch at once.
//
// It keeps a marker key beside each queue (Queues.Markers): every look sets each unless it is
// there. Finding one gone means Redis, or the Cluster node that holds that queue, lost what
// it held, queued tasks included. Uploads made while Redis was away
// (stored, answered 202, not enqueued) are caught the same way when it answers again. Every
// worker watches; recovering twice is harmless.
type Watch struct {
	rdb     redis.UniversalClient
	keys    []string
	recover func(context.Context) error
	metrics *metrics.Worker
	log     zerolog.Logger
	// owed is set while a recovery is due: Redis failed to answer, or a recovery failed.
	owed bool
}

// NewWatch returns a watch of the Redis behind rdb for the queues q; recover is
// Reconciler.Recover.
func NewWatch(rdb redis.UniversalClient, q Queues, recover func(context.Context) error, m *metrics.Worker, log zerolog.Logger) *Watch {
	return &Watch{rdb: rdb, keys: q.Markers(), recover: recover, metrics: m,
		log: log.With().Str("component", "redis_watch").Logger()}
}

// Run looks every interval until ctx ends.
func (w *Watch) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := w.Once(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn().Err(err).Msg("redis watch")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once looks at Redis once and recovers when it has to. The first look of a worker on a
// Redis that has never had the markers recovers too, which only finds what is queued already.
func (w *Watch) Once(ctx context.Context) error {
	set, err := w.mark(ctx)
	if err != nil {
		if !w.owed {
			w.log.Warn().Err(err).Msg("redis does not answer; its queued work will be enqueued again when it does")
		}
		w.owed = true
		return fmt.Errorf("look at redis: %w", err)
	}
	if !set && !w.owed {
		return nil
	}
	cause := metrics.RedisBack
	if set {
		cause = metrics.RedisEmpty
		w.log.Warn().Msg("redis has lost its data (a marker is gone); enqueueing the work of unfinished batches again")
	} else {
		w.log.Warn().Msg("redis answers again; enqueueing the work of unfinished batches again")
	}
	w.owed = true
	if err := w.recover(ctx); err != nil {
		return fmt.Errorf("recover after redis %s: %w", cause, err)
	}
	w.owed = false
	w.metrics.RedisRecoveries.WithLabelValues(cause).Inc()
	return nil
}

// mark sets every marker that is missing, and reports whether one was.
func (w *Watch) mark(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	missing := false
	for _, key := range w.keys {
		set, err := w.rdb.SetNX(ctx, key, now, 0).Result()
		if err != nil {
			return false, err
		}
		missing = missing || set
	}
	return missing, nil
}
