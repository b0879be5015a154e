// Package metrics defines the Prometheus metrics an operator charts for the api and worker.
// Each process builds its own registry; nothing is registered globally.
package metrics

import (
	"net/http"

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

// API holds the api process's metrics.
type API struct {
	Requests        *prometheus.CounterVec
	RequestDuration *prometheus.HistogramVec
	Uploads         *prometheus.CounterVec
	UploadRows      prometheus.Histogram
	Enqueued        *prometheus.CounterVec
	EnqueueErrors   *prometheus.CounterVec
	DBErrors        prometheus.Counter
}

// NewAPI registers the api's metrics on reg.
func NewAPI(reg prometheus.Registerer) *API {
	m := &API{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
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
		Enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "queue", Name: "enqueued_total",
			Help: "Tasks enqueued by task type.",
		}, []string{"type"}),
		EnqueueErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "queue", Name: "enqueue_errors_total",
			Help: "Tasks that could not be enqueued (Redis unreachable); the reconciler enqueues them later.",
		}, []string{"type"}),
		DBErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "postgres", Name: "errors_total",
			Help: "Requests that failed on a PostgreSQL error.",
		}),
	}
	reg.MustRegister(m.Requests, m.RequestDuration, m.Uploads, m.UploadRows, m.Enqueued, m.EnqueueErrors, m.DBErrors)
	return m
}
