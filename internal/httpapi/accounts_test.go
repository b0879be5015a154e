package httpapi_test

import (
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

type accountPage struct {
	Accounts []store.Account `json:"accounts"`
	Total    *int            `json:"total"`
	Next     *string         `json:"next"`
}

func TestListAccountsPages(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	s.StartWorker(4)
	up := s.Upload(s.RootToken, org, group, stacktest.CSV("acme.test", 0, 7), map[string]string{"invite": "false"})
	var b store.Batch
	up.JSON(t, &b)
	if done := s.WaitBatch(b.ID, 30*time.Second); done.Succeeded != 7 {
		t.Fatalf("batch: got %d succeeded, want 7", done.Succeeded)
	}
	base := "/v1/organizations/" + org + "/accounts"
	get := func(query url.Values) accountPage {
		t.Helper()
		got := s.Do("GET", base+"?"+query.Encode(), s.RootToken, nil)
		if got.Status != http.StatusOK {
			t.Fatalf("GET %s?%s: got %d %s, want 200", base, query.Encode(), got.Status, got.Body)
		}
		var p accountPage
		got.JSON(t, &p)
		return p
	}

	t.Run("one page", func(t *testing.T) {
		p := get(url.Values{})
		if len(p.Accounts) != 7 || p.Total == nil || *p.Total != 7 || p.Next != nil {
			t.Errorf("got %d accounts, total %v, next %v; want 7, 7 and null", len(p.Accounts), deref(p.Total), deref(p.Next))
		}
	})

	t.Run("pages of three", func(t *testing.T) {
		all := get(url.Values{}).Accounts
		var got []store.Account
		var sizes []int
		q := url.Values{"limit": {"3"}}
		for range 5 {
			p := get(q)
			if p.Total == nil || *p.Total != 7 {
				t.Errorf("page %d: got total %v, want 7", len(sizes)+1, deref(p.Total))
			}
			got = append(got, p.Accounts...)
			sizes = append(sizes, len(p.Accounts))
			if p.Next == nil {
				break
			}
			q.Set("after", *p.Next)
		}
		if len(sizes) != 3 || sizes[0] != 3 || sizes[1] != 3 || sizes[2] != 1 {
			t.Fatalf("got pages of %v, want [3 3 1] and next null on the last", sizes)
		}
		for i := range all {
			if got[i].ID != all[i].ID {
				t.Errorf("account %d: got %s, want %s (the order of the single page)", i, got[i].ID, all[i].ID)
			}
		}
	})

	t.Run("bad cursor", func(t *testing.T) {
		for _, q := range []url.Values{
			{"after": {"not-a-cursor"}},
			{"after": {"MTIzLm5vdC1hLXV1aWQ"}}, // "123.not-a-uuid"
		} {
			got := s.Do("GET", base+"?"+q.Encode(), s.RootToken, nil)
			if got.Status != http.StatusBadRequest || got.ErrorCode(t) != "invalid_after" {
				t.Errorf("GET ?%s: got %d %s, want 400 invalid_after", q.Encode(), got.Status, got.Body)
			}
		}
		next := get(url.Values{"limit": {"1"}}).Next
		if next == nil {
			t.Fatal("limit 1: got next null, want a cursor")
		}
		q := url.Values{"after": {*next}, "offset": {"2"}}
		if got := s.Do("GET", base+"?"+q.Encode(), s.RootToken, nil); got.Status != http.StatusBadRequest {
			t.Errorf("after with offset: got %d %s, want 400", got.Status, got.Body)
		}
	})
}

// TestOpenAPIDescribesAccountPages keeps openapi.yaml in step with the page of accounts.
func TestOpenAPIDescribesAccountPages(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatal(err)
	}
	op := doc.Paths.Find("/v1/organizations/{org}/accounts").Get
	if op.Parameters.GetByInAndName("query", "after") == nil || op.Parameters.GetByInAndName("query", "limit") == nil {
		t.Errorf("listAccounts: want query parameters after and limit")
	}
	schema := op.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
	for _, p := range []string{"accounts", "total", "next"} {
		if schema.Properties[p] == nil {
			t.Errorf("listAccounts 200: no property %q", p)
		}
	}
	if next := schema.Properties["next"]; next != nil && !next.Value.Nullable {
		t.Errorf("listAccounts 200: next is not nullable, want null on the last page")
	}
}
