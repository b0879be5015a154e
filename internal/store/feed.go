package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// FeedHeadroom is how many rows beyond its share of the workers an organization may have
// queued: enough that the workers never wait for the next feed (each worker feeds as its
// rows settle, a feed a few milliseconds apart), few enough that another organization's new
// rows wait behind little. BenchmarkFairShare measured 128, 64 and 32: the big
// organization's rows/s did not drop, the small batch's wait fell with each.
const FeedHeadroom = 32

// Feed hands rows to the queue through a window per organization, so that one organization's
// backlog never holds back another's upload. While k organizations have rows pending, each may
// have its share of capacity (how many row tasks the workers run at once) plus FeedHeadroom
// rows queued or running: capacity/k, or what the others leave when they need less than
// theirs (max-min fairness, for the organization being fed). Feed picks the rows that bring each organization back to its window,
// from its oldest batch first (an organization's batches run in upload order), marks them
// queued and returns them for the caller to enqueue. Cancelled batches get no more rows.
//
// It feeds the organizations of batchIDs, or, when batchIDs is nil, every organization with
// rows waiting. Feeds of one organization take turns (an advisory lock), so that two never
// hand out the same rows. A row returned here whose enqueue then fails is queued on paper
// only: the reconciler enqueues the queued rows of stale batches again (QueuedLines).
func (s *Store) Feed(ctx context.Context, batchIDs []string, capacity int) ([]RowKey, error) {
	var out []RowKey
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		orgs, err := feedOrganizations(ctx, tx, batchIDs, capacity)
		if err != nil || len(orgs) == 0 {
			return err
		}
		for _, o := range orgs {
			keys, err := feedOrganization(ctx, tx, o.ID, o.Window-o.InFlight)
			if err != nil {
				return err
			}
			out = append(out, keys...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("feed rows: %w", err)
	}
	return out, nil
}

// feedOrg is an organization with rows waiting: its window and the rows it has queued or
// running.
type feedOrg struct {
	ID       string `db:"organization_id"`
	Window   int    `db:"window_size"`
	InFlight int    `db:"in_flight"`
}

// feedOrganizations locks, in id order, the organizations to feed: those of batchIDs (every
// one when nil) that have rows waiting, with their windows.
func feedOrganizations(ctx context.Context, tx *sqlx.Tx, batchIDs []string, capacity int) ([]feedOrg, error) {
	const qlock = `SELECT pg_advisory_xact_lock(7351002, hashtext(o::text)) FROM (
			SELECT DISTINCT organization_id AS o FROM batches
			WHERE unqueued > 0 AND finished_at IS NULL AND cancel_requested_at IS NULL
				AND ($1::uuid[] IS NULL OR organization_id IN (SELECT organization_id FROM batches WHERE id = ANY($1)))
			ORDER BY 1) w`
	var ids pq.StringArray
	if batchIDs != nil {
		ids = batchIDs
	}
	if _, err := tx.ExecContext(ctx, qlock, ids); err != nil {
		return nil, mapErr(err)
	}
	// Read after the locks, so that a feed that waited sees what the one before it queued.
	// An organization's share is capacity/k, or more when the others need less than theirs
	// (a small upload takes only what it needs, the rest goes on working for the big one).
	const q = `WITH demand AS (
			SELECT organization_id, sum(pending) AS pending, sum(greatest(pending - unqueued, 0)) AS in_flight
			FROM batches WHERE finished_at IS NULL AND pending > 0 GROUP BY organization_id),
		share AS (SELECT ceil($2::float8 / greatest(count(*), 1)) AS fair FROM demand)
		SELECT d.organization_id, d.in_flight::int AS in_flight,
			(greatest(share.fair, $2 - (SELECT coalesce(sum(least(o.pending, share.fair)), 0) FROM demand o
				WHERE o.organization_id <> d.organization_id)) + $3)::int AS window_size
		FROM demand d CROSS JOIN share
		WHERE d.organization_id IN (SELECT organization_id FROM batches
				WHERE unqueued > 0 AND finished_at IS NULL AND cancel_requested_at IS NULL)
			AND ($1::uuid[] IS NULL OR d.organization_id IN (SELECT organization_id FROM batches WHERE id = ANY($1)))
		ORDER BY d.organization_id`
	var orgs []feedOrg
	if err := tx.SelectContext(ctx, &orgs, q, ids, capacity, FeedHeadroom); err != nil {
		return nil, mapErr(err)
	}
	return orgs, nil
}

// feedOrganization queues up to n more rows of organization orgID, from its oldest batch with
// rows waiting on, and returns them.
func feedOrganization(ctx context.Context, tx *sqlx.Tx, orgID string, n int) ([]RowKey, error) {
	if n <= 0 {
		return nil, nil
	}
	const qb = `SELECT id, queued_through, unqueued FROM batches
		WHERE organization_id = $1 AND unqueued > 0 AND finished_at IS NULL AND cancel_requested_at IS NULL
		ORDER BY created_at, id`
	var batches []struct {
		ID            string `db:"id"`
		QueuedThrough int    `db:"queued_through"`
		Unqueued      int    `db:"unqueued"`
	}
	if err := tx.SelectContext(ctx, &batches, qb, orgID); err != nil {
		return nil, mapErr(err)
	}
	var out []RowKey
	for _, b := range batches {
		if n <= 0 {
			break
		}
		const ql = `SELECT line FROM batch_rows WHERE batch_id = $1 AND status = 'pending' AND line > $2
			ORDER BY line LIMIT $3`
		var lines []int
		if err := tx.SelectContext(ctx, &lines, ql, b.ID, b.QueuedThrough, min(n, b.Unqueued)); err != nil {
			return nil, mapErr(err)
		}
		// Fewer rows than asked for means every row waiting was found (the count was off).
		through, unqueued := b.QueuedThrough, b.Unqueued-len(lines)
		if len(lines) > 0 {
			through = lines[len(lines)-1]
		}
		if len(lines) < min(n, b.Unqueued) {
			unqueued = 0
		}
		const qu = `UPDATE batches SET queued_through = $2, unqueued = $3, enqueued_at = now() WHERE id = $1`
		if _, err := tx.ExecContext(ctx, qu, b.ID, through, unqueued); err != nil {
			return nil, mapErr(err)
		}
		for _, line := range lines {
			out = append(out, RowKey{BatchID: b.ID, Line: line})
		}
		n -= len(lines)
	}
	return out, nil
}

// QueuedLines lists the rows of batch id that are pending and were handed to the queue: each
// should have its task in Redis.
func (s *Store) QueuedLines(ctx context.Context, id string) ([]int, error) {
	const q = `SELECT r.line FROM batch_rows r JOIN batches b ON b.id = r.batch_id
		WHERE r.batch_id = $1 AND r.status = 'pending' AND r.line <= b.queued_through ORDER BY r.line`
	var lines []int
	if err := s.db.SelectContext(ctx, &lines, q, id); err != nil {
		return nil, fmt.Errorf("queued lines: %w", mapErr(err))
	}
	return lines, nil
}
