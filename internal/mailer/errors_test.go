package mailer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/multiline/onboarding/internal/smtptest"
)

func TestClassifyReplies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err       error
		code      int
		enhanced  string
		message   string
		temporary bool
	}{
		{&textproto.Error{Code: 421, Msg: "4.3.2 Service not available"}, 421, "4.3.2", "Service not available", true},
		{&textproto.Error{Code: 451, Msg: "4.7.1 Greylisted, try later"}, 451, "4.7.1", "Greylisted, try later", true},
		{&textproto.Error{Code: 452, Msg: "Mailbox full"}, 452, "", "Mailbox full", true},
		{&textproto.Error{Code: 550, Msg: "5.1.1 No such user\n5.1.1 see https://example.test"}, 550, "5.1.1", "No such user 5.1.1 see https://example.test", false},
		{&textproto.Error{Code: 554, Msg: "5.7.1 Relay denied"}, 554, "5.7.1", "Relay denied", false},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, 0, "", "dial tcp: connection refused", true},
		{errors.New("EOF"), 0, "", "EOF", true},
	}
	for _, c := range cases {
		t.Run(c.err.Error(), func(t *testing.T) {
			t.Parallel()
			se := classify(context.Background(), "rcpt", c.err)
			if se.Code != c.code || se.Enhanced != c.enhanced || se.Message != c.message || se.Temporary != c.temporary {
				t.Errorf("got %d %q %q temporary=%v, want %d %q %q temporary=%v",
					se.Code, se.Enhanced, se.Message, se.Temporary, c.code, c.enhanced, c.message, c.temporary)
			}
			if IsPermanent(se) == c.temporary {
				t.Errorf("IsPermanent: got %v, want %v", IsPermanent(se), !c.temporary)
			}
		})
	}
}

func TestTransientFailureThenRecovery(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fail func(*smtptest.Server, time.Duration)
		code int
	}{
		{"421", func(s *smtptest.Server, d time.Duration) { s.FailTransient(d) }, 421},
		{"451", func(s *smtptest.Server, d time.Duration) {
			s.FailWith(&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}, d)
		}, 451},
	}
	for _, c := range cases {
		for _, lockstep := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/lockstep=%v", c.name, lockstep), func(t *testing.T) {
				t.Parallel()
				srv := smtptest.Start(t)
				m := newMailer(t, srv.URL(), nil, nil)
				m.lockstep = lockstep
				transientThenRecovery(t, srv, m, c.fail, c.code)
			})
		}
	}
}

// transientThenRecovery sends while the server fails with code, then retries until it
// accepts: one message arrives, after the warmup.
func transientThenRecovery(t *testing.T, srv *smtptest.Server, m *Mailer, fail func(*smtptest.Server, time.Duration), code int) {
	t.Helper()
	msg := Message{To: "a@example.com", Text: "hello", MessageID: "<retry-1@multiline>"}
	send(t, m, Message{To: "warmup@example.com", Text: "hello"}) // leave an idle connection behind

	fail(srv, 300*time.Millisecond)
	err := m.Send(context.Background(), msg)
	var se *SendError
	if !errors.As(err, &se) || se.Code != code || !IsTemporary(err) || IsPermanent(err) {
		t.Fatalf("Send during outage: got %v, want temporary %d", err, code)
	}

	deadline := time.Now().Add(5 * time.Second)
	for err != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // the caller's backoff
		err = m.Send(context.Background(), msg)
	}
	if err != nil {
		t.Fatalf("Send after outage: %v", err)
	}
	msgs := srv.WaitForMessages(t, 2, 5*time.Second)
	if len(msgs) != 2 || msgs[1].Header.Get("Message-ID") != "<retry-1@multiline>" {
		t.Errorf("messages: got %d, want warmup plus one <retry-1@multiline>", len(msgs))
	}
}

func TestPermanentRecipientRejection(t *testing.T) {
	t.Parallel()
	for _, lockstep := range []bool{false, true} {
		t.Run(fmt.Sprintf("lockstep=%v", lockstep), func(t *testing.T) {
			t.Parallel()
			permanentRecipientRejection(t, lockstep)
		})
	}
}

func permanentRecipientRejection(t *testing.T, lockstep bool) {
	srv := smtptest.Start(t)
	srv.RejectRecipient(func(rcpt string) *smtp.SMTPError {
		if strings.HasPrefix(rcpt, "gone@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
		}
		return nil
	})
	m := newMailer(t, srv.URL(), nil, nil)
	m.lockstep = lockstep

	err := m.Send(context.Background(), Message{To: "gone@example.com", Text: "hello"})
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want *SendError", err)
	}
	if !IsPermanent(err) || se.Code != 550 || se.Enhanced != "5.1.1" || se.Message != "No such user here" || se.Op != "rcpt" {
		t.Errorf("got %+v, want permanent rcpt 550 5.1.1 \"No such user here\"", se)
	}
	if got, want := err.Error(), "smtp rcpt: 550 5.1.1 No such user here"; got != want {
		t.Errorf("Error(): got %q, want %q", got, want)
	}

	// The session survives a rejected recipient (RSET) and is reused.
	send(t, m, Message{To: "here@example.com", Text: "hello"})
	if got := srv.Connections(); got != 1 {
		t.Errorf("connections: got %d, want 1", got)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].To[0] != "here@example.com" {
		t.Errorf("messages: got %d, want only the one to here@example.com", len(msgs))
	}
}

func TestDialFailureIsTemporary(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	m := newMailer(t, "smtp://"+addr, nil, nil)

	err = m.Send(context.Background(), Message{To: "a@example.com", Text: "hello"})
	var se *SendError
	if !errors.As(err, &se) || !IsTemporary(err) || se.Op != "dial" {
		t.Errorf("got %v, want temporary dial error", err)
	}
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		timeout time.Duration
		ctx     time.Duration
		wantCtx bool
	}{
		{"command timeout", 100 * time.Millisecond, time.Minute, false},
		{"context deadline", 5 * time.Second, 100 * time.Millisecond, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t)
			srv.SetDelay(2 * time.Second)
			m := newMailer(t, srv.URL(), nil, func(cfg *Config) { cfg.Timeout = c.timeout })
			ctx, cancel := context.WithTimeout(context.Background(), c.ctx)
			defer cancel()

			start := time.Now()
			err := m.Send(ctx, Message{To: "a@example.com", Text: "hello"})
			if elapsed := time.Since(start); elapsed > time.Second {
				t.Errorf("Send took %v, want well under the server's 2s delay", elapsed)
			}
			if !IsTemporary(err) {
				t.Errorf("got %v, want a temporary error", err)
			}
			if got := errors.Is(err, context.DeadlineExceeded); got != c.wantCtx {
				t.Errorf("errors.Is(err, context.DeadlineExceeded): got %v, want %v (%v)", got, c.wantCtx, err)
			}
		})
	}
}
