package httpapi

import (
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/store"
)

// TestSecondsLeft checks the batch's time left: its pace since the first row started, never
// sooner than the send rate lets the remaining invitations go, and nothing when it cannot tell.
func TestSecondsLeft(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	started := now.Add(-10 * time.Second)
	done := now
	for _, tc := range []struct {
		name string
		b    store.Batch
		rate int
		want int // -1: none
	}{
		{"not started, no rate", store.Batch{Total: 1000}, 0, -1},
		{"not started, invitations at 20/s", store.Batch{Total: 1000, Invite: true}, 20, 50},
		{"import only ignores the send rate", store.Batch{Total: 1000}, 20, -1},
		{"pace: 100 rows in 10 s", store.Batch{Total: 1000, Processed: 100, StartedAt: &started}, 0, 90},
		{"the rate is slower than the pace", store.Batch{Total: 1000, Processed: 500, StartedAt: &started, Invite: true}, 20, 25},
		{"the pace is slower than the rate", store.Batch{Total: 1000, Processed: 100, StartedAt: &started, Invite: true}, 20, 90},
		{"finished", store.Batch{Total: 10, Processed: 10, StartedAt: &started, FinishedAt: &done}, 20, -1},
		{"canceling", store.Batch{Total: 10, Invite: true, CancelRequestedAt: &done}, 20, -1},
	} {
		got := secondsLeft(tc.b, tc.rate, now)
		switch {
		case tc.want < 0 && got != nil:
			t.Errorf("%s: got %d, want none", tc.name, *got)
		case tc.want >= 0 && (got == nil || *got != tc.want):
			t.Errorf("%s: got %v, want %d", tc.name, got, tc.want)
		}
	}
}
