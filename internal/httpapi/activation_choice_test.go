package httpapi_test

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/stacktest"
)

// A number that is not on the short list gets one answer, whatever the number is: before,
// any Available number of the organization was taken, and the 409 said why the others were not.
func TestActivationRefusesNumbersNotOffered(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10) // three reserved below, seven Available: two off the list
	s.Org("Other", 100, 2)
	s.StartWorker(2)
	s.Invite(org, group, []byte(csvHeader+"Anna,Rossi,a@acme.test,No,,auto,on\r\nBen,Hall,b@acme.test,No,,auto,on\r\nCleo,Ng,c@acme.test,No,,auto,on\r\n"))
	s.SMTP.WaitForMessages(t, 3, 10*time.Second)
	tok := func(rcpt string) string { return s.ActivationToken(s.MessagesTo(rcpt)[0]) }
	tokA, tokB, tokC := tok("a@acme.test"), tok("b@acme.test"), tok("c@acme.test")
	var a, b, c activation
	s.Do("GET", "/v1/activation/"+tokA, "", nil).JSON(t, &a)
	s.Do("GET", "/v1/activation/"+tokC, "", nil).JSON(t, &c)
	if got := s.Do("POST", "/v1/activation/"+tokA, "", map[string]any{}); got.Status != http.StatusOK {
		t.Fatalf("a keeps its number: got %d %s", got.Status, got.Body)
	}
	s.Do("GET", "/v1/activation/"+tokB, "", nil).JSON(t, &b)
	var available []string
	s.DB.Select(&available, `SELECT e164 FROM numbers WHERE organization_id = $1 AND state = 'available' ORDER BY e164`, org)
	if len(b.Numbers) != 5 || len(available) != 7 || !slices.Equal(b.Numbers, available[:5]) {
		t.Fatalf("short list: got %v of %v Available, want the first 5 of 7", b.Numbers, available)
	}
	refused := map[string]string{
		"assigned to a":              *a.Number,
		"reserved for c":             *c.Number,
		"of another organization":    stacktest.Numbers(100, 1)[0],
		"unknown":                    "+15559999999",
		"available, off the list":    available[5],
		"available, last of the org": available[6],
	}
	if st := s.NumberState(refused["of another organization"]); st != "available" {
		t.Fatalf("the other organization's number: got %s, want available", st)
	}
	before := moveSnapshot(t, s)
	var first []byte
	for name, n := range refused {
		got := s.Do("POST", "/v1/activation/"+tokB, "", map[string]any{"number": n})
		if got.Status != http.StatusConflict || got.ErrorCode(t) != "number_unavailable" {
			t.Errorf("%s (%s): got %d %s, want 409 number_unavailable", name, n, got.Status, got.Body)
		}
		if first == nil {
			first = got.Body
		} else if !bytes.Equal(got.Body, first) {
			t.Errorf("%s (%s): got body %s, want the same as every refusal: %s", name, n, got.Body, first)
		}
		if bytes.Contains(got.Body, []byte(strings.TrimPrefix(n, "+"))) {
			t.Errorf("%s: the answer %s names the number", name, got.Body)
		}
	}
	var firstPage string
	for name, n := range refused {
		status, body := page(t, s, tokB, url.Values{"number": {n}})
		if status != http.StatusConflict || !strings.Contains(body, "no longer available to you") {
			t.Errorf("page, %s (%s): got %d %.300s, want 409 with the form again", name, n, status, body)
		}
		if firstPage == "" {
			firstPage = body
		} else if body != firstPage {
			t.Errorf("page, %s (%s): the page differs from the other refusals", name, n)
		}
	}
	if after := moveSnapshot(t, s); after != before {
		t.Errorf("refusals changed accounts, numbers or invitations:\n got %s\nwant %s", after, before)
	}

	// Numbers on the list, and keeping the reserved one, still work.
	pick := b.Numbers[4]
	if got := s.Do("POST", "/v1/activation/"+tokB, "", map[string]any{"number": pick}); got.Status != http.StatusOK {
		t.Errorf("last of the short list: got %d %s, want 200", got.Status, got.Body)
	}
	if st := s.NumberState(pick); st != "assigned:"+b.Account.ID {
		t.Errorf("picked number: got %s, want assigned:%s", st, b.Account.ID)
	}
	if got := s.Do("POST", "/v1/activation/"+tokC, "", map[string]any{}); got.Status != http.StatusOK {
		t.Errorf("c keeps its number: got %d %s, want 200", got.Status, got.Body)
	}
}
