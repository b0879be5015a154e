package smstest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// Test credentials and sender of Start's server.
const (
	AccountSID = "AC00000000000000000000000000000000"
	AuthToken  = "testtoken"
	From       = "+15550009999"
)

// Server is the fake API on 127.0.0.1 for the lifetime of a test.
type Server struct {
	*API
	srv   *httptest.Server
	conns atomic.Int64
}

// Start runs the fake API and closes it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{API: NewAPI()}
	s.srv = httptest.NewUnstartedServer(s.API)
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

// Conns returns how many connections clients opened to the server.
func (s *Server) Conns() int { return int(s.conns.Load()) }

// URL returns the SMS_URL that sends to this server.
func (s *Server) URL() string {
	u, _ := url.Parse(s.srv.URL)
	return (&url.URL{Scheme: "twilio+http", User: url.UserPassword(AccountSID, AuthToken), Host: u.Host,
		RawQuery: url.Values{"from": {From}}.Encode()}).String()
}

// WaitForCount waits until n messages have been accepted, failing the test after timeout,
// and returns them.
func (s *Server) WaitForCount(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		ch := s.Changed()
		if msgs := s.Messages(); len(msgs) >= n {
			return msgs
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("smstest: got %d messages after %s, want %d", len(s.Messages()), timeout, n)
		}
	}
}
