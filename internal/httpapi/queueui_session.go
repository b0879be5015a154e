package httpapi

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

// A browser signs in to the queue UI with its admin token once, at POST /admin/login, and
// gets a session: a random 256-bit id in a cookie that only its requests to /admin send
// back (HttpOnly, SameSite=Strict, Secure over TLS or behind an https PUBLIC_URL). The
// token itself never reaches the cookie, and the database keeps only the id's SHA-256, so
// a stolen cookie is worth one session of at most adminSessionTTL, which signing out,
// deleting the admin or giving it a new token ends at once.

const (
	adminCookieName = "ml_admin_session"
	// adminSessionPrefix starts every session id, so a leaked one is easy to tell from a token.
	adminSessionPrefix = "mls_"
	// adminSessionTTL is how long a session lasts from sign-in: a working day. It does not
	// slide with use.
	adminSessionTTL = 8 * time.Hour

	codeSessionExpired = "session_expired"
)

// adminBySession returns the admin signed in with session id, as the admin is now.
func (s *Server) adminBySession(ctx context.Context, id string) (store.Admin, error) {
	admin, err := s.store.AdminBySession(ctx, token.Hash(id))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Admin{}, errorf(http.StatusUnauthorized, "invalid_session",
			"this queue UI session is not valid (signed out, or its admin removed or given a new token); sign in again at /admin/login")
	case errors.Is(err, store.ErrSessionExpired):
		return store.Admin{}, errorf(http.StatusUnauthorized, codeSessionExpired,
			"your queue UI session has expired; sign in again at /admin/login")
	}
	return admin, err
}

// adminLoginGET shows the sign-in form of the queue UI.
func (s *Server) adminLoginGET(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(adminCookieName)
	s.renderLogin(w, http.StatusOK, loginView{SignedIn: err == nil && c.Value != ""})
}

// adminLoginPOST checks the form's token and, for an administrator of every organization,
// opens a session, sets its cookie and goes to the queue UI.
func (s *Server) adminLoginPOST(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimSpace(r.PostFormValue("token"))
	var admin store.Admin
	var err error = errorf(http.StatusUnauthorized, "unauthenticated", "enter an admin token")
	if tok != "" {
		admin, err = s.adminByToken(r.Context(), tok)
		if err == nil {
			err = queueUIAllowed(admin)
		}
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			s.writeError(w, r, err)
			return
		}
		s.renderLogin(w, e.Status, loginView{Message: e.readable().Message})
		return
	}
	if info, _ := r.Context().Value(requestInfoKey).(*requestInfo); info != nil {
		info.admin = &admin
	}
	id, hash := token.New(adminSessionPrefix)
	if _, err := s.store.CreateAdminSession(r.Context(), admin.ID, hash, adminSessionTTL); err != nil {
		s.writeError(w, r, err)
		return
	}
	http.SetCookie(w, s.adminCookie(r, id, adminSessionTTL))
	http.Redirect(w, r, queueUIRoot+"/", http.StatusSeeOther)
}

// adminLogoutPOST ends the browser's session and clears its cookie.
func (s *Server) adminLogoutPOST(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(adminCookieName); err == nil && c.Value != "" {
		if err := s.store.DeleteAdminSession(r.Context(), token.Hash(c.Value)); err != nil {
			// The session lives on: say so rather than clear the cookie and pretend.
			s.writeError(w, r, err)
			return
		}
	}
	http.SetCookie(w, s.adminCookie(r, "", -1))
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// adminCookie is the session cookie holding id for age; a negative age deletes it.
func (s *Server) adminCookie(r *http.Request, id string, age time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name: adminCookieName, Value: id, Path: "/admin", HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   r.TLS != nil || strings.HasPrefix(s.cfg.PublicURL, "https://"),
		MaxAge:   int(age.Seconds()),
	}
	if age < 0 {
		c.MaxAge = -1
	}
	return c
}

// adminLoginPage is the queue UI's sign-in form: no script, no external assets.
var adminLoginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in: queue UI</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 28rem; margin: 3rem auto; padding: 0 1rem; }
label, input, button { display: block; width: 100%; box-sizing: border-box; }
input { font: inherit; padding: .5rem; margin: .25rem 0 1rem; }
button { font: inherit; padding: .5rem; }
.error { color: #a00; border-left: 4px solid #a00; padding-left: .5rem; }
</style>
</head>
<body>
<main>
<h1>Queue UI</h1>
<p>Sign in with an admin token that has the administrators privilege over every
organization. This browser gets a session of eight hours at most; the token itself is not
kept.</p>
{{if .Message}}<p class="error" role="alert">{{.Message}}</p>{{end}}
<form method="post" action="/admin/login">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
<button type="submit">Sign in</button>
</form>
{{if .SignedIn}}<form method="post" action="/admin/logout">
<p>Done? End this browser's session.</p>
<button type="submit">Sign out</button>
</form>{{end}}
</main>
</body>
</html>
`))

// loginView is what the sign-in form shows: an error, and a sign-out button for a browser
// that holds a session cookie.
type loginView struct {
	Message  string
	SignedIn bool
}

func (s *Server) renderLogin(w http.ResponseWriter, status int, v loginView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy",
		"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_ = adminLoginPage.Execute(w, v)
}

// wantsHTML reports whether r is a browser's page load rather than a script's call.
func wantsHTML(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html")
}
