package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

// A task that took rows on and vanished (its worker died, then Redis lost it) leaves those
// rows to nobody: their own tasks find them taken and leave them alone, so nothing is sent
// twice, and the reconciler hands them back to their own tasks, which finish them.
func TestRowsOfAVanishedTaskGoBackToTheirOwnTasks(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 60)
	b := upload(t, s, org, group, stacktest.CSV("acme.test", 0, 30), true)
	ctx := context.Background()

	// Row 2's task takes ten rows on (the last ten of the batch, 22 to 31), records its own
	// invitation and is lost before it sends the others.
	mint := func() (string, []byte) { return token.New("") }
	res, _, err := s.Store.ClaimRows(ctx, []store.RowClaim{{BatchID: b.ID, Line: 2,
		ExpiresAt: time.Now().Add(time.Hour), Sweep: 10}}, mint)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	own := res[0]
	if own.Outcome != store.ClaimInvite || len(own.Taken) != 10 {
		t.Fatalf("claim of row 2: outcome %q with %d rows taken on, want invite with 10", own.Outcome, len(own.Taken))
	}
	for i, r := range own.Taken {
		if r.Line != 22+i || r.Outcome != store.ClaimInvite || r.Token == "" {
			t.Fatalf("taken row %d: %+v, want line %d to invite with a token", i, r, 22+i)
		}
	}
	if _, err := s.Store.RecordInvitations(ctx, []store.InvitationOutcome{{BatchID: b.ID, Line: 2,
		AccountID: own.AccountID, Number: own.Number, InvitationID: own.InvitationID, Sent: true}}); err != nil {
		t.Fatalf("record row 2: %v", err)
	}
	if err := s.Inspector.DeleteTask(s.Queues.Rows(), jobs.RowTaskID(b.ID, 2)); err != nil {
		t.Fatalf("delete row 2's task: %v", err)
	}

	s.StartWorker(4)
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, _ := s.Store.Batch(ctx, b.ID)
		if got.Processed == 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %+v, want the 19 rows nobody took on settled besides row 2", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if got, _ := s.Store.Batch(ctx, b.ID); got.Processed != 20 || len(s.SMTP.Messages()) != 19 {
		t.Fatalf("rows taken on by the lost task moved without it: %+v, %d emails", got, len(s.SMTP.Messages()))
	}

	if err := s.Reconciler().Once(ctx); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	done := s.WaitBatch(b.ID, 30*time.Second)
	if done.Succeeded != 30 {
		t.Fatalf("got %+v, want 30 succeeded", done)
	}
	msgs := s.SMTP.WaitForMessages(t, 29, 5*time.Second)
	seen := map[string]bool{}
	for _, m := range msgs {
		to := m.To[0]
		if seen[to] {
			t.Errorf("%s got two invitations", to)
		}
		seen[to] = true
		// The link in each email is the one its invitation holds now.
		var state string
		if err := s.DB.Get(&state, `SELECT state FROM invitations WHERE token_hash = $1`, token.Hash(s.ActivationToken(m))); err != nil {
			t.Errorf("the link sent to %s matches no invitation: %v", to, err)
		} else if state != "sent" {
			t.Errorf("invitation of %s is %s, want sent", to, state)
		}
	}
	if len(msgs) != 29 {
		t.Errorf("got %d emails, want 29 (row 2's was recorded as sent by the lost task)", len(msgs))
	}
	checkInvariants(t, s)
}
