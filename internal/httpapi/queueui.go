package httpapi

import (
	"errors"
	"net/http"

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
// A script sends its token as Authorization: Bearer; a browser cannot for page loads, so it
// signs in at POST /admin/login and gets a session cookie (see queueui_session.go). Either
// way the admin's privilege and scope are read again at every request, so an admin who is
// removed or loses either loses the queue UI at once. Unsafe cross-origin requests are
// refused (net/http's CrossOriginProtection), which with the cookie's SameSite=Strict keeps
// other sites from driving the UI's pause, delete and run buttons through it.

const queueUIRoot = "/admin/queues"

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
// in scope, authenticated by the bearer header or, without one, the session cookie of POST
// /admin/login. A browser that is not signed in gets the sign-in form with the 401.
func (s *Server) adminOnly(h handlerFunc) http.Handler {
	return sameOrigin(s.handle(func(w http.ResponseWriter, r *http.Request) error {
		admin, err := s.queueUIAdmin(w, r)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Status == http.StatusUnauthorized && wantsHTML(r) {
				var v loginView
				if e.Code == codeSessionExpired {
					v.Message = e.readable().Message
				}
				s.renderLogin(w, http.StatusUnauthorized, v)
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

// queueUIAdmin authenticates r by its bearer header or, without one, its session cookie,
// and requires what the queue UI needs of the admin. A cookie that names no live session
// is cleared.
func (s *Server) queueUIAdmin(w http.ResponseWriter, r *http.Request) (store.Admin, error) {
	var admin store.Admin
	var err error
	if c, cerr := r.Cookie(adminCookieName); r.Header.Get("Authorization") == "" && cerr == nil && c.Value != "" {
		admin, err = s.adminBySession(r.Context(), c.Value)
		var e *Error
		if errors.As(err, &e) && e.Status == http.StatusUnauthorized {
			http.SetCookie(w, s.adminCookie(r, "", -1))
		}
	} else {
		admin, err = s.authenticate(r)
	}
	if err != nil {
		return admin, err
	}
	return admin, queueUIAllowed(admin)
}

// sameOrigin refuses unsafe requests (POST, DELETE...) that a browser marks as coming from
// another site.
func sameOrigin(h http.Handler) http.Handler {
	return http.NewCrossOriginProtection().Handler(h)
}

// queueUIAllowed requires the administrators privilege over every organization.
func queueUIAllowed(admin store.Admin) error {
	if !admin.Has(store.PrivAdministrators) {
		return errorf(http.StatusForbidden, "missing_privilege",
			"your role lacks the administrators privilege needed for the queue UI; ask an administrator to add it")
	}
	if !admin.AllOrganizations {
		return errorf(http.StatusForbidden, "out_of_scope",
			"the queue UI acts on the queues of every organization, and your scope is some of them; it is for admins of every organization")
	}
	return nil
}
