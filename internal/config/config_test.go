package config

import (
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c, err := Parse(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"DATABASE_URL", c.DatabaseURL, "postgres://localhost:5432/multiline?sslmode=disable"},
		{"REDIS_URL", c.RedisURL, "redis://localhost:6379/0"},
		{"SMTP_URL", c.SMTPURL, "smtp://localhost:1025"},
		{"MAIL_FROM", c.MailFrom, "MultiLine <no-reply@localhost>"},
		{"API_ADDR", c.APIAddr, ":8080"},
		{"WORKER_ADDR", c.WorkerAddr, ":9091"},
		{"PUBLIC_URL", c.PublicURL, "http://localhost:8080"},
		{"LOG_LEVEL", c.LogLevel.String(), "info"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if c.WorkerConcurrency != 512 || c.SMTPConnections != 64 {
		t.Errorf("WORKER_CONCURRENCY, SMTP_MAX_CONNECTIONS: got %d, %d, want 512, 64", c.WorkerConcurrency, c.SMTPConnections)
	}
	if c.MaxUploadBytes != 5<<20 || c.InvitationTTL != 7*24*time.Hour {
		t.Errorf("got max upload %d, invitation TTL %s", c.MaxUploadBytes, c.InvitationTTL)
	}
}

func TestBadValuesSayWhatIsWrong(t *testing.T) {
	cases := map[string]string{
		"WORKER_CONCURRENCY": "lots",
		"LOG_LEVEL":          "loud",
		"INVITATION_TTL":     "a week",
	}
	for key, val := range cases {
		_, err := Parse(func(k string) string {
			if k == key {
				return val
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: got %v, want an error naming %s", key, val, err, key)
		}
	}
}

func TestRedactMasksPasswords(t *testing.T) {
	cases := map[string]string{
		"smtp://user:secret@mail.example:587":             "smtp://user:xxxxx@mail.example:587",
		"postgres://app:pw@db:5432/x?sslmode=disable":     "postgres://app:xxxxx@db:5432/x?sslmode=disable",
		"redis://localhost:6379/0":                        "redis://localhost:6379/0",
		"postgres://db/x?password=hunter2&sslmode=verify": "postgres://db/x?password=xxxxx&sslmode=verify",
	}
	for in, want := range cases {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestInvitationSecret(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	secret := strings.Repeat("s", 40)
	cases := []struct {
		name     string
		env      map[string]string
		want     string // the secret, or "" when the start is refused
		wantDev  bool
		errNames string
	}{
		{name: "local default without a secret", env: map[string]string{}, want: devTokenSecret, wantDev: true},
		{name: "loopback address without a secret", env: map[string]string{"PUBLIC_URL": "http://127.0.0.1:8080"}, want: devTokenSecret, wantDev: true},
		{name: "production without a secret", env: map[string]string{"PUBLIC_URL": "https://portal.example.com"}, errNames: "TOKEN_SECRET"},
		{name: "production with a secret", env: map[string]string{"PUBLIC_URL": "https://portal.example.com", "TOKEN_SECRET": secret}, want: secret},
		{name: "local with a secret", env: map[string]string{"TOKEN_SECRET": secret}, want: secret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			got, dev, err := c.InvitationSecret()
			if tc.errNames != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errNames) || !strings.Contains(err.Error(), "openssl rand") {
					t.Fatalf("got %q, %v; want an error naming %s and how to make one", got, err, tc.errNames)
				}
				return
			}
			if err != nil || got != tc.want || dev != tc.wantDev {
				t.Errorf("got %q dev=%v err=%v, want %q dev=%v", got, dev, err, tc.want, tc.wantDev)
			}
		})
	}
	if _, err := Parse(env(map[string]string{"TOKEN_SECRET": "short"})); err == nil || !strings.Contains(err.Error(), "TOKEN_SECRET") {
		t.Errorf("a 5-character TOKEN_SECRET: got %v, want an error naming TOKEN_SECRET", err)
	}
}

func TestSMTPRate(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "SMTP_RATE" {
				return v
			}
			return ""
		}
	}
	if c, err := Parse(env("")); err != nil || c.SMTPRate != 0 {
		t.Errorf("unset: got %d, %v; want 0 (no limit)", c.SMTPRate, err)
	}
	if c, err := Parse(env("20")); err != nil || c.SMTPRate != 20 {
		t.Errorf("20: got %d, %v", c.SMTPRate, err)
	}
	for _, bad := range []string{"-1", "fast"} {
		if _, err := Parse(env(bad)); err == nil || !strings.Contains(err.Error(), "SMTP_RATE") {
			t.Errorf("SMTP_RATE=%s: got %v, want an error naming SMTP_RATE", bad, err)
		}
	}
}
