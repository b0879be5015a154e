package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/multiline/onboarding/internal/httpapi"
	"github.com/multiline/onboarding/internal/stacktest"
)

func TestReadyAnswersStatusAndChecks(t *testing.T) {
	t.Parallel()
	up := httpapi.Check{Name: "postgres", Fn: func(context.Context) error { return nil }}
	down := httpapi.Check{Name: "redis", Fn: func(context.Context) error { return errors.New("connection refused") }}
	for _, tc := range []struct {
		name   string
		checks []httpapi.Check
		code   int
		want   httpapi.Readiness
	}{
		{"all up", []httpapi.Check{up}, http.StatusOK,
			httpapi.Readiness{Status: "ok", Checks: map[string]string{"postgres": "ok"}}},
		{"one down", []httpapi.Check{up, down}, http.StatusServiceUnavailable,
			httpapi.Readiness{Status: "unavailable", Checks: map[string]string{"postgres": "ok", "redis": "connection refused"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			httpapi.Ready(tc.checks...).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			var got httpapi.Readiness
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if rec.Code != tc.code || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %d %+v, want %d %+v", rec.Code, got, tc.code, tc.want)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" && ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type: got %q, want application/json", ct)
			}
		})
	}
}

func TestAPIReadyzHasTheSharedShape(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	got := s.Do("GET", "/readyz", "", nil)
	var r httpapi.Readiness
	got.JSON(t, &r)
	if want := (httpapi.Readiness{Status: "ok", Checks: map[string]string{"postgres": "ok"}}); got.Status != http.StatusOK || !reflect.DeepEqual(r, want) {
		t.Errorf("got %d %s, want 200 %+v", got.Status, got.Body, want)
	}
}
