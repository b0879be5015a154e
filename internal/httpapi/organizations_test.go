package httpapi_test

import (
	"strings"
	"testing"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

func TestAddNumbers(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	orgA, _ := s.Org("Alpha", 0, 0)
	orgB, _ := s.Org("Beta", 0, 0)
	path := func(org string) string { return "/v1/organizations/" + org + "/numbers" }

	t.Run("normalised to E.164", func(t *testing.T) {
		got := s.Do("POST", path(orgA), s.RootToken, map[string]any{"numbers": []string{"+1 555 010 0001", "15550100002", "+1 (555) 010-0001"}})
		var res store.AddedNumbers
		got.JSON(t, &res)
		if got.Status != 200 || len(res.Added) != 2 || res.Added[0] != "+15550100001" || res.Added[1] != "+15550100002" {
			t.Fatalf("got %d %s, want +15550100001 and +15550100002 added", got.Status, got.Body)
		}
	})
	t.Run("again: already in pool", func(t *testing.T) {
		var res store.AddedNumbers
		s.Do("POST", path(orgA), s.RootToken, map[string]any{"numbers": []string{"+15550100001"}}).JSON(t, &res)
		if len(res.Added) != 0 || len(res.AlreadyInPool) != 1 {
			t.Fatalf("got %+v, want one already in pool", res)
		}
	})
	t.Run("owned by another organization: nothing added", func(t *testing.T) {
		got := s.Do("POST", path(orgB), s.RootToken, map[string]any{"numbers": []string{"+15550100009", "+15550100001"}})
		if got.Status != 409 || got.ErrorCode(t) != "numbers_unavailable" {
			t.Fatalf("got %d %s, want 409 numbers_unavailable", got.Status, got.Body)
		}
		if _, err := s.Store.NumberByE164(t.Context(), "+15550100009"); err == nil {
			t.Errorf("+15550100009 was added although the request was refused")
		}
	})
	t.Run("not a number", func(t *testing.T) {
		got := s.Do("POST", path(orgA), s.RootToken, map[string]any{"numbers": []string{"hello"}})
		if got.Status != 422 || got.ErrorCode(t) != "invalid_numbers" {
			t.Fatalf("got %d %s, want 422 invalid_numbers", got.Status, got.Body)
		}
	})
	t.Run("counts by state", func(t *testing.T) {
		var o store.Organization
		s.Do("GET", "/v1/organizations/"+orgA, s.RootToken, nil).JSON(t, &o)
		if o.Numbers.Available != 2 {
			t.Errorf("got %+v, want 2 available", o.Numbers)
		}
	})
}

func TestOrganizationsAndGroups(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	got := s.Do("POST", "/v1/organizations", s.RootToken, map[string]any{"name": "Acme", "social_messaging": true})
	var o store.Organization
	got.JSON(t, &o)
	if got.Status != 201 || o.ID == "" || !o.SocialMessaging {
		t.Fatalf("create: got %d %s", got.Status, got.Body)
	}
	if got := s.Do("POST", "/v1/organizations", s.RootToken, map[string]any{"name": "acme"}); got.Status != 409 {
		t.Errorf("duplicate name: got %d, want 409", got.Status)
	}
	if got := s.Do("POST", "/v1/organizations", s.RootToken, map[string]any{"name": " "}); got.Status != 422 {
		t.Errorf("blank name: got %d, want 422", got.Status)
	}
	for _, name := range []string{"Acme \u202Emoc.evil", "\u2066Acme\u2069", "Acme\u202A"} {
		got := s.Do("POST", "/v1/organizations", s.RootToken, map[string]any{"name": name})
		if got.Status != 422 || got.ErrorCode(t) != "invalid_name" || !strings.Contains(string(got.Body), "bidirectional control character") {
			t.Errorf("name %q: got %d %s, want 422 invalid_name about the bidirectional control", name, got.Status, got.Body)
		}
	}
	if got := s.Do("POST", "/v1/organizations", s.RootToken, map[string]any{"nam": "x"}); got.Status != 400 {
		t.Errorf("unknown field: got %d, want 400", got.Status)
	}
	if got := s.Do("GET", "/v1/organizations/00000000-0000-0000-0000-000000000000", s.RootToken, nil); got.Status != 404 {
		t.Errorf("missing org: got %d, want 404", got.Status)
	}
	if g := s.Do("POST", "/v1/organizations/"+o.ID+"/permission-groups", s.RootToken, map[string]any{"name": "Sales\u202E"}); g.Status != 422 {
		t.Errorf("group name with a bidirectional control: got %d %s, want 422", g.Status, g.Body)
	}
	g := s.Do("POST", "/v1/organizations/"+o.ID+"/permission-groups", s.RootToken, map[string]any{"name": "Sales"})
	if g.Status != 201 {
		t.Fatalf("create group: got %d %s", g.Status, g.Body)
	}
	var groups struct {
		PermissionGroups []store.PermissionGroup `json:"permission_groups"`
	}
	s.Do("GET", "/v1/organizations/"+o.ID+"/permission-groups", s.RootToken, nil).JSON(t, &groups)
	if len(groups.PermissionGroups) != 1 || groups.PermissionGroups[0].Name != "Sales" {
		t.Errorf("groups: got %+v", groups.PermissionGroups)
	}
	set := s.Do("PUT", "/v1/organizations/"+o.ID+"/settings", s.RootToken, map[string]any{"batch_report_recipients": []string{"Ops@Example.com"}})
	set.JSON(t, &o)
	if set.Status != 200 || len(o.BatchReportRecipients) != 1 || o.BatchReportRecipients[0] != "ops@example.com" || !o.SocialMessaging {
		t.Errorf("settings: got %d %s", set.Status, set.Body)
	}
	bad := s.Do("PUT", "/v1/organizations/"+o.ID+"/settings", s.RootToken, map[string]any{"batch_report_recipients": []string{"x@y.z\r\nBcc: evil@x.y"}})
	if bad.Status != 422 {
		t.Errorf("header-injecting recipient: got %d, want 422", bad.Status)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if got := s.Do("GET", p, "", nil); got.Status != 200 {
			t.Errorf("%s: got %d %s, want 200", p, got.Status, got.Body)
		}
	}
	s.Do("GET", "/v1/organizations", "", nil)
	got := s.Do("GET", "/metrics", "", nil)
	if got.Status != 200 || !strings.Contains(string(got.Body), `multiline_http_requests_total{code="401",method="GET",route="GET /v1/organizations"} 1`) {
		t.Errorf("metrics lack the 401 request:\n%.2000s", got.Body)
	}
	if got := s.Do("GET", "/v1/nowhere", s.RootToken, nil); got.Status != 404 || got.ErrorCode(t) != "not_found" {
		t.Errorf("unknown path: got %d %s", got.Status, got.Body)
	}
	if got := s.Do("GET", "/healthz", "", nil); got.Header.Get("X-Request-ID") == "" {
		t.Errorf("no X-Request-ID header")
	}
}
