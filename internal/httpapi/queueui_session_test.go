package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/httpapi"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

const sessionCookie = "ml_admin_session"

func TestQueueUISession(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	srv := queueUIServer(t, s, true)
	ctx := context.Background()

	// signIn posts token to the sign-in form and returns the session cookie it sets.
	signIn := func(t *testing.T, base, tok string, client *http.Client) *http.Cookie {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/admin/login", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("sign in: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in: got %d, want 303", resp.StatusCode)
		}
		for _, c := range resp.Cookies() {
			if c.Name == sessionCookie {
				return c
			}
		}
		t.Fatalf("sign in: got cookies %v, want %s", resp.Cookies(), sessionCookie)
		return nil
	}
	withCookie := func(method, path, value string, header ...string) queueUIResponse {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Header.Set("Cookie", sessionCookie+"="+value)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return queueUIDo(t, req)
	}
	const api = "/admin/queues/api/redis_info"
	// refused checks that got is a 401 in the JSON error shape with code.
	refused := func(t *testing.T, what string, got queueUIResponse, code string) {
		t.Helper()
		if got.status != http.StatusUnauthorized {
			t.Errorf("%s: got %d %s, want 401", what, got.status, got.body)
			return
		}
		if c := queueUIError(t, what, got); c != code {
			t.Errorf("%s: got code %q, want %q", what, c, code)
		}
	}
	// newOperator is an admin of every organization with every privilege, and its id.
	newOperator := func(t *testing.T, email string) (tok, id string) {
		t.Helper()
		var privs []string
		for _, p := range store.AllPrivileges {
			privs = append(privs, string(p))
		}
		tok = s.NewAdmin(email, nil, privs...)
		a, err := s.Store.AdminByTokenHash(ctx, token.Hash(tok))
		if err != nil {
			t.Fatal(err)
		}
		return tok, a.ID
	}

	t.Run("the cookie holds a session id, never the token", func(t *testing.T) {
		c := signIn(t, srv.URL, s.RootToken, noRedirects)
		if c.Value == s.RootToken || strings.Contains(c.Value, strings.TrimPrefix(s.RootToken, httpapi.AdminTokenPrefix)) {
			t.Fatalf("cookie: got %q, which holds the admin token", c.Value)
		}
		if !strings.HasPrefix(c.Value, "mls_") || len(c.Value) != len("mls_")+43 {
			t.Errorf("cookie: got %q, want mls_ and 256 random bits", c.Value)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin" || c.Secure {
			t.Errorf("cookie: got %+v, want HttpOnly, SameSite=Strict, Path=/admin, not Secure on http", c)
		}
		if want := int((8 * time.Hour).Seconds()); c.MaxAge != want {
			t.Errorf("cookie Max-Age: got %d, want %d (8 h)", c.MaxAge, want)
		}
		if got := withCookie("GET", api, c.Value); got.status != http.StatusOK {
			t.Errorf("with the session: got %d %s, want 200", got.status, got.body)
		}
		// A cookie that holds a bearer token, as the old sign-in set it, signs nobody in.
		refused(t, "the token as the cookie", withCookie("GET", api, s.RootToken), "invalid_session")
	})

	t.Run("the database holds only the hash", func(t *testing.T) {
		tok, id := newOperator(t, "hash@test.example")
		c := signIn(t, srv.URL, tok, noRedirects)
		var rows []struct {
			TokenHash []byte    `db:"token_hash"`
			AdminID   string    `db:"admin_id"`
			CreatedAt time.Time `db:"created_at"`
			ExpiresAt time.Time `db:"expires_at"`
			Text      string    `db:"text"`
		}
		if err := s.DB.Select(&rows, `SELECT token_hash, admin_id, created_at, expires_at, row_to_json(s)::text AS text
			FROM admin_sessions s WHERE admin_id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 {
			t.Fatalf("got %d sessions of the admin, want 1", len(rows))
		}
		r := rows[0]
		if !bytes.Equal(r.TokenHash, token.Hash(c.Value)) {
			t.Errorf("token_hash: got %x, want the SHA-256 of the cookie", r.TokenHash)
		}
		if d := r.ExpiresAt.Sub(r.CreatedAt); d != 8*time.Hour {
			t.Errorf("expires_at - created_at: got %v, want 8h", d)
		}
		for what, secret := range map[string]string{"session id": c.Value, "admin token": tok} {
			plain := strings.TrimPrefix(strings.TrimPrefix(secret, "mls_"), httpapi.AdminTokenPrefix)
			if strings.Contains(r.Text, plain) {
				t.Errorf("the stored session %s holds the %s", r.Text, what)
			}
		}
	})

	t.Run("the session works until it expires, then gets 401", func(t *testing.T) {
		c := signIn(t, srv.URL, s.RootToken, noRedirects)
		page := signIn(t, srv.URL, s.RootToken, noRedirects)
		for _, v := range []string{c.Value, page.Value} {
			if got := withCookie("GET", api, v); got.status != http.StatusOK {
				t.Fatalf("before it expires: got %d %s, want 200", got.status, got.body)
			}
		}
		s.DB.MustExec(`UPDATE admin_sessions SET created_at = now() - interval '8 hours 1 second', expires_at = now() - interval '1 second'
			WHERE token_hash = ANY($1)`, pq.Array([][]byte{token.Hash(c.Value), token.Hash(page.Value)}))

		got := withCookie("GET", api, c.Value)
		refused(t, "expired", got, "session_expired")
		cleared := (&http.Response{Header: got.header}).Cookies()
		if len(cleared) != 1 || cleared[0].Name != sessionCookie || cleared[0].MaxAge >= 0 {
			t.Errorf("expired: got cookies %v, want %s cleared", cleared, sessionCookie)
		}
		var left int
		s.DB.Get(&left, `SELECT count(*) FROM admin_sessions WHERE token_hash = $1`, token.Hash(c.Value))
		if left != 0 {
			t.Errorf("got %d rows of the expired session, want it deleted", left)
		}
		refused(t, "expired, again", withCookie("GET", api, c.Value), "invalid_session")

		html := withCookie("GET", "/admin/queues/", page.Value, "Accept", "text/html")
		if html.status != http.StatusUnauthorized || !strings.Contains(html.body, `action="/admin/login"`) || !strings.Contains(html.body, "expired") {
			t.Errorf("expired page load: got %d %q, want 401 with the sign-in form saying the session expired", html.status, html.body)
		}

		// Expired sessions nobody presents again go at the next sign-in.
		stale := signIn(t, srv.URL, s.RootToken, noRedirects)
		s.DB.MustExec(`UPDATE admin_sessions SET created_at = now() - interval '9 hours', expires_at = now() - interval '1 hour'
			WHERE token_hash = $1`, token.Hash(stale.Value))
		signIn(t, srv.URL, s.RootToken, noRedirects)
		s.DB.Get(&left, `SELECT count(*) FROM admin_sessions WHERE expires_at <= now()`)
		if left != 0 {
			t.Errorf("after a sign-in: got %d expired sessions, want them deleted", left)
		}
	})

	t.Run("sign-out ends the session", func(t *testing.T) {
		c := signIn(t, srv.URL, s.RootToken, noRedirects)
		if form := withCookie("GET", "/admin/login", c.Value); !strings.Contains(form.body, `action="/admin/logout"`) {
			t.Errorf("sign-in page of a signed-in browser: want the sign-out form, got %q", form.body)
		}
		if got := withCookie("POST", "/admin/logout", c.Value, "Sec-Fetch-Site", "cross-site"); got.status != http.StatusForbidden {
			t.Errorf("cross-site sign-out: got %d, want 403", got.status)
		}
		if got := withCookie("GET", api, c.Value); got.status != http.StatusOK {
			t.Fatalf("after a refused sign-out: got %d, want 200", got.status)
		}

		got := withCookie("POST", "/admin/logout", c.Value)
		if got.status != http.StatusSeeOther || got.header.Get("Location") != "/admin/login" {
			t.Errorf("sign-out: got %d to %q, want 303 to /admin/login", got.status, got.header.Get("Location"))
		}
		cleared := (&http.Response{Header: got.header}).Cookies()
		if len(cleared) != 1 || cleared[0].Name != sessionCookie || cleared[0].MaxAge >= 0 || cleared[0].Value != "" {
			t.Errorf("sign-out: got cookies %v, want %s cleared", cleared, sessionCookie)
		}
		// A copy of the cookie taken before the sign-out is worth nothing after it.
		refused(t, "after sign-out", withCookie("GET", api, c.Value), "invalid_session")
		var left int
		s.DB.Get(&left, `SELECT count(*) FROM admin_sessions WHERE token_hash = $1`, token.Hash(c.Value))
		if left != 0 {
			t.Errorf("got %d rows of the ended session, want none", left)
		}
	})

	t.Run("a stolen cookie of a deleted admin is refused", func(t *testing.T) {
		tok, id := newOperator(t, "gone@test.example")
		c := signIn(t, srv.URL, tok, noRedirects)
		if got := withCookie("GET", api, c.Value); got.status != http.StatusOK {
			t.Fatalf("before: got %d, want 200", got.status)
		}
		s.DB.MustExec(`DELETE FROM admins WHERE id = $1`, id)
		refused(t, "deleted admin", withCookie("GET", api, c.Value), "invalid_session")
		var left int
		s.DB.Get(&left, `SELECT count(*) FROM admin_sessions WHERE admin_id = $1`, id)
		if left != 0 {
			t.Errorf("got %d sessions of the deleted admin, want none", left)
		}
	})

	t.Run("a changed admin loses the queue UI at the next request", func(t *testing.T) {
		tok, id := newOperator(t, "changed@test.example")
		c := signIn(t, srv.URL, tok, noRedirects)
		forbidden := func(what, code string) {
			t.Helper()
			got := withCookie("GET", api, c.Value)
			if got.status != http.StatusForbidden {
				t.Errorf("%s: got %d %s, want 403", what, got.status, got.body)
				return
			}
			if got := queueUIError(t, what, got); got != code {
				t.Errorf("%s: got code %q, want %q", what, got, code)
			}
		}
		s.DB.MustExec(`UPDATE admins SET privileges = '{accounts}' WHERE id = $1`, id)
		forbidden("without administrators", "missing_privilege")
		s.DB.MustExec(`UPDATE admins SET privileges = '{administrators}', all_organizations = false WHERE id = $1`, id)
		forbidden("scoped to some organizations", "out_of_scope")
		s.DB.MustExec(`UPDATE admins SET all_organizations = true WHERE id = $1`, id)
		if got := withCookie("GET", api, c.Value); got.status != http.StatusOK {
			t.Errorf("restored: got %d %s, want 200", got.status, got.body)
		}
	})

	t.Run("a new token ends the admin's sessions", func(t *testing.T) {
		tok, _ := newOperator(t, "rotated@test.example")
		c := signIn(t, srv.URL, tok, noRedirects)
		_, hash := token.New(httpapi.AdminTokenPrefix)
		if _, err := s.Store.UpsertAdminToken(ctx, "rotated@test.example", hash); err != nil {
			t.Fatal(err)
		}
		refused(t, "after a new token", withCookie("GET", api, c.Value), "invalid_session")
	})

	t.Run("Secure over TLS or behind an https PUBLIC_URL", func(t *testing.T) {
		api := httpapi.New(httpapi.Config{MaxUploadBytes: 1 << 20, PublicURL: "https://multiline.test"},
			s.Store, s.Feeder, metrics.NewRegistry(), zerolog.Nop())
		public := httptest.NewServer(api.Handler())
		t.Cleanup(public.Close)
		if c := signIn(t, public.URL, s.RootToken, noRedirects); !c.Secure {
			t.Errorf("PUBLIC_URL https: got %+v, want Secure", c)
		}

		api = httpapi.New(httpapi.Config{MaxUploadBytes: 1 << 20, PublicURL: stacktest.PublicURL},
			s.Store, s.Feeder, metrics.NewRegistry(), zerolog.Nop())
		tlsSrv := httptest.NewTLSServer(api.Handler())
		t.Cleanup(tlsSrv.Close)
		client := tlsSrv.Client()
		client.CheckRedirect = noRedirects.CheckRedirect
		if c := signIn(t, tlsSrv.URL, s.RootToken, client); !c.Secure {
			t.Errorf("TLS: got %+v, want Secure", c)
		}
	})
}
