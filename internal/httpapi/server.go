// Package httpapi is the service's HTTP API: a thin layer that authenticates, validates,
// stores and enqueues. It never settles rows and never sends mail.
package httpapi

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/store"
)

// Config is the part of the configuration the API needs.
type Config struct {
	MaxUploadBytes int64
	PublicURL      string
	QueueUI        *QueueUI // asynqmon under /admin/queues/; nil: not served
	// SendRate is SMTP_RATE, emails a second across the workers (0: no limit), for the
	// batches' time left.
	SendRate int
}

// Server serves the v1 API.
type Server struct {
	cfg     Config
	store   *store.Store
	queue   Queue
	log     zerolog.Logger
	metrics *metrics.API
	reg     *prometheus.Registry
	checks  []Check
	// openAPIDoc is openapi.yaml with its servers entry at cfg.PublicURL.
	openAPIDoc []byte
	guesses    *guessLimiter // activation token misses per client IP, in this process
}

// New returns the API's handler; reg is served on /metrics and holds the API's metrics.
func New(cfg Config, st *store.Store, queue Queue, reg *prometheus.Registry, log zerolog.Logger, checks ...Check) *Server {
	return &Server{
		cfg:        cfg,
		store:      st,
		queue:      queue,
		log:        log,
		metrics:    metrics.NewAPI(reg),
		reg:        reg,
		checks:     checks,
		guesses:    newGuessLimiter(),
		openAPIDoc: openAPIForServer(openAPIDocument, cfg.PublicURL),
	}
}

// Handler returns the whole API with its middleware.
func (s *Server) Handler() http.Handler {
	return s.observe(s.limitBody(s.routes()))
}

// routes lists every route of the API in one place.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", s.handle(s.healthz))
	mux.Handle("GET /readyz", Ready(s.checks...))
	mux.Handle("GET /metrics", metrics.Handler(s.reg))
	mux.HandleFunc("GET /openapi.yaml", s.openAPI)

	mux.Handle("POST /v1/admins", s.authed(s.createAdmin, store.PrivAdministrators))

	mux.Handle("GET /v1/organizations", s.authed(s.listOrganizations))
	mux.Handle("POST /v1/organizations", s.authed(s.createOrganization, store.PrivOrganizations))
	mux.Handle("GET /v1/organizations/{org}", s.authed(s.getOrganization))
	mux.Handle("PUT /v1/organizations/{org}/settings", s.authed(s.updateSettings, store.PrivOrganizations))
	mux.Handle("GET /v1/organizations/{org}/permission-groups", s.authed(s.listPermissionGroups))
	mux.Handle("POST /v1/organizations/{org}/permission-groups", s.authed(s.createPermissionGroup, store.PrivOrganizations, store.PrivAccounts))
	mux.Handle("POST /v1/organizations/{org}/numbers", s.authed(s.addNumbers, store.PrivNumbers))
	mux.Handle("GET /v1/organizations/{org}/accounts", s.authed(s.listAccounts, store.PrivAccounts))
	mux.Handle("GET /v1/organizations/{org}/accounts/template.csv", s.authed(s.accountsTemplate, store.PrivAccounts))
	mux.Handle("GET /v1/organizations/{org}/accounts/template.xlsx", s.authed(s.accountsTemplateXLSX, store.PrivAccounts))

	mux.Handle("POST /v1/organizations/{org}/batches", s.authed(s.createBatch, store.PrivAccounts))
	mux.Handle("GET /v1/organizations/{org}/batches", s.authed(s.listBatches, store.PrivAccounts, store.PrivReports))
	mux.Handle("GET /v1/batches/{id}", s.authed(s.getBatch, store.PrivAccounts, store.PrivReports))
	mux.Handle("GET /v1/batches/{id}/events", s.authed(s.batchEvents, store.PrivAccounts, store.PrivReports))
	mux.Handle("GET /v1/batches/{id}/report.csv", s.authed(s.batchReport, store.PrivAccounts, store.PrivReports))
	mux.Handle("GET /v1/batches/{id}/report.xlsx", s.authed(s.batchReportXLSX, store.PrivAccounts, store.PrivReports))
	mux.Handle("POST /v1/batches/{id}/cancel", s.authed(s.cancelBatch, store.PrivAccounts))
	mux.Handle("POST /v1/batches/{id}/resend", s.authed(s.resendBatch, store.PrivAccounts))
	mux.Handle("POST /v1/batches/{id}/undo", s.authed(s.undoBatch, store.PrivAccounts))

	mux.Handle("GET /v1/organizations/{org}/invitation-templates/{language}", s.authed(s.getInvitationTemplate, store.PrivAccounts))
	mux.Handle("PUT /v1/organizations/{org}/invitation-templates/{language}", s.authed(s.putInvitationTemplate, store.PrivAccounts))
	mux.Handle("DELETE /v1/organizations/{org}/invitation-templates/{language}", s.authed(s.deleteInvitationTemplate, store.PrivAccounts))
	mux.Handle("POST /v1/organizations/{org}/invitation-templates/{language}/preview", s.authed(s.previewInvitationTemplate, store.PrivAccounts))
	mux.Handle("POST /v1/organizations/{org}/invitations/resend", s.authed(s.resendInvitations, store.PrivAccounts))
	mux.Handle("POST /v1/accounts/move", s.authed(s.moveAccounts, store.PrivAccounts))

	// The invited user's side: the activation token in the path is the credential.
	mux.Handle("GET /v1/activation/{token}", s.handle(s.getActivation))
	mux.Handle("POST /v1/activation/{token}", s.handle(s.postActivation))
	mux.HandleFunc("GET /activate/{token}", s.activatePageGET)
	mux.HandleFunc("POST /activate/{token}", s.activatePagePOST)

	// The upload page: the browser's side of the Multiple Accounts flow, calling the API above.
	mux.HandleFunc("GET /{$}", s.uploadPageGET)
	mux.HandleFunc("GET /ui/{file}", s.uploadAssetGET)

	// Operators: asynqmon, for admins with the administrators privilege (see queueui.go).
	mux.HandleFunc("GET /admin/login", s.adminLoginGET)
	mux.Handle("POST /admin/login", sameOrigin(http.HandlerFunc(s.adminLoginPOST)))
	mux.Handle("POST /admin/logout", sameOrigin(http.HandlerFunc(s.adminLogoutPOST)))
	mux.Handle("/admin/queues/", s.queueUI())

	mux.Handle("/", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, "not_found", "no such endpoint: %s %s", r.Method, r.URL.Path)
	}))
	return mux
}

func isUploadPath(path string) bool {
	return strings.HasPrefix(path, "/v1/organizations/") && strings.HasSuffix(path, "/batches")
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}
