package httpapi_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

// undoAnswer is the answer of POST /v1/batches/{id}/undo.
type undoAnswer struct {
	Batch    store.Batch           `json:"batch"`
	Removed  []store.UndoneAccount `json:"removed"`
	Kept     []store.KeptAccount   `json:"kept"`
	UndoneAt time.Time             `json:"undone_at"`
	UndoneBy string                `json:"undone_by"`
}

func undo(t *testing.T, s *stacktest.Stack, batchID string) (int, undoAnswer) {
	t.Helper()
	got := s.Do("POST", "/v1/batches/"+batchID+"/undo", s.RootToken, nil)
	var a undoAnswer
	if got.Status == http.StatusOK {
		got.JSON(t, &a)
	}
	return got.Status, a
}

func TestUndoBatch(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	s.StartWorker(4)
	b := s.Invite(org, group, []byte(csvHeader+"A,A,a@acme.test,No,,auto,on\r\nB,B,b@acme.test,No,,auto,on\r\n"+
		"C,C,c@acme.test,No,,auto,on\r\nD,D,d@acme.test,No,,auto,on\r\n"))
	s.SMTP.WaitForMessages(t, 4, 10*time.Second)
	accts := s.Accounts(org)
	a, bb, c, d := accts["a@acme.test"], accts["b@acme.test"], accts["c@acme.test"], accts["d@acme.test"]
	linkA := s.ActivationToken(s.MessagesTo("a@acme.test")[0])
	if got := s.Do("POST", "/v1/activation/"+s.ActivationToken(s.MessagesTo("c@acme.test")[0]), "", map[string]any{}); got.Status != http.StatusOK {
		t.Fatalf("activate c: got %d %s", got.Status, got.Body)
	}
	dst, _ := s.Org("Destination", 100, 2)
	if got := s.Do("POST", "/v1/accounts/move", s.RootToken, map[string]any{"account_ids": []string{d.ID}, "organization_id": dst}); got.Status != http.StatusOK {
		t.Fatalf("move d: got %d %s", got.Status, got.Body)
	}

	t.Run("refusals", func(t *testing.T) {
		other, _ := s.Org("Other", 500, 1)
		for _, tc := range []struct {
			name, tok string
			status    int
			code      string
		}{
			{"out of scope", s.NewAdmin("other@test.example", []string{other}, string(store.PrivAccounts)), http.StatusForbidden, "out_of_scope"},
			{"reports only", s.NewAdmin("reports@test.example", nil, string(store.PrivReports)), http.StatusForbidden, "missing_privilege"},
		} {
			if got := s.Do("POST", "/v1/batches/"+b.ID+"/undo", tc.tok, nil); got.Status != tc.status || got.ErrorCode(t) != tc.code {
				t.Errorf("%s: got %d %s, want %d %s", tc.name, got.Status, got.Body, tc.status, tc.code)
			}
		}
		if got := s.Do("POST", "/v1/batches/00000000-0000-0000-0000-000000000000/undo", s.RootToken, nil); got.Status != http.StatusNotFound {
			t.Errorf("unknown batch: got %d %s, want 404", got.Status, got.Body)
		}
		if n := len(s.Accounts(org)); n != 3 {
			t.Errorf("after refused undos: got %d accounts, want 3 (a, b, c)", n)
		}
	})

	// Two undos at once: one removes, the other finds nothing more to remove.
	var wg sync.WaitGroup
	answers := make([]undoAnswer, 2)
	statuses := make([]int, 2)
	for i := range answers {
		wg.Add(1)
		go func() { defer wg.Done(); statuses[i], answers[i] = undo(t, s, b.ID) }()
	}
	wg.Wait()
	removed := map[string]store.UndoneAccount{}
	for i, ans := range answers {
		if statuses[i] != http.StatusOK {
			t.Fatalf("undo %d: got %d, want 200", i, statuses[i])
		}
		for _, r := range ans.Removed {
			removed[r.AccountID] = r
		}
		kept := map[string]string{}
		for _, k := range ans.Kept {
			kept[k.AccountID] = k.Code
		}
		if len(kept) != 2 || kept[c.ID] != store.KeptActive || kept[d.ID] != store.KeptMoved {
			t.Errorf("undo %d kept %+v, want c active and d moved", i, ans.Kept)
		}
	}
	if len(removed) != 2 || len(answers[0].Removed)+len(answers[1].Removed) != 2 || removed[a.ID].ReleasedNumber != *a.MultilineNumber ||
		removed[bb.ID].ReleasedNumber != *bb.MultilineNumber {
		t.Fatalf("removed: got %+v and %+v, want a and b once, with their numbers", answers[0].Removed, answers[1].Removed)
	}

	t.Run("the accounts are gone, their numbers free, their links withdrawn", func(t *testing.T) {
		left := s.Accounts(org)
		if _, ok := left["a@acme.test"]; ok || len(left) != 1 || left["c@acme.test"].Status != store.AccountActive {
			t.Errorf("accounts after the undo: got %v, want c alone", left)
		}
		for _, n := range []string{*a.MultilineNumber, *bb.MultilineNumber} {
			if st := s.NumberState(n); st != "available" {
				t.Errorf("number %s: got %s, want available", n, st)
			}
		}
		got := s.Do("GET", "/v1/activation/"+linkA, "", nil)
		if got.Status != http.StatusGone || !strings.Contains(string(got.Body), `"reason":"withdrawn"`) {
			t.Errorf("a's link: got %d %s, want 410 withdrawn", got.Status, got.Body)
		}
		if page := s.Do("GET", "/activate/"+linkA, "", nil); page.Status != http.StatusGone || !strings.Contains(string(page.Body), "withdrawn by your administrator") {
			t.Errorf("a's activation page: got %d, want 410 saying the invitation was withdrawn", page.Status)
		}
	})

	t.Run("the batch shows it was undone", func(t *testing.T) {
		var list struct {
			Batches []store.Batch `json:"batches"`
		}
		s.Do("GET", "/v1/organizations/"+org+"/batches", s.RootToken, nil).JSON(t, &list)
		got := list.Batches[0]
		if got.UndoneAt == nil || got.UndoneBy == nil || *got.UndoneBy != "root@test.example" || got.UndoRemoved != 2 || got.UndoKept != 2 {
			t.Errorf("batch: got undone %v by %v, %d removed, %d kept; want undone by root, 2 and 2", got.UndoneAt, got.UndoneBy, got.UndoRemoved, got.UndoKept)
		}
	})

	t.Run("again is harmless", func(t *testing.T) {
		status, again := undo(t, s, b.ID)
		if status != http.StatusOK || len(again.Removed) != 0 || len(again.Kept) != 2 || !again.UndoneAt.Equal(answers[0].UndoneAt) ||
			again.Batch.UndoRemoved != 2 {
			t.Errorf("undo again: got %d %+v, want nothing removed, the same two kept and the first time", status, again)
		}
	})

	t.Run("the addresses can be imported again", func(t *testing.T) {
		again := s.Invite(org, group, []byte(csvHeader+"A,A,a@acme.test,No,,auto,on\r\n"))
		if again.Succeeded != 1 {
			t.Errorf("a@ imported again: got %d succeeded, want 1", again.Succeeded)
		}
	})
}

func TestUndoRunningBatch(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t) // no worker: the batch stays unfinished
	org, group := s.Org("Acme", 0, 10)
	up := s.Upload(s.RootToken, org, group, stacktest.CSV("acme.test", 1, 3), map[string]string{"invite": "true"})
	var b store.Batch
	up.JSON(t, &b)
	s.RunRows(b.ID, 2) // one account created, two rows to go

	got := s.Do("POST", "/v1/batches/"+b.ID+"/undo", s.RootToken, nil)
	if code, message := got.Error(t); got.Status != http.StatusConflict || code != "batch_not_finished" || !strings.Contains(message, "/cancel") {
		t.Errorf("undo of a running batch: got %d %s, want 409 batch_not_finished saying to cancel first", got.Status, got.Body)
	}
	if got := s.Do("POST", "/v1/batches/"+b.ID+"/cancel", s.RootToken, nil); got.Status != http.StatusAccepted {
		t.Fatalf("cancel: got %d %s", got.Status, got.Body)
	}
	got = s.Do("POST", "/v1/batches/"+b.ID+"/undo", s.RootToken, nil)
	if code, message := got.Error(t); got.Status != http.StatusConflict || code != "batch_not_finished" || !strings.Contains(message, "once it has finished") {
		t.Errorf("undo of a batch being canceled: got %d %s, want 409 saying to wait for it to finish", got.Status, got.Body)
	}
	if n := len(s.Accounts(org)); n != 1 {
		t.Errorf("accounts: got %d, want the one row 2 created", n)
	}
}
