package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/multiline/onboarding/internal/store"
)

// importBatch stores an Import batch of n rows (lines 2 to n+1) in organization org.
func importBatch(t *testing.T, f fixture, org, name string, n int) string {
	t.Helper()
	var group string
	if err := f.db.Get(&group, `SELECT id FROM permission_groups WHERE organization_id = $1`, org); err != nil {
		t.Fatal(err)
	}
	rows := make([]store.NewRow, n)
	for i := range rows {
		id := fmt.Sprintf("%s-%d@feed.test", name, i)
		rows[i] = store.NewRow{Line: i + 2, RawIdentifier: id, Identifier: id, IdentifierKind: "email",
			MonitorCalls: "auto", MonitorSMS: "on", Language: "en"}
	}
	b, _, err := f.st.CreateBatch(context.Background(), store.NewBatch{OrganizationID: org, PermissionGroupID: group,
		UploadedBy: "t@acme.test", Filename: name + ".csv", FileSHA256: make([]byte, 32)}, rows)
	if err != nil {
		t.Fatal(err)
	}
	return b.ID
}

// settleQueued settles the first n queued rows of batch id, as workers would.
func settleQueued(t *testing.T, f fixture, id string, n int) {
	t.Helper()
	f.db.MustExec(`UPDATE batch_rows SET status = 'succeeded', settled_at = now()
		WHERE batch_id = $1 AND line IN (SELECT r.line FROM batch_rows r JOIN batches b ON b.id = r.batch_id
			WHERE r.batch_id = $1 AND r.status = 'pending' AND r.line <= b.queued_through ORDER BY r.line LIMIT $2)`, id, n)
}

func feed(t *testing.T, f fixture, capacity int, batchIDs ...string) map[string][]int {
	t.Helper()
	keys, err := f.st.Feed(context.Background(), batchIDs, capacity)
	if err != nil {
		t.Fatalf("feed: %v", err)
	}
	out := map[string][]int{}
	for _, k := range keys {
		out[k.BatchID] = append(out[k.BatchID], k.Line)
	}
	return out
}

func wantLines(t *testing.T, what string, got []int, from, n int) {
	t.Helper()
	if len(got) != n || (n > 0 && (got[0] != from || got[n-1] != from+n-1)) {
		t.Errorf("%s: got %d lines %v…, want %d lines from %d", what, len(got), head(got), n, from)
	}
}

func head(lines []int) []int { return lines[:min(len(lines), 5)] }

// The window: while two organizations have rows pending, each may have its share of the
// capacity plus FeedHeadroom rows queued or running; the share is half, or what the other
// leaves when it needs less. An organization's batches are fed in upload order; rows that
// settle make room for as many more; a canceled batch gets no more rows.
func TestFeedWindow(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const capacity = 10
	// B needs 2 rows of its 5: A's share is the other 8.
	window := capacity - 2 + store.FeedHeadroom
	rows := 2 * window // A's batches: a first window, 40 more, and the rest within a window
	a1 := importBatch(t, f, f.orgA, "a1", rows)
	a2 := importBatch(t, f, f.orgA, "a2", rows)
	b1 := importBatch(t, f, f.orgB, "b1", 2)

	got := feed(t, f, capacity, a1)
	wantLines(t, "first feed of A", got[a1], 2, window)
	if len(got) != 1 {
		t.Errorf("first feed of A fed batches %v, want only its oldest", got)
	}
	if got := feed(t, f, capacity, a2); len(got) != 0 {
		t.Errorf("A's window is full, yet its second batch got %v", got)
	}
	wantLines(t, "B beside A", feed(t, f, capacity, b1)[b1], 2, 2)

	settleQueued(t, f, a1, 40)
	wantLines(t, "A after 40 settled", feed(t, f, capacity, a1)[a1], 2+window, 40)

	// Every queued row of a1 settles: its last rows, then a2's first, fill the window.
	settleQueued(t, f, a1, window)
	got = feed(t, f, capacity, a2)
	left := rows - window - 40
	wantLines(t, "a1's rest", got[a1], 2+window+40, left)
	wantLines(t, "a2 after a1", got[a2], 2, window-left)

	queued, err := f.st.QueuedLines(context.Background(), a2)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, "a2's queued lines", queued, 2, window-left)

	f.db.MustExec(`UPDATE batches SET cancel_requested_at = now() WHERE id = $1`, a2)
	settleQueued(t, f, a1, rows)
	settleQueued(t, f, a2, rows)
	if got := feed(t, f, capacity); len(got) != 0 {
		t.Errorf("a canceled batch was fed %v", got)
	}
}

// Feeds of one organization at the same time never hand out a row twice nor more than the
// window: they take turns.
func TestConcurrentFeedsShareTheWindow(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const capacity = 64
	a := importBatch(t, f, f.orgA, "a", 1000)
	var mu sync.Mutex
	seen := map[int]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys, err := f.st.Feed(context.Background(), []string{a}, capacity)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, k := range keys {
				seen[k.Line]++
			}
		}()
	}
	wg.Wait()
	if want := capacity + store.FeedHeadroom; len(seen) != want {
		t.Errorf("8 feeds at once queued %d rows, want the window: %d", len(seen), want)
	}
	for line, n := range seen {
		if n > 1 {
			t.Errorf("line %d fed %d times", line, n)
		}
	}
}

// Two organizations that both need more than half the capacity get half each.
func TestFeedSharesEqually(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const capacity = 10
	a := importBatch(t, f, f.orgA, "a", 300)
	b := importBatch(t, f, f.orgB, "b", 300)
	got := feed(t, f, capacity)
	wantLines(t, "A", got[a], 2, capacity/2+store.FeedHeadroom)
	wantLines(t, "B", got[b], 2, capacity/2+store.FeedHeadroom)
}
