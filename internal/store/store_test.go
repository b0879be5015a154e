package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/testenv"
)

// fixture is a database with two organizations, a group, a batch and an account in each.
type fixture struct {
	db                 *sqlx.DB
	st                 *store.Store
	orgA, orgB         string
	accountA, accountB string
}

func setup(t *testing.T) fixture {
	t.Helper()
	db, _ := testenv.DB(t)
	f := fixture{db: db, st: store.New(db)}
	ctx := context.Background()
	for i, name := range []string{"A", "B"} {
		o, err := f.st.CreateOrganization(ctx, store.Admin{}, store.NewOrganization{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		var acc string
		db.MustExec(`INSERT INTO permission_groups (organization_id, name) VALUES ($1, 'g')`, o.ID)
		if err := db.Get(&acc, `INSERT INTO accounts (organization_id, identifier, identifier_kind, monitor_calls, monitor_sms)
			VALUES ($1, $2, 'email', 'auto', 'on') RETURNING id`, o.ID, name+"@x.test"); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.orgA, f.accountA = o.ID, acc
		} else {
			f.orgB, f.accountB = o.ID, acc
		}
	}
	return f
}

func wantViolation(t *testing.T, what string, err error, code string) {
	t.Helper()
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || string(pqErr.Code) != code {
		t.Errorf("%s: got %v, want error %s", what, err, code)
	}
}

// TestSchemaRefusesWhatMustNeverHappen breaks each constraint of the schema on purpose.
func TestSchemaRefusesWhatMustNeverHappen(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.db.MustExec(`INSERT INTO numbers (e164, organization_id) VALUES ('+15550000001', $1), ('+15550000002', $1)`, f.orgA)

	t.Run("a number owned by two organizations", func(t *testing.T) {
		_, err := f.db.Exec(`INSERT INTO numbers (e164, organization_id) VALUES ('+15550000001', $1)`, f.orgB)
		wantViolation(t, "insert", err, "23505")
	})
	t.Run("a number held by two accounts", func(t *testing.T) {
		var acc2 string
		f.db.Get(&acc2, `INSERT INTO accounts (organization_id, identifier, identifier_kind, monitor_calls, monitor_sms)
			VALUES ($1, 'second@x.test', 'email', 'auto', 'on') RETURNING id`, f.orgA)
		f.db.MustExec(`UPDATE numbers SET state = 'reserved', account_id = $1 WHERE e164 = '+15550000001'`, f.accountA)
		// One number per account, one account per number.
		_, err := f.db.Exec(`UPDATE numbers SET state = 'reserved', account_id = $1 WHERE e164 = '+15550000002'`, f.accountA)
		wantViolation(t, "second number for one account", err, "23505")
		f.db.MustExec(`UPDATE numbers SET state = 'available', account_id = NULL WHERE e164 = '+15550000001'`)
	})
	t.Run("a number held by an account of another organization", func(t *testing.T) {
		_, err := f.db.Exec(`UPDATE numbers SET state = 'reserved', account_id = $1 WHERE e164 = '+15550000002'`, f.accountB)
		wantViolation(t, "cross-organization hold", err, "23503")
	})
	t.Run("a reserved number without an account", func(t *testing.T) {
		_, err := f.db.Exec(`UPDATE numbers SET state = 'reserved' WHERE e164 = '+15550000002'`)
		wantViolation(t, "reserved without holder", err, "23514")
	})
	t.Run("two accounts with one identifier", func(t *testing.T) {
		_, err := f.db.Exec(`INSERT INTO accounts (organization_id, identifier, identifier_kind, monitor_calls, monitor_sms)
			VALUES ($1, 'A@x.test', 'email', 'auto', 'on')`, f.orgB)
		wantViolation(t, "duplicate identifier", err, "23505")
	})
	t.Run("two rows with one line number in a batch", func(t *testing.T) {
		var group, batch string
		f.db.Get(&group, `SELECT id FROM permission_groups WHERE organization_id = $1`, f.orgA)
		f.db.Get(&batch, `INSERT INTO batches (organization_id, permission_group_id, uploaded_by, invite, total)
			VALUES ($1, $2, 'x', false, 2) RETURNING id`, f.orgA, group)
		f.db.MustExec(`INSERT INTO batch_rows (batch_id, line) VALUES ($1, 2)`, batch)
		_, err := f.db.Exec(`INSERT INTO batch_rows (batch_id, line) VALUES ($1, 2)`, batch)
		wantViolation(t, "duplicate line", err, "23505")
	})
	t.Run("two live invitations for one account", func(t *testing.T) {
		f.db.MustExec(`INSERT INTO invitations (account_id, token_hash, expires_at) VALUES ($1, sha256('a'), now())`, f.accountA)
		_, err := f.db.Exec(`INSERT INTO invitations (account_id, token_hash, expires_at) VALUES ($1, sha256('b'), now())`, f.accountA)
		wantViolation(t, "second live invitation", err, "23505")
	})
	t.Run("a number not in E.164", func(t *testing.T) {
		_, err := f.db.Exec(`INSERT INTO numbers (e164, organization_id) VALUES ('5550000003', $1)`, f.orgA)
		wantViolation(t, "not E.164", err, "23514")
	})
}

func TestAddNumbersIsAllOrNothing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	if _, err := f.st.AddNumbers(ctx, f.orgA, []string{"+15550000001"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.st.AddNumbers(ctx, f.orgB, []string{"+15550000009", "+15550000001"})
	var owned *store.NumbersOwnedError
	if !errors.As(err, &owned) || len(owned.Numbers) != 1 || owned.Numbers[0] != "+15550000001" {
		t.Fatalf("got %v, want +15550000001 owned elsewhere", err)
	}
	if _, err := f.st.NumberByE164(ctx, "+15550000009"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("+15550000009: got %v, want not added", err)
	}
	n, err := f.st.NumberByE164(ctx, "+15550000001")
	if err != nil || n.OrganizationID != f.orgA || n.State != "available" {
		t.Errorf("+15550000001: got %+v %v, want Available in A", n, err)
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	t.Parallel()
	db, _ := testenv.DB(t) // cloned from a migrated template
	ctx := context.Background()
	applied, err := store.Migrate(ctx, db.DB)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate: applied %v, err %v; want nothing", applied, err)
	}
	if err := store.CheckSchema(ctx, db.DB); err != nil {
		t.Errorf("check schema: %v", err)
	}
}

func TestCheckSchemaRefusesAnEmptyDatabase(t *testing.T) {
	t.Parallel()
	db, _ := testenv.DB(t)
	ctx := context.Background()
	db.MustExec(`DROP SCHEMA public CASCADE; CREATE SCHEMA public`)
	if err := store.CheckSchema(ctx, db.DB); !errors.Is(err, store.ErrSchemaBehind) {
		t.Fatalf("empty database: got %v, want ErrSchemaBehind", err)
	}
	applied, err := store.Migrate(ctx, db.DB)
	if err != nil || len(applied) == 0 {
		t.Fatalf("migrate an empty database: applied %v, err %v", applied, err)
	}
	if err := store.CheckSchema(ctx, db.DB); err != nil {
		t.Errorf("after migrate: %v", err)
	}
	// Pretend the last migration was never applied.
	db.MustExec(`DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`)
	if err := store.CheckSchema(ctx, db.DB); !errors.Is(err, store.ErrSchemaBehind) {
		t.Errorf("one migration behind: got %v, want ErrSchemaBehind", err)
	}
}
