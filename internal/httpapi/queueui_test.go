package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/httpapi"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/stacktest"
)

// queueUIServer is the API of s with the queue UI on s's Redis.
func queueUIServer(t *testing.T, s *stacktest.Stack, withUI bool) *httptest.Server {
	t.Helper()
	cfg := httpapi.Config{MaxUploadBytes: 1 << 20, PublicURL: stacktest.PublicURL}
	if withUI {
		cfg.QueueUI = httpapi.NewQueueUI(s.Redis.Opt)
		t.Cleanup(func() { cfg.QueueUI.Close() })
	}
	api := httpapi.New(cfg, s.Store, s.Feeder, metrics.NewRegistry(), zerolog.Nop())
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type queueUIResponse struct {
	status int
	header http.Header
	body   string
}

func queueUIDo(t *testing.T, req *http.Request) queueUIResponse {
	t.Helper()
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return queueUIResponse{resp.StatusCode, resp.Header, string(b)}
}

func TestQueueUI(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	srv := queueUIServer(t, s, true)
	lacks := s.NewAdmin("ops@test.example", nil, "accounts", "numbers", "organizations", "reports")

	get := func(path, bearer string, header ...string) queueUIResponse {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return queueUIDo(t, req)
	}

	// api/redis_info, not api/queues: the queue list is Redis-wide, and tests running at the
	// same time add and remove their queues while asynqmon reads them.
	for _, path := range []string{"/admin/queues/", "/admin/queues/api/redis_info"} {
		t.Run("bearer "+path, func(t *testing.T) {
			for _, c := range []struct {
				name, token string
				want        int
			}{
				{"no token", "", http.StatusUnauthorized},
				{"bad token", "mla_not-a-real-token", http.StatusUnauthorized},
				{"without administrators", lacks, http.StatusForbidden},
				{"administrators", s.RootToken, http.StatusOK},
			} {
				if got := get(path, c.token); got.status != c.want {
					t.Errorf("%s: got %d, want %d (%s)", c.name, got.status, c.want, got.body)
				}
			}
		})
	}

	t.Run("page and api answer what asynqmon answers", func(t *testing.T) {
		page := get("/admin/queues/", s.RootToken)
		if !strings.Contains(page.body, "Asynq - Monitoring") || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
			t.Errorf("page: got %s %q, want asynqmon's HTML", page.header.Get("Content-Type"), page.body[:min(200, len(page.body))])
		}
		if got := page.header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("X-Frame-Options: got %q, want DENY", got)
		}
		api := get("/admin/queues/api/redis_info", s.RootToken)
		if !strings.Contains(api.body, `"address"`) {
			t.Errorf("api: got %s, want asynqmon's Redis info", api.body)
		}
	})

	t.Run("a browser without a session gets the sign-in form", func(t *testing.T) {
		got := get("/admin/queues/", "", "Accept", "text/html,application/xhtml+xml")
		if got.status != http.StatusUnauthorized || !strings.Contains(got.body, `action="/admin/login"`) {
			t.Errorf("got %d %q, want 401 with the sign-in form", got.status, got.body)
		}
	})

	login := func(token string, header ...string) queueUIResponse {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/admin/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return queueUIDo(t, req)
	}

	t.Run("cookie session", func(t *testing.T) {
		got := login(s.RootToken)
		if got.status != http.StatusSeeOther || got.header.Get("Location") != "/admin/queues/" {
			t.Fatalf("login: got %d to %q, want 303 to /admin/queues/", got.status, got.header.Get("Location"))
		}
		cookies := (&http.Response{Header: got.header}).Cookies()
		if len(cookies) != 1 {
			t.Fatalf("login: got %d cookies, want 1", len(cookies))
		}
		c := cookies[0]
		if c.Name != "ml_admin_session" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin" || c.MaxAge <= 0 || c.MaxAge > 8*3600 || c.Secure {
			t.Errorf("cookie: got %+v, want ml_admin_session, HttpOnly, SameSite=Strict, Path=/admin, Max-Age at most 8 h, not Secure on http", c)
		}
		for _, path := range []string{"/admin/queues/", "/admin/queues/api/redis_info"} {
			if got := get(path, "", "Cookie", c.Name+"="+c.Value); got.status != http.StatusOK {
				t.Errorf("GET %s with the cookie: got %d, want 200 (%s)", path, got.status, got.body)
			}
		}
		// A cross-site form or script cannot use the session to change the queues.
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/admin/queues/api/queues/default:pause", nil)
		req.Header.Set("Cookie", c.Name+"="+c.Value)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if got := queueUIDo(t, req); got.status != http.StatusForbidden {
			t.Errorf("cross-site POST: got %d, want 403", got.status)
		}
	})

	t.Run("sign-in refused", func(t *testing.T) {
		for _, c := range []struct {
			name, token string
			want        int
		}{
			{"no token", "", http.StatusUnauthorized},
			{"bad token", "mla_not-a-real-token", http.StatusUnauthorized},
			{"without administrators", lacks, http.StatusForbidden},
		} {
			got := login(c.token)
			if got.status != c.want || got.header.Get("Set-Cookie") != "" {
				t.Errorf("%s: got %d with cookie %q, want %d and no cookie", c.name, got.status, got.header.Get("Set-Cookie"), c.want)
			}
		}
		if got := login(s.RootToken, "Sec-Fetch-Site", "cross-site"); got.status != http.StatusForbidden {
			t.Errorf("cross-site sign-in: got %d, want 403", got.status)
		}
	})

	t.Run("an unknown session is refused", func(t *testing.T) {
		if got := get("/admin/queues/api/queues", "", "Cookie", "ml_admin_session=mls_unknown"); got.status != http.StatusUnauthorized {
			t.Errorf("got %d, want 401", got.status)
		}
	})

	t.Run("not configured", func(t *testing.T) {
		off := queueUIServer(t, s, false)
		req, _ := http.NewRequest(http.MethodGet, off.URL+"/admin/queues/api/queues", nil)
		req.Header.Set("Authorization", "Bearer "+s.RootToken)
		if got := queueUIDo(t, req); got.status != http.StatusNotFound {
			t.Errorf("got %d, want 404", got.status)
		}
	})
}
