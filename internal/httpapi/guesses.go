package httpapi

import (
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// guessLimiter slows down anyone guessing activation tokens: each client IP may miss (ask for
// a token that does not exist) about guessRate times a minute, with a burst of guessBurst;
// once out of misses it is refused with 429 until it earns one back. Tokens carry 256 bits, so
// this is defence in depth rather than what keeps them safe.
//
// The limiter lives in the process's memory: with several API processes each counts on its
// own, so a client gets a few times the limit. That loosens the limit; it never makes
// anything incorrect, and it avoids a Redis round trip on the activation page.
type guessLimiter struct {
	mu      sync.Mutex
	clients map[string]*guessClient
	every   time.Duration
	burst   int
	now     func() time.Time
}

type guessClient struct {
	lim  *rate.Limiter
	seen time.Time
}

const (
	guessRate  = 10 // misses a minute
	guessBurst = 20
	// guessIdle is how long a client's state is kept after its last miss; by then its
	// limiter has refilled, so forgetting it changes nothing.
	guessIdle = 10 * time.Minute
)

func newGuessLimiter() *guessLimiter {
	return &guessLimiter{clients: map[string]*guessClient{}, every: time.Minute / guessRate, burst: guessBurst, now: time.Now}
}

// wait returns how long ip must wait before its next request, 0 when it may go ahead.
func (g *guessLimiter) wait(ip string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.clients[ip]
	if !ok {
		return 0
	}
	tokens := c.lim.TokensAt(g.now())
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(g.every))
}

// miss records that ip asked for a token that does not exist.
func (g *guessLimiter) miss(ip string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	c, ok := g.clients[ip]
	if !ok {
		if len(g.clients) >= 10000 {
			g.sweep(now)
		}
		c = &guessClient{lim: rate.NewLimiter(rate.Every(g.every), g.burst)}
		g.clients[ip] = c
	}
	c.seen = now
	c.lim.AllowN(now, 1)
}

// sweep forgets clients idle for guessIdle; callers hold mu.
func (g *guessLimiter) sweep(now time.Time) {
	for ip, c := range g.clients {
		if now.Sub(c.seen) > guessIdle {
			delete(g.clients, ip)
		}
	}
}

// clientIP is the address the request came from. X-Forwarded-For is not trusted: a client
// could set it to anything. Behind a proxy every client shares the proxy's address, which
// makes the limit stricter, not looser.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// retryAfter writes d as whole seconds for a Retry-After header, at least 1.
func retryAfter(d time.Duration) int {
	return int(math.Max(1, math.Ceil(d.Seconds())))
}
