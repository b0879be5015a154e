package stacktest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/testenv"
)

// TokenSecret is the secret from which test workers derive activation tokens: worker
// processes get it as TOKEN_SECRET, in-process handlers in their configuration, so a link
// minted by either opens on the stack's API.
const TokenSecret = "stacktest-token-secret-0123456789abcdefg"

// NewWithPrivateRedis starts a stack on a redis-server of the test's own, with the default
// queue names, so the test may kill, restart or flush that Redis, and real worker binaries
// (REDIS_URL = the server's URL) serve the stack's tasks.
func NewWithPrivateRedis(t testing.TB) (*Stack, *testenv.RedisServer) {
	t.Helper()
	srv := testenv.StartRedisServer(t)
	return NewOn(t, srv.Redis()), srv
}

// ActivationStatus opens an activation link the way the invited person's browser asks for
// it, GET /v1/activation/<token>, and returns the API's status code.
//
// The API slows down a client address that asks for tokens that do not exist (429 after a
// burst of 20). A test that checks hundreds of links, some of them dead, would measure that
// limit instead of the links, so each request comes from an address of its own in
// 127.0.0.0/8 (all of which reach the loopback interface on Linux); where binding one fails,
// the request comes from the default address and may meet the limit.
func (s *Stack) ActivationStatus(tok string) int {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.API.URL+"/v1/activation/"+tok, nil)
	if err != nil {
		s.t.Fatalf("new request: %v", err)
	}
	resp, err := linkClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET /v1/activation/<token>: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var (
	linkSource atomic.Uint32
	linkClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true, // a new connection, hence a new source address, per request
		DialContext:       dialFromLoopback,
	}}
)

// dialFromLoopback dials from the next of 127.1.0.1 ... 127.254.255.254.
func dialFromLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	n := linkSource.Add(1) % (254 * 256 * 254)
	src := net.IPv4(127, byte(1+n/(256*254)), byte(n/254%256), byte(1+n%254))
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: src}}
	c, err := d.DialContext(ctx, network, addr)
	if err == nil {
		return c, nil
	}
	var plain net.Dialer
	c, err2 := plain.DialContext(ctx, network, addr)
	if err2 != nil {
		return nil, fmt.Errorf("dial %s from %s: %w; from the default address: %w", addr, src, err, err2)
	}
	return c, nil
}
