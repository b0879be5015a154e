package httpapi

import (
	"context"
	"net/http"
	"time"
)

// Check is one dependency that readiness pings, such as PostgreSQL or Redis.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// readyTimeout bounds the whole of a readiness answer: a probe that waits longer than its
// orchestrator's own timeout learns nothing.
const readyTimeout = 2 * time.Second

// Readiness is the answer of /readyz on the api and the worker alike.
type Readiness struct {
	Status string            `json:"status"` // "ok", or "unavailable" when any check failed
	Checks map[string]string `json:"checks"` // per dependency, "ok" or its error
}

// Ready serves /readyz for checks: 200 with status "ok" when every check answers within
// two seconds, 503 with status "unavailable" otherwise; each check's entry holds "ok" or
// its error. The api and the worker both serve it, so probes and people read one shape.
func Ready(checks ...Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		out, code := Readiness{Status: "ok", Checks: make(map[string]string, len(checks))}, http.StatusOK
		for _, c := range checks {
			if err := c.Fn(ctx); err != nil {
				out.Checks[c.Name] = err.Error()
				out.Status, code = "unavailable", http.StatusServiceUnavailable
			} else {
				out.Checks[c.Name] = "ok"
			}
		}
		writeJSON(w, code, out)
	})
}
