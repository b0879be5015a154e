package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/multiline/onboarding/internal/config"
	"github.com/multiline/onboarding/internal/httpapi"
	"github.com/multiline/onboarding/internal/metrics"
)

// TestStatusServerHasTheAPITimeouts checks that the worker's /metrics server bounds every
// phase of a connection as the API's server does: with ReadHeaderTimeout alone, a client that
// sends its body or reads its answer slowly holds a connection for good.
func TestStatusServerHasTheAPITimeouts(t *testing.T) {
	t.Parallel()
	got := statusServer(":0", metrics.NewRegistry())
	want := config.HTTPServer(":0", nil)
	for _, d := range []struct {
		name      string
		got, want any
	}{
		{"ReadHeaderTimeout", got.ReadHeaderTimeout, want.ReadHeaderTimeout},
		{"ReadTimeout", got.ReadTimeout, want.ReadTimeout},
		{"WriteTimeout", got.WriteTimeout, want.WriteTimeout},
		{"IdleTimeout", got.IdleTimeout, want.IdleTimeout},
	} {
		if d.got != d.want {
			t.Errorf("%s: got %v, want %v as the API's server", d.name, d.got, d.want)
		}
	}
	if want.ReadTimeout == 0 || want.WriteTimeout == 0 || want.IdleTimeout == 0 {
		t.Errorf("the API's server has no read, write or idle timeout: %v, %v, %v", want.ReadTimeout, want.WriteTimeout, want.IdleTimeout)
	}
}

func TestStatusServerRoutes(t *testing.T) {
	t.Parallel()
	up := httpapi.Check{Name: "postgres", Fn: func(context.Context) error { return nil }}
	down := httpapi.Check{Name: "redis", Fn: func(context.Context) error { return errors.New("dial tcp: connection refused") }}
	cases := []struct {
		path   string
		checks []httpapi.Check
		status int
		body   string
	}{
		{"/healthz", []httpapi.Check{down}, http.StatusOK, `"ok"`},
		{"/readyz", []httpapi.Check{up}, http.StatusOK, `{"status":"ok","checks":{"postgres":"ok"}}`},
		{"/readyz", []httpapi.Check{up, down}, http.StatusServiceUnavailable,
			`{"status":"unavailable","checks":{"postgres":"ok","redis":"dial tcp: connection refused"}}`},
		{"/metrics", nil, http.StatusOK, "go_goroutines"},
	}
	for _, c := range cases {
		srv := statusServer(":0", metrics.NewRegistry(), c.checks...)
		rec := httptest.NewRecorder()
		srv.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.path, nil))
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.body) {
			t.Errorf("GET %s: got %d %.200q, want %d with %q", c.path, rec.Code, rec.Body.String(), c.status, c.body)
		}
	}
}
