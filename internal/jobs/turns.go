package jobs

import (
	"context"
	"sync"
	"sync/atomic"
)

// turns is a queue of waiters that serves organizations by turns: the next waiter of the
// organization first in line, which then goes to the back if more of its waiters wait. Each
// organization's waiters keep their arrival order. So one organization with hundreds waiting
// holds back another's few by one place each, not by hundreds. Its users lock it.
type turns struct {
	waiting map[string][]*turn // by organization, in arrival order
	ring    []string           // organizations with waiters, in turn order
	n       int
}

// A turn is one waiter. Whichever of the one who serves it and the waiter changes its state
// first wins: it is granted, or the waiter has left.
type turn struct {
	state atomic.Int32 // turnWaiting, turnGranted or turnLeft
	ready chan struct{}
}

const (
	turnWaiting int32 = iota
	turnGranted
	turnLeft
)

func newTurn() *turn { return &turn{ready: make(chan struct{})} }

// grant gives t its turn, unless its waiter has left.
func (t *turn) grant() bool {
	if !t.state.CompareAndSwap(turnWaiting, turnGranted) {
		return false
	}
	close(t.ready)
	return true
}

// leave withdraws t, unless it was granted already.
func (t *turn) leave() bool { return t.state.CompareAndSwap(turnWaiting, turnLeft) }

func (q *turns) push(org string, t *turn) {
	if q.waiting == nil {
		q.waiting = map[string][]*turn{}
	}
	if len(q.waiting[org]) == 0 {
		q.ring = append(q.ring, org)
	}
	q.waiting[org] = append(q.waiting[org], t)
	q.n++
}

// pop takes the next turn still waiting, nil when none is.
func (q *turns) pop() *turn {
	for len(q.ring) > 0 {
		org := q.ring[0]
		q.ring = q.ring[1:]
		w := q.waiting[org]
		t := w[0]
		if len(w) == 1 {
			delete(q.waiting, org)
		} else {
			q.waiting[org] = w[1:]
			q.ring = append(q.ring, org)
		}
		q.n--
		if t.state.Load() == turnWaiting {
			return t
		}
	}
	return nil
}

// ahead is how many turns come before a waiter of org that joins now: its organization's
// waiters, and of every other organization's as many again and one (fewer if it has fewer),
// those that left and are not popped yet included.
func (q *turns) ahead(org string) int {
	p := len(q.waiting[org])
	n := p
	for o, w := range q.waiting {
		if o != org {
			n += min(len(w), p+1)
		}
	}
	return n
}

// len counts the waiters, those that left and are not popped yet included.
func (q *turns) len() int { return q.n }

// fairSlots lets at most n callers in at once and queues the others by turns between
// organizations. A worker's sends go through it before the mailer's connection pool, whose
// own waiters would be served first come, first served.
type fairSlots struct {
	mu   sync.Mutex
	free int
	q    turns
}

func newFairSlots(n int) *fairSlots { return &fairSlots{free: n} }

// acquire waits for a slot for org; call release after. A nil *fairSlots lets every caller in.
func (s *fairSlots) acquire(ctx context.Context, org string) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	// While a slot is free nobody waits (release grants a waiter before it frees a slot):
	// turns left in the queue have all left.
	if s.free > 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	t := newTurn()
	s.q.push(org, t)
	s.mu.Unlock()
	select {
	case <-t.ready:
		return nil
	case <-ctx.Done():
		if !t.leave() {
			s.release() // granted as it left: the slot goes to the next
		}
		return ctx.Err()
	}
}

// release frees a slot: the next waiter by turns has it.
func (s *fairSlots) release() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		t := s.q.pop()
		if t == nil {
			s.free++
			return
		}
		if t.grant() {
			return
		}
	}
}
