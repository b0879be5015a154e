package mailer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/smtptest"
)

func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		maxConns int
		senders  int
		messages int
	}{
		{"sequential uses one connection", 4, 1, 50},
		{"burst stays within MaxConns", 4, 16, 200},
		{"MaxConns 1 serialises", 1, 8, 40},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t)
			m := newMailer(t, srv.URL(), nil, func(cfg *Config) { cfg.MaxConns = c.maxConns })

			jobs := make(chan int)
			errs := make(chan error, c.messages)
			var wg sync.WaitGroup
			for range c.senders {
				wg.Go(func() {
					for i := range jobs {
						errs <- m.Send(context.Background(), Message{
							To: fmt.Sprintf("user%d@example.com", i), Subject: "hi", Text: "hello",
							MessageID: fmt.Sprintf("<m-%d@multiline>", i),
						})
					}
				})
			}
			for i := range c.messages {
				jobs <- i
			}
			close(jobs)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
			}

			if got := len(srv.WaitForMessages(t, c.messages, 5*time.Second)); got != c.messages {
				t.Errorf("messages: got %d, want %d", got, c.messages)
			}
			want := min(c.maxConns, c.senders)
			if got := srv.Connections(); got > want || got == 0 {
				t.Errorf("connections: got %d, want 1..%d", got, want)
			}
		})
	}
}

func TestReconnectAfterServerDropsIdleConnections(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL(), nil, nil)
	msg := Message{To: "a@example.com", Subject: "hi", Text: "hello"}

	send(t, m, msg)
	srv.DropConnections()
	send(t, m, msg)

	if got := len(srv.WaitForMessages(t, 2, 5*time.Second)); got != 2 {
		t.Errorf("messages: got %d, want 2", got)
	}
	if got := srv.Connections(); got != 2 {
		t.Errorf("connections: got %d, want 2 (one dropped, one new)", got)
	}
}

func TestIdleConnectionsExpire(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL(), nil, func(cfg *Config) { cfg.IdleTimeout = 50 * time.Millisecond })
	msg := Message{To: "a@example.com", Subject: "hi", Text: "hello"}

	send(t, m, msg)
	send(t, m, msg)
	if got := srv.Connections(); got != 1 {
		t.Fatalf("connections before idling: got %d, want 1", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		m.pool.mu.Lock()
		idle := len(m.pool.idle)
		m.pool.mu.Unlock()
		if idle == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle connections: got %d after 5s, want 0", idle)
		}
		time.Sleep(10 * time.Millisecond)
	}
	send(t, m, msg)
	if got := srv.Connections(); got != 2 {
		t.Errorf("connections after idling: got %d, want 2", got)
	}
}

func TestSendAfterClose(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL(), nil, nil)
	send(t, m, Message{To: "a@example.com", Text: "hello"})

	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err := m.Send(context.Background(), Message{To: "a@example.com", Text: "hello"})
	if !errors.Is(err, ErrClosed) || !IsTemporary(err) {
		t.Errorf("Send after Close: got %v, want temporary ErrClosed", err)
	}
}
