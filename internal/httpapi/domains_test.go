package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

// allowDomains sets an organization's allowed email domains through the API.
func allowDomains(t *testing.T, s *stacktest.Stack, org string, domains ...string) store.Organization {
	t.Helper()
	if domains == nil {
		domains = []string{} // null would leave them as they are
	}
	got := s.Do("PUT", "/v1/organizations/"+org+"/settings", s.RootToken, map[string]any{"allowed_email_domains": domains})
	if got.Status != http.StatusOK {
		t.Fatalf("settings: got %d %s, want 200", got.Status, got.Body)
	}
	var o store.Organization
	got.JSON(t, &o)
	return o
}

// reportRows returns a finished batch's report rows by line.
func reportRows(t *testing.T, s *stacktest.Stack, batchID string) map[int]store.ReportRow {
	t.Helper()
	rows, err := s.Store.ReportRows(context.Background(), batchID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]store.ReportRow{}
	for _, r := range rows {
		out[r.Line] = r
	}
	return out
}

func TestAllowedEmailDomainsSettings(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, _ := s.Org("Acme", 0, 1)
	if o := allowDomains(t, s, org, "Acme.test", " @Example.COM", "@acme.test"); strings.Join(o.AllowedEmailDomains, ",") != "@acme.test,@example.com" {
		t.Errorf("allowed domains: got %v, want [@acme.test @example.com]", o.AllowedEmailDomains)
	}
	got := s.Do("PUT", "/v1/organizations/"+org+"/settings", s.RootToken,
		map[string]any{"allowed_email_domains": []string{"@acme.test", "ann@acme.test", "nodot", ""}})
	code, message := got.Error(t)
	if got.Status != http.StatusUnprocessableEntity || code != "invalid_domains" || !strings.Contains(message, "@example.com") ||
		!strings.Contains(string(got.Body), `"domain":"ann@acme.test"`) || !strings.Contains(string(got.Body), `"domain":"nodot"`) {
		t.Errorf("bad entries: got %d %s, want 422 invalid_domains naming each bad entry", got.Status, got.Body)
	}
	var o store.Organization
	s.Do("GET", "/v1/organizations/"+org, s.RootToken, nil).JSON(t, &o)
	if len(o.AllowedEmailDomains) != 2 {
		t.Errorf("after a refused change: got %v, want the two domains as before", o.AllowedEmailDomains)
	}
	if o := allowDomains(t, s, org); len(o.AllowedEmailDomains) != 0 {
		t.Errorf("[] allows any domain: got %v", o.AllowedEmailDomains)
	}
}

func TestAllowedEmailDomainsRows(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	allowDomains(t, s, org, "@acme.test")
	file := []byte(csvHeader + "A,A,a@acme.test,No,,auto,on\r\nB,B,b@gmail.test,No,,auto,on\r\nP,P,+15557770001,No,,auto,on\r\n")

	t.Run("the dry run reports it", func(t *testing.T) {
		got := s.Upload(s.RootToken, org, group, file, map[string]string{"dry_run": "true", "invite": "true"})
		var dry struct {
			Valid   int `json:"valid"`
			Invalid int `json:"invalid"`
			Errors  []struct {
				Row     int    `json:"row"`
				Column  string `json:"column"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		got.JSON(t, &dry)
		if dry.Valid != 2 || dry.Invalid != 1 || len(dry.Errors) != 1 {
			t.Fatalf("dry run: got %s, want row 3 alone refused", got.Body)
		}
		want := "Row 3, email address or device: the email domain @gmail.test is not one of this organization's allowed email domains (@acme.test)"
		if e := dry.Errors[0]; e.Row != 3 || e.Column != "email address or device" || !strings.HasPrefix(e.Message, want) {
			t.Errorf("dry run error: got %+v, want %q...", e, want)
		}
	})

	t.Run("the row fails with domain_not_allowed", func(t *testing.T) {
		s.StartWorker(2)
		b := s.Invite(org, group, file)
		if b.Succeeded != 2 || b.Failed != 1 {
			t.Fatalf("batch: got %d succeeded, %d failed, want 2 and 1", b.Succeeded, b.Failed)
		}
		rows := reportRows(t, s, b.ID)
		if r := rows[3]; r.Status != store.RowFailed || r.ReasonCode != store.CodeDomainNotAllowed || r.AccountID != "" ||
			!strings.HasPrefix(r.Reason, "The email domain @gmail.test is not one of") {
			t.Errorf("row 3: got %+v, want failed domain_not_allowed without an account", r)
		}
		if r := rows[4]; r.Status != store.RowSucceeded {
			t.Errorf("row 4, a phone number: got %+v, want succeeded (the rule is about email domains)", r)
		}
		s.SMTP.WaitForMessages(t, 1, 10*time.Second)
		if n := len(s.MessagesTo("b@gmail.test")); n != 0 {
			t.Errorf("b@gmail.test got %d emails, want none", n)
		}
	})
}

// The settings when a row's account is created rule, not those at upload: a batch queued
// before the domains were restricted fails its rows outside them.
func TestAllowedEmailDomainsAtClaim(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	up := s.Upload(s.RootToken, org, group, []byte(csvHeader+"A,A,a@acme.test,No,,auto,on\r\nB,B,b@gmail.test,No,,auto,on\r\n"),
		map[string]string{"invite": "true"})
	var b store.Batch
	up.JSON(t, &b)
	allowDomains(t, s, org, "@acme.test")
	s.RunRows(b.ID, 2, 3)
	var codes []string
	if err := s.DB.Select(&codes, `SELECT reason_code FROM batch_rows WHERE batch_id = $1 ORDER BY line`, b.ID); err != nil {
		t.Fatal(err)
	}
	if strings.Join(codes, ",") != "none,"+store.CodeDomainNotAllowed {
		t.Errorf("reason codes: got %v, want [none domain_not_allowed]", codes)
	}
}

func TestAllowedEmailDomainsResendAndMove(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	src, _, accts := invited(t, s) // a@, b@ invited and c@ imported, all @acme.test
	a, c := accts["a@acme.test"], accts["c@acme.test"]
	allowDomains(t, s, src, "@example.com")

	got := s.Do("POST", "/v1/organizations/"+src+"/invitations/resend", s.RootToken, map[string]any{"account_ids": []string{c.ID}})
	var res struct {
		Queued   int                  `json:"queued"`
		Accounts []store.ResendResult `json:"accounts"`
	}
	got.JSON(t, &res)
	if res.Queued != 0 || len(res.Accounts) != 1 || res.Accounts[0].Code != store.ResendDomain ||
		!strings.Contains(res.Accounts[0].Reason, "@acme.test is not one of this organization's allowed email domains (@example.com)") {
		t.Errorf("resend of c: got %d %s, want not_sent domain_not_allowed", got.Status, got.Body)
	}

	dst, _ := s.Org("Destination", 100, 3)
	allowDomains(t, s, dst, "@example.com")
	before := moveSnapshot(t, s)
	got = s.Do("POST", "/v1/accounts/move", s.RootToken, map[string]any{"account_ids": []string{a.ID}, "organization_id": dst})
	if code, message := got.Error(t); got.Status != http.StatusUnprocessableEntity || code != store.MoveDomain ||
		!strings.Contains(message, "allowed_email_domains") || !strings.Contains(string(got.Body), "the destination's allowed email domains (@example.com)") {
		t.Errorf("move: got %d %s, want 422 domain_not_allowed naming the destination's domains", got.Status, got.Body)
	}
	if after := moveSnapshot(t, s); after != before {
		t.Errorf("a refused move changed the database:\nbefore %s\nafter  %s", before, after)
	}
	allowDomains(t, s, dst, "@example.com", "@acme.test")
	if got := s.Do("POST", "/v1/accounts/move", s.RootToken, map[string]any{"account_ids": []string{a.ID}, "organization_id": dst}); got.Status != http.StatusOK {
		t.Errorf("move once @acme.test is allowed: got %d %s, want 200", got.Status, got.Body)
	}
}
