package mailer

import (
	"context"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/smtptest"
)

// newMailer builds a Mailer for url and closes it when the test ends.
func newMailer(t testing.TB, url string, roots *x509.CertPool, mod func(*Config)) *Mailer {
	t.Helper()
	cfg := Config{URL: url, From: "MultiLine <no-reply@localhost>", Timeout: 5 * time.Second, RootCAs: roots}
	if mod != nil {
		mod(&cfg)
	}
	m, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("New(%q): %v", url, err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func send(t testing.TB, m *Mailer, msg Message) {
	t.Helper()
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send to %q: %v", msg.To, err)
	}
}

func TestSendMultipart(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL(), nil, nil)

	send(t, m, Message{
		To:        "anna@example.com",
		ToName:    "Anna Müller",
		Subject:   "Einladung für Anna Müller",
		Text:      "Hallo Anna,\nhier ist Ihr Link.",
		HTML:      "<p>Hallo <b>Anna</b></p>",
		MessageID: "<invitation-42@multiline>",
	})

	got := srv.WaitForMessages(t, 1, 5*time.Second)[0]
	checks := []struct{ name, got, want string }{
		{"envelope from", got.From, "no-reply@localhost"},
		{"envelope to", strings.Join(got.To, ","), "anna@example.com"},
		{"Message-ID", got.Header.Get("Message-ID"), "<invitation-42@multiline>"},
		{"Subject", got.Subject(), "Einladung für Anna Müller"},
		{"To", got.DecodedHeader("To"), `Anna Müller <anna@example.com>`},
		{"From", got.DecodedHeader("From"), `"MultiLine" <no-reply@localhost>`},
		{"Auto-Submitted", got.Header.Get("Auto-Submitted"), "auto-generated"},
		{"text", got.Text(), "Hallo Anna,\r\nhier ist Ihr Link."},
		{"html", got.HTML(), "<p>Hallo <b>Anna</b></p>"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type: got %q, want multipart/alternative", ct)
	}
	if got.Header.Get("Date") == "" {
		t.Error("Date header missing")
	}
}

func TestSendHeaderInjection(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL(), nil, nil)

	attacks := []struct {
		name    string
		toName  string
		subject string
	}{
		{"CRLF in name", "Eve\r\nBcc: attacker@evil.test", "Welcome"},
		{"LF in name", "Eve\nBcc: attacker@evil.test", "Welcome"},
		{"CR in name", "Eve\rBcc: attacker@evil.test", "Welcome"},
		{"CRLF in subject", "Eve", "Welcome\r\nBcc: attacker@evil.test"},
		{"header then body", "Eve", "Hi\r\n\r\nfake body\r\nBcc: attacker@evil.test"},
		{"quote breaks out of name", `Eve" <attacker@evil.test>, "x`, "Welcome"},
		{"unicode line separator", "Eve\u2028Bcc: attacker@evil.test", "Welcome\u2029Cc: attacker@evil.test"},
		{"NUL and tab", "Eve\x00\tBcc: attacker@evil.test", "Wel\x00come\t"},
	}
	for i, a := range attacks {
		send(t, m, Message{To: "victim@example.com", ToName: a.toName, Subject: a.subject, Text: "hello"})
		msgs := srv.WaitForMessages(t, i+1, 5*time.Second)
		got := msgs[i]
		t.Run(a.name, func(t *testing.T) {
			for _, h := range []string{"Bcc", "Cc"} {
				if v, ok := got.Header[h]; ok {
					t.Errorf("%s header present: %q", h, v)
				}
			}
			if !slices.Equal(got.To, []string{"victim@example.com"}) {
				t.Errorf("recipients: got %q, want [victim@example.com]", got.To)
			}
			to, err := got.Header.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Address != "victim@example.com" {
				t.Errorf("To header: got %v (%v), want one address victim@example.com", to, err)
			}
			if s := got.Subject(); strings.ContainsAny(s, "\r\n") {
				t.Errorf("Subject: got %q, want one line", s)
			}
			if body := strings.TrimSpace(got.Text()); body != "hello" {
				t.Errorf("body: got %q, want %q", body, "hello")
			}
		})
	}
}

func TestSendRejectsBadInput(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL(), nil, nil)

	cases := []struct {
		name string
		msg  Message
	}{
		{"display name in To", Message{To: "Eve <eve@example.com>", Text: "x"}},
		{"two recipients", Message{To: "a@example.com, b@example.com", Text: "x"}},
		{"CRLF in To", Message{To: "a@example.com\r\nRCPT TO:<b@example.com>", Text: "x"}},
		{"empty To", Message{To: " ", Text: "x"}},
		{"not an address", Message{To: "+15550100001", Text: "x"}},
		{"no body", Message{To: "a@example.com"}},
		{"message id with space", Message{To: "a@example.com", Text: "x", MessageID: "<a b@multiline>"}},
		{"message id with CRLF", Message{To: "a@example.com", Text: "x", MessageID: "<a@b>\r\nBcc: x@y"}},
		{"message id without @", Message{To: "a@example.com", Text: "x", MessageID: "<invitation-1>"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := m.Send(context.Background(), c.msg)
			var se *SendError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *SendError", err)
			}
			if !IsPermanent(err) || IsTemporary(err) || se.Op != "message" {
				t.Errorf("got permanent=%v op=%q (%v), want permanent op=message", IsPermanent(err), se.Op, err)
			}
		})
	}
	if n := srv.Connections(); n != 0 {
		t.Errorf("connections: got %d, want 0 (bad input must not dial)", n)
	}
}

func TestSendAttachments(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL(), nil, nil)
	csv := []byte("row,status,reason\r\n2,failed,\"no number left\"\r\n")

	send(t, m, Message{
		To: "admin@example.com", Subject: "Batch report", Text: "See attached.", HTML: "<p>See attached.</p>",
		Attachments: []Attachment{
			{Name: "report.csv", ContentType: "text/csv; charset=utf-8", Data: csv},
			{Name: "evil\r\nname\".bin", ContentType: "bad\r\ntype", Data: []byte{0, 1, 2}},
		},
	})

	got := srv.WaitForMessages(t, 1, 5*time.Second)[0]
	atts := got.Attachments()
	if len(atts) != 2 {
		t.Fatalf("attachments: got %d, want 2", len(atts))
	}
	if atts[0].Filename != "report.csv" || atts[0].ContentType != "text/csv" || string(atts[0].Body) != string(csv) {
		t.Errorf("csv attachment: got %q %q %q, want report.csv text/csv %q", atts[0].Filename, atts[0].ContentType, atts[0].Body, csv)
	}
	if atts[1].ContentType != "application/octet-stream" || strings.ContainsAny(atts[1].Filename, "\r\n\"") {
		t.Errorf("hostile attachment: got %q %q, want application/octet-stream and a one-line name", atts[1].ContentType, atts[1].Filename)
	}
	if got.Text() != "See attached." || got.HTML() != "<p>See attached.</p>" {
		t.Errorf("bodies: got %q / %q, want both parts", got.Text(), got.HTML())
	}
}
