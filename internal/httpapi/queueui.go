package httpapi

import (
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"

	"github.com/multiline/onboarding/internal/store"
)

// The queue UI is asynqmon under /admin/queues/, for operators: admins with the
// administrators privilege whose scope is every organization. The queues are shared by
// every organization (one rows queue for all batches), so whoever pauses a queue, deletes
// its tasks or reads their payloads acts on every organization; an admin scoped to some of
// them gets 403, on the page and on every call of its API.
//
// A script sends its token as Authorization: Bearer; a browser cannot for page loads, so
// POST /admin/login checks the token once and keeps it in a cookie that only the browser's
// requests to /admin send back (HttpOnly, SameSite=Strict, Secure behind https, one hour).
// Every request is authenticated again from that token, so revoking the admin ends the
// session at once. Unsafe cross-origin requests are refused (net/http's
// CrossOriginProtection), which with SameSite=Strict keeps other sites from driving the
// UI's pause, delete and run buttons through the cookie.

const (
	queueUIRoot     = "/admin/queues"
	adminCookieName = "ml_admin_token"
	adminCookieAge  = time.Hour
)

// QueueUI is asynqmon's handler; main opens it with the API's Redis and closes it on exit.
type QueueUI struct {
	h *asynqmon.HTTPHandler
}

// NewQueueUI returns the queue UI for the Asynq queues in the Redis of opt. It connects
// lazily, on the first request.
func NewQueueUI(opt asynq.RedisConnOpt) *QueueUI {
	return &QueueUI{h: asynqmon.New(asynqmon.Options{RootPath: queueUIRoot, RedisConnOpt: opt})}
}

// Close closes the queue UI's Redis connections.
func (q *QueueUI) Close() error { return q.h.Close() }

// queueUI serves asynqmon to administrators of every organization.
func (s *Server) queueUI() http.Handler {
	return s.adminOnly(func(w http.ResponseWriter, r *http.Request) error {
		if s.cfg.QueueUI == nil {
			return errorf(http.StatusNotFound, "queue_ui_disabled", "the queue UI is not configured on this server")
		}
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Cache-Control", "no-store")
		s.serveAsynqmon(w, r)
		return nil
	})
}

// adminOnly runs h for an admin with the administrators privilege and every organization
// in scope, authenticated by the bearer header or, failing that, the cookie of POST
// /admin/login. A browser that is not signed in gets the sign-in form with the 401.
func (s *Server) adminOnly(h handlerFunc) http.Handler {
	return sameOrigin(s.handle(func(w http.ResponseWriter, r *http.Request) error {
		if r.Header.Get("Authorization") == "" {
			if c, err := r.Cookie(adminCookieName); err == nil && c.Value != "" {
				r = r.Clone(r.Context())
				r.Header.Set("Authorization", "Bearer "+c.Value)
			}
		}
		admin, err := s.adminWithPrivilege(r)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Status == http.StatusUnauthorized && wantsHTML(r) {
				s.renderLogin(w, http.StatusUnauthorized, "")
				return nil
			}
			return err
		}
		if info, _ := r.Context().Value(requestInfoKey).(*requestInfo); info != nil {
			info.admin = &admin
		}
		return h(w, r)
	}))
}

// sameOrigin refuses unsafe requests (POST, DELETE...) that a browser marks as coming from
// another site.
func sameOrigin(h http.Handler) http.Handler {
	return http.NewCrossOriginProtection().Handler(h)
}

// adminWithPrivilege authenticates r's bearer token and requires administrators over every
// organization.
func (s *Server) adminWithPrivilege(r *http.Request) (store.Admin, error) {
	admin, err := s.authenticate(r)
	if err != nil {
		return admin, err
	}
	if !admin.Has(store.PrivAdministrators) {
		return admin, errorf(http.StatusForbidden, "missing_privilege",
			"your role lacks the administrators privilege needed for the queue UI; ask an administrator to add it")
	}
	if !admin.AllOrganizations {
		return admin, errorf(http.StatusForbidden, "out_of_scope",
			"the queue UI acts on the queues of every organization, and your scope is some of them; it is for admins of every organization")
	}
	return admin, nil
}

// adminLoginGET shows the sign-in form of the queue UI.
func (s *Server) adminLoginGET(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, http.StatusOK, "")
}

// adminLoginPOST checks the form's token and, for an administrator of every organization,
// sets the cookie and goes to the queue UI.
func (s *Server) adminLoginPOST(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimSpace(r.PostFormValue("token"))
	check := r.Clone(r.Context())
	check.Header.Set("Authorization", "Bearer "+tok)
	if tok == "" {
		check.Header.Del("Authorization")
	}
	admin, err := s.adminWithPrivilege(check)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			s.writeError(w, r, err)
			return
		}
		s.renderLogin(w, e.Status, e.Message)
		return
	}
	if info, _ := r.Context().Value(requestInfoKey).(*requestInfo); info != nil {
		info.admin = &admin
	}
	http.SetCookie(w, s.adminCookie(tok, adminCookieAge))
	http.Redirect(w, r, queueUIRoot+"/", http.StatusSeeOther)
}

// adminLogoutPOST forgets the cookie.
func (s *Server) adminLogoutPOST(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.adminCookie("", -1))
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

func (s *Server) adminCookie(value string, age time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name: adminCookieName, Value: value, Path: "/admin", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: strings.HasPrefix(s.cfg.PublicURL, "https://"),
		MaxAge: int(age.Seconds()),
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
organization. The token is kept in a cookie for this browser for one hour.</p>
{{if .}}<p class="error" role="alert">{{.}}</p>{{end}}
<form method="post" action="/admin/login">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`))

func (s *Server) renderLogin(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy",
		"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_ = adminLoginPage.Execute(w, message)
}

// wantsHTML reports whether r is a browser's page load rather than a script's call.
func wantsHTML(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html")
}
