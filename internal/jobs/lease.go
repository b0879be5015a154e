package jobs

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/metrics"
)

// LeaseMargin is how long after its lease ended a task counts as its worker's loss. A worker
// extends the leases of its tasks every 5 s by 30 s (Asynq's heartbeat); one that died, or
// lost Redis, stops extending. The margin allows for clocks a few seconds apart: a task
// given back too early runs twice, which the handlers make harmless (DESIGN.md 6, 7).
const LeaseMargin = 5 * time.Second

// Leases gives back the tasks of workers that died: tasks "active" in Redis whose lease
// ended. Asynq does that itself (its recoverer), but only for leases that ended 30 s ago
// or more, and it looks once a minute, so a dead worker's rows waited 60 to 90 s; Asynq
// v0.26 has no setting for either. Every worker runs Leases every few seconds, and the
// reconciler asks it about the active tasks it finds.
//
// It works on Asynq's keys (v0.26's layout, "asynq:{<queue>}:active", ":lease", ":pending",
// ":t:<id>") with a script of its own, in one queue's slot, as Asynq's own requeue does.
type Leases struct {
	rdb     redis.UniversalClient
	queues  []string
	metrics *metrics.Worker
	log     zerolog.Logger
	now     func() time.Time
}

// NewLeases returns Leases over the queues of q in the Redis behind rdb.
func NewLeases(rdb redis.UniversalClient, q Queues, m *metrics.Worker, log zerolog.Logger) *Leases {
	return &Leases{rdb: rdb, queues: q.Names(), metrics: m, log: log.With().Str("component", "leases").Logger(), now: time.Now}
}

// Reclaim outcomes.
const (
	reclaimAlive   = 0 // not active, or its lease has not ended: left alone
	reclaimPending = 1 // put back at the head of its queue, as Asynq's requeue does
	reclaimStub    = 2 // a hash without its message (evicted, then recreated): removed
)

// reclaimScript gives back task ARGV[1] of one queue when it is active and lost: its lease
// ended before ARGV[2] (unix seconds), or it has none, or its hash lost its message. A lost
// task with its message goes back to pending, keeping its retry count (the worker died, not
// the row); one without is removed, for the caller to enqueue again. A lease whose hash is
// gone altogether (evicted) is removed too, so that it is not counted past its lease forever.
//
// KEYS: task hash, active list, lease zset, pending list. ARGV: id, cutoff, now (unix ns).
var reclaimScript = redis.NewScript(`
local state = redis.call("HGET", KEYS[1], "state")
if state and state ~= "active" then
	return 0
end
local lease = redis.call("ZSCORE", KEYS[3], ARGV[1])
if not state and not lease then
	return 0
end
local msg = state and redis.call("HGET", KEYS[1], "msg")
local expired = not lease or tonumber(lease) < tonumber(ARGV[2])
if (msg or not state) and not expired then
	return 0
end
redis.call("LREM", KEYS[2], 0, ARGV[1])
redis.call("ZREM", KEYS[3], ARGV[1])
if not msg then
	redis.call("DEL", KEYS[1])
	return 2
end
redis.call("RPUSH", KEYS[4], ARGV[1])
redis.call("HSET", KEYS[1], "state", "pending", "pending_since", ARGV[3])
return 1
`)

func queuePrefix(queue string) string { return "asynq:{" + queue + "}:" }

// Reclaim gives back task id of queue when it is active and lost, and reports what it did.
func (l *Leases) Reclaim(ctx context.Context, queue, id string) (int, error) {
	p, now := queuePrefix(queue), l.now()
	res, err := reclaimScript.Run(ctx, l.rdb, []string{p + "t:" + id, p + "active", p + "lease", p + "pending"},
		id, now.Add(-LeaseMargin).Unix(), now.UnixNano()).Int()
	if err != nil {
		return reclaimAlive, fmt.Errorf("reclaim task %s: %w", id, err)
	}
	switch res {
	case reclaimPending:
		l.metrics.TasksReclaimed.WithLabelValues(metrics.ReclaimLeaseExpired).Inc()
	case reclaimStub:
		l.metrics.TasksReclaimed.WithLabelValues(metrics.ReclaimNoPayload).Inc()
	}
	return res, nil
}

// PastLease counts the tasks of queue whose lease ended (the active tasks of dead workers,
// until they are given back); the metrics collector reads it at scrape time.
func (l *Leases) PastLease(ctx context.Context, queue string) (int, error) {
	n, err := l.rdb.ZCount(ctx, queuePrefix(queue)+"lease", "-inf", "("+strconv.FormatInt(l.now().Unix(), 10)).Result()
	return int(n), err
}

// Queues returns the names of the queues it looks at.
func (l *Leases) Queues() []string { return l.queues }

// Once gives back every task of the queues whose lease ended more than LeaseMargin ago.
func (l *Leases) Once(ctx context.Context) error {
	cutoff := l.now().Add(-LeaseMargin).Unix()
	for _, q := range l.queues {
		ids, err := l.rdb.ZRangeByScore(ctx, queuePrefix(q)+"lease", &redis.ZRangeBy{
			Min: "-inf", Max: "(" + strconv.FormatInt(cutoff, 10), Count: 1000}).Result()
		if err != nil {
			return fmt.Errorf("list expired leases of %s: %w", q, err)
		}
		var back []string
		for _, id := range ids {
			res, err := l.Reclaim(ctx, q, id)
			if err != nil {
				return err
			}
			if res != reclaimAlive {
				back = append(back, id)
			}
		}
		if len(back) > 0 {
			l.log.Warn().Str("queue", q).Int("tasks", len(back)).Strs("task_ids", back[:min(len(back), 10)]).
				Msg("gave back the tasks of a worker that stopped extending their lease (it died or lost Redis); they run again now")
		}
	}
	return nil
}

// Run calls Once every interval until ctx ends.
func (l *Leases) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := l.Once(ctx); err != nil && ctx.Err() == nil {
			l.log.Warn().Err(err).Msg("look for expired leases")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
