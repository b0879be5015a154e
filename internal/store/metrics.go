package store

import (
	"context"
	"fmt"
	"time"
)

// OrgNumberCounts is the size of one organization's number pool by state.
type OrgNumberCounts struct {
	OrganizationID string `db:"organization_id"`
	Available      int    `db:"available"`
	Reserved       int    `db:"reserved"`
	Assigned       int    `db:"assigned"`
}

// NumberCountsByOrganization counts every organization's numbers by state, for the
// metrics scrape. An organization without numbers is listed with zeros.
func (s *Store) NumberCountsByOrganization(ctx context.Context) ([]OrgNumberCounts, error) {
	// numbers_organization_state_idx makes the count an index-only scan.
	const q = `SELECT o.id AS organization_id,
			count(n.e164) FILTER (WHERE n.state = 'available') AS available,
			count(n.e164) FILTER (WHERE n.state = 'reserved') AS reserved,
			count(n.e164) FILTER (WHERE n.state = 'assigned') AS assigned
		FROM organizations o LEFT JOIN numbers n ON n.organization_id = o.id
		GROUP BY o.id
		ORDER BY o.id`
	var out []OrgNumberCounts
	if err := s.db.SelectContext(ctx, &out, q); err != nil {
		return nil, fmt.Errorf("number counts by organization: %w", mapErr(err))
	}
	return out, nil
}

// BatchBacklog says how many batches have no final status yet, how old the oldest is and how
// many of their rows are still pending.
type BatchBacklog struct {
	Unfinished  int
	OldestAge   time.Duration // zero when Unfinished is zero
	PendingRows int
	// ByOrganization is the pending rows of the TopPendingOrganizations organizations with
	// the most, by id; the rest of the organizations' are under "other".
	ByOrganization map[string]int
}

// TopPendingOrganizations bounds BatchBacklog.ByOrganization, and so the series of the gauge
// that shows it.
const TopPendingOrganizations = 10

// UnfinishedBatchBacklog reads the batch backlog for the metrics scrape. The age is measured
// by the database clock, so a worker with a skewed clock reports the same value as the rest.
func (s *Store) UnfinishedBatchBacklog(ctx context.Context) (BatchBacklog, error) {
	// batches_unfinished_idx holds exactly the rows this reads.
	const q = `SELECT count(*) AS unfinished,
			coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_seconds,
			coalesce(sum(pending), 0) AS pending_rows
		FROM batches WHERE finished_at IS NULL`
	var row struct {
		Unfinished  int     `db:"unfinished"`
		OldestAge   float64 `db:"oldest_age_seconds"`
		PendingRows int     `db:"pending_rows"`
	}
	if err := s.db.GetContext(ctx, &row, q); err != nil {
		return BatchBacklog{}, fmt.Errorf("unfinished batch backlog: %w", mapErr(err))
	}
	b := BatchBacklog{Unfinished: row.Unfinished, OldestAge: time.Duration(row.OldestAge * float64(time.Second)),
		PendingRows: row.PendingRows, ByOrganization: map[string]int{}}
	const qorgs = `SELECT organization_id::text, sum(pending)::int AS pending FROM batches
		WHERE finished_at IS NULL AND pending > 0 GROUP BY organization_id ORDER BY 2 DESC, 1 LIMIT $1`
	var orgs []struct {
		ID      string `db:"organization_id"`
		Pending int    `db:"pending"`
	}
	if err := s.db.SelectContext(ctx, &orgs, qorgs, TopPendingOrganizations); err != nil {
		return BatchBacklog{}, fmt.Errorf("pending rows by organization: %w", mapErr(err))
	}
	rest := b.PendingRows
	for _, o := range orgs {
		b.ByOrganization[o.ID] = o.Pending
		rest -= o.Pending
	}
	if rest > 0 {
		b.ByOrganization["other"] = rest
	}
	return b, nil
}

// OrganizationAccounts counts organization orgID's accounts.
func (s *Store) OrganizationAccounts(ctx context.Context, orgID string) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM accounts WHERE organization_id = $1`, orgID); err != nil {
		return 0, fmt.Errorf("count accounts: %w", mapErr(err))
	}
	return n, nil
}
