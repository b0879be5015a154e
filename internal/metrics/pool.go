package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/multiline/onboarding/internal/store"
)

// scrapeTimeout bounds each PostgreSQL query a collector runs during a scrape, so a slow
// database delays /metrics by at most this much instead of timing the whole scrape out.
const scrapeTimeout = 2 * time.Second

// PoolCollector reports the number pool of every organization by state at scrape time.
// Every worker reports the same values (they read one database), so dashboards and alerts
// take max by (organization, state).
type PoolCollector struct {
	counts  func(context.Context) ([]store.OrgNumberCounts, error)
	numbers *prometheus.Desc
	needed  *prometheus.Desc
	alert   *prometheus.Desc
}

// NewPoolCollector returns a collector reading the pools through counts, normally
// (*store.Store).NumberCountsByOrganization.
func NewPoolCollector(counts func(context.Context) ([]store.OrgNumberCounts, error)) *PoolCollector {
	return &PoolCollector{
		counts: counts,
		numbers: prometheus.NewDesc(namespace+"_numbers",
			"Numbers in an organization's pool by state (available, reserved, assigned); organization is its id (mlctl orgs names it).",
			[]string{"organization", "state"}, nil),
		needed: prometheus.NewDesc(namespace+"_numbers_needed",
			"Numbers an organization's pending batch rows will take from its Available pool (Import & Invite rows without a multiline_number, and rows naming an Available one); organization is its id.",
			[]string{"organization"}, nil),
		alert: prometheus.NewDesc(namespace+"_pool_alert",
			"1 while an organization's pool alert (Threshold exceeded for invitations) is raised: its pending invitations need more numbers than are Available, or Available is under its pool_alert_threshold; it clears when the level recovers. Organization is its id.",
			[]string{"organization"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.numbers
	ch <- c.needed
	ch <- c.alert
}

// Collect implements prometheus.Collector. When the query fails it reports nothing for the
// pools: multiline_postgres_up (BatchCollector) says why the series are missing, and a
// gauge that goes absent does not fake a pool of zero.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	pools, err := c.counts(ctx)
	if err != nil {
		return
	}
	for _, p := range pools {
		for state, n := range map[string]int{"available": p.Available, "reserved": p.Reserved, "assigned": p.Assigned} {
			ch <- prometheus.MustNewConstMetric(c.numbers, prometheus.GaugeValue, float64(n), p.OrganizationID, state)
		}
		raised := 0.0
		if p.AlertRaised {
			raised = 1
		}
		ch <- prometheus.MustNewConstMetric(c.needed, prometheus.GaugeValue, float64(p.Needed), p.OrganizationID)
		ch <- prometheus.MustNewConstMetric(c.alert, prometheus.GaugeValue, raised, p.OrganizationID)
	}
}
