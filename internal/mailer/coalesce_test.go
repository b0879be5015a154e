package mailer

import (
	"bytes"
	"errors"
	"net"
	"testing"
)

// countingConn records the writes that reach the socket.
type countingConn struct {
	net.Conn
	writes  [][]byte
	failing error
}

func (c *countingConn) Write(p []byte) (int, error) {
	if c.failing != nil {
		return 0, c.failing
	}
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *countingConn) Read(p []byte) (int, error) { return copy(p, "250 OK\r\n"), nil }
func (c *countingConn) Close() error               { return nil }

func TestCoalescingConnWritesOnceBeforeEachRead(t *testing.T) {
	under := &countingConn{}
	c := &coalescingConn{Conn: under}
	for _, piece := range []string{"Subject: hi\r\n", "\r\n", "body\r\n", ".\r\n"} {
		if _, err := c.Write([]byte(piece)); err != nil {
			t.Fatal(err)
		}
	}
	if len(under.writes) != 0 {
		t.Fatalf("%d writes reached the socket before the client waited for an answer", len(under.writes))
	}
	if _, err := c.Read(make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	if len(under.writes) != 1 || string(under.writes[0]) != "Subject: hi\r\n\r\nbody\r\n.\r\n" {
		t.Fatalf("socket got %q, want the four pieces in one write", under.writes)
	}
	if _, err := c.Read(make([]byte, 64)); err != nil || len(under.writes) != 1 {
		t.Fatalf("a read with nothing buffered wrote again: %q, %v", under.writes, err)
	}
	big := bytes.Repeat([]byte("x"), coalesceMax)
	if _, err := c.Write(big); err != nil || len(under.writes) != 2 {
		t.Fatalf("a write past %d bytes was held back: %d writes, %v", coalesceMax, len(under.writes), err)
	}
}

func TestCoalescingConnReportsAFailedWriteFromThenOn(t *testing.T) {
	broken := errors.New("connection reset")
	c := &coalescingConn{Conn: &countingConn{failing: broken}}
	if _, err := c.Write([]byte("MAIL FROM:<a@b.example>\r\n")); err != nil {
		t.Fatalf("buffered write failed early: %v", err)
	}
	if _, err := c.Read(make([]byte, 64)); !errors.Is(err, broken) {
		t.Fatalf("read after a failed flush: %v, want %v", err, broken)
	}
	if _, err := c.Write([]byte("RSET\r\n")); !errors.Is(err, broken) {
		t.Fatalf("write after a failed flush: %v, want %v", err, broken)
	}
}
