package mailer

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func nopLog() zerolog.Logger { return zerolog.Nop() }

func TestConfigSettings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		url      string
		host     string
		port     int
		implicit bool
		policy   startTLS
		user     string
		pass     string
		insecure bool
	}{
		{url: "smtp://localhost:1025", host: "localhost", port: 1025},
		{url: "smtp://mail.example.com", host: "mail.example.com", port: 25},
		{url: "smtps://mail.example.com", host: "mail.example.com", port: 465, implicit: true},
		{url: "smtp://user:p%40ss@mail.example.com:587?starttls=required", host: "mail.example.com", port: 587, policy: startTLSRequired, user: "user", pass: "p@ss"},
		{url: "smtp://mailpit:1025?starttls=none", host: "mailpit", port: 1025, policy: startTLSNone},
		{url: "smtps://[::1]:2465?insecure_skip_verify=true", host: "::1", port: 2465, implicit: true, insecure: true},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			t.Parallel()
			s, err := Config{URL: c.url, From: "MultiLine <no-reply@localhost>"}.settings()
			if err != nil {
				t.Fatalf("settings: %v", err)
			}
			if s.host != c.host || s.port != c.port || s.implicitTLS != c.implicit || s.startTLS != c.policy ||
				s.user != c.user || s.pass != c.pass || s.tls.InsecureSkipVerify != c.insecure {
				t.Errorf("got %s:%d implicit=%v policy=%v user=%q pass=%q insecure=%v, want %s:%d implicit=%v policy=%v user=%q pass=%q insecure=%v",
					s.host, s.port, s.implicitTLS, s.startTLS, s.user, s.pass, s.tls.InsecureSkipVerify,
					c.host, c.port, c.implicit, c.policy, c.user, c.pass, c.insecure)
			}
			if s.timeout != 10*time.Second || s.maxConns != 4 || s.idleTimeout != 30*time.Second {
				t.Errorf("defaults: got timeout=%v maxConns=%d idle=%v, want 10s 4 30s", s.timeout, s.maxConns, s.idleTimeout)
			}
			if s.from.Name != "MultiLine" || s.from.Address != "no-reply@localhost" {
				t.Errorf("from: got %q, want MultiLine <no-reply@localhost>", s.from)
			}
		})
	}
}

func TestConfigRejects(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, url, from string }{
		{"empty url", "", "a@b.c"},
		{"http scheme", "http://localhost:25", "a@b.c"},
		{"no host", "smtp://:25", "a@b.c"},
		{"bad port", "smtp://localhost:0", "a@b.c"},
		{"path", "smtp://localhost:25/inbox", "a@b.c"},
		{"unknown parameter", "smtp://localhost:25?tls=yes", "a@b.c"},
		{"bad starttls", "smtp://localhost:25?starttls=maybe", "a@b.c"},
		{"starttls on smtps", "smtps://localhost:465?starttls=required", "a@b.c"},
		{"bad insecure flag", "smtp://localhost:25?insecure_skip_verify=sure", "a@b.c"},
		{"empty from", "smtp://localhost:25", ""},
		{"from not an address", "smtp://localhost:25", "MultiLine"},
		{"from with CRLF", "smtp://localhost:25", "MultiLine <a@b.c>\r\nBcc: x@y.z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(Config{URL: c.url, From: c.from}, nopLog()); err == nil {
				t.Errorf("New(%q, %q): got nil error, want one", c.url, c.from)
			}
		})
	}
}
