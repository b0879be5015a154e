package jobs

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/testenv"
)

func newTestGate(t *testing.T, perSecond int) *Gate {
	t.Helper()
	r := testenv.NewRedis(t)
	return NewGate(r.Client, r.Prefix+":send_rate", "email", perSecond, metrics.NewWorker(metrics.NewRegistry()), zerolog.Nop())
}

func (g *Gate) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.q.len()
}

// waitQueued waits until n sends wait at g.
func waitQueued(t *testing.T, g *Gate, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for g.waiting() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d sends waiting at the gate, want %d", g.waiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A small organization's sends take turns with a big one's that were waiting before them:
// they go out at half the rate, not after the big one's backlog.
func TestGateTakesTurnsByOrganization(t *testing.T) {
	g := newTestGate(t, 100)
	ctx := testenv.Context(t)
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	wait := func(org string) {
		defer wg.Done()
		if err := g.Wait(ctx, org, time.Now().Add(time.Minute)); err != nil {
			t.Errorf("wait %s: %v", org, err)
			return
		}
		mu.Lock()
		order = append(order, org)
		mu.Unlock()
	}
	// Nothing goes until every send waits, big's first: the order of the line is all that
	// decides.
	g.Hold(time.Minute)
	const big, small = 80, 5
	wg.Add(big)
	for range big {
		go wait("big")
	}
	waitQueued(t, g, big)
	wg.Add(small)
	for range small {
		go wait("small")
	}
	waitQueued(t, g, big+small)
	g.mu.Lock()
	g.held = time.Time{}
	g.mu.Unlock()
	wg.Wait()

	lastSmall := -1
	for i, org := range order {
		if org == "small" {
			lastSmall = i
		}
	}
	t.Logf("small's %d sends joined behind big's %d; its last went %d-th of %d", small, big, lastSmall+1, len(order))
	// Turn about: big, small, big, small... (two places of slack for sends that note their
	// turn a moment late).
	if bound := 2*small + 2; lastSmall >= bound {
		t.Errorf("small's last send went %d-th, want before the %d-th: it waited behind big's backlog", lastSmall+1, bound+1)
	}
}

// A send that cannot have its token in time does not wait for it: it is told when to try
// again, as a busy error (no attempt spent), and counted.
func TestGateSendsBackWhatCannotWaitInTime(t *testing.T) {
	g := newTestGate(t, 10)
	ctx := testenv.Context(t)
	until := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sent, back int
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := g.Wait(ctx, "org", until)
			mu.Lock()
			defer mu.Unlock()
			switch d, ok := BusyDelay(err); {
			case err == nil:
				sent++
			case ok && d >= 100*time.Millisecond:
				back++
			default:
				t.Errorf("wait: got %v, want nil or a busy error", err)
			}
		}()
	}
	wg.Wait()
	t.Logf("of 30 sends with a second to go at 10 a second: %d sent, %d sent back", sent, back)
	if sent > 11 || sent < 5 {
		t.Errorf("%d sends went within a second at 10 a second, want 5 to 11", sent)
	}
	if back != 30-sent {
		t.Errorf("%d sends were sent back, want %d", back, 30-sent)
	}
	if got := testutil.ToFloat64(g.sentBack); got != float64(back) {
		t.Errorf("multiline_send_rate_throttled_total is %v, want %d", got, back)
	}
}

// After the mail server says the sender is over its rate, the gate gives out no token for
// the hold.
func TestGateHoldsAfterARateRefusal(t *testing.T) {
	g := newTestGate(t, 1000)
	ctx := testenv.Context(t)
	g.Hold(300 * time.Millisecond)
	start := time.Now()
	if err := g.Wait(ctx, "org", time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 290*time.Millisecond {
		t.Errorf("the send went %v after a hold of 300ms", waited)
	}
	var none *Gate
	if err := none.Wait(context.Background(), "org", time.Now()); err != nil {
		t.Errorf("no gate: got %v, want every send let through", err)
	}
}

// A refusal that says the sender is over the server's rate backs off for longer than other
// transient failures.
func TestRetryDelayOfARateRefusal(t *testing.T) {
	rate := &mailer.SendError{Op: "mail", Code: 421, Enhanced: "4.7.28", Message: "Our system has detected an unusual rate of unsolicited mail", Temporary: true}
	busy := &mailer.SendError{Op: "mail", Code: 421, Message: "Service not available, closing transmission channel", Temporary: true}
	for n := range 8 {
		r, o := retryDelay(n, rate, nil), retryDelay(n, busy, nil)
		if r < 10*time.Second || r <= o || r > 5*time.Minute {
			t.Errorf("attempt %d: rate refusal waits %v, other transient failure %v; want 10s to 5m and longer", n, r, o)
		}
	}
	if !mailer.IsRateLimited(rate) || mailer.IsRateLimited(busy) || mailer.IsRateLimited(errors.New("x")) {
		t.Errorf("IsRateLimited: got %v %v, want true false", mailer.IsRateLimited(rate), mailer.IsRateLimited(busy))
	}
}
