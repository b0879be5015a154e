package jobs

import (
	"context"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/metrics"
)

// Gate keeps a worker's sends within a rate shared by every worker process (SMTP_RATE): each
// send takes a slot from one limiter in Redis (GCRA, github.com/go-redis/redis_rate): slots
// are 1/perSecond seconds apart, so no second holds more than perSecond (see reserve).
//
// Inside a process, the sends that wait take their turns by organization (see turns), so a
// small organization's invitations go out at its share of the rate while a big one has
// hundreds waiting (see the README's "Sending within the provider's limits").
// Only the sender at the head asks Redis, so a process with 500 sends waiting makes one call
// per token, not 500.
//
// A nil *Gate lets every send through at once.
type Gate struct {
	limiter   *redis_rate.Limiter
	key       string
	limit     redis_rate.Limit
	perSecond int
	wait      prometheus.Observer
	sentBack  prometheus.Counter
	log       zerolog.Logger

	mu      sync.Mutex
	q       turns     // the sends waiting, by turns between organizations
	running bool      // whether a goroutine hands out tokens
	held    time.Time // no token is taken before this (see Hold)
}

// NewGate returns the gate of perSecond sends a second by channel ("email" or "sms") over
// rdb, under key (see Queues.SendRate). perSecond 0 returns nil: no limit.
func NewGate(rdb redis.UniversalClient, key, channel string, perSecond int, m *metrics.Worker, log zerolog.Logger) *Gate {
	if perSecond <= 0 {
		return nil
	}
	return &Gate{limiter: redis_rate.NewLimiter(rdb), key: key, perSecond: perSecond,
		limit: redis_rate.Limit{Rate: perSecond, Period: time.Second, Burst: reserveAhead},
		wait:  m.SendWait.WithLabelValues(channel), sentBack: m.SendThrottled.WithLabelValues(channel),
		log: log.With().Str("component", "send_rate").Str("channel", channel).Logger()}
}

// Wait returns when this process may make one send for organization org ("" for emails to
// administrators, which take their own turns). A send that cannot have its token by until,
// or finds a line longer than gateLine, does not wait for it: Wait returns a *busyError
// saying when to try again, and the task goes back to its queue without spending an attempt.
func (g *Gate) Wait(ctx context.Context, org string, until time.Time) error {
	if g == nil {
		return nil
	}
	start := time.Now()
	t := newTurn()
	ahead := g.join(org, t)
	// The tokens ahead of this send take at least this long here; other processes take
	// their part of the rate too.
	switch expect := g.tokens(ahead); {
	case expect > gateLine:
		// Back when the line has moved on by half: it never runs dry.
		t.leave()
		return g.throttled(gateLine / 2)
	case start.Add(expect).After(until):
		t.leave()
		return g.throttled(expect)
	}
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	select {
	case <-t.ready:
		g.wait.Observe(time.Since(start).Seconds())
		return nil
	case <-timer.C:
	case <-ctx.Done():
	}
	if !t.leave() {
		// Granted as the sender gave up: send after all, rather than waste the token.
		g.wait.Observe(time.Since(start).Seconds())
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return g.throttled(time.Second)
}

// gateLine is the longest line a send joins at a gate, in time at the full rate. The sends
// beyond it go back to their queue until the line has moved: waiting here they would hold
// worker slots, and another organization's new rows would wait in Redis behind the tasks
// queued for those slots instead of taking their turns here.
const gateLine = 2 * time.Second

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

// throttled is the error of a send that leaves the gate, to try again after d.
func (g *Gate) throttled(d time.Duration) error {
	g.sentBack.Inc()
	return &busyError{until: time.Now().Add(d),
		why: "the send rate (SMTP_RATE or SMS_RATE) is used up by the sends waiting before this one"}
}

// tokens is how long n tokens take at the gate's rate.
func (g *Gate) tokens(n int) time.Duration {
	return time.Duration(n) * time.Second / time.Duration(g.perSecond)
}

// join queues t for org and returns how many sends in this process go before it.
func (g *Gate) join(org string, t *turn) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	ahead := g.q.ahead(org)
	g.q.push(org, t)
	if !g.running {
		g.running = true
		go g.run()
	}
	return ahead
}

// next takes the next turn still waiting; when there is none, the gate's goroutine ends.
func (g *Gate) next() *turn {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.q.pop()
	if t == nil {
		g.running = false
	}
	return t
}

// run hands out tokens while sends wait: it reserves the next slot of the shared rate for
// the next turn, sleeps until the slot, and gives it to that turn, or to the next one if its
// sender has left meanwhile.
func (g *Gate) run() {
	spare := false // a slot whose sender left: the next turn has it at once
	backoff := 50 * time.Millisecond
	for {
		if !spare && g.sleepIfHeld() {
			continue
		}
		t := g.next()
		if t == nil {
			return // a spare slot is dropped: one send fewer this second
		}
		for !spare {
			if g.sleepIfHeld() {
				continue
			}
			at, err := g.reserve()
			if err != nil {
				// Redis does not answer: nothing may go beyond the rate, so the sends
				// wait, and those that wait too long go back to their queue.
				g.log.Warn().Err(err).Dur("retry_in", backoff).Msg("could not take a send token from Redis")
				time.Sleep(backoff)
				backoff = min(2*backoff, time.Second)
				continue
			}
			backoff = 50 * time.Millisecond
			time.Sleep(time.Until(at))
			spare = true
		}
		spare = !t.grant()
	}
}

// reserve takes the next slot of the shared rate and returns when it is. The limiter is
// GCRA over one key: each call moves the key's next slot on by 1/perSecond seconds, from
// now if it lies in the past, so slots are that far apart whoever takes them and no second
// holds more than perSecond. The limit's burst only lets a slot be taken before its time
// (a process takes its next while it waits for one), up to reserveAhead slots ahead.
// Taking the next slot as soon as the last one is due keeps the rate whole: a limiter asked
// only when its token is due loses the time the asking takes, a third of the rate at 200 a
// second on a busy machine.
func (g *Gate) reserve() (time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for {
		asked := time.Now()
		res, err := g.limiter.Allow(ctx, g.key, g.limit)
		if err != nil {
			return time.Time{}, err
		}
		if res.Allowed > 0 {
			// ResetAfter counts from Redis's clock when the script ran: about halfway
			// through the call, as seen here.
			answered := time.Now()
			ran := asked.Add(answered.Sub(asked) / 2)
			return ran.Add(res.ResetAfter - g.tokens(1)), nil
		}
		// Every slot up to reserveAhead is taken (by many processes): wait for the first.
		select {
		case <-time.After(res.RetryAfter):
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// reserveAhead is how many slots may be taken before their time, across the processes:
// one each, with room to spare.
const reserveAhead = 1000

// sleepIfHeld sleeps while the gate is held (see Hold), a second at most, and reports
// whether it did: a held gate takes no turn off its line and reserves no slot.
func (g *Gate) sleepIfHeld() bool {
	g.mu.Lock()
	d := time.Until(g.held)
	g.mu.Unlock()
	if d <= 0 {
		return false
	}
	time.Sleep(min(d, time.Second))
	return true
}
