package httpapi_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

// A file with semicolons gets its report offered with semicolons too: the batch says which
// delimiter its file had, its report_url asks for it, and ?delimiter= builds that report.
func TestReportInTheFilesDelimiter(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	s.StartWorker(4)
	org, group := s.Org("Semi", 0, 10)
	file := strings.ReplaceAll(string(stacktest.CSV("semi.test", 0, 3)), ",", ";")
	up := s.Upload(s.RootToken, org, group, []byte(file), map[string]string{"invite": "false"})
	if up.Status != 202 {
		t.Fatalf("upload: got %d %s", up.Status, up.Body)
	}
	var b store.Batch
	up.JSON(t, &b)
	s.WaitBatch(b.ID, 20*time.Second)

	var got struct {
		Delimiter string `json:"delimiter"`
		ReportURL string `json:"report_url"`
	}
	s.Do("GET", "/v1/batches/"+b.ID, s.RootToken, nil).JSON(t, &got)
	if got.Delimiter != ";" || !strings.HasSuffix(got.ReportURL, "/report.csv?delimiter=%3B") {
		t.Errorf("batch: got delimiter %q, report_url %q; want ; and a report_url asking for it", got.Delimiter, got.ReportURL)
	}
	header := func(query string) string {
		t.Helper()
		r := s.Do("GET", "/v1/batches/"+b.ID+"/report.csv"+query, s.RootToken, nil)
		if r.Status != 200 {
			t.Fatalf("report%s: got %d %s", query, r.Status, r.Body)
		}
		first, _, _ := bytes.Cut(bytes.TrimPrefix(r.Body, []byte("\uFEFF")), []byte("\r\n"))
		return string(first)
	}
	if h := header("?delimiter=%3B"); !strings.HasPrefix(h, "row;email address or device;firstname;") {
		t.Errorf("report with ;: got header %q", h)
	}
	if h := header("?delimiter=tab"); !strings.HasPrefix(h, "row\temail address or device\t") {
		t.Errorf("report with tabs: got header %q", h)
	}
	if h := header(""); !strings.HasPrefix(h, "row,email address or device,firstname,") {
		t.Errorf("report by default: got header %q", h)
	}
	bad := s.Do("GET", "/v1/batches/"+b.ID+"/report.csv?delimiter=%7C", s.RootToken, nil)
	if bad.Status != 400 || bad.ErrorCode(t) != "invalid_delimiter" {
		t.Errorf("delimiter |: got %d %s, want 400 invalid_delimiter", bad.Status, bad.Body)
	}
}
