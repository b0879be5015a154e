package testenv

import (
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

// BusiestSecond is the most of at that fall in any one second [t, t+1s).
func BusiestSecond(at []time.Time) int {
	at = slices.SortedFunc(slices.Values(at), func(a, b time.Time) int { return a.Compare(b) })
	most, j := 0, 0
	for i := range at {
		for at[i].Sub(at[j]) >= time.Second {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

// RateSlack is how many more than perSecond a test may count in its busiest second when it
// stamps arrivals with its own clock: one for the varying delay of each message, and what
// arrived while this process could not run (stall: see WatchStalls) and was stamped late, at
// once.
func RateSlack(perSecond int, stall time.Duration) int {
	return 1 + int(math.Ceil(stall.Seconds()*float64(perSecond)))
}

// WatchStalls measures, until the test ends, the longest time this process could not run a
// goroutine that asks to run every 5 ms (a loaded machine, a garbage collection); the
// function it returns tells the longest so far.
func WatchStalls(t testing.TB) func() time.Duration {
	var mu sync.Mutex
	var worst time.Duration
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		const tick = 5 * time.Millisecond
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-time.After(tick):
			}
			now := time.Now()
			if late := now.Sub(last) - tick; late > 0 {
				mu.Lock()
				worst = max(worst, late)
				mu.Unlock()
			}
			last = now
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return worst
	}
}
