package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/store"
)

// TestPoolAlertRaisesOncePerEpisode checks the alert's hysteresis: many checks at once raise
// it once, with one email per recipient; it stays raised, planning nothing more, while the
// level stays low; it clears when the level recovers, and a new crossing is a new episode.
func TestPoolAlertRaisesOncePerEpisode(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	f.db.MustExec(`INSERT INTO numbers (e164, organization_id) VALUES ('+15550000001', $1)`, f.orgA)
	f.db.MustExec(`UPDATE organizations SET pool_alert_threshold = 5,
		batch_report_recipients = '{ops@x.test,boss@x.test}' WHERE id = $1`, f.orgA)
	state := func() (raised bool, episode, emails int) {
		t.Helper()
		if err := f.db.QueryRow(`SELECT coalesce((SELECT raised FROM pool_alerts WHERE organization_id = $1), false),
				coalesce((SELECT episode FROM pool_alerts WHERE organization_id = $1), 0),
				(SELECT count(*) FROM pool_alert_emails WHERE organization_id = $1)`, f.orgA).Scan(&raised, &episode, &emails); err != nil {
			t.Fatal(err)
		}
		return raised, episode, emails
	}

	// 1 Available under a threshold of 5: low. Eight checks at once, as from many workers:
	// the alert's row is held while they start, so that all of them meet at it.
	f.db.MustExec(`INSERT INTO pool_alerts (organization_id) VALUES ($1)`, f.orgA)
	hold, err := f.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	hold.MustExec(`SELECT 1 FROM pool_alerts WHERE organization_id = $1 FOR UPDATE`, f.orgA)
	var wg sync.WaitGroup
	planned := make([][]store.PoolAlertEmail, 8)
	for i := range planned {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if planned[i], err = f.st.CheckPools(ctx, []string{f.orgA, f.orgB}); err != nil {
				t.Errorf("check %d: %v", i, err)
			}
		}()
	}
	for waiting, deadline := 0, time.Now().Add(10*time.Second); waiting < len(planned); time.Sleep(5 * time.Millisecond) {
		if err := f.db.Get(&waiting, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d checks wait for the alert's row, want %d", waiting, len(planned))
		}
	}
	if err := hold.Commit(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if raised, episode, emails := state(); !raised || episode != 1 || emails != 2 {
		t.Fatalf("after eight checks at once: raised %v, episode %d, %d emails; want raised once with 2 emails", raised, episode, emails)
	}
	for i, p := range planned {
		if len(p) != 2 || p[0].Episode != 1 || p[0].OrganizationID != f.orgA {
			t.Errorf("check %d planned %+v, want the two emails of episode 1", i, p)
		}
	}
	var o store.Organization
	if o, _ = f.st.Organization(ctx, f.orgA); o.PoolAlertRaisedAt == nil {
		t.Errorf("organization: got no pool_alert_raised_at, want the time it was raised")
	}

	// Still low: nothing more, even once the emails are recorded.
	for _, e := range planned[0] {
		if err := f.st.RecordPoolAlertEmail(ctx, e, true, ""); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := f.st.CheckPools(ctx, nil); err != nil || len(p) != 0 {
		t.Errorf("check while still low: planned %v (%v), want nothing", p, err)
	}

	// Recovered: 10 Available.
	f.db.MustExec(`INSERT INTO numbers (e164, organization_id) SELECT '+1555000010' || g, $1 FROM generate_series(0, 8) g`, f.orgA)
	if _, err := f.st.CheckPools(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if raised, episode, _ := state(); raised || episode != 1 {
		t.Errorf("after recovering: raised %v, episode %d; want cleared, still episode 1", raised, episode)
	}

	// Crossed anew: a threshold of 20.
	f.db.MustExec(`UPDATE organizations SET pool_alert_threshold = 20 WHERE id = $1`, f.orgA)
	p, err := f.st.CheckPools(ctx, []string{f.orgA})
	if err != nil {
		t.Fatal(err)
	}
	if raised, episode, emails := state(); !raised || episode != 2 || emails != 4 || len(p) != 2 || p[0].Episode != 2 {
		t.Errorf("crossed again: raised %v, episode %d, %d emails, planned %+v; want episode 2 with two new emails", raised, episode, emails, p)
	}
	a, err := f.st.PoolAlertEmailState(ctx, p[0])
	if err != nil || a.Available != 10 || a.Threshold != 20 || a.State != "pending" {
		t.Errorf("episode 2's email: got %+v (%v), want 10 available under a threshold of 20, pending", a, err)
	}
}
