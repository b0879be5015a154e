package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/stacktest"
)

// countStored returns how many batches and rows the database holds.
func countStored(t *testing.T, s *stacktest.Stack) (batches, rows int) {
	t.Helper()
	if err := s.DB.Get(&batches, `SELECT count(*) FROM batches`); err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Get(&rows, `SELECT count(*) FROM batch_rows`); err != nil {
		t.Fatal(err)
	}
	return batches, rows
}

func TestUploadRefusesBadFilesAndStoresNothing(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)
	header := "firstname,lastname,email address or device,social_messaging,multiline_number,monitor_calls,monitor_sms\r\n"
	big := bytes.Repeat([]byte("x"), 6<<20)
	cases := []struct {
		name   string
		file   []byte
		fields map[string]string
		group  string
		status int
		code   string
	}{
		{"1001 rows", stacktest.CSV("acme.test", 0, 1001), nil, group, 422, "too_many_rows"},
		{"header only", []byte(header), nil, group, 422, "no_rows"},
		{"empty file", []byte{}, nil, group, 422, "empty_file"},
		{"missing mandatory column", []byte("firstname,email address or device,social_messaging,monitor_calls\r\nA,a@x.test,No,auto\r\n"), nil, group, 422, "missing_columns"},
		{"a broken Excel workbook", append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0, 1, 2}, 100)...), nil, group, 415, "unreadable_workbook"},
		{"an Excel 97-2003 workbook", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 504)...), nil, group, 415, "xls_unsupported"},
		{"binary", bytes.Repeat([]byte{0, 0xff, 0x10, 0}, 100), nil, group, 415, "not_text"},
		{"over the size limit", big, nil, group, 413, "too_large"},
		{"no file", nil, nil, group, 400, "file_missing"},
		{"no permission group", stacktest.CSV("acme.test", 0, 1), nil, "", 400, "permission_group_missing"},
		{"unknown permission group", stacktest.CSV("acme.test", 0, 1), nil, "00000000-0000-0000-0000-000000000000", 422, "unknown_permission_group"},
		{"invite not a boolean", stacktest.CSV("acme.test", 0, 1), map[string]string{"invite": "sure"}, group, 400, "invalid_invite"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := s.Upload(s.RootToken, org, c.group, c.file, c.fields)
			if got.Status != c.status || got.ErrorCode(t) != c.code {
				t.Errorf("got %d %s, want %d %s", got.Status, got.Body, c.status, c.code)
			}
		})
	}
	if b, r := countStored(t, s); b != 0 || r != 0 {
		t.Errorf("refused uploads stored %d batches and %d rows", b, r)
	}
	got := s.Upload(s.RootToken, org, group, stacktest.CSV("acme.test", 0, 1001), nil)
	if !strings.Contains(string(got.Body), "1000") {
		t.Errorf("the 1001-row message does not state the limit: %s", got.Body)
	}
}

func TestDryRunValidatesAgainstTheOrganization(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 3)
	s.Org("Other", 100, 1)
	file := "firstname,lastname,email address or device,social_messaging,multiline_number,monitor_calls,monitor_sms\r\n" +
		"Note: delete this line before uploading,,,,,,\r\n" +
		"Ann,A,ann@acme.test,Yes,+15550000001,auto,on\r\n" +
		"Bob,B,bob@acme.test,No,+15550000100,auto,on\r\n" + // another org's number
		"Cy,C,cy@acme.test,No,,on,on\r\n" // bad monitor_calls
	got := s.Upload(s.RootToken, org, group, []byte(file), map[string]string{"dry_run": "true"})
	var res struct {
		Total, Valid, Invalid int
		NoteLine              int `json:"note_line"`
		Notices               []string
		Errors                []struct {
			Row     int
			Column  string
			Message string
		}
	}
	got.JSON(t, &res)
	if got.Status != 200 || res.Total != 3 || res.Valid != 1 || res.Invalid != 2 || res.NoteLine != 2 {
		t.Fatalf("got %d %s, want 200 with 3 rows, 1 valid, note line 2", got.Status, got.Body)
	}
	want := map[int]string{
		4: "Row 4, multiline_number: +15550000100 is not in this organization's pool",
		5: `Row 5, monitor_calls: "on" is not one of auto, off`,
	}
	for _, e := range res.Errors {
		if w, ok := want[e.Row]; !ok || e.Message != w {
			t.Errorf("error %+v, want %q", e, want[e.Row])
		}
		delete(want, e.Row)
	}
	if len(want) > 0 {
		t.Errorf("missing errors: %v", want)
	}
	if len(res.Notices) == 0 {
		t.Errorf("the response does not say the Note line was skipped")
	}
	if b, r := countStored(t, s); b != 0 || r != 0 {
		t.Errorf("dry run stored %d batches and %d rows", b, r)
	}
}

func TestUploadStoresInvalidRowsAsFailed(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 3)
	file := "email address or device,social_messaging,monitor_calls,monitor_sms\r\n" +
		"ok@acme.test,No,auto,on\r\n" +
		"bad@acme.test,Maybe,auto,on\r\n"
	got := s.Upload(s.RootToken, org, group, []byte(file), nil)
	if got.Status != http.StatusAccepted {
		t.Fatalf("got %d %s, want 202", got.Status, got.Body)
	}
	var b struct {
		ID     string
		Total  int
		Failed int
		Status string
	}
	got.JSON(t, &b)
	if b.Total != 2 || b.Failed != 1 || b.Status != "queued" {
		t.Errorf("got %+v, want 2 rows, 1 already failed, queued", b)
	}
	var reason string
	s.DB.Get(&reason, `SELECT reason FROM batch_rows WHERE line = 3`)
	if reason != `Row 3, social_messaging: "Maybe" is not one of Yes, No` {
		t.Errorf("stored reason %q", reason)
	}
	var tasks int
	for _, line := range []int{2, 3} {
		if _, err := s.Inspector.GetTaskInfo(s.Queues.Rows(), fmt.Sprintf("row:%s:%d", b.ID, line)); err == nil {
			tasks++
		}
	}
	if tasks != 1 {
		t.Errorf("got %d row tasks enqueued, want 1 (the valid row)", tasks)
	}
}

func TestTemplate(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	plain, _ := s.Org("Plain", 0, 0)
	var social struct{ ID string }
	s.Do("POST", "/v1/organizations", s.RootToken, map[string]any{"name": "Social", "social_messaging": true}).JSON(t, &social)
	for _, c := range []struct {
		org      string
		restrict bool
	}{{plain, false}, {social.ID, true}} {
		got := s.Do("GET", "/v1/organizations/"+c.org+"/accounts/template.csv", s.RootToken, nil)
		lines := strings.Split(string(got.Body), "\r\n")
		if got.Status != 200 || !strings.HasPrefix(got.Header.Get("Content-Type"), "text/csv") || len(lines) < 2 {
			t.Fatalf("got %d %q", got.Status, got.Body)
		}
		if !strings.HasPrefix(lines[0], "firstname,lastname,email address or device,social_messaging,multiline_number,monitor_calls,monitor_sms,forwarding_number") {
			t.Errorf("header %q", lines[0])
		}
		if has := strings.Contains(lines[0], "restrict_incoming_social_messaging"); has != c.restrict {
			t.Errorf("restrict column present: got %v, want %v", has, c.restrict)
		}
		if !strings.HasPrefix(strings.TrimLeft(lines[1], `"`), "Note") {
			t.Errorf("second line is not the Note line: %q", lines[1])
		}
	}
}

// TestHugeValueGivesShortReasons uploads a 4 MB firstname: the dry run's answer and the
// stored reason quote only the start of it.
func TestHugeValueGivesShortReasons(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 3)
	huge := strings.Repeat("A", 4<<20)
	file := []byte(csvHeader + huge + ",Rossi,anna@acme.test,No,,auto,on\r\n")

	dry := s.Upload(s.RootToken, org, group, file, map[string]string{"dry_run": "true"})
	if dry.Status != http.StatusOK || !strings.Contains(string(dry.Body), `is 4194304 characters long`) {
		t.Fatalf("dry run: got %d %.300s, want 200 with the firstname's length", dry.Status, dry.Body)
	}
	if len(dry.Body) > 2000 {
		t.Errorf("dry run answer: got %d bytes, want at most 2000: %.300s…", len(dry.Body), dry.Body)
	}

	if got := s.Upload(s.RootToken, org, group, file, nil); got.Status != http.StatusAccepted {
		t.Fatalf("upload: got %d %.300s, want 202", got.Status, got.Body)
	}
	var reason string
	if err := s.DB.Get(&reason, `SELECT reason FROM batch_rows WHERE line = 2`); err != nil {
		t.Fatal(err)
	}
	if len(reason) > 300 || !strings.HasPrefix(reason, `Row 2, firstname: "AAAA`) || !strings.Contains(reason, `…" is 4194304 characters long`) {
		t.Errorf("stored reason: got %d bytes %.300q…, want the start of the name cut with an ellipsis", len(reason), reason)
	}
}

// TestLookalikeEmailIsARowFailure uploads an address beside the same address with a Cyrillic
// а: the dry run reports the second row, and an upload stores it failed (invalid_value).
func TestLookalikeEmailIsARowFailure(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 3)
	file := []byte(csvHeader + "Anna,Rossi,anna.rossi@example.com,No,,auto,on\r\n" +
		"Anna,Rossi,\u0430nna.rossi@example.com,No,,auto,on\r\n")
	want := `Row 3, email address or device: "аnna.rossi@example.com" mixes Latin and Cyrillic letters (Cyrillic а, U+0430, at position 1), so it can look like another address; retype it`

	dry := s.Upload(s.RootToken, org, group, file, map[string]string{"dry_run": "true"})
	var res struct {
		Valid, Invalid int
		Errors         []struct {
			Row     int
			Column  string
			Message string
		}
	}
	dry.JSON(t, &res)
	if dry.Status != http.StatusOK || res.Valid != 1 || res.Invalid != 1 || len(res.Errors) != 1 {
		t.Fatalf("dry run: got %d %s, want 200 with 1 valid row and 1 error", dry.Status, dry.Body)
	}
	if e := res.Errors[0]; e.Row != 3 || e.Column != "email address or device" || e.Message != want {
		t.Errorf("dry run error: got %+v, want row 3 %q", e, want)
	}

	if got := s.Upload(s.RootToken, org, group, file, nil); got.Status != http.StatusAccepted {
		t.Fatalf("upload: got %d %s, want 202", got.Status, got.Body)
	}
	var row struct {
		Status string `db:"status"`
		Code   string `db:"reason_code"`
		Reason string `db:"reason"`
	}
	if err := s.DB.Get(&row, `SELECT status, reason_code, reason FROM batch_rows WHERE line = 3`); err != nil {
		t.Fatal(err)
	}
	if row.Status != "failed" || row.Code != "invalid_value" || row.Reason != want {
		t.Errorf("stored row 3: got %+v, want failed invalid_value %q", row, want)
	}
}

// dryRunResult is a dry run's answer.
type dryRunResult struct {
	Total, Valid, Invalid int
	Errors                []struct {
		Row             int
		Column, Message string
	}
	Warnings []struct {
		Row                   int
		Column, Code, Message string
	}
	Numbers struct{ Needed, Available, Shortfall int }
}

func dryRun(t *testing.T, s *stacktest.Stack, org, group string, file []byte, invite bool) dryRunResult {
	t.Helper()
	got := s.Upload(s.RootToken, org, group, file, map[string]string{"dry_run": "true", "invite": fmt.Sprint(invite)})
	if got.Status != http.StatusOK {
		t.Fatalf("dry run: got %d %s, want 200", got.Status, got.Body)
	}
	var res dryRunResult
	got.JSON(t, &res)
	return res
}

// TestDryRunCountsTheNumbersAnInviteNeeds checks the dry run against the import: with 2 free
// numbers, 5 Import & Invite rows without a multiline_number are 3 short, the dry run says
// so, and the import then fails exactly 3 rows with no_number.
func TestDryRunCountsTheNumbersAnInviteNeeds(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 2)
	file := stacktest.CSV("acme.test", 1, 5)

	t.Run("import and invite is 3 numbers short", func(t *testing.T) {
		res := dryRun(t, s, org, group, file, true)
		if res.Valid != 5 || res.Invalid != 0 || len(res.Errors) != 0 {
			t.Errorf("got %d valid, %d invalid, errors %+v; want 5 valid and no errors", res.Valid, res.Invalid, res.Errors)
		}
		if n := res.Numbers; n.Needed != 5 || n.Available != 2 || n.Shortfall != 3 {
			t.Errorf("numbers: got %+v, want needed 5, available 2, shortfall 3", n)
		}
		if len(res.Warnings) != 3 {
			t.Fatalf("warnings: got %+v, want 3", res.Warnings)
		}
		for i, w := range res.Warnings {
			if w.Row != 4+i || w.Column != "multiline_number" || w.Code != "no_number" ||
				!strings.Contains(w.Message, "5 rows need a free number and 2 are Available") ||
				!strings.Contains(w.Message, "about 3 of them will fail") {
				t.Errorf("warning %d: got %+v, want row %d, multiline_number, no_number, naming the shortfall", i, w, 4+i)
			}
		}
	})

	t.Run("import alone needs no number", func(t *testing.T) {
		res := dryRun(t, s, org, group, file, false)
		if n := res.Numbers; n.Needed != 0 || n.Available != 2 || n.Shortfall != 0 || len(res.Warnings) != 0 {
			t.Errorf("got numbers %+v, warnings %+v; want needed 0, available 2, shortfall 0, no warnings", n, res.Warnings)
		}
	})

	t.Run("the import fails as many rows as the dry run said", func(t *testing.T) {
		s.StartWorker(4)
		b := s.Invite(org, group, file)
		if b.Succeeded != 2 || b.Failed != 3 {
			t.Errorf("batch: got %d succeeded, %d failed, want 2 and 3", b.Succeeded, b.Failed)
		}
		var noNumber int
		if err := s.DB.Get(&noNumber, `SELECT count(*) FROM batch_rows WHERE batch_id = $1 AND reason_code = 'no_number'`, b.ID); err != nil {
			t.Fatal(err)
		}
		if noNumber != 3 {
			t.Errorf("rows failed with no_number: got %d, want 3", noNumber)
		}
	})
}

// TestDryRunNamedNumbers checks named numbers: one held by another account is an error, and
// the ones the file names are not counted as free for the rows that name none.
func TestDryRunNamedNumbers(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 3)
	s.StartWorker(2)
	first := s.Upload(s.RootToken, org, group, []byte(csvHeader+"Held,By,held@acme.test,No,+15550000000,auto,on\r\n"), nil)
	var b struct{ ID string }
	first.JSON(t, &b)
	if done := s.WaitBatch(b.ID, 30*time.Second); done.Succeeded != 1 {
		t.Fatalf("first batch: got %+v, want its row succeeded", done)
	}
	file := csvHeader +
		"Ann,A,ann@acme.test,No,+15550000000,auto,on\r\n" + // held by held@acme.test
		"Bob,B,bob@acme.test,No,+15550000001,auto,on\r\n" + // Available
		"Cy,C,cy@acme.test,No,,auto,on\r\n" +
		"Di,D,di@acme.test,No,,auto,on\r\n"
	res := dryRun(t, s, org, group, []byte(file), true)
	if len(res.Errors) != 1 || res.Errors[0].Row != 2 || res.Errors[0].Column != "multiline_number" ||
		!strings.Contains(res.Errors[0].Message, "+15550000000 is reserved, not Available") {
		t.Errorf("errors: got %+v, want row 2's +15550000000 reserved, not Available", res.Errors)
	}
	// 3 numbers: one held, one named by row 3; one left for rows 4 and 5.
	if n := res.Numbers; n.Needed != 2 || n.Available != 1 || n.Shortfall != 1 {
		t.Errorf("numbers: got %+v, want needed 2, available 1, shortfall 1", n)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Row != 5 {
		t.Errorf("warnings: got %+v, want one on row 5", res.Warnings)
	}
}
