// Package metrics defines the Prometheus metrics an operator charts for the api and worker.
// Each process builds its own registry; nothing is registered globally.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "multiline"

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves reg in the Prometheus text format.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// API holds the api process's metrics. Requests are counted through ObserveRequest, which
// keeps their labels to a fixed set.
type API struct {
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	Uploads         *prometheus.CounterVec
	UploadRows      prometheus.Histogram
	RowsRefused     *prometheus.CounterVec
	Enqueued        *prometheus.CounterVec
	EnqueueErrors   *prometheus.CounterVec
	DBErrors        prometheus.Counter
}

// Task kinds the api enqueues, the label values of Enqueued and EnqueueErrors.
const (
	TaskRow        = "row"        // an upload's row tasks
	TaskFinalize   = "finalize"   // the finalizer of a canceled or empty batch
	TaskInvitation = "invitation" // Resend Invitation and Move
)

// UploadOutcomes are the outcomes of an upload other than a refused file's error code, which
// the api adds as they happen (a fixed set too: the codes of its errors).
var UploadOutcomes = []string{"accepted", "dry_run"}

// NewAPI registers the api's metrics on reg.
func NewAPI(reg prometheus.Registerer) *API {
	m := &API{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		Uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "batch", Name: "uploads_total",
			Help: "Batch uploads by outcome: accepted, dry_run, or the error code of a refused file.",
		}, []string{"outcome"}),
		UploadRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "batch", Name: "upload_rows",
			Help:    "Data rows per accepted upload.",
			Buckets: []float64{1, 10, 50, 100, 250, 500, 750, 1000},
		}),
		RowsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "rows", Name: "refused_total",
			Help: "Rows of accepted uploads refused by validation (the admin's file, not the service), by the column of their first problem; they fail with reason invalid_value without reaching a worker.",
		}, []string{"column"}),
		Enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "queue", Name: "enqueued_total",
			Help: "Tasks enqueued, by kind (row, finalize, invitation).",
		}, []string{"type"}),
		EnqueueErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "queue", Name: "enqueue_errors_total",
			Help: "Enqueues that failed (Redis unreachable), by kind (row, finalize, invitation); the reconciler enqueues them later.",
		}, []string{"type"}),
		DBErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "postgres", Name: "errors_total",
			Help: "Requests that failed on a PostgreSQL error.",
		}),
	}
	for _, kind := range []string{TaskRow, TaskFinalize, TaskInvitation} {
		m.Enqueued.WithLabelValues(kind)
		m.EnqueueErrors.WithLabelValues(kind)
	}
	for _, outcome := range UploadOutcomes {
		m.Uploads.WithLabelValues(outcome)
	}
	for _, column := range RefusedColumns {
		m.RowsRefused.WithLabelValues(column)
	}
	reg.MustRegister(m.requests, m.requestDuration, m.Uploads, m.UploadRows, m.RowsRefused, m.Enqueued,
		m.EnqueueErrors, m.DBErrors)
	return m
}

// ObserveRequest counts one request and its latency. route must be a pattern of the API's
// ServeMux (or a fixed word such as "unmatched"), never a raw path. The method and the code
// come from the client or from code it can steer, and every distinct label value is a series
// kept in memory for good: values outside a fixed set are counted as "other".
func (m *API) ObserveRequest(route, method string, code int, elapsed time.Duration) {
	method = methodLabel(method)
	m.requests.WithLabelValues(route, method, codeLabel(code)).Inc()
	m.requestDuration.WithLabelValues(route, method).Observe(elapsed.Seconds())
}

// methodLabel is method when it is one of the methods of RFC 9110 and RFC 5789, "other" for
// anything else a client may send ("XABC123", "get").
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "other"
}

// codeLabel is the status code in decimal when net/http knows it, "other" otherwise.
func codeLabel(code int) string {
	if http.StatusText(code) == "" {
		return "other"
	}
	return strconv.Itoa(code)
}
