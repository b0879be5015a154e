package pipebench

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkBigOrganization is a 1000-row Import & Invite batch into an organization that
// already has 200,000 accounts and 100,000 numbers, half of them held, against one into a
// fresh organization of the same database: seconds from upload to report for each, and their
// ratio (the target is 1.5 at most). Both batches run after the bulk load, so the ratio is
// what the organization's size costs; BenchmarkOneBatch1000/service is the same batch on an
// empty database. The load stays in the timer: it makes one iteration enough, instead of the
// framework loading the organization again for a longer run.
func BenchmarkBigOrganization(b *testing.B) {
	e := setup(b, service)
	start := time.Now()
	bigOrg, bigGroup := e.bigOrg(200_000, 100_000)
	b.Logf("loaded the big organization in %v", time.Since(start).Round(time.Millisecond))
	// A first batch opens the processes' connections and fills their caches, which would
	// otherwise count against whichever batch comes first.
	warm, warmGroup := e.org(1000)
	e.batch(warm, warmGroup, "warm.test")

	var fresh, big time.Duration
	for i := 0; i < b.N; i++ {
		org, group := e.org(1000)
		fresh += e.batch(org, group, fmt.Sprintf("fresh%d.test", i))
		big += e.batch(bigOrg, bigGroup, fmt.Sprintf("big%d.test", i))
	}
	b.ReportMetric(fresh.Seconds()/float64(b.N), "s_fresh_org")
	b.ReportMetric(big.Seconds()/float64(b.N), "s_big_org")
	b.ReportMetric(big.Seconds()/fresh.Seconds(), "big_vs_fresh")
}

// batch uploads a 1000-row Import & Invite file into org, returns the time from upload to
// report, and waits for the batch's emails and row tasks so that the next batch starts on an
// idle pipeline.
func (e *env) batch(org, group, domain string) time.Duration {
	start := time.Now()
	if got := e.wait(e.upload(org, group, domain, 1000), 20*time.Millisecond); got != 1000 {
		e.b.Fatalf("got %d succeeded, want 1000", got)
	}
	took := time.Since(start)
	e.sent += 1000
	e.smtp.WaitForCount(e.b, e.sent, time.Minute)
	e.drain(time.Minute)
	return took
}

// bigOrg creates an organization with a permission group, the given numbers of accounts and
// numbers, and an invitation per account, straight in SQL. Even accounts are active, odd ones
// invited; every other number is held by an account (assigned when it is active, reserved
// when invited), the rest are Available. The tables are then vacuumed and analyzed, as a
// database that has been running would have its statistics.
func (e *env) bigOrg(accounts, numbers int) (orgID, groupID string) {
	ctx := context.Background()
	orgID, groupID = e.org(0)
	const qaccounts = `INSERT INTO accounts (organization_id, permission_group_id, identifier, identifier_kind,
			firstname, lastname, monitor_calls, monitor_sms, status, activated_at, created_at)
		SELECT $1::uuid, $2::uuid, 'big' || n || '@big.test', 'email', 'Big', 'User ' || n, 'auto', 'on',
			CASE WHEN n % 2 = 0 THEN 'active' ELSE 'invited' END,
			CASE WHEN n % 2 = 0 THEN now() END, now() - interval '30 days'
		FROM generate_series(1, $3::int) n`
	const qinvitations = `INSERT INTO invitations (account_id, token_hash, state, expires_at, created_at, sent_at, used_at)
		SELECT id, sha256(convert_to(id::text, 'UTF8')), CASE WHEN status = 'active' THEN 'used' ELSE 'sent' END,
			now() + interval '5 days', now() - interval '2 days', now() - interval '2 days',
			CASE WHEN status = 'active' THEN now() END
		FROM accounts WHERE organization_id = $1::uuid`
	const qnumbers = `INSERT INTO numbers (e164, organization_id, state, account_id)
		SELECT '+1556' || lpad(n::text, 7, '0'), $1::uuid,
			CASE WHEN a.id IS NULL THEN 'available' WHEN a.status = 'active' THEN 'assigned' ELSE 'reserved' END,
			a.id
		FROM generate_series(0, $2::int - 1) n
		LEFT JOIN accounts a ON n % 2 = 0 AND a.identifier = 'big' || (n / 2 + 1) || '@big.test'`
	db := e.st.DB()
	if _, err := db.ExecContext(ctx, qaccounts, orgID, groupID, accounts); err != nil {
		e.b.Fatalf("insert accounts: %v", err)
	}
	if _, err := db.ExecContext(ctx, qinvitations, orgID); err != nil {
		e.b.Fatalf("insert invitations: %v", err)
	}
	if _, err := db.ExecContext(ctx, qnumbers, orgID, numbers); err != nil {
		e.b.Fatalf("insert numbers: %v", err)
	}
	if _, err := db.ExecContext(ctx, `VACUUM ANALYZE accounts, invitations, numbers`); err != nil {
		e.b.Fatalf("vacuum analyze: %v", err)
	}
	return orgID, groupID
}
