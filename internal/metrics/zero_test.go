package metrics_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/metrics"
)

// TestCountersExistAtZero checks that the counters an operator rates and alerts on are exported
// at 0 for their known label values before anything happened, so that rate() and increase()
// see the first burst and panels show 0 instead of "No data".
func TestCountersExistAtZero(t *testing.T) {
	t.Parallel()
	api := metrics.NewRegistry()
	metrics.NewAPI(api)
	worker := metrics.NewRegistry()
	metrics.NewWorker(worker, jobs.TaskTypes...)
	want := map[string][]string{
		"api": {
			`multiline_queue_enqueue_errors_total{type="row"} 0`,
			`multiline_queue_enqueue_errors_total{type="finalize"} 0`,
			`multiline_queue_enqueue_errors_total{type="invitation"} 0`,
			`multiline_queue_enqueued_total{type="row"} 0`,
			`multiline_batch_uploads_total{outcome="accepted"} 0`,
			`multiline_rows_refused_total{column="identifier"} 0`,
			`multiline_rows_refused_total{column="record"} 0`,
		},
		"worker": {
			`multiline_email_failed_total{class="transient",kind="invitation"} 0`,
			`multiline_email_failed_total{class="permanent",kind="batch_summary"} 0`,
			`multiline_email_sent_total{kind="invitation"} 0`,
			`multiline_queue_task_errors_total{type="batch:row"} 0`,
			`multiline_queue_task_errors_total{type="batch:finalize"} 0`,
			`multiline_rows_settled_total{outcome="succeeded",reason="none"} 0`,
			`multiline_rows_settled_total{outcome="succeeded",reason="gave_up"} 0`,
			`multiline_rows_settled_total{outcome="failed",reason="gave_up"} 0`,
			`multiline_rows_settled_total{outcome="canceled",reason="canceled"} 0`,
			`multiline_batch_finished_total{status="completed"} 0`,
			`multiline_queue_tasks_reclaimed_total{cause="lease_expired"} 0`,
			`multiline_queue_tasks_reclaimed_total{cause="no_payload"} 0`,
		},
	}
	for process, reg := range map[string]*prometheus.Registry{"api": api, "worker": worker} {
		rec := httptest.NewRecorder()
		metrics.Handler(reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		text := rec.Body.String()
		for _, series := range want[process] {
			if !strings.Contains(text, "\n"+series+"\n") {
				t.Errorf("%s: %s missing from a fresh registry", process, series)
			}
		}
	}
}
