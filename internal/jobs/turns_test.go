package jobs

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fairSlots: while every slot is held, the waiters get freed slots by turns between
// organizations; a waiter that gives up takes none, and every slot comes back.
func TestFairSlotsServeOrganizationsByTurns(t *testing.T) {
	// One slot, so that each waiter's slot passes to the next only when it has noted its
	// turn: the order noted is the order served.
	s := newFairSlots(1)
	ctx := context.Background()
	if err := s.acquire(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	join := func(ctx context.Context, org string) <-chan struct{} {
		n := s.waiters()
		wg.Add(1)
		done := make(chan struct{})
		go func() {
			defer wg.Done()
			defer close(done)
			if err := s.acquire(ctx, org); err != nil {
				return
			}
			mu.Lock()
			order = append(order, org)
			mu.Unlock()
			s.release()
		}()
		for s.waiters() == n { // in line before the next joins
			time.Sleep(time.Millisecond)
		}
		return done
	}
	for range 6 {
		join(ctx, "big")
	}
	gone, leave := context.WithCancel(ctx)
	left := join(gone, "small")
	join(ctx, "small")
	join(ctx, "small")
	leave() // the first small waiter gives up before any slot is free
	<-left
	s.release()
	wg.Wait()

	t.Logf("order: %v", order)
	if len(order) != 8 {
		t.Fatalf("%d waiters got a slot, want the 8 that stayed", len(order))
	}
	last := 0
	for i, org := range order {
		if org == "small" {
			last = i
		}
	}
	// big, (small's first has left) big, small, big, small: turns about with big's six.
	if last > 4 {
		t.Errorf("small's last slot came %d-th, want by the 5th (turns about with big's six)", last+1)
	}
	s.mu.Lock()
	free := s.free
	s.mu.Unlock()
	if free != 1 {
		t.Errorf("%d slots free at the end, want 1", free)
	}
}

func (s *fairSlots) waiters() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.q.len()
}
