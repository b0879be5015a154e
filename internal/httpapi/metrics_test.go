package httpapi_test

import (
	"strings"
	"testing"

	"github.com/multiline/onboarding/internal/stacktest"
)

// TestRefusedRowsAreCounted uploads a file with two rows validation refuses: the api counts each
// by the column of its problem, in a counter that was there at zero before the upload, so that an
// operator's panel sees admins' file mistakes and the alerts on the service do not.
func TestRefusedRowsAreCounted(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	orgID, groupID := s.Org("Refused Org", 10, 5)
	series := []string{
		`multiline_rows_refused_total{column="identifier"}`,
		`multiline_rows_refused_total{column="monitor_calls"}`,
		`multiline_rows_refused_total{column="language"}`,
	}
	for _, name := range series {
		if got := apiMetric(t, s, name); got != "0" {
			t.Errorf("before any upload: %s = %q, want 0 (present from the start)", name, got)
		}
	}
	file := string(stacktest.CSV("acme.example", 1, 1)) +
		"Bad,Email,not-an-address,No,,auto,on,,English\r\n" +
		"Bad,Monitor,bad.monitor@acme.example,No,,sometimes,on,,English\r\n"
	if resp := s.Upload(s.RootToken, orgID, groupID, []byte(file), nil); resp.Status != 202 {
		t.Fatalf("upload: got %d, want 202: %s", resp.Status, resp.Body)
	}
	for name, want := range map[string]string{series[0]: "1", series[1]: "1", series[2]: "0"} {
		if got := apiMetric(t, s, name); got != want {
			t.Errorf("after the upload: %s = %q, want %s", name, got, want)
		}
	}
}

// apiMetric is the value of one series on the api's /metrics as written there, "" if absent.
func apiMetric(t *testing.T, s *stacktest.Stack, series string) string {
	t.Helper()
	got := s.Do("GET", "/metrics", "", nil)
	if got.Status != 200 {
		t.Fatalf("GET /metrics: %d", got.Status)
	}
	for _, line := range strings.Split(string(got.Body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}
