package jobs

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

var errBadRow = errors.New("row refused")

// A group that fails for one request's sake is split until that request fails alone; the
// others get their results.
func TestBatcherSplitsAGroupThatOneRequestFails(t *testing.T) {
	var groups [][]int
	run := func(ctx context.Context, reqs []int) ([]int, error) {
		groups = append(groups, append([]int(nil), reqs...))
		out := make([]int, len(reqs))
		for i, r := range reqs {
			if r == 7 {
				return nil, errBadRow
			}
			out[i] = r * 10
		}
		return out, nil
	}
	b := &batcher[int, int]{run: run, split: func(err error) bool { return errors.Is(err, errBadRow) }}
	const n = 16
	calls := make([]call[int, int], n)
	for i := range calls {
		calls[i] = call[int, int]{ctx: context.Background(), req: i, reply: make(chan reply[int], 1)}
	}
	b.runSplit(context.Background(), calls)
	for i, c := range calls {
		r := <-c.reply
		switch {
		case i == 7 && !errors.Is(r.err, errBadRow):
			t.Errorf("request 7: got %d, %v; want its own error", r.res, r.err)
		case i != 7 && (r.err != nil || r.res != i*10):
			t.Errorf("request %d: got %d, %v; want %d", i, r.res, r.err, i*10)
		}
	}
	// Only the halves that hold request 7 are split again: 16, 8+8, 4+4, 2+2, 1+1.
	alone := false
	for _, g := range groups {
		alone = alone || (len(g) == 1 && g[0] == 7)
	}
	if len(groups) != 9 || !alone {
		t.Errorf("groups %v: want halves down to request 7 alone, in 9 runs", groups)
	}
}

// Calls that arrive while every flush slot is busy go together in the next flush.
func TestBatcherGroupsConcurrentCalls(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	b := newBatcher(func(ctx context.Context, reqs []int) ([]int, error) {
		mu.Lock()
		sizes = append(sizes, len(reqs))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			close(started)
			<-release
		}
		return reqs, nil
	}, nil, nil, 100, 1, time.Minute)
	defer b.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = b.Do(context.Background(), 0) }()
	<-started // the only slot is busy from here on
	var queued sync.WaitGroup
	for i := 1; i <= 10; i++ {
		wg.Add(1)
		queued.Add(1)
		go func() {
			defer wg.Done()
			queued.Done()
			if got, err := b.Do(context.Background(), i); err != nil || got != i {
				t.Errorf("call %d: got %d, %v", i, got, err)
			}
		}()
	}
	queued.Wait()
	close(release)
	wg.Wait()
	if len(sizes) < 2 || len(sizes) > 11 {
		t.Fatalf("got flushes of %v, want the first alone and the other ten in at most ten", sizes)
	}
	if len(sizes) == 11 {
		t.Logf("the ten calls happened to reach the batcher one by one after the slot freed (%v)", sizes)
	}
}

// A failure that is not one request's fault fails the whole group, without a split.
func TestBatcherFailsTheGroupForOtherErrors(t *testing.T) {
	runs := 0
	var mu sync.Mutex
	down := errors.New("connection refused")
	b := newBatcher(func(ctx context.Context, reqs []int) ([]int, error) {
		mu.Lock()
		runs++
		mu.Unlock()
		return nil, down
	}, func(err error) bool { return errors.Is(err, errBadRow) }, nil, 100, 1, time.Minute)
	defer b.Close()
	if _, err := b.Do(context.Background(), 1); !errors.Is(err, down) {
		t.Errorf("got %v, want %v", err, down)
	}
	if runs != 1 {
		t.Errorf("got %d runs, want 1", runs)
	}
}

// A flush's context ends when every caller has gone, not when one of them has, and keeps
// the latest caller deadline.
func TestBatcherFlushContextFollowsItsCallers(t *testing.T) {
	b := &batcher[int, int]{timeout: time.Minute}
	short, cancelShort := context.WithTimeout(context.Background(), time.Hour)
	long, cancelLong := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancelLong()
	ctx, done := b.context([]call[int, int]{{ctx: short}, {ctx: long}})
	defer done()
	if d, _ := ctx.Deadline(); time.Until(d) > time.Minute+time.Second {
		t.Errorf("deadline in %s, want at most the batcher's timeout of a minute", time.Until(d))
	}
	cancelShort()
	select {
	case <-ctx.Done():
		t.Fatalf("the flush ended when one of its two callers left")
	case <-time.After(20 * time.Millisecond):
	}
	cancelLong()
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatalf("the flush went on after every caller had left")
	}

	soon, cancelSoon := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelSoon()
	ctx2, done2 := b.context([]call[int, int]{{ctx: soon}})
	defer done2()
	if d, _ := ctx2.Deadline(); time.Until(d) > 5*time.Second {
		t.Errorf("deadline in %s, want the caller's 5 s", time.Until(d))
	}
}

// The calls waiting for a flush join groups by turns between keys (every key's first call,
// then every key's second, each turn in arrival order), so a key whose calls arrived behind
// another's many rides in the next group; while several keys wait the group ends with the
// turns of the key with fewest (a quarter of the most at least); each key keeps its order.
func TestBatcherTakesKeysByTurns(t *testing.T) {
	calls := func(rs ...string) []call[string, struct{}] {
		var out []call[string, struct{}]
		for _, r := range rs {
			out = append(out, call[string, struct{}]{req: r})
		}
		return out
	}
	reqs := func(cs []call[string, struct{}]) string {
		var out []string
		for _, c := range cs {
			out = append(out, c.req)
		}
		return strings.Join(out, " ")
	}
	byLetter := func(r string) string { return r[:1] }
	for _, tc := range []struct {
		name        string
		max         int
		key         func(string) string
		queue       []string
		group, rest string
	}{
		{"turns, cut at the fewest", 4, byLetter, []string{"b0", "b1", "b2", "b3", "b4", "b5", "s0", "b6", "s1", "t0"},
			"b0 s0 t0", "b1 b2 b3 b4 b5 b6 s1"},
		{"a small batch behind a big one", 8, byLetter, []string{"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "s0", "s1", "s2"},
			"b0 b1 b2 s0 s1 s2", "b3 b4 b5 b6 b7 b8"},
		{"never below a quarter", 16, byLetter, []string{"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "s0"},
			"b0 b1 b2 s0", "b3 b4 b5 b6 b7"},
		{"one key: full groups", 4, byLetter, []string{"b0", "b1", "b2", "b3", "b4", "b5"},
			"b0 b1 b2 b3", "b4 b5"},
		{"no key: the oldest", 4, nil, []string{"b0", "s0", "b1", "b2", "b3"},
			"b0 s0 b1 b2", "b3"},
	} {
		b := &batcher[string, struct{}]{max: tc.max, key: tc.key}
		group, rest := b.take(calls(tc.queue...))
		if reqs(group) != tc.group || reqs(rest) != tc.rest {
			t.Errorf("%s: got group %q and left %q, want %q and %q", tc.name, reqs(group), reqs(rest), tc.group, tc.rest)
		}
	}
}
