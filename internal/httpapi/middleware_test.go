package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/httpapi"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/testenv"
	"github.com/multiline/onboarding/internal/token"
)

// httpSeries returns the number of series of the API's request metrics in reg, and every
// label value they carry.
func httpSeries(t *testing.T, reg *prometheus.Registry) (int, []string) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	n := 0
	var values []string
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "multiline_http_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			n++
			for _, lp := range m.GetLabel() {
				values = append(values, lp.GetName()+"="+lp.GetValue())
			}
		}
	}
	return n, values
}

// TestRequestLabelsAreBounded sends made-up methods and paths through the API's handler and
// checks that they add no series to the request metrics after the first round: every
// label that comes from the request is from a fixed set.
func TestRequestLabelsAreBounded(t *testing.T) {
	t.Parallel()
	reg := metrics.NewRegistry()
	h := httpapi.New(httpapi.Config{MaxUploadBytes: 1 << 20}, nil, nil, reg, zerolog.Nop()).Handler()
	// Paths that reach a route, the catch-all and a subtree without touching the database;
	// %d is the round, so that no two rounds send the same path.
	paths := []string{"/qqq%d", "/v1/batches/qqq%d", "/v1/organizations/qqq%d/batches/x", "/admin/queues/qqq%d", "/healthz/qqq%d", "/%%ffqqq%d"}
	round := func(i int) {
		for _, method := range []string{fmt.Sprintf("XABC%d", i), strings.Repeat("Y", 100) + fmt.Sprint(i), "get", http.MethodGet, http.MethodPost} {
			for _, p := range paths {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(method, fmt.Sprintf(p, i), nil))
			}
		}
	}
	round(0)
	first, _ := httpSeries(t, reg)
	if first == 0 {
		t.Fatal("no request series after the first round")
	}
	for i := 1; i <= 50; i++ {
		round(i)
	}
	got, values := httpSeries(t, reg)
	if got != first {
		t.Errorf("series of multiline_http_*: got %d after 50 more rounds, want %d as after the first", got, first)
	}
	for _, v := range values {
		method, isMethod := strings.CutPrefix(v, "method=")
		if isMethod && method != http.MethodGet && method != http.MethodPost && method != "other" ||
			strings.Contains(v, "qqq") || strings.Contains(v, "XABC") || strings.Contains(v, "YYYY") {
			t.Errorf("label %s comes from the request, not from a fixed set", v)
		}
	}
}

// TestAccessLogRedactsActivationTokens captures the access log of requests to the activation
// endpoints, and of mistyped paths around them, and checks that no token appears in it.
func TestAccessLogRedactsActivationTokens(t *testing.T) {
	t.Parallel()
	db, _ := testenv.DB(t)
	var logs bytes.Buffer
	log := zerolog.New(&logs).Level(zerolog.InfoLevel)
	h := httpapi.New(httpapi.Config{MaxUploadBytes: 1 << 20}, store.New(db), nil, metrics.NewRegistry(), log).Handler()

	requests := []struct {
		method, path string // %s is the token
		body         string
		wantPath     string // the path the log must show, "" not to check
	}{
		{"GET", "/activate/%s", "", "/activate/{token}"},
		{"POST", "/activate/%s", "number=%2B15550000001", "/activate/{token}"},
		{"GET", "/v1/activation/%s", "", "/v1/activation/{token}"},
		{"POST", "/v1/activation/%s", `{"number":"+15550000001"}`, "/v1/activation/{token}"},
		{"GET", "/v1/activation/%s/", "", "/v1/activation/{token}"},
		{"GET", "/activate/%s/extra", "", "/activate/{token}"},
		{"PUT", "/Activate/%s", "", "/Activate/{token}"},
		{"GET", "//activate/%s", "", ""},
		{"GET", "/v1/../activate/%s", "", ""},
	}
	var tokens []string
	for _, rq := range requests {
		tok, _ := token.New("")
		tokens = append(tokens, tok)
		req := httptest.NewRequest(rq.method, fmt.Sprintf(rq.path, tok), strings.NewReader(rq.body))
		switch {
		case strings.HasPrefix(rq.body, "{"):
			req.Header.Set("Content-Type", "application/json")
		case rq.body != "":
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		before := logs.Len()
		h.ServeHTTP(httptest.NewRecorder(), req)
		line := logs.String()[before:]
		if !strings.Contains(line, `"message":"request"`) {
			t.Errorf("%s %s: no access log line: %q", rq.method, rq.path, line)
		}
		if rq.wantPath != "" && !strings.Contains(line, `"path":"`+rq.wantPath+`"`) {
			t.Errorf("%s %s: log %q, want path %s", rq.method, rq.path, line, rq.wantPath)
		}
	}
	for i, tok := range tokens {
		if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), tok[:16]) {
			t.Errorf("%s %s: the token is in the log:\n%s", requests[i].method, requests[i].path, logs.String())
		}
	}
}
