package jobs_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/testenv"
)

// TestPostgresOutageMidBatch drops every connection of the worker's database mid-batch and
// refuses new ones for a second, as a PostgreSQL restart does. Rows in flight fail with
// connection errors and retry; the batch completes with nothing lost or duplicated.
func TestPostgresOutageMidBatch(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 400)
	workerDB, err := store.Open(context.Background(), s.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { workerDB.Close() })
	// A task sends the invitations of the rows it took on one after the other, then records
	// them: with 5 ms per email, the first records come half a second after the first email,
	// inside the outage that starts at the tenth.
	s.SMTP.SetDelay(5 * time.Millisecond)
	w := s.StartWorkerWith(8, store.New(workerDB))
	b := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 300), true)
	s.SMTP.WaitForCount(t, 10, 30*time.Second)

	u, _ := url.Parse(s.DBURL)
	name := strings.TrimPrefix(u.Path, "/")
	admin, err := sql.Open("postgres", testenv.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	var killed int
	if err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1`, name).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if _, err := admin.Exec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS true`); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatalf("no connection was open to drop")
	}

	done := s.WaitBatch(b.ID, 90*time.Second)
	if done.Status != "completed" || done.Succeeded != 300 {
		t.Fatalf("got %+v, want completed with 300 succeeded", done)
	}
	seen := map[string]bool{}
	for _, m := range s.SMTP.WaitForMessages(t, 300, 10*time.Second) {
		seen[strings.Join(m.To, ",")] = true
	}
	if len(seen) != 300 {
		t.Errorf("got emails to %d recipients, want 300", len(seen))
	}
	if retried := testutil.ToFloat64(w.Metrics.TaskRetries.WithLabelValues(jobs.TypeRow)); retried == 0 {
		t.Errorf("no row task failed during the outage; the test did not test anything")
	}
	checkInvariants(t, s)
}
