package jobs

import (
	"context"
	"sync"
	"time"
)

// batcher gathers concurrent calls into batches for run: the database work of many row
// tasks shares one transaction and a fixed number of statements, while each task keeps its
// own Asynq retry and outcome.
//
// There is no lingering: a batch goes as soon as a flush slot is free, so a lone call waits
// for nothing, and under load calls pile up while the slots are busy and the batches grow by
// themselves (group commit).
type batcher[Req, Res any] struct {
	run     func(ctx context.Context, reqs []Req) ([]Res, error)
	max     int
	timeout time.Duration
	calls   chan call[Req, Res]
	slots   chan struct{}
	stop    chan struct{}
	done    sync.WaitGroup
}

type call[Req, Res any] struct {
	req   Req
	reply chan reply[Res]
}

type reply[Res any] struct {
	res Res
	err error
}

// newBatcher starts a batcher running up to slots flushes of at most max calls at once.
func newBatcher[Req, Res any](run func(context.Context, []Req) ([]Res, error), max, slots int, timeout time.Duration) *batcher[Req, Res] {
	b := &batcher[Req, Res]{run: run, max: max, timeout: timeout, calls: make(chan call[Req, Res]),
		slots: make(chan struct{}, slots), stop: make(chan struct{})}
	b.done.Add(1)
	go b.loop()
	return b
}

// Do hands req to the next flush and waits for its result. If ctx ends first the call
// returns ctx's error; the flush may still commit the request's work, which the handlers'
// idempotency absorbs.
func (b *batcher[Req, Res]) Do(ctx context.Context, req Req) (Res, error) {
	c := call[Req, Res]{req: req, reply: make(chan reply[Res], 1)}
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
	for {
		var pending []call[Req, Res]
		select {
		case c := <-b.calls:
			pending = append(pending, c)
		case <-b.stop:
			return
		}
		// Take a flush slot, gathering what arrives meanwhile.
	gather:
		for {
			if len(pending) >= b.max {
				b.slots <- struct{}{}
				break
			}
			select {
			case b.slots <- struct{}{}:
				break gather
			case c := <-b.calls:
				pending = append(pending, c)
			}
		}
		// Whatever is already waiting rides along.
	drain:
		for len(pending) < b.max {
			select {
			case c := <-b.calls:
				pending = append(pending, c)
			default:
				break drain
			}
		}
		b.done.Add(1)
		go b.flush(pending)
	}
}

func (b *batcher[Req, Res]) flush(calls []call[Req, Res]) {
	defer func() { <-b.slots; b.done.Done() }()
	reqs := make([]Req, len(calls))
	for i, c := range calls {
		reqs[i] = c.req
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	res, err := b.run(ctx, reqs)
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
