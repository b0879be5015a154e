package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

// TestAuthorizationMatrix sends every authenticated endpoint a request with no token, a bad
// token, a token lacking the endpoint's privilege and a token scoped to another organization.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	orgA, groupA := s.Org("Org A", 0, 5)
	orgB, _ := s.Org("Org B", 100, 5)
	ctx := context.Background()
	batch, _, err := s.Store.CreateBatch(ctx, store.NewBatch{OrganizationID: orgA, PermissionGroupID: groupA,
		UploadedBy: "root@test.example", Invite: false},
		[]store.NewRow{{Line: 2, RawIdentifier: "x", FailReason: "bad"}})
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"accounts", "numbers", "organizations", "administrators", "reports"}
	without := func(privs ...string) []string {
		var out []string
		for _, p := range all {
			drop := false
			for _, q := range privs {
				drop = drop || p == q
			}
			if !drop {
				out = append(out, p)
			}
		}
		return out
	}
	otherOrg := s.NewAdmin("other@test.example", []string{orgB}, all...)

	upload := stacktest.CSV("matrix.test", 0, 1)
	endpoints := []struct {
		method, path string
		privs        []string // any of these grants access; nil: any authenticated admin
		scoped       bool     // refers to org A
		body         any
		upload       bool
	}{
		{"GET", "/v1/organizations", nil, false, nil, false},
		{"POST", "/v1/organizations", []string{"organizations"}, false, map[string]any{"name": "New"}, false},
		{"GET", "/v1/organizations/" + orgA, nil, true, nil, false},
		{"PUT", "/v1/organizations/" + orgA + "/settings", []string{"organizations"}, true, map[string]any{}, false},
		{"GET", "/v1/organizations/" + orgA + "/permission-groups", nil, true, nil, false},
		{"POST", "/v1/organizations/" + orgA + "/permission-groups", []string{"organizations", "accounts"}, true, map[string]any{"name": "G"}, false},
		{"POST", "/v1/organizations/" + orgA + "/numbers", []string{"numbers"}, true, map[string]any{"numbers": []string{"+15559990001"}}, false},
		{"GET", "/v1/organizations/" + orgA + "/accounts", []string{"accounts"}, true, nil, false},
		{"GET", "/v1/organizations/" + orgA + "/accounts/template.csv", []string{"accounts"}, true, nil, false},
		{"GET", "/v1/organizations/" + orgA + "/accounts/template.xlsx", []string{"accounts"}, true, nil, false},
		{"POST", "/v1/organizations/" + orgA + "/batches", []string{"accounts"}, true, nil, true},
		{"GET", "/v1/organizations/" + orgA + "/batches", []string{"accounts", "reports"}, true, nil, false},
		{"GET", "/v1/batches/" + batch.ID, []string{"accounts", "reports"}, true, nil, false},
		{"GET", "/v1/batches/" + batch.ID + "/report.csv", []string{"accounts", "reports"}, true, nil, false},
		{"GET", "/v1/batches/" + batch.ID + "/report.xlsx", []string{"accounts", "reports"}, true, nil, false},
		{"POST", "/v1/batches/" + batch.ID + "/cancel", []string{"accounts"}, true, nil, false},
		{"GET", "/v1/organizations/" + orgA + "/invitation-templates/en", []string{"accounts"}, true, nil, false},
		{"PUT", "/v1/organizations/" + orgA + "/invitation-templates/en", []string{"accounts"}, true, map[string]any{"subject": "Hi", "text": "{{.Link}}", "html": "<a href=\"{{.Link}}\">go</a>"}, false},
		{"DELETE", "/v1/organizations/" + orgA + "/invitation-templates/en", []string{"accounts"}, true, nil, false},
		{"POST", "/v1/organizations/" + orgA + "/invitation-templates/en/preview", []string{"accounts"}, true, map[string]any{}, false},
		{"POST", "/v1/organizations/" + orgA + "/invitations/resend", []string{"accounts"}, true, map[string]any{"account_ids": []string{"00000000-0000-0000-0000-000000000000"}}, false},
		{"POST", "/v1/accounts/move", []string{"accounts"}, true, map[string]any{"account_ids": []string{"00000000-0000-0000-0000-000000000000"}, "organization_id": orgA}, false},
		{"POST", "/v1/admins", []string{"administrators"}, false, map[string]any{"email": "new@test.example", "privileges": []string{"administrators"}, "organization_ids": []string{orgA}}, false},
	}
	send := func(method, path, tok string, body any, isUpload bool) stacktest.Response {
		if isUpload {
			return s.Upload(tok, orgA, groupA, upload, map[string]string{"dry_run": "true"})
		}
		return s.Do(method, path, tok, body)
	}
	for i, e := range endpoints {
		name := e.method + " " + e.path
		t.Run(name, func(t *testing.T) {
			if got := send(e.method, e.path, "", e.body, e.upload); got.Status != http.StatusUnauthorized {
				t.Errorf("no token: got %d, want 401 (%s)", got.Status, got.Body)
			}
			if got := send(e.method, e.path, "mla_not-a-real-token", e.body, e.upload); got.Status != http.StatusUnauthorized {
				t.Errorf("bad token: got %d, want 401 (%s)", got.Status, got.Body)
			} else if code := got.ErrorCode(t); code != "invalid_token" {
				t.Errorf("bad token: got code %q, want invalid_token", code)
			}
			if e.privs != nil {
				tok := s.NewAdmin("lacks"+strings.Repeat("x", i)+"@test.example", nil, without(e.privs...)...)
				got := send(e.method, e.path, tok, e.body, e.upload)
				if got.Status != http.StatusForbidden || got.ErrorCode(t) != "missing_privilege" {
					t.Errorf("missing privilege: got %d %s, want 403 missing_privilege", got.Status, got.Body)
				}
				// Each of the granting privileges alone is enough to get past authorization.
				for _, p := range e.privs {
					tok := s.NewAdmin("only-"+p+strings.Repeat("y", i)+"@test.example", nil, p)
					if got := send(e.method, e.path, tok, e.body, e.upload); got.Status == http.StatusForbidden || got.Status == http.StatusUnauthorized {
						t.Errorf("privilege %s alone: got %d %s, want access", p, got.Status, got.Body)
					}
				}
			}
			if e.scoped {
				got := send(e.method, e.path, otherOrg, e.body, e.upload)
				if got.Status != http.StatusForbidden || got.ErrorCode(t) != "out_of_scope" {
					t.Errorf("other organization: got %d %s, want 403 out_of_scope", got.Status, got.Body)
				}
			}
		})
	}
}

func TestOrganizationListIsScoped(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	orgA, _ := s.Org("Alpha", 0, 3)
	s.Org("Beta", 10, 0)
	tok := s.NewAdmin("scoped@test.example", []string{orgA}, "accounts")
	var got struct {
		Organizations []store.Organization `json:"organizations"`
	}
	s.Do("GET", "/v1/organizations", tok, nil).JSON(t, &got)
	if len(got.Organizations) != 1 || got.Organizations[0].ID != orgA {
		t.Fatalf("got %+v, want only Alpha", got.Organizations)
	}
	if n := got.Organizations[0].Numbers; n.Available != 3 || n.Reserved != 0 || n.Assigned != 0 {
		t.Errorf("got counts %+v, want 3 available", n)
	}
	s.Do("GET", "/v1/organizations", s.RootToken, nil).JSON(t, &got)
	if len(got.Organizations) != 2 {
		t.Errorf("root sees %d organizations, want 2", len(got.Organizations))
	}
}

func TestCreateAdminCannotWidenItsOwnRights(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	orgA, _ := s.Org("Alpha", 0, 0)
	orgB, _ := s.Org("Beta", 10, 0)
	tok := s.NewAdmin("boss@test.example", []string{orgA}, "administrators", "accounts")
	cases := []struct {
		name string
		body map[string]any
		want int
	}{
		{"every organization", map[string]any{"email": "a@test.example", "privileges": []string{"accounts"}}, 403},
		{"another organization", map[string]any{"email": "b@test.example", "privileges": []string{"accounts"}, "organization_ids": []string{orgB}}, 403},
		{"a privilege it lacks", map[string]any{"email": "c@test.example", "privileges": []string{"numbers"}, "organization_ids": []string{orgA}}, 403},
		{"unknown privilege", map[string]any{"email": "d@test.example", "privileges": []string{"root"}, "organization_ids": []string{orgA}}, 422},
		{"bad email", map[string]any{"email": "Eve <e@test.example>", "privileges": []string{"accounts"}, "organization_ids": []string{orgA}}, 422},
		{"within its rights", map[string]any{"email": "f@test.example", "privileges": []string{"accounts"}, "organization_ids": []string{orgA}}, 201},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := s.Do("POST", "/v1/admins", tok, c.body)
			if got.Status != c.want {
				t.Fatalf("got %d %s, want %d", got.Status, got.Body, c.want)
			}
		})
	}
	// The token answered once works, and is stored only as a hash.
	var created struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	s.Do("POST", "/v1/admins", s.RootToken, map[string]any{"email": "g@test.example", "privileges": []string{"reports"}}).JSON(t, &created)
	if got := s.Do("GET", "/v1/organizations", created.Token, nil); got.Status != 200 {
		t.Errorf("new admin's token: got %d, want 200", got.Status)
	}
	var hashed, plain int
	if err := s.DB.Get(&hashed, `SELECT count(*) FROM admins WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, created.Token); err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Get(&plain, `SELECT count(*) FROM admins a WHERE position($1 in a::text) > 0`, created.Token); err != nil {
		t.Fatal(err)
	}
	if hashed != 1 || plain != 0 {
		t.Errorf("got %d rows with the token's hash and %d with the plain token, want 1 and 0", hashed, plain)
	}
}
