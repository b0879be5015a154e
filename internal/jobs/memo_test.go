package jobs

import (
	"testing"

	"github.com/multiline/onboarding/internal/store"
)

func TestSettledRowsKeepsTheRecentOnesWithinBounds(t *testing.T) {
	var m settledRows
	key := func(i int) store.RowKey { return store.RowKey{BatchID: "b", Line: i} }
	if m.has(key(1)) {
		t.Fatal("an empty memory remembers a row")
	}
	for i := range 3 * settledRowsKept {
		m.add(key(i))
	}
	for i := 2 * settledRowsKept; i < 3*settledRowsKept; i++ {
		if !m.has(key(i)) {
			t.Fatalf("row %d, among the last %d added, was forgotten", i, settledRowsKept)
		}
	}
	if m.has(key(0)) {
		t.Error("the oldest row is still remembered: the memory does not stay bounded")
	}
	if n := len(m.cur) + len(m.prev); n > 2*settledRowsKept {
		t.Errorf("holds %d rows, want at most %d", n, 2*settledRowsKept)
	}
}
