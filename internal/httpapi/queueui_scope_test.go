package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/httpapi"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

// queueUIError decodes got as the API's JSON error shape and returns its code, failing the
// test when it is anything else.
func queueUIError(t *testing.T, what string, got queueUIResponse) string {
	t.Helper()
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if !strings.HasPrefix(got.header.Get("Content-Type"), "application/json") || json.Unmarshal([]byte(got.body), &e) != nil ||
		e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("%s: got %s %q, want the JSON error shape", what, got.header.Get("Content-Type"), got.body)
		return ""
	}
	return e.Error.Code
}

func TestQueueUIOnlyForAdminsOfEveryOrganization(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	srv := queueUIServer(t, s, true)
	org, group := s.Org("Acme", 0, 10)
	var privs []string
	for _, p := range store.AllPrivileges {
		privs = append(privs, string(p))
	}
	scoped := s.NewAdmin("scoped@test.example", []string{org}, privs...)
	// A session of the scoped admin, as if its scope had been narrowed after it signed in
	// (the sign-in form refuses it, below).
	scopedAdmin, err := s.Store.AdminByTokenHash(context.Background(), token.Hash(scoped))
	if err != nil {
		t.Fatal(err)
	}
	scopedSession, hash := token.New("mls_")
	if _, err := s.Store.CreateAdminSession(context.Background(), scopedAdmin.ID, hash, time.Hour); err != nil {
		t.Fatal(err)
	}

	// No worker runs: the batch's row tasks wait in the stack's rows queue.
	if up := s.Upload(s.RootToken, org, group, stacktest.CSV("acme.test", 0, 3), map[string]string{"invite": "false"}); up.Status != http.StatusAccepted {
		t.Fatalf("upload: got %d %s, want 202", up.Status, up.Body)
	}
	rows := s.Queues.Rows()
	before, err := s.Inspector.GetQueueInfo(rows)
	if err != nil || before.Pending == 0 {
		t.Fatalf("rows queue: got %+v, %v; want pending tasks", before, err)
	}

	do := func(method, path string, auth ...string) queueUIResponse {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		for i := 0; i+1 < len(auth); i += 2 {
			req.Header.Set(auth[i], auth[i+1])
		}
		return queueUIDo(t, req)
	}
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

	t.Run("scoped admin", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{
			{"GET", "/admin/queues/"},
			{"GET", "/admin/queues/api/redis_info"},
			{"GET", "/admin/queues/api/servers"},
			{"GET", "/admin/queues/api/queues"},
			{"GET", "/admin/queues/api/queues/" + rows + "/pending_tasks"},
			{"POST", "/admin/queues/api/queues/" + rows + ":pause"},
			{"DELETE", "/admin/queues/api/queues/" + rows + "/pending_tasks:delete_all"},
			{"DELETE", "/admin/queues/api/queues/" + rows},
		} {
			for how, auth := range map[string][]string{"bearer": bearer(scoped), "cookie": {"Cookie", "ml_admin_session=" + scopedSession}} {
				name := c.method + " " + strings.Replace(c.path, rows, "{rows}", 1) + " by " + how
				got := do(c.method, c.path, auth...)
				if got.status != http.StatusForbidden {
					t.Errorf("%s: got %d %s, want 403", name, got.status, got.body)
					continue
				}
				if code := queueUIError(t, name, got); code != "out_of_scope" {
					t.Errorf("%s: got code %q, want out_of_scope", name, code)
				}
			}
		}
		after, err := s.Inspector.GetQueueInfo(rows)
		if err != nil {
			t.Fatalf("rows queue: %v", err)
		}
		if after.Paused || after.Pending != before.Pending {
			t.Errorf("rows queue after the scoped admin: got paused %v with %d pending, want not paused with %d",
				after.Paused, after.Pending, before.Pending)
		}
	})

	t.Run("scoped admin cannot sign in", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/admin/login", strings.NewReader("token="+scoped))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if got := queueUIDo(t, req); got.status != http.StatusForbidden || got.header.Get("Set-Cookie") != "" {
			t.Errorf("got %d with cookie %q, want 403 and no cookie", got.status, got.header.Get("Set-Cookie"))
		}
	})

	t.Run("admin of every organization", func(t *testing.T) {
		for _, path := range []string{"/admin/queues/", "/admin/queues/api/redis_info", "/admin/queues/api/servers"} {
			if got := do("GET", path, bearer(s.RootToken)...); got.status != http.StatusOK {
				t.Errorf("GET %s: got %d %s, want 200", path, got.status, got.body)
			}
		}
		paused := func(want bool) {
			t.Helper()
			info, err := s.Inspector.GetQueueInfo(rows)
			if err != nil {
				t.Fatalf("rows queue: %v", err)
			}
			if info.Paused != want {
				t.Errorf("rows queue paused: got %v, want %v", info.Paused, want)
			}
		}
		for _, c := range []struct {
			method, path string
			want         int
			code         string // of the JSON error; "" for a success
			paused       bool
		}{
			{"POST", ":pause", http.StatusNoContent, "", true},
			{"POST", ":pause", http.StatusConflict, "queue_paused_already", true},
			{"POST", ":resume", http.StatusNoContent, "", false},
			{"POST", ":resume", http.StatusConflict, "queue_not_paused", false},
		} {
			name := c.method + " {rows}" + c.path
			got := do(c.method, "/admin/queues/api/queues/"+rows+c.path, bearer(s.RootToken)...)
			if got.status != c.want {
				t.Errorf("%s: got %d %s, want %d", name, got.status, got.body, c.want)
			}
			if c.code != "" {
				if code := queueUIError(t, name, got); code != c.code {
					t.Errorf("%s: got code %q, want %q", name, code, c.code)
				}
			}
			paused(c.paused)
		}
	})

	t.Run("client mistakes answer 4xx in the JSON shape", func(t *testing.T) {
		missing := s.Redis.Prefix + "no-such-queue"
		for _, c := range []struct {
			method, path string
			want         int
			code         string
		}{
			{"GET", "/admin/queues/api/queues/%20", http.StatusBadRequest, "invalid_queue_name"},
			{"POST", "/admin/queues/api/queues/%20:resume", http.StatusBadRequest, "invalid_queue_name"},
			{"GET", "/admin/queues/api/queues/" + missing, http.StatusNotFound, "queue_not_found"},
			{"GET", "/admin/queues/api/queues/" + missing + "/pending_tasks", http.StatusNotFound, "queue_not_found"},
			{"DELETE", "/admin/queues/api/queues/" + missing + "/pending_tasks:delete_all", http.StatusNotFound, "queue_not_found"},
			{"POST", "/admin/queues/api/queues/" + missing + ":resume", http.StatusConflict, "queue_not_paused"},
			{"GET", "/admin/queues/api/queues/" + rows + "/tasks/no-such-task", http.StatusNotFound, "task_not_found"},
			{"POST", "/admin/queues/api/queues/" + rows + "/pending_tasks:batch_delete", http.StatusBadRequest, "invalid_request"},
			{"PUT", "/admin/queues/api/queues", http.StatusMethodNotAllowed, "method_not_allowed"},
			{"GET", "/admin/queues/api/metrics", http.StatusNotFound, "queue_metrics_disabled"},
		} {
			name := c.method + " " + c.path
			got := do(c.method, c.path, bearer(s.RootToken)...)
			if got.status != c.want {
				t.Errorf("%s: got %d %s, want %d", name, got.status, got.body, c.want)
			}
			if code := queueUIError(t, name, got); code != c.code {
				t.Errorf("%s: got code %q, want %q", name, code, c.code)
			}
		}
	})

	t.Run("asynqmon's page gets the status and its text", func(t *testing.T) {
		// The page renders an error answer's body as a string; JSON would blank it.
		page := append(bearer(s.RootToken), "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "same-origin")
		for _, c := range []struct {
			method, path string
			want         int
			text         string
		}{
			{"GET", "/admin/queues/api/queues/" + rows + "/tasks/no-such-task", http.StatusNotFound, "Task not found"},
			{"POST", "/admin/queues/api/queues/" + rows + ":resume", http.StatusConflict, "is not paused"},
		} {
			got := do(c.method, c.path, page...)
			if got.status != c.want || !strings.HasPrefix(got.header.Get("Content-Type"), "text/plain") || !strings.Contains(got.body, c.text) {
				t.Errorf("%s %s from the page: got %d %s %q, want %d text/plain with %q",
					c.method, c.path, got.status, got.header.Get("Content-Type"), got.body, c.want, c.text)
			}
		}
	})

	t.Run("Redis unreachable answers 500 in the JSON shape", func(t *testing.T) {
		ui := httpapi.NewQueueUI(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: time.Second})
		t.Cleanup(func() { ui.Close() })
		api := httpapi.New(httpapi.Config{MaxUploadBytes: 1 << 20, PublicURL: stacktest.PublicURL, QueueUI: ui},
			s.Store, s.Feeder, metrics.NewRegistry(), zerolog.Nop())
		down := httptest.NewServer(api.Handler())
		t.Cleanup(down.Close)
		req, _ := http.NewRequest(http.MethodGet, down.URL+"/admin/queues/api/servers", nil)
		req.Header.Set("Authorization", "Bearer "+s.RootToken)
		got := queueUIDo(t, req)
		if got.status != http.StatusInternalServerError {
			t.Errorf("got %d %s, want 500", got.status, got.body)
		}
		if code := queueUIError(t, "GET /admin/queues/api/servers", got); code != "internal_error" {
			t.Errorf("got code %q, want internal_error", code)
		}
	})
}
