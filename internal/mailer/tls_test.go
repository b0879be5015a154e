package mailer

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/smtptest"
)

func TestTLSAndAuth(t *testing.T) {
	t.Parallel()
	type server struct {
		s     *smtptest.Server
		roots *x509.CertPool
	}
	plain := func(t *testing.T) server { return server{s: smtptest.Start(t)} }
	starttls := func(t *testing.T) server { s, p := smtptest.StartTLS(t); return server{s, p} }
	implicit := func(t *testing.T) server { s, p := smtptest.StartImplicitTLS(t); return server{s, p} }

	cases := []struct {
		name      string
		start     func(*testing.T) server
		auth      bool   // server requires AUTH PLAIN as user/secret
		url       string // appended to the server URL (query string)
		userinfo  string // replaces the credentials in the URL
		noRoots   bool   // do not trust the server's certificate
		wantTLS   bool
		wantErr   bool
		permanent bool
	}{
		{name: "plain", start: plain},
		{name: "plain with auth", start: plain, auth: true},
		{name: "starttls opportunistic", start: starttls, wantTLS: true},
		{name: "starttls required", start: starttls, url: "?starttls=required", wantTLS: true},
		{name: "starttls with auth", start: starttls, auth: true, url: "?starttls=required", wantTLS: true},
		{name: "starttls none stays plain", start: starttls, url: "?starttls=none"},
		{name: "starttls required but not offered", start: plain, url: "?starttls=required", wantErr: true},
		{name: "smtps", start: implicit, wantTLS: true},
		{name: "smtps with auth", start: implicit, auth: true, wantTLS: true},
		{name: "smtps insecure_skip_verify", start: implicit, noRoots: true, url: "?insecure_skip_verify=true", wantTLS: true},
		{name: "smtps untrusted certificate", start: implicit, noRoots: true, wantErr: true},
		{name: "starttls untrusted certificate", start: starttls, noRoots: true, wantErr: true},
		{name: "wrong password", start: starttls, auth: true, userinfo: "user:wrong@", wantErr: true, permanent: true},
		{name: "auth required, none given", start: plain, auth: true, userinfo: "-", wantErr: true, permanent: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := c.start(t)
			if c.auth {
				srv.s.SetAuth("user", "secret")
			}
			url := srv.s.URL() + c.url
			switch c.userinfo {
			case "":
			case "-":
				url = strings.Replace(url, "user:secret@", "", 1)
			default:
				url = strings.Replace(url, "user:secret@", c.userinfo, 1)
			}
			roots := srv.roots
			if c.noRoots {
				roots = nil
			}
			m := newMailer(t, url, roots, func(cfg *Config) { cfg.Timeout = 2 * time.Second })

			err := m.Send(context.Background(), Message{To: "a@example.com", Subject: "tls", Text: "hello"})
			if c.wantErr {
				if err == nil {
					t.Fatal("got nil error, want one")
				}
				if IsPermanent(err) != c.permanent {
					t.Errorf("IsPermanent: got %v, want %v (%v)", IsPermanent(err), c.permanent, err)
				}
				if n := len(srv.s.Messages()); n != 0 {
					t.Errorf("messages: got %d, want 0", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.s.WaitForMessages(t, 1, 5*time.Second)[0]
			if got.TLS != c.wantTLS {
				t.Errorf("TLS: got %v, want %v", got.TLS, c.wantTLS)
			}
			wantUser := ""
			if c.auth {
				wantUser = "user"
			}
			if got.AuthUser != wantUser {
				t.Errorf("authenticated user: got %q, want %q", got.AuthUser, wantUser)
			}
		})
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	t.Parallel()
	_, err := New(Config{URL: "smtp://user:hunter2@host:99999", From: "a@b.c"}, nopLog())
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("got %v, want an error without the password", err)
	}
	_, err = New(Config{URL: "smtp://user:hunter2@host:25/\x7f", From: "a@b.c"}, nopLog())
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("got %v, want an error without the password", err)
	}
	if errors.Is(err, ErrClosed) {
		t.Errorf("got ErrClosed, want a config error")
	}
}
