package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/multiline/onboarding/internal/store"
)

// BatchCollector reports, at scrape time, the batches that have not finished, the age of the
// oldest (the signal of a stuck batch), their pending rows (with the settled-rows counter, the
// signal of a stalled pipeline), and whether PostgreSQL answered the query.
type BatchCollector struct {
	backlog    func(context.Context) (store.BatchBacklog, error)
	unfinished *prometheus.Desc
	oldestAge  *prometheus.Desc
	pending    *prometheus.Desc
	byOrg      *prometheus.Desc
	up         *prometheus.Desc
}

// NewBatchCollector returns a collector reading the backlog through backlog, normally
// (*store.Store).UnfinishedBatchBacklog.
func NewBatchCollector(backlog func(context.Context) (store.BatchBacklog, error)) *BatchCollector {
	return &BatchCollector{
		backlog: backlog,
		unfinished: prometheus.NewDesc(namespace+"_batches_unfinished",
			"Batches without a final status (queued or processing).", nil, nil),
		oldestAge: prometheus.NewDesc(namespace+"_batch_oldest_unfinished_age_seconds",
			"Age of the oldest batch without a final status; 0 when there is none.", nil, nil),
		pending: prometheus.NewDesc(namespace+"_rows_pending",
			"Rows of unfinished batches not settled yet (waiting, running or retrying).", nil, nil),
		byOrg: prometheus.NewDesc(namespace+"_organization_rows_pending",
			"Pending rows of the 10 organizations with the most, by organization id; \"other\" sums the rest.",
			[]string{"organization"}, nil),
		up: prometheus.NewDesc(namespace+"_postgres_up",
			"1 when PostgreSQL answered the last scrape's query in time.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *BatchCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.unfinished
	ch <- c.oldestAge
	ch <- c.pending
	ch <- c.byOrg
	ch <- c.up
}

// Collect implements prometheus.Collector.
func (c *BatchCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	b, err := c.backlog(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(c.unfinished, prometheus.GaugeValue, float64(b.Unfinished))
	ch <- prometheus.MustNewConstMetric(c.oldestAge, prometheus.GaugeValue, b.OldestAge.Seconds())
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(b.PendingRows))
	for org, n := range b.ByOrganization {
		ch <- prometheus.MustNewConstMetric(c.byOrg, prometheus.GaugeValue, float64(n), org)
	}
}
