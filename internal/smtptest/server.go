// Package smtptest runs an in-process SMTP server for tests: it records every
// accepted message and can be told to reject recipients, fail for a while,
// require authentication or speak TLS.
package smtptest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Server is an SMTP server listening on 127.0.0.1 for the lifetime of a test.
type Server struct {
	srv      *smtp.Server
	ln       net.Listener
	implicit bool
	sink     bool          // keep messages unparsed (StartSink)
	closed   chan struct{} // closed when the test ends, to cut SetDelay short

	mu       sync.Mutex
	messages []Message
	changed  chan struct{} // closed and replaced whenever messages grows
	conns    []net.Conn
	dialed   int
	reject   func(rcpt string) *smtp.SMTPError
	failErr  *smtp.SMTPError
	failTill time.Time
	delay    time.Duration
	user     string
	pass     string
}

// Start runs a plain SMTP server and closes it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, nil, false)
}

// StartSink runs a plain SMTP server that keeps messages as received and parses them only
// when Messages asks, the way a relay takes a message and moves on: benchmarks use it so
// that the machine's time goes to the service, not to checking its mail.
func StartSink(t testing.TB) *Server {
	t.Helper()
	s := start(t, nil, false)
	s.sink = true
	return s
}

// StartTLS runs a server that offers STARTTLS with a self-signed certificate
// for 127.0.0.1 and localhost, and returns the pool that trusts it.
func StartTLS(t testing.TB) (*Server, *x509.CertPool) {
	t.Helper()
	cfg, pool := selfSigned(t)
	return start(t, cfg, false), pool
}

// StartImplicitTLS runs a server that speaks TLS from the first byte (smtps)
// and returns the pool that trusts its self-signed certificate.
func StartImplicitTLS(t testing.TB) (*Server, *x509.CertPool) {
	t.Helper()
	cfg, pool := selfSigned(t)
	return start(t, cfg, true), pool
}

func start(t testing.TB, tlsCfg *tls.Config, implicit bool) *Server {
	t.Helper()
	s := &Server{implicit: implicit, changed: make(chan struct{}), closed: make(chan struct{})}

	srv := smtp.NewServer(&backend{s: s})
	srv.Domain = "localhost"
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = 32 << 20
	srv.MaxRecipients = 100
	srv.AllowInsecureAuth = true
	srv.EnableSMTPUTF8 = true
	srv.TLSConfig = tlsCfg
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	if implicit {
		ln = tls.NewListener(ln, tlsCfg)
	}
	s.ln = &countingListener{Listener: ln, s: s}

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(s.ln)
	}()
	t.Cleanup(func() {
		close(s.closed)
		_ = srv.Close()
		// Close may run before Serve has registered the listener.
		_ = s.ln.Close()
		<-done
	})
	return s
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the server's address as an SMTP URL: smtps:// for implicit TLS,
// smtp:// otherwise, with the credentials given to SetAuth when there are any.
func (s *Server) URL() string {
	scheme := "smtp"
	if s.implicit {
		scheme = "smtps"
	}
	s.mu.Lock()
	user, pass := s.user, s.pass
	s.mu.Unlock()
	if user != "" {
		return fmt.Sprintf("%s://%s:%s@%s", scheme, user, pass, s.Addr())
	}
	return fmt.Sprintf("%s://%s", scheme, s.Addr())
}

// Messages returns the accepted messages, in the order they were accepted.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.messages {
		if s.messages[i].Header == nil {
			_ = s.messages[i].parse() // a sink's: parsed once, on demand
		}
	}
	return append([]Message(nil), s.messages...)
}

// Connections returns how many TCP connections clients have opened so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dialed
}

// WaitForMessages waits until at least n messages were accepted and returns
// them all; it fails the test when timeout passes first.
func (s *Server) WaitForMessages(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	s.WaitForCount(t, n, timeout)
	return s.Messages()
}

// WaitForCount waits until at least n messages were accepted, without parsing
// them; it fails the test when timeout passes first.
func (s *Server) WaitForCount(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.messages), s.changed
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("smtptest: got %d messages after %v, want %d", got, timeout, n)
			return
		}
	}
}

// RejectRecipient makes RCPT TO answer fn's error for every recipient where fn
// returns non-nil; nil fn accepts everyone again.
func (s *Server) RejectRecipient(fn func(rcpt string) *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = fn
}

// FailTransient answers "421 4.3.2" to every MAIL and DATA for the next d,
// then accepts mail again.
func (s *Server) FailTransient(d time.Duration) {
	s.FailWith(&smtp.SMTPError{
		Code:         421,
		EnhancedCode: smtp.EnhancedCode{4, 3, 2},
		Message:      "Service not available, try again later",
	}, d)
}

// FailWith answers err to every MAIL and DATA for the next d, then accepts
// mail again; use it for codes other than 421 (451, 554...).
func (s *Server) FailWith(err *smtp.SMTPError, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failErr = err
	s.failTill = time.Now().Add(d)
}

// SetDelay makes the server wait d before answering each MAIL command, to
// exercise client timeouts.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetAuth requires AUTH PLAIN with these credentials before MAIL.
func (s *Server) SetAuth(user, pass string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.pass = user, pass
}

// DropConnections closes every open client connection from the server side,
// as a server restart or an idle timeout would.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// failure returns the error that MAIL and DATA must answer now, if any.
func (s *Server) failure() *smtp.SMTPError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil && time.Now().Before(s.failTill) {
		return s.failErr
	}
	return nil
}

func (s *Server) record(m Message) {
	m.Received = time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// countingListener counts accepted connections and keeps them so that
// DropConnections can close them.
type countingListener struct {
	net.Listener
	s *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	l.s.dialed++
	l.s.conns = append(l.s.conns, c)
	l.s.mu.Unlock()
	if l.s.implicit {
		return c, nil // go-smtp must see the *tls.Conn itself
	}
	return newStrictConn(c), nil
}
