package smtptest_test

import (
	"net/textproto"
	"testing"

	"github.com/multiline/onboarding/internal/smtptest"
)

// TestBareEnvelopeAddressesRefused: a MAIL FROM or RCPT TO without angle brackets gets 501,
// as from Mailpit, so that a client that drops the brackets fails its tests.
func TestBareEnvelopeAddressesRefused(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	c, err := textproto.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, _, err := c.ReadResponse(220); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	for _, step := range []struct {
		cmd  string
		want int
	}{
		{"EHLO test", 250},
		{"MAIL FROM:a@example.com", 501},
		{"MAIL FROM:<a@example.com>", 250},
		{"RCPT TO:b@example.com", 501},
		{"RCPT TO: <b@example.com>", 250},
	} {
		id, err := c.Cmd("%s", step.cmd)
		if err != nil {
			t.Fatal(err)
		}
		c.StartResponse(id)
		code, msg, _ := c.ReadResponse(0)
		c.EndResponse(id)
		if code != step.want {
			t.Errorf("%s: got %d %s, want %d", step.cmd, code, msg, step.want)
		}
	}
}
