package jobs_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/stacktest"
)

// TestEncodedWordsFromTheFileReachHeadersAsData uploads names that mail clients would decode
// into header-looking text (an RFC 2047 encoded-word) or show out of order (a bidirectional
// override). The first is delivered encoded as data; the second fails its row.
func TestEncodedWordsFromTheFileReachHeadersAsData(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	custom := map[string]string{"subject": "{{.FullName}}, welcome to {{.Organization}}", "text": "{{.Link}}", "html": `<a href="{{.Link}}">go</a>`}
	if got := s.Do("PUT", "/v1/organizations/"+org+"/invitation-templates/en", s.RootToken, custom); got.Status != http.StatusOK {
		t.Fatalf("put template: got %d %s", got.Status, got.Body)
	}
	s.StartWorker(2)
	const word = "=?utf-8?q?Urgent=0D=0AReply-To:_attacker@evil.test?="
	b := s.Invite(org, group, []byte(header+
		word+",Smith,eve@acme.test,No,,auto,on,English\r\n"+
		"Ann\u202Egnp.exe,Lee,ann@acme.test,No,,auto,on,English\r\n"))
	if b.Succeeded != 1 || b.Failed != 1 {
		t.Errorf("got %+v, want 1 succeeded and 1 failed", b)
	}

	s.SMTP.WaitForMessages(t, 1, 10*time.Second)
	msgs := s.MessagesTo("eve@acme.test")
	if len(msgs) != 1 {
		t.Fatalf("got %d emails to eve@acme.test, want 1", len(msgs))
	}
	m := msgs[0]
	raw, _, _ := bytes.Cut(m.Data, []byte("\r\n\r\n"))
	if bytes.Contains(bytes.ToLower(raw), []byte("=?utf-8?q?urgent")) {
		t.Errorf("the encoded-word from the file reached the header as it is:\n%s", raw)
	}
	allowed := map[string]bool{"From": true, "To": true, "Subject": true, "Message-Id": true, "Date": true,
		"Mime-Version": true, "Content-Type": true, "Auto-Submitted": true}
	for _, name := range m.HeaderNames() {
		if !allowed[name] {
			t.Errorf("header %s: %q", name, m.Header.Get(name))
		}
	}
	if got, want := m.Subject(), word+" Smith, welcome to Acme"; got != want {
		t.Errorf("subject decodes to %q, want the name as data, %q", got, want)
	}
	to, err := m.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != word+" Smith" || to[0].Address != "eve@acme.test" {
		t.Errorf("To %q: got %v (%v), want eve@acme.test named %q", m.Header.Get("To"), to, err, word+" Smith")
	}

	recs := report(t, s, b.ID)
	if len(recs) != 3 || recs[2][4] != "failed" || !strings.Contains(recs[2][5], "bidirectional control character U+202E") {
		t.Errorf("report: got %v, want row 3 failed for its bidirectional control", recs)
	}
}
