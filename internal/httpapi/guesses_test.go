package httpapi

import (
	"testing"
	"time"
)

func TestGuessLimiter(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	g := newGuessLimiter()
	g.now = func() time.Time { return now }
	steps := []struct {
		name    string
		misses  int
		advance time.Duration
		ip      string
		want    time.Duration
	}{
		{"a new client may go", 0, 0, "10.0.0.1", 0},
		{"19 misses leave one", 19, 0, "10.0.0.1", 0},
		{"the 20th empties the budget", 1, 0, "10.0.0.1", 6 * time.Second},
		{"another client is not affected", 0, 0, "10.0.0.2", 0},
		{"half the wait later", 0, 3 * time.Second, "10.0.0.1", 3 * time.Second},
		{"one miss earned back", 0, 3 * time.Second, "10.0.0.1", 0},
		{"and spent again", 1, 0, "10.0.0.1", 6 * time.Second},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		for range st.misses {
			g.miss(st.ip)
		}
		if got := g.wait(st.ip); got != st.want {
			t.Errorf("%s: got wait %v, want %v", st.name, got, st.want)
		}
	}
	if got := retryAfter(1500 * time.Millisecond); got != 2 {
		t.Errorf("retryAfter(1.5s): got %d, want 2", got)
	}
}
