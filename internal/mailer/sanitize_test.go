package mailer

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/smtptest"
)

// rawHeader returns the header section of a message as it was received.
func rawHeader(m smtptest.Message) string {
	h, _, _ := bytes.Cut(m.Data, []byte("\r\n\r\n"))
	return string(h)
}

// TestEncodedWordsInDataStayData sends names and subjects that hold RFC 2047 encoded-words,
// as a CSV file can: a mail client would decode them into other text (here a line break and
// a header), so they must arrive encoded as data, and decode to exactly what was sent.
func TestEncodedWordsInDataStayData(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL(), nil, nil)
	const word = "=?utf-8?q?Urgent=0D=0AReply-To:_attacker@evil.test?="
	cases := []struct {
		name, toName, subject string
	}{
		{"encoded-word", word, "Acme has invited " + word + " to MultiLine"},
		{"upper case and B", "=?UTF-8?B?VXJnZW50DQpCY2M6IHhAZXZpbC50ZXN0?= Smith", "=?UTF-8?B?VXJnZW50DQpCY2M6IHhAZXZpbC50ZXN0?="},
		{"non-ASCII around it", "Zoë " + word + " 李", "Einladung für Zoë " + word},
		{"long", strings.Repeat(word, 4), "Welcome " + strings.Repeat("é"+word, 5)},
		{"half a word", "Eve =?", "Hi =? there"},
	}
	for i, c := range cases {
		send(t, m, Message{To: "victim@example.com", ToName: c.toName, Subject: c.subject, Text: "hello"})
		got := srv.WaitForMessages(t, i+1, 5*time.Second)[i]
		t.Run(c.name, func(t *testing.T) {
			raw := rawHeader(got)
			if strings.Contains(strings.ToLower(raw), "=?utf-8?q?urgent") || strings.Contains(raw, "VXJnZW50DQpCY2M6IHhAZXZpbC50ZXN0") {
				t.Errorf("the encoded-word was passed through:\n%s", raw)
			}
			if _, ok := got.Header["Reply-To"]; ok {
				t.Errorf("Reply-To header present: %q", got.Header.Get("Reply-To"))
			}
			if s := got.Subject(); s != c.subject {
				t.Errorf("Subject decodes to %q, want the text sent, %q", s, c.subject)
			}
			to, err := got.Header.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Address != "victim@example.com" || to[0].Name != c.toName {
				t.Errorf("To %q: got %v (%v), want one address named %q", got.Header.Get("To"), to, err, c.toName)
			}
			for _, line := range strings.Split(raw, "\r\n") {
				if len(line) > 78 {
					t.Errorf("header line of %d characters: %q", len(line), line)
				}
			}
		})
	}
}

func TestHeadersDropBidiControls(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL(), nil, nil)
	send(t, m, Message{To: "victim@example.com", ToName: "Ann\u202Egnp.exe\u202C Lee", Subject: "Hi \u2066Ann\u2069", Text: "hello"})
	got := srv.WaitForMessages(t, 1, 5*time.Second)[0]
	if s := got.Subject(); s != "Hi Ann" {
		t.Errorf("Subject: got %q, want %q", s, "Hi Ann")
	}
	if to, err := got.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Name != "Anngnp.exe Lee" {
		t.Errorf("To: got %v (%v), want the name without its controls", to, err)
	}
}

func TestPlainHeadersAreNotEncoded(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL(), nil, nil)
	send(t, m, Message{To: "anna@example.com", ToName: "Anna Rossi", Subject: "Acme has invited you to MultiLine", Text: "hello"})
	raw := rawHeader(srv.WaitForMessages(t, 1, 5*time.Second)[0])
	for _, want := range []string{"Subject: Acme has invited you to MultiLine\r\n", `To: "Anna Rossi" <anna@example.com>`} {
		if !strings.Contains(raw, want) {
			t.Errorf("header lacks %q:\n%s", want, raw)
		}
	}
}

func TestMessageIDDomain(t *testing.T) {
	for _, tc := range []struct{ from, want string }{
		{"MultiLine <no-reply@example.com>", "example.com"},
		{"no-reply@Mail.Example.COM", "mail.example.com"},
		{`"Ops, Team" <ops@acme.test>`, "acme.test"},
		{"MultiLine <no-reply@localhost>", "localhost"},
		{"", "localhost"},
		{"not an address", "localhost"},
	} {
		if got := MessageIDDomain(tc.from); got != tc.want {
			t.Errorf("MessageIDDomain(%q): got %q, want %q", tc.from, got, tc.want)
		}
	}
}
