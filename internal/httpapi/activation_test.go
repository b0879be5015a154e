package httpapi_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

type activation struct {
	Account struct {
		ID               string `json:"id"`
		Status           string `json:"status"`
		OrganizationName string `json:"organization_name"`
	} `json:"account"`
	Number  *string  `json:"number"`
	Numbers []string `json:"numbers"`
}

// invitedTokens invites a@ and b@ into a fresh organization with numbers and returns their
// activation tokens.
func invitedTokens(t *testing.T, s *stacktest.Stack, numbers int) (org string, tokA, tokB string) {
	t.Helper()
	org, group := s.Org("Acme", 0, numbers)
	s.StartWorker(2)
	s.Invite(org, group, []byte(csvHeader+"Anna,Rossi,a@acme.test,No,,auto,on\r\nBen,Hall,b@acme.test,No,,auto,on\r\n"))
	s.SMTP.WaitForMessages(t, 2, 10*time.Second)
	return org, s.ActivationToken(s.MessagesTo("a@acme.test")[0]), s.ActivationToken(s.MessagesTo("b@acme.test")[0])
}

func goneReason(t *testing.T, r stacktest.Response) string {
	t.Helper()
	var e struct {
		Error struct {
			Code    string              `json:"code"`
			Details []map[string]string `json:"details"`
		} `json:"error"`
	}
	r.JSON(t, &e)
	if r.Status != http.StatusGone || e.Error.Code != "invitation_gone" || len(e.Error.Details) != 1 {
		t.Fatalf("got %d %s, want 410 invitation_gone", r.Status, r.Body)
	}
	return e.Error.Details[0]["reason"]
}

func TestActivationKeepAndSwap(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	_, tokA, tokB := invitedTokens(t, s, 8)

	var a activation
	if got := s.Do("GET", "/v1/activation/"+tokA, "", nil); got.Status != http.StatusOK {
		t.Fatalf("get: got %d %s", got.Status, got.Body)
	} else {
		got.JSON(t, &a)
	}
	if a.Number == nil || len(a.Numbers) != 5 || a.Account.Status != "invited" || a.Account.OrganizationName != "Acme" {
		t.Fatalf("get: got %+v, want a reserved number and 5 to choose from", a)
	}
	kept := *a.Number
	if got := s.Do("POST", "/v1/activation/"+tokA, "", map[string]any{}); got.Status != http.StatusOK {
		t.Fatalf("keep: got %d %s", got.Status, got.Body)
	}
	if st := s.NumberState(kept); st != "assigned:"+a.Account.ID {
		t.Errorf("kept number: got %s, want assigned to the account", st)
	}
	if reason := goneReason(t, s.Do("GET", "/v1/activation/"+tokA, "", nil)); reason != store.GoneUsed {
		t.Errorf("used link: got %s, want used", reason)
	}
	if reason := goneReason(t, s.Do("POST", "/v1/activation/"+tokA, "", map[string]any{})); reason != store.GoneUsed {
		t.Errorf("second activation: got %s, want used", reason)
	}

	var b activation
	s.Do("GET", "/v1/activation/"+tokB, "", nil).JSON(t, &b)
	old, pick := *b.Number, b.Numbers[2]
	if got := s.Do("POST", "/v1/activation/"+tokB, "", map[string]any{"number": kept}); got.Status != http.StatusConflict || got.ErrorCode(t) != "number_unavailable" {
		t.Errorf("someone else's number: got %d %s, want 409 number_unavailable", got.Status, got.Body)
	}
	if got := s.Do("POST", "/v1/activation/"+tokB, "", map[string]any{"number": "call me"}); got.Status != http.StatusUnprocessableEntity {
		t.Errorf("not a number: got %d %s, want 422", got.Status, got.Body)
	}
	var done activation
	if got := s.Do("POST", "/v1/activation/"+tokB, "", map[string]any{"number": pick}); got.Status != http.StatusOK {
		t.Fatalf("swap: got %d %s", got.Status, got.Body)
	} else {
		got.JSON(t, &done)
	}
	if done.Account.Status != "active" || done.Number == nil || *done.Number != pick {
		t.Errorf("swap: got %+v, want active with %s", done, pick)
	}
	if st := s.NumberState(old); st != "available" {
		t.Errorf("released number %s: got %s, want available", old, st)
	}
	if st := s.NumberState(pick); st != "assigned:"+b.Account.ID {
		t.Errorf("picked number %s: got %s, want assigned to the account", pick, st)
	}
	var activated int
	s.DB.Get(&activated, `SELECT count(*) FROM accounts WHERE status = 'active' AND activated_at IS NOT NULL`)
	var used int
	s.DB.Get(&used, `SELECT count(*) FROM invitations WHERE state = 'used' AND used_at IS NOT NULL`)
	if activated != 2 || used != 2 {
		t.Errorf("got %d active accounts and %d used invitations, want 2 and 2", activated, used)
	}
}

func TestActivationLinksThatNoLongerWork(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	_, tokA, _ := invitedTokens(t, s, 4)
	s.DB.MustExec(`UPDATE invitations SET expires_at = now() - interval '1 hour'
		WHERE account_id = (SELECT id FROM accounts WHERE identifier = 'a@acme.test')`)
	if reason := goneReason(t, s.Do("GET", "/v1/activation/"+tokA, "", nil)); reason != store.GoneExpired {
		t.Errorf("expired link: got %s, want expired", reason)
	}
	if reason := goneReason(t, s.Do("POST", "/v1/activation/"+tokA, "", map[string]any{})); reason != store.GoneExpired {
		t.Errorf("activating with an expired link: got %s, want expired", reason)
	}
	var status string
	s.DB.Get(&status, `SELECT status FROM accounts WHERE identifier = 'a@acme.test'`)
	if status != "invited" {
		t.Errorf("account after an expired link: got %s, want invited", status)
	}

	unknown := strings.Repeat("x", 43)
	if got := s.Do("GET", "/v1/activation/"+unknown, "", nil); got.Status != http.StatusNotFound || got.ErrorCode(t) != "invitation_not_found" {
		t.Errorf("unknown token: got %d %s, want 404", got.Status, got.Body)
	}
	// 20 misses in all empty the budget of this client; the next request is refused.
	for range 19 {
		s.Do("GET", "/v1/activation/"+unknown, "", nil)
	}
	got := s.Do("GET", "/v1/activation/"+tokA, "", nil)
	if got.Status != http.StatusTooManyRequests || got.ErrorCode(t) != "too_many_attempts" || got.Header.Get("Retry-After") == "" {
		t.Errorf("after 20 misses: got %d %s (Retry-After %q), want 429 with Retry-After", got.Status, got.Body, got.Header.Get("Retry-After"))
	}
}

// page fetches the activation page; form nil means GET.
func page(t *testing.T, s *stacktest.Stack, tok string, form url.Values) (int, string) {
	t.Helper()
	var resp *http.Response
	var err error
	if form == nil {
		resp, err = http.Get(s.API.URL + "/activate/" + tok)
	} else {
		resp, err = http.PostForm(s.API.URL+"/activate/"+tok, form)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("content type: got %q, want text/html", ct)
	}
	return resp.StatusCode, string(b)
}

func TestActivationPage(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	_, tokA, _ := invitedTokens(t, s, 6)
	var a activation
	s.Do("GET", "/v1/activation/"+tokA, "", nil).JSON(t, &a)

	// html/template writes "+" as "&#43;", in text and in attributes alike.
	esc := func(n string) string { return strings.ReplaceAll(n, "+", "&#43;") }
	status, body := page(t, s, tokA, nil)
	for _, want := range []string{"Hello Anna Rossi,", "Acme", "a@acme.test", `<legend>Your MultiLine number</legend>`,
		`value="` + esc(*a.Number) + `" checked`, `value="` + esc(a.Numbers[1]) + `"`, `<button type="submit">Activate my account</button>`} {
		if status != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("page: got %d, lacks %q:\n%s", status, want, body)
		}
	}
	status, body = page(t, s, tokA, url.Values{"number": {a.Numbers[1]}})
	if status != http.StatusOK || !strings.Contains(body, "Your account is active") || !strings.Contains(body, esc(a.Numbers[1])) {
		t.Errorf("activate from the page: got %d\n%s", status, body)
	}
	if st := s.NumberState(a.Numbers[1]); st != "assigned:"+a.Account.ID {
		t.Errorf("picked number: got %s, want assigned", st)
	}
	if st := s.NumberState(*a.Number); st != "available" {
		t.Errorf("released number: got %s, want available", st)
	}
	status, body = page(t, s, tokA, nil)
	if status != http.StatusOK || !strings.Contains(body, "<h2>Your account is already active</h2>") || !strings.Contains(body, "already been used") ||
		strings.Contains(body, `role="alert"`) || strings.Contains(body, "<h1>Activate your MultiLine account</h1>") {
		t.Errorf("page of a used link: got %d, want 200 and a friendly notice, no error under the page title\n%s", status, body)
	}
	status, body = page(t, s, strings.Repeat("y", 43), nil)
	if status != http.StatusNotFound || !strings.Contains(body, "This link is not valid") {
		t.Errorf("page of an unknown link: got %d\n%s", status, body)
	}
}
