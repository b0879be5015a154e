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

const csvHeader = "firstname,lastname,email address or device,social_messaging,multiline_number,monitor_calls,monitor_sms\r\n"

// invited sets up a source organization with invited accounts a@ and b@ and an imported, not
// invited c@, and returns the source organization and the accounts by identifier.
func invited(t *testing.T, s *stacktest.Stack) (string, string, map[string]store.Account) {
	t.Helper()
	src, group := s.Org("Source", 0, 5)
	s.StartWorker(2)
	s.Invite(src, group, []byte(csvHeader+"A,A,a@acme.test,No,,auto,on\r\nB,B,b@acme.test,No,,auto,on\r\n"))
	up := s.Upload(s.RootToken, src, group, []byte(csvHeader+"C,C,c@acme.test,No,,auto,on\r\n"), map[string]string{"invite": "false"})
	var b store.Batch
	up.JSON(t, &b)
	s.WaitBatch(b.ID, 30*time.Second)
	s.SMTP.WaitForMessages(t, 2, 10*time.Second)
	return src, group, s.Accounts(src)
}

// moveSnapshot renders what a move may change.
func moveSnapshot(t *testing.T, s *stacktest.Stack) string {
	t.Helper()
	var out string
	if err := s.DB.Get(&out, `SELECT concat_ws(' | ',
		(SELECT string_agg(concat_ws(',', id, organization_id, permission_group_id, status), ';' ORDER BY id) FROM accounts),
		(SELECT string_agg(concat_ws(',', e164, organization_id, state, account_id), ';' ORDER BY e164) FROM numbers),
		(SELECT string_agg(concat_ws(',', id, state), ';' ORDER BY id) FROM invitations))`); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMoveRefusedWhenTheDestinationLacksNumbers(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	_, _, accts := invited(t, s)
	dst, _ := s.Org("Destination", 100, 1)
	before := moveSnapshot(t, s)
	got := s.Do("POST", "/v1/accounts/move", s.RootToken, map[string]any{
		"account_ids": []string{accts["a@acme.test"].ID, accts["b@acme.test"].ID}, "organization_id": dst})
	code, message := got.Error(t)
	want := "Unable to move account(s). You do not have enough numbers available in the selected organization"
	if got.Status != http.StatusConflict || code != "not_enough_numbers" || message != want {
		t.Fatalf("got %d %s, want 409 not_enough_numbers %q", got.Status, got.Body, want)
	}
	if after := moveSnapshot(t, s); after != before {
		t.Errorf("a refused move changed the database:\nbefore %s\nafter  %s", before, after)
	}
}

func TestMovePendingInvitations(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	src, _, accts := invited(t, s)
	dst, dstGroup := s.Org("Destination", 100, 3)
	a, b := accts["a@acme.test"], accts["b@acme.test"]
	tokA := s.ActivationToken(s.MessagesTo("a@acme.test")[0])

	refusals := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"not invited", map[string]any{"account_ids": []string{a.ID, accts["c@acme.test"].ID}, "organization_id": dst}, http.StatusConflict, "not_pending"},
		{"unknown account", map[string]any{"account_ids": []string{a.ID, "00000000-0000-0000-0000-000000000000"}, "organization_id": dst}, http.StatusNotFound, "accounts_not_found"},
		{"already there", map[string]any{"account_ids": []string{a.ID}, "organization_id": src}, http.StatusUnprocessableEntity, "already_there"},
		{"no accounts", map[string]any{"account_ids": []string{}, "organization_id": dst}, http.StatusUnprocessableEntity, "no_accounts"},
		{"no destination", map[string]any{"account_ids": []string{a.ID}}, http.StatusUnprocessableEntity, "organization_missing"},
		{"foreign group", map[string]any{"account_ids": []string{a.ID}, "organization_id": dst, "permission_group_id": accts["a@acme.test"].PermissionGroupID}, http.StatusUnprocessableEntity, "unknown_permission_group"},
	}
	before := moveSnapshot(t, s)
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.Do("POST", "/v1/accounts/move", s.RootToken, tc.body); got.Status != tc.status || got.ErrorCode(t) != tc.code {
				t.Errorf("got %d %s, want %d %s", got.Status, got.Body, tc.status, tc.code)
			}
		})
	}
	t.Run("source out of scope", func(t *testing.T) {
		tok := s.NewAdmin("dst@test.example", []string{dst}, string(store.PrivAccounts))
		got := s.Do("POST", "/v1/accounts/move", tok, map[string]any{"account_ids": []string{a.ID}, "organization_id": dst})
		if got.Status != http.StatusNotFound || got.ErrorCode(t) != "accounts_not_found" {
			t.Errorf("got %d %s, want 404 accounts_not_found, as for an account that does not exist", got.Status, got.Body)
		}
	})
	if after := moveSnapshot(t, s); after != before {
		t.Fatalf("a refused move changed the database:\nbefore %s\nafter  %s", before, after)
	}

	got := s.Do("POST", "/v1/accounts/move", s.RootToken, map[string]any{
		"account_ids": []string{a.ID, b.ID, a.ID}, "organization_id": dst, "permission_group_id": dstGroup})
	var res struct {
		Moved    int           `json:"moved"`
		Accounts []store.Moved `json:"accounts"`
	}
	got.JSON(t, &res)
	if got.Status != http.StatusOK || res.Moved != 2 {
		t.Fatalf("move: got %d %s, want 200 with 2 moved", got.Status, got.Body)
	}
	for _, m := range res.Accounts {
		if m.FromOrganizationID != src || m.ReleasedNumber == "" || m.Number == "" {
			t.Errorf("moved %+v, want from the source with a released and a new number", m)
		}
		if st := s.NumberState(m.ReleasedNumber); st != "available" {
			t.Errorf("released %s: got %s, want available", m.ReleasedNumber, st)
		}
		if st := s.NumberState(m.Number); st != "reserved:"+m.AccountID {
			t.Errorf("new number %s: got %s, want reserved by %s", m.Number, st, m.AccountID)
		}
	}
	moved := s.Accounts(dst)
	if len(moved) != 2 || moved["a@acme.test"].PermissionGroupID == nil || *moved["a@acme.test"].PermissionGroupID != dstGroup {
		t.Errorf("destination accounts: got %v, want a and b in group %s", moved, dstGroup)
	}
	if left := s.Accounts(src); len(left) != 1 {
		t.Errorf("source keeps %d accounts, want 1 (c)", len(left))
	}
	// The invitation still works, now for the destination.
	var act struct {
		Account struct {
			OrganizationID string `json:"organization_id"`
		} `json:"account"`
		Number *string `json:"number"`
	}
	s.Do("GET", "/v1/activation/"+tokA, "", nil).JSON(t, &act)
	if act.Account.OrganizationID != dst || act.Number == nil || *act.Number != *moved["a@acme.test"].MultilineNumber {
		t.Errorf("activation after the move: got %+v, want the destination and its number", act)
	}
}

// moveAnswer is the answer of a move that went through.
type moveAnswer struct {
	Moved    int           `json:"moved"`
	Accounts []store.Moved `json:"accounts"`
}

func TestMoveTakesTheDestinationsPermissionGroup(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	_, _, accts := invited(t, s)
	a, b := accts["a@acme.test"], accts["b@acme.test"]
	dst, staff := s.Org("Destination", 100, 3) // Staff, its first group, is its default
	ctx := context.Background()
	sales, err := s.Store.CreatePermissionGroup(ctx, dst, "Sales")
	if err != nil {
		t.Fatal(err)
	}
	group := func(id string) string {
		t.Helper()
		var g string
		if err := s.DB.Get(&g, `SELECT coalesce(permission_group_id::text, '') FROM accounts WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		return g
	}

	t.Run("without a group the default", func(t *testing.T) {
		var res moveAnswer
		got := s.Do("POST", "/v1/accounts/move", s.RootToken, map[string]any{"account_ids": []string{a.ID}, "organization_id": dst})
		got.JSON(t, &res)
		if got.Status != http.StatusOK || len(res.Accounts) != 1 {
			t.Fatalf("move: got %d %s, want 200", got.Status, got.Body)
		}
		if m := res.Accounts[0]; m.PermissionGroupID != staff || m.PermissionGroupName != "Staff" {
			t.Errorf("answer: got group %q %q, want the default %s Staff", m.PermissionGroupID, m.PermissionGroupName, staff)
		}
		if g := group(a.ID); g != staff {
			t.Errorf("account a: got group %q, want %s", g, staff)
		}
	})

	t.Run("a new default from the settings", func(t *testing.T) {
		got := s.Do("PUT", "/v1/organizations/"+dst+"/settings", s.RootToken, map[string]any{"default_permission_group_id": sales.ID})
		var o store.Organization
		got.JSON(t, &o)
		if got.Status != http.StatusOK || o.DefaultPermissionGroupID == nil || *o.DefaultPermissionGroupID != sales.ID {
			t.Fatalf("settings: got %d %s, want 200 with the default %s", got.Status, got.Body, sales.ID)
		}
		var res moveAnswer
		s.Do("POST", "/v1/accounts/move", s.RootToken, map[string]any{"account_ids": []string{b.ID}, "organization_id": dst}).JSON(t, &res)
		if len(res.Accounts) != 1 || res.Accounts[0].PermissionGroupName != "Sales" || group(b.ID) != sales.ID {
			t.Errorf("move of b: got %+v, group %q; want Sales %s", res.Accounts, group(b.ID), sales.ID)
		}
	})

	t.Run("another organization's group is refused as a default", func(t *testing.T) {
		got := s.Do("PUT", "/v1/organizations/"+dst+"/settings", s.RootToken, map[string]any{"default_permission_group_id": *a.PermissionGroupID})
		if got.Status != http.StatusUnprocessableEntity || got.ErrorCode(t) != "unknown_permission_group" {
			t.Errorf("got %d %s, want 422 unknown_permission_group", got.Status, got.Body)
		}
	})

	t.Run("a destination without any group refuses", func(t *testing.T) {
		bare, err := s.Store.CreateOrganization(ctx, store.Admin{}, store.NewOrganization{Name: "Bare"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Store.AddNumbers(ctx, bare.ID, stacktest.Numbers(200, 2)); err != nil {
			t.Fatal(err)
		}
		before := moveSnapshot(t, s)
		got := s.Do("POST", "/v1/accounts/move", s.RootToken, map[string]any{"account_ids": []string{a.ID}, "organization_id": bare.ID})
		code, message := got.Error(t)
		if got.Status != http.StatusUnprocessableEntity || code != "no_permission_group" || !strings.Contains(message, "permission_group_id") {
			t.Errorf("got %d %s, want 422 no_permission_group saying to name a group", got.Status, got.Body)
		}
		if after := moveSnapshot(t, s); after != before {
			t.Errorf("a refused move changed the database:\nbefore %s\nafter  %s", before, after)
		}
	})
}
