package httpapi_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

// TestScopedAdminLearnsNothingOfOtherOrganizations sends a scoped admin's requests about
// another organization's account and number, and the same requests about an account and a
// number that exist nowhere (or in the admin's own organization, where existence is the
// point): the answers are the same but for the value the admin sent, and none names the
// other organization.
func TestScopedAdminLearnsNothingOfOtherOrganizations(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	mine, myGroup := s.Org("Mine", 0, 5)                // +15550000000 to +15550000004
	dest, _ := s.Org("Destination", 200, 5)             // in the admin's scope too
	hidden, hiddenGroup := s.Org("Hidden Corp", 100, 3) // +15550000100 to +15550000102
	s.StartWorker(2)
	s.Invite(hidden, hiddenGroup, []byte(csvHeader+"S,S,secret@hidden.test,No,,auto,on\r\n"))
	s.Invite(mine, myGroup, []byte(csvHeader+"M,M,me@mine.test,No,,auto,on\r\n"))
	secret := s.Accounts(hidden)["secret@hidden.test"]
	myAccount := s.Accounts(mine)["me@mine.test"]
	tok := s.NewAdmin("scoped@test.example", []string{mine, dest}, string(store.PrivAccounts), string(store.PrivNumbers))

	// Nothing of the hidden organization may appear in any answer.
	noTrace := func(t *testing.T, what string, body []byte) {
		t.Helper()
		for _, v := range []string{hidden, hiddenGroup, "Hidden Corp", "hidden corp", "another organization"} {
			if bytes.Contains(body, []byte(v)) {
				t.Errorf("%s names %q: %s", what, v, body)
			}
		}
	}
	const (
		theirNumber = "+15550000100"
		noNumber    = "+15559999999" // in nobody's pool
	)
	file := []byte(csvHeader +
		"A,A,secret@hidden.test,No,,auto,on\r\n" + // row 2: an account of the hidden organization
		"B,B,me@mine.test,No,,auto,on\r\n" + // row 3: an account of this organization
		"C,C,c@mine.test,No," + theirNumber + ",auto,on\r\n" + // row 4: the hidden organization's number
		"D,D,d@mine.test,No," + noNumber + ",auto,on\r\n") // row 5: nobody's number

	t.Run("dry run", func(t *testing.T) {
		got := s.Upload(tok, mine, myGroup, file, map[string]string{"dry_run": "true"})
		var res struct {
			Errors []struct {
				Row     int
				Message string
			}
		}
		got.JSON(t, &res)
		msg := map[int]string{}
		for _, e := range res.Errors {
			msg[e.Row] = e.Message
		}
		if got.Status != http.StatusOK || len(res.Errors) != 4 {
			t.Fatalf("got %d %s, want 200 with an error on each of the 4 rows", got.Status, got.Body)
		}
		if want := "Row 2, email address or device: " + store.AccountExistsReason; msg[2] != want {
			t.Errorf("row 2: got %q, want %q", msg[2], want)
		}
		if a, b := strings.TrimPrefix(msg[2], "Row 2"), strings.TrimPrefix(msg[3], "Row 3"); a != b {
			t.Errorf("another organization's identifier and this one's read differently:\n%q\n%q", msg[2], msg[3])
		}
		a := strings.ReplaceAll(strings.TrimPrefix(msg[4], "Row 4"), theirNumber, "<n>")
		b := strings.ReplaceAll(strings.TrimPrefix(msg[5], "Row 5"), noNumber, "<n>")
		if a != b || !strings.Contains(a, "is not in this organization's pool") {
			t.Errorf("another organization's number and nobody's read differently:\n%q\n%q", msg[4], msg[5])
		}
		noTrace(t, "the dry run", got.Body)
	})

	t.Run("report", func(t *testing.T) {
		up := s.Upload(tok, mine, myGroup, file, nil)
		var b store.Batch
		up.JSON(t, &b)
		s.WaitBatch(b.ID, 30*time.Second)
		got := s.Do("GET", "/v1/batches/"+b.ID+"/report.csv", tok, nil)
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(got.Body, []byte("\uFEFF")))).ReadAll()
		if err != nil || len(recs) != 5 {
			t.Fatalf("report: got %d %q (%v), want a header and 4 rows", got.Status, got.Body, err)
		}
		reason := func(line int) string { return recs[line-1][5] }
		want := "A" + store.AccountExistsReason[1:] // "an account…", starting with a capital
		if reason(2) != want || reason(3) != want {
			t.Errorf("identifier rows: got %q and %q, want both %q", reason(2), reason(3), want)
		}
		if a, b := strings.ReplaceAll(reason(4), theirNumber, "<n>"), strings.ReplaceAll(reason(5), noNumber, "<n>"); a != b {
			t.Errorf("another organization's number and nobody's read differently:\n%q\n%q", reason(4), reason(5))
		}
		noTrace(t, "the report", got.Body)
		var codes []string
		if err := s.DB.Select(&codes, `SELECT reason_code FROM batch_rows WHERE batch_id = $1 ORDER BY line`, b.ID); err != nil {
			t.Fatal(err)
		}
		if strings.Join(codes, " ") != "account_exists account_exists number_unavailable number_unavailable" {
			t.Errorf("reason codes: got %v, want account_exists twice, then number_unavailable twice", codes)
		}
	})

	t.Run("add numbers", func(t *testing.T) {
		got := s.Do("POST", "/v1/organizations/"+mine+"/numbers", tok, map[string]any{"numbers": []string{"+15550000101"}})
		if got.Status != http.StatusConflict || got.ErrorCode(t) != "numbers_unavailable" ||
			!strings.Contains(string(got.Body), "not available to this organization") {
			t.Errorf("got %d %s, want 409 numbers_unavailable: not available to this organization", got.Status, got.Body)
		}
		noTrace(t, "adding numbers", got.Body)
	})

	t.Run("move", func(t *testing.T) {
		const nobody = "00000000-0000-4000-8000-000000000000"
		before := moveSnapshot(t, s)
		for _, ids := range [][2][]string{
			{{secret.ID}, {nobody}},
			{{myAccount.ID, secret.ID}, {myAccount.ID, nobody}},
		} {
			theirs := s.Do("POST", "/v1/accounts/move", tok, map[string]any{"account_ids": ids[0], "organization_id": dest})
			none := s.Do("POST", "/v1/accounts/move", tok, map[string]any{"account_ids": ids[1], "organization_id": dest})
			if theirs.Status != http.StatusNotFound || theirs.ErrorCode(t) != "accounts_not_found" {
				t.Errorf("got %d %s, want 404 accounts_not_found", theirs.Status, theirs.Body)
			}
			a := strings.ReplaceAll(string(theirs.Body), secret.ID, "<id>")
			b := strings.ReplaceAll(string(none.Body), nobody, "<id>")
			if theirs.Status != none.Status || a != b {
				t.Errorf("another organization's account and no account read differently:\n%d %s\n%d %s",
					theirs.Status, theirs.Body, none.Status, none.Body)
			}
			noTrace(t, "the move", theirs.Body)
		}
		if after := moveSnapshot(t, s); after != before {
			t.Errorf("a refused move changed the database:\nbefore %s\nafter  %s", before, after)
		}
	})
}
