package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

// TestSmallBatchBesideABacklog: organization Big has ten 100-row batches waiting when
// organization Small uploads 10 rows. Small's rows wait behind Big's window, not its
// backlog: they have all settled before a fifth of Big's rows have (with one FIFO queue,
// they came after all 1,000). Big's batches start in upload order, and every row settles once.
func TestSmallBatchBesideABacklog(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	big, bigGroup := s.Org("Big", 0, 1000)
	small, smallGroup := s.Org("Small", 5000, 10)
	w := s.StartWorker(4)
	// Nothing runs until every batch is stored, so that the order of the queue is all that
	// decides; the worker is up, so the windows are sized by its concurrency.
	if err := s.Inspector.PauseQueue(s.Queues.Rows()); err != nil {
		t.Fatal(err)
	}
	var bigIDs []string
	for i := range 10 {
		resp := s.Upload(s.RootToken, big, bigGroup, stacktest.CSV("big.test", 100*i, 100), nil)
		if resp.Status != 202 {
			t.Fatalf("upload %d: %d %s", i, resp.Status, resp.Body)
		}
		var b store.Batch
		resp.JSON(t, &b)
		bigIDs = append(bigIDs, b.ID)
	}
	resp := s.Upload(s.RootToken, small, smallGroup, stacktest.CSV("small.test", 0, 10), nil)
	if resp.Status != 202 {
		t.Fatalf("small upload: %d %s", resp.Status, resp.Body)
	}
	var smallBatch store.Batch
	resp.JSON(t, &smallBatch)
	smallID := smallBatch.ID
	if err := s.Inspector.UnpauseQueue(s.Queues.Rows()); err != nil {
		t.Fatal(err)
	}
	for _, id := range append(bigIDs, smallID) {
		if b := s.WaitBatch(id, 2*time.Minute); b.Succeeded != b.Total {
			t.Fatalf("batch %s: %d of %d succeeded", id, b.Succeeded, b.Total)
		}
	}

	ctx := context.Background()
	var before int
	if err := s.Store.DB().GetContext(ctx, &before, `SELECT count(*) FROM batch_rows r JOIN batches b ON b.id = r.batch_id
		WHERE b.organization_id = $1 AND r.settled_at < (SELECT max(settled_at) FROM batch_rows WHERE batch_id = $2)`,
		big, smallID); err != nil {
		t.Fatal(err)
	}
	if before > 200 {
		t.Errorf("%d of Big's 1000 rows settled before Small's last row; want at most 200 (a fifth)", before)
	}
	t.Logf("Big's rows settled before Small's last: %d of 1000", before)

	var starts []time.Time
	if err := s.Store.DB().SelectContext(ctx, &starts, `SELECT started_at FROM batches WHERE id = ANY($1::uuid[])
		ORDER BY created_at`, pq.Array(bigIDs)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(starts); i++ {
		if starts[i].Before(starts[i-1]) {
			t.Errorf("Big's batch %d started at %s, before batch %d (%s): not in upload order", i, starts[i], i-1, starts[i-1])
		}
	}
	// Every completed batch's wait is counted once, by its organization's size when it finished.
	var waits uint64
	for _, size := range metrics.OrganizationSizes {
		var m dto.Metric
		if err := w.Metrics.BatchQueueWait.WithLabelValues(size).(prometheus.Histogram).Write(&m); err != nil {
			t.Fatal(err)
		}
		waits += m.GetHistogram().GetSampleCount()
	}
	if waits != 11 {
		t.Errorf("queue waits observed: got %d, want 11 (one per batch)", waits)
	}
	var accounts, rows int
	if err := s.Store.DB().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM accounts WHERE organization_id IN ($1, $2)),
		(SELECT count(*) FROM batch_rows r JOIN batches b ON b.id = r.batch_id WHERE b.organization_id IN ($1, $2)
			AND r.status = $3 AND r.account_id IS NOT NULL)`, big, small, store.RowSucceeded).Scan(&accounts, &rows); err != nil {
		t.Fatal(err)
	}
	if accounts != 1010 || rows != 1010 {
		t.Errorf("got %d accounts and %d succeeded rows with one, want 1010 each: every row once", accounts, rows)
	}
}
