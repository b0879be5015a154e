package jobs

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/metrics"
)

// Gate keeps a worker's sends within a rate shared by every worker process (SMTP_RATE): each
// send takes a token from one limiter in Redis (GCRA, github.com/go-redis/redis_rate), at
// most perSecond tokens a second in every second, with no burst.
//
// Inside a process, the sends that wait take their turns by organization: one organization's
// next send, then the next organization's, so a small organization's invitations go out at
// its share of the rate while a big one has hundreds waiting (see the README's "Fair share").
// Only the sender at the head asks Redis, so a process with 500 sends waiting makes one call
// per token, not 500.
//
// A nil *Gate lets every send through at once.
type Gate struct {
	limiter   *redis_rate.Limiter
	key       string
	limit     redis_rate.Limit
	perSecond int
	metrics   *metrics.Worker
	log       zerolog.Logger

	mu      sync.Mutex
	waiting map[string][]*turn // by organization, in arrival order
	ring    []string           // organizations with sends waiting, in turn order
	running bool               // whether a goroutine hands out tokens
	held    time.Time          // no token is taken before this (see Hold)
}

// A turn is one send waiting at the gate. Whichever of the gate and the sender changes its
// state first wins: the gate grants it, or the sender leaves.
type turn struct {
	state atomic.Int32 // turnWaiting, turnGranted or turnLeft
	ready chan struct{}
}

const (
	turnWaiting int32 = iota
	turnGranted
	turnLeft
)

// NewGate returns the gate of perSecond sends a second over rdb, under key (the queues'
// prefix keeps deployments and tests apart). perSecond 0 returns nil: no limit.
func NewGate(rdb redis.UniversalClient, key string, perSecond int, m *metrics.Worker, log zerolog.Logger) *Gate {
	if perSecond <= 0 {
		return nil
	}
	return &Gate{limiter: redis_rate.NewLimiter(rdb), key: key, perSecond: perSecond,
		limit:   redis_rate.Limit{Rate: perSecond, Period: time.Second, Burst: 1},
		metrics: m, log: log.With().Str("component", "send_rate").Logger(), waiting: map[string][]*turn{}}
}

// Wait returns when this process may make one send for organization org ("" for emails to
// administrators, which take their own turns). A send that cannot have its token by until
// does not wait for it: Wait returns a *busyError saying when to try again, and the task
// goes back to its queue without spending an attempt.
func (g *Gate) Wait(ctx context.Context, org string, until time.Time) error {
	if g == nil {
		return nil
	}
	start := time.Now()
	t := &turn{ready: make(chan struct{})}
	ahead := g.join(org, t)
	// The tokens ahead of this send take at least this long here; other processes take
	// their part of the rate too.
	if expect := g.tokens(ahead); start.Add(expect).After(until) {
		t.state.Store(turnLeft)
		return g.throttled(ahead)
	}
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	select {
	case <-t.ready:
		g.metrics.SendWait.Observe(time.Since(start).Seconds())
		return nil
	case <-timer.C:
	case <-ctx.Done():
	}
	if !t.state.CompareAndSwap(turnWaiting, turnLeft) {
		// Granted as the sender gave up: send after all, rather than waste the token.
		g.metrics.SendWait.Observe(time.Since(start).Seconds())
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return g.throttled(g.queued())
}

// Hold stops this process taking tokens for d: the mail server said the sender is over its
// rate, so every send here would be refused the same way.
func (g *Gate) Hold(d time.Duration) {
	if g == nil {
		return
	}
	g.mu.Lock()
	if until := time.Now().Add(d); until.After(g.held) {
		g.held = until
	}
	g.mu.Unlock()
}

// throttled is the error of a send that leaves the gate: it tries again once the sends
// waiting here now have had their tokens.
func (g *Gate) throttled(ahead int) error {
	g.metrics.SendThrottled.Inc()
	return &busyError{until: time.Now().Add(max(time.Second, g.tokens(ahead))),
		why: "the send rate (SMTP_RATE) is used up by the sends waiting before this one"}
}

// tokens is how long n tokens take at the gate's rate.
func (g *Gate) tokens(n int) time.Duration {
	return time.Duration(n) * time.Second / time.Duration(g.perSecond)
}

// join queues t for org and returns how many sends wait in this process before it.
func (g *Gate) join(org string, t *turn) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	ahead := 0
	for _, q := range g.waiting {
		ahead += len(q)
	}
	if len(g.waiting[org]) == 0 {
		g.ring = append(g.ring, org)
	}
	g.waiting[org] = append(g.waiting[org], t)
	if !g.running {
		g.running = true
		go g.run()
	}
	return ahead
}

func (g *Gate) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, q := range g.waiting {
		n += len(q)
	}
	return n
}

// next takes the turn of the organization first in the ring, and puts that organization at
// the ring's end if more of its sends wait. It returns nil when nothing waits, and then the
// gate's goroutine ends.
func (g *Gate) next() *turn {
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.ring) > 0 {
		org := g.ring[0]
		g.ring = g.ring[1:]
		q := g.waiting[org]
		t := q[0]
		if len(q) == 1 {
			delete(g.waiting, org)
		} else {
			g.waiting[org] = q[1:]
			g.ring = append(g.ring, org)
		}
		if t.state.Load() == turnWaiting {
			return t
		}
	}
	g.running = false
	return nil
}

// run hands out tokens while sends wait: it takes one from Redis for the next turn, waiting
// as long as the limiter says, and gives it to that turn, or to the next one if its sender
// has left meanwhile.
func (g *Gate) run() {
	spare := false // a token taken for a sender that left
	backoff := 50 * time.Millisecond
	for {
		t := g.next()
		if t == nil {
			return // a spare token is dropped: one send fewer this second
		}
		for t.state.Load() == turnWaiting {
			if !spare {
				if d := time.Until(g.heldUntil()); d > 0 {
					time.Sleep(min(d, time.Second))
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				res, err := g.limiter.Allow(ctx, g.key, g.limit)
				cancel()
				if err != nil {
					// Redis does not answer: nothing may go beyond the rate, so the sends
					// wait, and those that wait too long go back to their queue.
					g.log.Warn().Err(err).Dur("retry_in", backoff).Msg("could not take a send token from Redis")
					time.Sleep(backoff)
					backoff = min(2*backoff, time.Second)
					continue
				}
				backoff = 50 * time.Millisecond
				if res.Allowed == 0 {
					time.Sleep(res.RetryAfter)
					continue
				}
			}
			spare = !t.state.CompareAndSwap(turnWaiting, turnGranted)
			if !spare {
				close(t.ready)
			}
			break
		}
	}
}

func (g *Gate) heldUntil() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}
