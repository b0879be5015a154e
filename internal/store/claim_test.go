package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
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

// hash derives distinct token hashes from invitation ids, as token.Invitations does.
func hash(id string) []byte {
	h := sha256.Sum256([]byte("tok-" + id))
	return h[:]
}

func claimOne(t *testing.T, f fixture, id string, line int, holder string) store.ClaimResult {
	t.Helper()
	res, _, err := f.st.ClaimRows(context.Background(), []store.RowClaim{{BatchID: id, Line: line,
		ExpiresAt: time.Now().Add(time.Hour), Holder: holder, LeaseUntil: time.Now().Add(30 * time.Second)}}, hash)
	if err != nil {
		t.Fatalf("claim row %d for %s: %v", line, holder, err)
	}
	return res[0]
}

// An invitation is leased to the worker that claimed it: another worker's claim of the row
// waits, the holder's own retry resumes at once, and once the lease has run out the next
// claim resumes the same invitation, so every attempt carries the same link.
func TestClaimLeasesTheInvitation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := inviteBatch(t, f, f.orgA, 2)

	first := claimOne(t, f, id, 2, "worker-a")
	if first.Claim != store.ClaimInvite || first.Invitation.InvitationID == "" || !first.Reserved {
		t.Fatalf("first claim: got %+v, want an invitation to send and a number reserved", first)
	}
	var stored []byte
	f.db.Get(&stored, `SELECT token_hash FROM invitations WHERE id = $1`, first.Invitation.InvitationID)
	if !bytes.Equal(stored, hash(first.Invitation.InvitationID)) {
		t.Errorf("the stored token hash is not the one derived from the invitation id")
	}

	other := claimOne(t, f, id, 2, "worker-b")
	if other.Claim != store.ClaimBusy || time.Until(other.BusyUntil) < 20*time.Second {
		t.Fatalf("another worker's claim during the lease: got %+v, want busy for about 30 s", other)
	}
	again := claimOne(t, f, id, 2, "worker-a")
	if again.Claim != store.ClaimInvite || again.Invitation.InvitationID != first.Invitation.InvitationID {
		t.Fatalf("the holder's retry: got %+v, want the same invitation %s", again, first.Invitation.InvitationID)
	}

	f.db.MustExec(`UPDATE invitations SET lease_until = now() - interval '1 second'`)
	taken := claimOne(t, f, id, 2, "worker-b")
	if taken.Claim != store.ClaimInvite || taken.Invitation.InvitationID != first.Invitation.InvitationID ||
		taken.Invitation.Number != first.Invitation.Number {
		t.Fatalf("after the lease ran out: got %+v, want the same invitation and number", taken)
	}
	var accounts, invitations int
	f.db.Get(&accounts, `SELECT count(*) FROM accounts WHERE batch_id = $1`, id)
	f.db.Get(&invitations, `SELECT count(*) FROM invitations`)
	if accounts != 1 || invitations != 1 {
		t.Errorf("got %d accounts and %d invitations, want 1 and 1", accounts, invitations)
	}

	// The outcome settles the row and ends the lease; settling it again changes nothing.
	o := store.Outcome{BatchID: id, Line: 2, Status: store.RowSucceeded, Code: store.CodeNone,
		AccountID: taken.Invitation.AccountID, Number: taken.Invitation.Number,
		InvitationID: taken.Invitation.InvitationID, Invitation: store.InvitationSent}
	if _, err := f.st.Settle(context.Background(), []store.Outcome{o}); err != nil {
		t.Fatal(err)
	}
	late := o
	late.Status, late.Code, late.Detail, late.Invitation = store.RowSucceeded, store.CodeGaveUp, "9 attempts: timeout", store.InvitationFailed
	if _, err := f.st.Settle(context.Background(), []store.Outcome{late}); err != nil {
		t.Fatal(err)
	}
	var row struct {
		Status     string  `db:"status"`
		Code       string  `db:"reason_code"`
		Invitation string  `db:"invitation"`
		State      string  `db:"state"`
		Holder     *string `db:"lease_holder"`
		Account    string  `db:"account_status"`
	}
	if err := f.db.Get(&row, `SELECT r.status, r.reason_code, r.invitation, i.state, i.lease_holder, a.status AS account_status
		FROM batch_rows r JOIN invitations i ON i.id = r.invitation_id JOIN accounts a ON a.id = r.account_id
		WHERE r.batch_id = $1 AND r.line = 2`, id); err != nil {
		t.Fatal(err)
	}
	if row.Status != "succeeded" || row.Code != "none" || row.Invitation != "sent" || row.State != "sent" ||
		row.Holder != nil || row.Account != "invited" {
		t.Errorf("got %+v, want succeeded, none, sent, sent, no lease, invited", row)
	}
	if res := claimOne(t, f, id, 2, "worker-c"); res.Claim != store.ClaimSettled {
		t.Errorf("a claim of the settled row: got %+v, want settled", res)
	}
}

// A row whose named number is not Available in its organization fails with a reason and
// leaves nothing behind; the other rows of the same claim go on.
func TestClaimFailsOnlyTheRowThatCannotHaveItsNumber(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := inviteBatch(t, f, f.orgA, 3)
	f.db.MustExec(`UPDATE batch_rows SET multiline_number = '+19995550000' WHERE batch_id = $1 AND line = 3`, id)
	var claims []store.RowClaim
	for line := 2; line <= 4; line++ {
		claims = append(claims, store.RowClaim{BatchID: id, Line: line, ExpiresAt: time.Now().Add(time.Hour),
			Holder: "w", LeaseUntil: time.Now().Add(time.Minute)})
	}
	res, _, err := f.st.ClaimRows(context.Background(), claims, hash)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Claim != store.ClaimInvite || res[2].Claim != store.ClaimInvite {
		t.Errorf("rows 2 and 4: got %s and %s, want invite", res[0].Claim, res[2].Claim)
	}
	o := res[1].Outcome
	if res[1].Claim != store.ClaimDone || o.Status != store.RowFailed || o.Code != store.CodeNumberUnavailable ||
		!strings.Contains(o.Reason(), "+19995550000") {
		t.Errorf("row 3: got %+v (%q), want failed with number_unavailable naming the number", res[1], o.Reason())
	}
	var left int
	f.db.Get(&left, `SELECT count(*) FROM accounts WHERE batch_id = $1 AND batch_line = 3`, id)
	if left != 0 {
		t.Errorf("the failed row left %d accounts behind, want 0", left)
	}
}
