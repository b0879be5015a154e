package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// LeaseCollector reports, at scrape time, the active tasks of each queue whose lease has
// ended: the rows of a worker that died (or lost Redis) until a worker gives them back. A
// value that stays above zero means nobody gives them back.
type LeaseCollector struct {
	queues    []string
	pastLease func(ctx context.Context, queue string) (int, error)
	desc      *prometheus.Desc
}

// NewLeaseCollector returns a collector of queues counting through pastLease, normally
// (*jobs.Leases).PastLease.
func NewLeaseCollector(queues []string, pastLease func(ctx context.Context, queue string) (int, error)) *LeaseCollector {
	return &LeaseCollector{queues: queues, pastLease: pastLease,
		desc: prometheus.NewDesc(namespace+"_queue_tasks_past_lease",
			"Active tasks of a queue whose lease has ended: their worker died or lost Redis, and they wait to be given back.",
			[]string{"queue"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *LeaseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. A queue whose count fails (Redis is away, which
// multiline_redis_up reports) has no series in that scrape.
func (c *LeaseCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	for _, q := range c.queues {
		if n, err := c.pastLease(ctx, q); err == nil {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), q)
		}
	}
}
