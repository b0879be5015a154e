package smtptest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const rawMessage = "From: Sender <sender@example.com>\r\n" +
	"To: Anna <anna@example.com>\r\n" +
	"Subject: =?UTF-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=outer\r\n" +
	"\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=inner\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Gr=C3=BC=C3=9Fe, Anna\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+SGk8L3A+\r\n" +
	"--inner--\r\n" +
	"--outer\r\n" +
	"Content-Type: text/csv; name=\"report.csv\"\r\n" +
	"Content-Disposition: attachment; filename=\"report.csv\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"YSxiCjEsMgo=\r\n" +
	"--outer--\r\n"

// dial connects a go-smtp client the way the server expects: plain,
// STARTTLS when roots is given, or implicit TLS.
func dial(t *testing.T, s *Server, roots *x509.CertPool) *smtp.Client {
	t.Helper()
	var c *smtp.Client
	var err error
	cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
	switch {
	case s.implicit:
		c, err = smtp.DialTLS(s.Addr(), cfg)
	case roots != nil:
		c, err = smtp.DialStartTLS(s.Addr(), cfg)
	default:
		c, err = smtp.Dial(s.Addr())
	}
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRecordsAndParsesMessages(t *testing.T) {
	t.Parallel()
	s := Start(t)
	if !strings.HasPrefix(s.URL(), "smtp://127.0.0.1:") {
		t.Errorf("URL: got %q, want smtp://127.0.0.1:PORT", s.URL())
	}
	c := dial(t, s, nil)
	if err := c.SendMail("sender@example.com", []string{"anna@example.com", "bob@example.com"}, strings.NewReader(rawMessage)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}

	m := s.WaitForMessages(t, 1, 5*time.Second)[0]
	checks := []struct{ name, got, want string }{
		{"from", m.From, "sender@example.com"},
		{"to", strings.Join(m.To, " "), "anna@example.com bob@example.com"},
		{"subject", m.Subject(), "Grüße"},
		{"text", m.Text(), "Grüße, Anna"},
		{"html", m.HTML(), "<p>Hi</p>"},
		{"parts", fmt.Sprint(len(m.Parts)), "3"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	atts := m.Attachments()
	if len(atts) != 1 || atts[0].Filename != "report.csv" || string(atts[0].Body) != "a,b\n1,2\n" {
		t.Errorf("attachments: got %+v, want report.csv with a,b / 1,2", atts)
	}
	if m.TLS || m.AuthUser != "" {
		t.Errorf("got TLS=%v user=%q, want a plain anonymous session", m.TLS, m.AuthUser)
	}
}

func TestConnectionsCountsSessions(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := dial(t, s, nil)
	for range 3 {
		if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader("Subject: x\r\n\r\nbody\r\n")); err != nil {
			t.Fatalf("SendMail: %v", err)
		}
	}
	if err := dial(t, s, nil).Noop(); err != nil { // the server has accepted it once it answers
		t.Fatalf("Noop: %v", err)
	}
	if got := s.Connections(); got != 2 {
		t.Errorf("connections: got %d, want 2", got)
	}
	if got := len(s.Messages()); got != 3 {
		t.Errorf("messages: got %d, want 3", got)
	}
}

func TestFailuresAndRecovery(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.RejectRecipient(func(rcpt string) *smtp.SMTPError {
		if rcpt == "gone@example.com" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
		}
		return nil
	})
	c := dial(t, s, nil)
	body := func() *strings.Reader { return strings.NewReader("Subject: x\r\n\r\nbody\r\n") }

	err := c.SendMail("a@example.com", []string{"gone@example.com"}, body())
	var serr *smtp.SMTPError
	if !errors.As(err, &serr) || serr.Code != 550 || serr.Message != "No such user" {
		t.Errorf("rejected recipient: got %v, want 550 No such user", err)
	}
	_ = c.Reset()

	s.FailTransient(200 * time.Millisecond)
	if err := c.SendMail("a@example.com", []string{"b@example.com"}, body()); !errors.As(err, &serr) || serr.Code != 421 {
		t.Errorf("during FailTransient: got %v, want 421", err)
	}
	_ = c.Reset()
	time.Sleep(250 * time.Millisecond)
	if err := c.SendMail("a@example.com", []string{"b@example.com"}, body()); err != nil {
		t.Errorf("after FailTransient: %v", err)
	}
	if got := len(s.Messages()); got != 1 {
		t.Errorf("messages: got %d, want 1", got)
	}
}

func TestAuthAndTLS(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		start    func(t *testing.T) (*Server, *x509.CertPool)
		wantTLS  bool
		urlStart string
	}{
		{"plain", func(t *testing.T) (*Server, *x509.CertPool) { return Start(t), nil }, false, "smtp://user:secret@127.0.0.1:"},
		{"starttls", func(t *testing.T) (*Server, *x509.CertPool) { return StartTLS(t) }, true, "smtp://user:secret@127.0.0.1:"},
		{"implicit", func(t *testing.T) (*Server, *x509.CertPool) { return StartImplicitTLS(t) }, true, "smtps://user:secret@127.0.0.1:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, roots := c.start(t)
			s.SetAuth("user", "secret")
			if !strings.HasPrefix(s.URL(), c.urlStart) {
				t.Errorf("URL: got %q, want prefix %q", s.URL(), c.urlStart)
			}

			anon := dial(t, s, roots)
			if err := anon.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader("x\r\n")); err == nil {
				t.Error("unauthenticated send: got nil error, want 530")
			}
			bad := dial(t, s, roots)
			if err := bad.Auth(sasl.NewPlainClient("", "user", "wrong")); err == nil {
				t.Error("wrong password: got nil error, want 535")
			}

			cl := dial(t, s, roots)
			if err := cl.Auth(sasl.NewPlainClient("", "user", "secret")); err != nil {
				t.Fatalf("Auth: %v", err)
			}
			if err := cl.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader("Subject: x\r\n\r\nbody\r\n")); err != nil {
				t.Fatalf("SendMail: %v", err)
			}
			m := s.WaitForMessages(t, 1, 5*time.Second)[0]
			if m.TLS != c.wantTLS || m.AuthUser != "user" {
				t.Errorf("got TLS=%v user=%q, want TLS=%v user=user", m.TLS, m.AuthUser, c.wantTLS)
			}
		})
	}
}

func TestDropConnections(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := dial(t, s, nil)
	if err := c.Noop(); err != nil {
		t.Fatalf("Noop: %v", err)
	}
	s.DropConnections()
	if err := c.Noop(); err == nil {
		t.Error("Noop after DropConnections: got nil error, want a closed connection")
	}
}
