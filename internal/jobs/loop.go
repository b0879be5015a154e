package jobs

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// loop runs fn, one run at a time, on the batches whose rows settled since its last run:
// under load many settles share one run, and a lone settle is served at once, or once gap
// has passed since the last run. A run that fails is left to the next settle and to the
// reconciler. The workers feed their organizations' next rows this way (gap 0) and check
// their pool alerts (a gap, as a check costs a few queries).
type loop struct {
	what    string // for the log: "feed rows to the queue"
	fn      func(ctx context.Context, batchIDs []string) error
	gap     time.Duration
	log     zerolog.Logger
	mu      sync.Mutex
	batches map[string]struct{}
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func newLoop(what string, gap time.Duration, fn func(ctx context.Context, batchIDs []string) error, log zerolog.Logger) *loop {
	l := &loop{what: what, fn: fn, gap: gap, log: log, batches: map[string]struct{}{}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

// settled notes that rows of batchIDs settled.
func (l *loop) settled(batchIDs ...string) {
	l.mu.Lock()
	for _, id := range batchIDs {
		l.batches[id] = struct{}{}
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *loop) run() {
	defer close(l.done)
	for {
		select {
		case <-l.stop:
			return
		case <-l.wake:
		}
		l.mu.Lock()
		ids := make([]string, 0, len(l.batches))
		for id := range l.batches {
			ids = append(ids, id)
		}
		clear(l.batches)
		l.mu.Unlock()
		if len(ids) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := l.fn(ctx, ids); err != nil {
			l.log.Warn().Err(err).Strs("batch_ids", ids).Msg("could not " + l.what + "; the next settle or the reconciler will")
		}
		cancel()
		if l.gap > 0 {
			select {
			case <-l.stop:
				return
			case <-time.After(l.gap):
			}
		}
	}
}

// close stops the loop after the run under way.
func (l *loop) close() {
	close(l.stop)
	<-l.done
}
