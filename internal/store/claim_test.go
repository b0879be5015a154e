package store_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/store"
)

// inviteBatch stores an Import & Invite batch of n rows in organization org with 2n numbers.
func inviteBatch(t *testing.T, f fixture, org string, n int) string {
	t.Helper()
	ctx := context.Background()
	nums := make([]string, 2*n)
	for i := range nums {
		nums[i] = fmt.Sprintf("+1555%07d", i)
	}
	if _, err := f.st.AddNumbers(ctx, org, nums); err != nil {
		t.Fatal(err)
	}
	var group string
	if err := f.db.Get(&group, `SELECT id FROM permission_groups WHERE organization_id = $1`, org); err != nil {
		t.Fatal(err)
	}
	rows := make([]store.NewRow, n)
	for i := range rows {
		rows[i] = store.NewRow{Line: i + 2, RawIdentifier: fmt.Sprintf("u%d@acme.test", i), Identifier: fmt.Sprintf("u%d@acme.test", i),
			IdentifierKind: "email", MonitorCalls: "auto", MonitorSMS: "on", Language: "en"}
	}
	b, _, err := f.st.CreateBatch(ctx, store.NewBatch{OrganizationID: org, PermissionGroupID: group, UploadedBy: "t@acme.test",
		Filename: "a.csv", FileSHA256: make([]byte, 32), Invite: true}, rows)
	if err != nil {
		t.Fatal(err)
	}
	return b.ID
}

// lines lists the lines of rows.
func lines(rows []store.ClaimResult) string {
	var out []int
	for _, r := range rows {
		out = append(out, r.Line)
	}
	return fmt.Sprint(out)
}

var minted atomic.Int64

// mint makes distinct invitation tokens, as token.New does.
func mint() (string, []byte) {
	tok := fmt.Sprint("tok-", minted.Add(1))
	h := sha256.Sum256([]byte(tok))
	return tok, h[:]
}

// On its last attempt a task settles the rows it took on, each with its account and a failed
// invitation, so that the batch finishes; its own row and other tasks' rows are not touched.
func TestGiveUpTakenRowsSettlesOnlyTheTasksRows(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	id := inviteBatch(t, f, f.orgA, 12)
	claim := func(line, sweep int) store.ClaimResult {
		res, _, err := f.st.ClaimRows(ctx, []store.RowClaim{{BatchID: id, Line: line, ExpiresAt: time.Now().Add(time.Hour), Sweep: sweep}}, mint)
		if err != nil {
			t.Fatalf("claim row %d: %v", line, err)
		}
		return res[0]
	}
	// Rows 2 to 13: row 2's task takes four fresh rows on, from the end of the batch (13 down
	// to 10), and row 3's the next three (9 down to 7).
	if got := lines(claim(2, 4).Taken); got != "[10 11 12 13]" {
		t.Fatalf("row 2 took on rows %s, want [10 11 12 13]", got)
	}
	if got := lines(claim(3, 3).Taken); got != "[7 8 9]" {
		t.Fatalf("row 3 took on rows %s, want [7 8 9]", got)
	}
	if got := claim(11, 0); got.Outcome != store.ClaimOwned || got.Owner != 2 {
		t.Fatalf("row 11's own claim: %+v, want owned by row 2", got)
	}

	n, err := f.st.GiveUpTakenRows(ctx, id, 2, "gave up after 9 attempts: connection refused")
	if err != nil || n != 4 {
		t.Fatalf("give up: %d rows, %v; want 4", n, err)
	}
	var got []struct {
		Line       int     `db:"line"`
		Status     string  `db:"status"`
		Invitation string  `db:"invitation"`
		Reason     string  `db:"reason"`
		Account    *string `db:"account_id"`
		State      *string `db:"state"`
	}
	if err := f.db.Select(&got, `SELECT r.line, r.status, r.invitation, r.reason, r.account_id, i.state
		FROM batch_rows r LEFT JOIN invitations i ON i.id = r.invitation_id
		WHERE r.batch_id = $1 ORDER BY r.line`, id); err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		given := r.Line >= 10 && r.Line <= 13
		switch {
		case given && (r.Status != "succeeded" || r.Invitation != "failed" || r.Account == nil ||
			r.State == nil || *r.State != "failed" || !strings.HasSuffix(r.Reason, "gave up after 9 attempts: connection refused")):
			t.Errorf("row %d taken on by row 2: %+v, want succeeded with a failed invitation", r.Line, r)
		case !given && r.Status != "pending":
			t.Errorf("row %d is %s, want pending: it is not row 2's to give up", r.Line, r.Status)
		}
	}
	var pending int
	if err := f.db.Get(&pending, `SELECT pending FROM batches WHERE id = $1`, id); err != nil || pending != 8 {
		t.Errorf("pending counter %d (%v), want 8", pending, err)
	}
	if n, err := f.st.GiveUpTakenRows(ctx, id, 2, "again"); err != nil || n != 0 {
		t.Errorf("second give up: %d rows, %v; want none", n, err)
	}
}

// A task resuming the rows it took on may share a ClaimRows call with the own task of one of
// those rows (both retrying after an outage): the owner gets the row, its own task is told
// the row is taken, and the invitation is to be sent once.
func TestResumeAndTheRowsOwnTaskInOneCall(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	id := inviteBatch(t, f, f.orgA, 6)
	expires := time.Now().Add(time.Hour)
	first, _, err := f.st.ClaimRows(ctx, []store.RowClaim{{BatchID: id, Line: 2, ExpiresAt: expires, Sweep: 3}}, mint)
	if err != nil || lines(first[0].Taken) != "[5 6 7]" {
		t.Fatalf("first claim: %+v, %v; want rows 5 to 7 taken on", first, err)
	}

	res, _, err := f.st.ClaimRows(ctx, []store.RowClaim{
		{BatchID: id, Line: 6, ExpiresAt: expires, Sweep: 3, Resume: true},
		{BatchID: id, Line: 2, ExpiresAt: expires, Sweep: 3, Resume: true},
	}, mint)
	if err != nil {
		t.Fatal(err)
	}
	if own := res[0]; own.Outcome != store.ClaimOwned || own.Owner != 2 || len(own.Taken) != 0 {
		t.Errorf("row 6's own task: %+v, want told that row 2's task has it", own)
	}
	owner := res[1]
	for _, r := range owner.Taken {
		if r.Outcome != store.ClaimInvite || r.Token == "" {
			t.Errorf("resumed row %d: %+v, want its invitation to send with a new token", r.Line, r)
		}
	}
	if got := lines(owner.Taken); owner.Outcome != store.ClaimInvite || got != "[5 6 7]" {
		t.Errorf("row 2's task resumed %s (own outcome %q), want its own row and rows [5 6 7]", got, owner.Outcome)
	}
}
