package metrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/testenv"
)

func TestPoolAndBatchCollectors(t *testing.T) {
	t.Parallel()
	db, _ := testenv.DB(t)
	ctx := testenv.Context(t)
	st := store.New(db)

	// Acme: 3 numbers, one reserved for an invited account; Empty: no numbers at all;
	// one batch unfinished for 20 minutes and one finished.
	const seed = `
		WITH acme AS (INSERT INTO organizations (name) VALUES ('Acme') RETURNING id),
		empty AS (INSERT INTO organizations (name) VALUES ('Empty') RETURNING id),
		acct AS (INSERT INTO accounts (organization_id, identifier, identifier_kind, monitor_calls, monitor_sms)
			SELECT id, 'ann@example.com', 'email', 'off', 'off' FROM acme RETURNING id, organization_id),
		nums AS (INSERT INTO numbers (e164, organization_id, state, account_id)
			SELECT '+15550100001', organization_id, 'reserved', id FROM acct
			UNION ALL SELECT '+1555010000' || g, acme.id, 'available', NULL FROM acme, generate_series(2, 3) g),
		grp AS (INSERT INTO permission_groups (organization_id, name) SELECT id, 'Staff' FROM acme RETURNING id, organization_id)
		INSERT INTO batches (organization_id, permission_group_id, uploaded_by, invite, total, pending, status, created_at, finished_at)
		SELECT organization_id, id, 'test', false, 3, 2, 'processing', now() - interval '20 minutes', NULL FROM grp
		UNION ALL SELECT organization_id, id, 'test', false, 1, 0, 'completed', now() - interval '2 hours', now() FROM grp`
	if _, err := db.ExecContext(ctx, seed); err != nil {
		t.Fatalf("seed: %v", err)
	}
	var acme, empty string
	if err := db.QueryRowContext(ctx, `SELECT (SELECT id FROM organizations WHERE name = 'Acme'),
		(SELECT id FROM organizations WHERE name = 'Empty')`).Scan(&acme, &empty); err != nil {
		t.Fatal(err)
	}

	t.Run("pool by organization id and state", func(t *testing.T) {
		want := strings.NewReplacer("ACME", acme, "EMPTY", empty).Replace(`
# HELP multiline_numbers Numbers in an organization's pool by state (available, reserved, assigned); organization is its id (mlctl orgs names it).
# TYPE multiline_numbers gauge
multiline_numbers{organization="ACME",state="assigned"} 0
multiline_numbers{organization="ACME",state="available"} 2
multiline_numbers{organization="ACME",state="reserved"} 1
multiline_numbers{organization="EMPTY",state="assigned"} 0
multiline_numbers{organization="EMPTY",state="available"} 0
multiline_numbers{organization="EMPTY",state="reserved"} 0
`)
		if err := testutil.CollectAndCompare(metrics.NewPoolCollector(st.NumberCountsByOrganization), strings.NewReader(want)); err != nil {
			t.Error(err)
		}
	})

	t.Run("unfinished batches, oldest age and pending rows", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(metrics.NewBatchCollector(st.UnfinishedBatchBacklog))
		got := gaugeValues(t, reg)
		if got["multiline_batches_unfinished"] != 1 {
			t.Errorf("multiline_batches_unfinished: got %v, want 1", got["multiline_batches_unfinished"])
		}
		if age := got["multiline_batch_oldest_unfinished_age_seconds"]; age < 1200 || age > 1300 {
			t.Errorf("multiline_batch_oldest_unfinished_age_seconds: got %v, want about 1200", age)
		}
		if got["multiline_organization_rows_pending"] != 2 {
			t.Errorf("multiline_organization_rows_pending: got %v, want 2 (Acme's)", got["multiline_organization_rows_pending"])
		}
		if got["multiline_rows_pending"] != 2 {
			t.Errorf("multiline_rows_pending: got %v, want 2 (the finished batch's rows are not counted)", got["multiline_rows_pending"])
		}
		if got["multiline_postgres_up"] != 1 {
			t.Errorf("multiline_postgres_up: got %v, want 1", got["multiline_postgres_up"])
		}
	})

	t.Run("database unreachable", func(t *testing.T) {
		fail := errors.New("connection refused")
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(
			metrics.NewPoolCollector(func(context.Context) ([]store.OrgNumberCounts, error) { return nil, fail }),
			metrics.NewBatchCollector(func(context.Context) (store.BatchBacklog, error) { return store.BatchBacklog{}, fail }),
		)
		got := gaugeValues(t, reg)
		want := map[string]float64{"multiline_postgres_up": 0}
		if len(got) != len(want) || got["multiline_postgres_up"] != 0 {
			t.Errorf("got %v, want only %v: no pool or backlog series rather than fake zeros", got, want)
		}
	})
}

// gaugeValues gathers reg and returns the value of each unlabelled series by name.
func gaugeValues(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			out[mf.GetName()] = m.GetGauge().GetValue()
		}
	}
	return out
}
