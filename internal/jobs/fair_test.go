package jobs_test

import (
	"context"
	"fmt"
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
	bigIDs, smallID := uploadBeside(t, s, big, bigGroup, small, smallGroup, 10, 100, false)
	for _, id := range append(bigIDs, smallID) {
		if b := s.WaitBatch(id, 2*time.Minute); b.Succeeded != b.Total {
			t.Fatalf("batch %s: %d of %d succeeded", id, b.Succeeded, b.Total)
		}
	}

	ctx := context.Background()
	before := settledBefore(t, s, big, smallID)
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

// TestSmallInviteBesideARateLimitedBacklog is TestSmallBatchBesideABacklog with sending the
// bottleneck: SMTP_RATE=40 and Import & Invite, Big's four 50-row batches waiting (5 s of
// sending) when Small uploads 5 rows. Small's invitations go out by turns with Big's, not
// after those waiting in the line: all before 70 of Big's rows have settled.
func TestSmallInviteBesideARateLimitedBacklog(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	big, bigGroup := s.Org("Big", 0, 200)
	small, smallGroup := s.Org("Small", 5000, 5)
	s.SendRates(40, 0)
	// Enough slots that Big's rows fill the send rate's line: Small's must take turns in
	// it, not queue behind them.
	s.StartWorker(64)
	bigIDs, smallID := uploadBeside(t, s, big, bigGroup, small, smallGroup, 4, 50, true)
	for _, id := range append(bigIDs, smallID) {
		if b := s.WaitBatch(id, 2*time.Minute); b.Succeeded != b.Total {
			t.Fatalf("batch %s: %d of %d succeeded", id, b.Succeeded, b.Total)
		}
	}
	before := settledBefore(t, s, big, smallID)
	t.Logf("Big's rows settled before Small's last: %d of 200", before)
	// Ahead of Small's rows: Big's 27 rows queued beyond the workers' 64 slots (the window's
	// headroom), then a turn each in the send rate's line, and what claims take on a loaded
	// machine (37 to 55 seen). First come, first served, Small's rows would wait behind the 64
	// in the line too (96 seen).
	if before > 70 {
		t.Errorf("%d of Big's 200 rows settled before Small's last row; want at most 70", before)
	}
	s.SMTP.WaitForMessages(t, 205, 10*time.Second)
	for domain, n := range map[string]int{"big.test": 200, "small.test": 5} {
		for i := range n {
			if got := len(s.MessagesTo(fmt.Sprintf("user%d@%s", i, domain))); got != 1 {
				t.Errorf("user%d@%s got %d invitations, want 1", i, domain, got)
			}
		}
	}
}

// uploadBeside stores n batches of rows rows for Big, then one of 5 (invite) or 10 rows for
// Small, with the rows queue paused so that the order of the queue is all that decides, and
// returns their ids once the queue runs again.
func uploadBeside(t *testing.T, s *stacktest.Stack, big, bigGroup, small, smallGroup string, n, rows int, invite bool) ([]string, string) {
	t.Helper()
	if err := s.Inspector.PauseQueue(s.Queues.Rows()); err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	smallRows := 10
	if invite {
		fields["invite"], smallRows = "true", 5
	}
	upload := func(org, group string, file []byte) string {
		resp := s.Upload(s.RootToken, org, group, file, fields)
		if resp.Status != 202 {
			t.Fatalf("upload: %d %s", resp.Status, resp.Body)
		}
		var b store.Batch
		resp.JSON(t, &b)
		return b.ID
	}
	var bigIDs []string
	for i := range n {
		bigIDs = append(bigIDs, upload(big, bigGroup, stacktest.CSV("big.test", rows*i, rows)))
	}
	smallID := upload(small, smallGroup, stacktest.CSV("small.test", 0, smallRows))
	if err := s.Inspector.UnpauseQueue(s.Queues.Rows()); err != nil {
		t.Fatal(err)
	}
	return bigIDs, smallID
}

// settledBefore counts the rows of organization org that settled before the last row of
// batch id.
func settledBefore(t *testing.T, s *stacktest.Stack, org, id string) int {
	t.Helper()
	var n int
	if err := s.Store.DB().GetContext(context.Background(), &n, `SELECT count(*) FROM batch_rows r JOIN batches b ON b.id = r.batch_id
		WHERE b.organization_id = $1 AND r.settled_at < (SELECT max(settled_at) FROM batch_rows WHERE batch_id = $2)`,
		org, id); err != nil {
		t.Fatal(err)
	}
	return n
}
