package jobs

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// batcher gathers the calls of tasks running at the same time into one run (group commit):
// the database work of many row tasks shares one transaction and a fixed number of
// statements, while each task keeps its own row, retries and outcome. Each caller gets its
// own result.
//
// There is no lingering: a group goes as soon as a flush slot is free, so a lone call waits
// for nothing, and under load calls pile up while the slots are busy and the groups grow by
// themselves. The calls that wait take their places in groups by turns between batches (see
// take).
//
// A run that fails with an error that split says may be one request's fault is run again
// in halves, down to single requests, so that one bad row fails only its own call.
type batcher[Req, Res any] struct {
	run     func(ctx context.Context, reqs []Req) ([]Res, error)
	split   func(error) bool
	key     func(Req) string // whose request it is, for take's turns; nil: oldest first
	max     int
	timeout time.Duration
	calls   chan call[Req, Res]
	slots   chan struct{}
	stop    chan struct{}
	done    sync.WaitGroup
}

type call[Req, Res any] struct {
	ctx   context.Context
	req   Req
	reply chan reply[Res]
}

type reply[Res any] struct {
	res Res
	err error
}

// newBatcher starts a batcher running up to slots flushes of at most max calls at once; a
// flush takes at most timeout. key (nil for none) names whose request each is, for turns.
func newBatcher[Req, Res any](run func(context.Context, []Req) ([]Res, error), split func(error) bool, key func(Req) string, max, slots int, timeout time.Duration) *batcher[Req, Res] {
	b := &batcher[Req, Res]{run: run, split: split, key: key, max: max, timeout: timeout, calls: make(chan call[Req, Res]),
		slots: make(chan struct{}, slots), stop: make(chan struct{})}
	b.done.Add(1)
	go b.loop()
	return b
}

// Do hands req to the next flush and waits for its result. If ctx ends first the call
// returns ctx's error; a flush under way may still commit the request's work, which the
// handlers' idempotency absorbs.
func (b *batcher[Req, Res]) Do(ctx context.Context, req Req) (Res, error) {
	c := call[Req, Res]{ctx: ctx, req: req, reply: make(chan reply[Res], 1)}
	var zero Res
	select {
	case b.calls <- c:
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-b.stop:
		return zero, errBatcherClosed
	}
	select {
	case r := <-c.reply:
		return r.res, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Close stops taking calls and waits for the flushes under way.
func (b *batcher[Req, Res]) Close() {
	close(b.stop)
	b.done.Wait()
}

func (b *batcher[Req, Res]) loop() {
	defer b.done.Done()
	var queue []call[Req, Res]
	for {
		var slot chan struct{} // nil, so never ready, while nothing waits
		if len(queue) > 0 {
			slot = b.slots
		}
		select {
		case c := <-b.calls:
			queue = append(queue, c)
		case slot <- struct{}{}:
			// Whatever is already waiting rides along.
		drain:
			for {
				select {
				case c := <-b.calls:
					queue = append(queue, c)
				default:
					break drain
				}
			}
			var group []call[Req, Res]
			group, queue = b.take(queue)
			b.done.Add(1)
			go b.flush(group)
		case <-b.stop:
			for _, c := range queue {
				c.reply <- reply[Res]{err: errBatcherClosed}
			}
			return
		}
	}
}

// take splits the next group off queue: at most b.max calls, taken by turns between keys
// (every key's first call, then every key's second, ...), each key's in arrival order. So a
// batch whose few rows arrive behind another's hundreds rides in the next group, not three
// groups later. And while several keys wait, the group ends with the turns of the key that
// has fewest, though not below a quarter of b.max: a small batch's rows go in a short
// flush, not at the pace of a full one. Without a key it takes the oldest calls.
func (b *batcher[Req, Res]) take(queue []call[Req, Res]) (group, rest []call[Req, Res]) {
	if b.key == nil || len(queue) <= 1 {
		n := min(len(queue), b.max)
		return queue[:n:n], queue[n:]
	}
	turn := make([]int, len(queue)) // the call's place among its key's calls
	seen := map[string]int{}
	for i, c := range queue {
		k := b.key(c.req)
		turn[i] = seen[k]
		seen[k]++
	}
	size := min(len(queue), b.max)
	if len(seen) > 1 {
		fewest := len(queue)
		for _, n := range seen {
			fewest = min(fewest, n)
		}
		within := 0 // calls in the turns of the key with fewest
		for _, tn := range turn {
			if tn < fewest {
				within++
			}
		}
		size = min(size, max(within, b.max/4))
	}
	if size == len(queue) {
		return queue, nil
	}
	order := make([]int, len(queue))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return turn[x] - turn[y] })
	chosen := make([]bool, len(queue))
	for _, i := range order[:size] {
		chosen[i] = true
	}
	for i, c := range queue {
		if chosen[i] {
			group = append(group, c)
		} else {
			rest = append(rest, c)
		}
	}
	return group, rest
}

func (b *batcher[Req, Res]) flush(calls []call[Req, Res]) {
	defer func() { <-b.slots; b.done.Done() }()
	live := calls[:0:0]
	for _, c := range calls {
		if err := c.ctx.Err(); err != nil {
			c.reply <- reply[Res]{err: err} // its caller has gone: do not do its work
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := b.context(live)
	defer cancel()
	b.runSplit(ctx, live)
}

// context returns the context of a flush: it ends when every caller's context has ended, at
// the latest of their deadlines, and after b.timeout at most. A caller that gives up does not
// cut short the work of the others, and nobody's work outlives all its callers.
func (b *batcher[Req, Res]) context(calls []call[Req, Res]) (context.Context, context.CancelFunc) {
	limit := time.Now().Add(b.timeout)
	var latest time.Time
	for _, c := range calls {
		d, ok := c.ctx.Deadline()
		if !ok || d.After(limit) {
			d = limit
		}
		if d.After(latest) {
			latest = d
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), latest)
	var left atomic.Int64
	left.Store(int64(len(calls)))
	stops := make([]func() bool, len(calls))
	for i, c := range calls {
		stops[i] = context.AfterFunc(c.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// runSplit runs calls as one group and answers each; when the group fails for what may be
// one request's fault, it runs each half on its own instead.
func (b *batcher[Req, Res]) runSplit(ctx context.Context, calls []call[Req, Res]) {
	reqs := make([]Req, len(calls))
	for i, c := range calls {
		reqs[i] = c.req
	}
	res, err := b.run(ctx, reqs)
	if err != nil && len(calls) > 1 && b.split != nil && b.split(err) && ctx.Err() == nil {
		half := len(calls) / 2
		b.runSplit(ctx, calls[:half])
		b.runSplit(ctx, calls[half:])
		return
	}
	for i, c := range calls {
		if err != nil {
			c.reply <- reply[Res]{err: err}
		} else {
			c.reply <- reply[Res]{res: res[i]}
		}
	}
}

type batcherError string

func (e batcherError) Error() string { return string(e) }

const errBatcherClosed = batcherError("worker is shutting down")
