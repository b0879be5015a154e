package jobs_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	batchreport "github.com/multiline/onboarding/internal/report"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

// TestReportCodesAndAccounts checks the report's reason_code and account_id, in the CSV and
// in the workbook, for a succeeded row, a row failed for lack of a number, one refused at
// upload and canceled rows; and that both formats wait for the batch to finish.
func TestReportCodesAndAccounts(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 1) // one number: the second row to be invited finds none
	file := "firstname,email address or device,social_messaging,monitor_calls,monitor_sms\r\n" +
		"\"=HYPERLINK(\"\"http://evil\"\")\",a@acme.test,No,auto,on\r\n" +
		"Bea,b@acme.test,No,auto,on\r\n" +
		"Cy,c@acme.test,Maybe,auto,on\r\n"
	b := upload(t, s, org, group, []byte(file), true)
	for _, format := range []string{"csv", "xlsx"} {
		if got := s.Do("GET", "/v1/batches/"+b.ID+"/report."+format, s.RootToken, nil); got.Status != http.StatusConflict ||
			got.ErrorCode(t) != "batch_not_finished" {
			t.Errorf("report.%s before the batch finished: got %d %s, want 409 batch_not_finished", format, got.Status, got.Body)
		}
	}
	worker := s.StartWorker(1)
	if done := s.WaitBatch(b.ID, 30*time.Second); done.Succeeded != 1 || done.Failed != 2 {
		t.Fatalf("got %+v, want 1 succeeded and 2 failed", done)
	}
	recs := report(t, s, b.ID)
	if !slices.Equal(recs[0], batchreport.Columns) || len(recs) != 4 {
		t.Fatalf("report.csv: got header %q and %d lines, want %q and 4", recs[0], len(recs), batchreport.Columns)
	}
	// Rows 2 and 3 race for the one number; whichever gets it succeeds.
	won, lost := 0, 1
	if recs[2][4] == "succeeded" {
		won, lost = 1, 0
	}
	accounts := s.Accounts(org)
	if len(accounts) != 1 {
		t.Fatalf("got %d accounts, want 1", len(accounts))
	}
	winner, ok := accounts[recs[won+1][1]]
	if !ok {
		t.Fatalf("no account for %s, the row that succeeded", recs[won+1][1])
	}
	want := make([]struct{ status, code, account, number string }, 3)
	want[won] = struct{ status, code, account, number string }{"succeeded", store.CodeNone, winner.ID, stacktest.Numbers(0, 1)[0]}
	want[lost] = struct{ status, code, account, number string }{"failed", store.CodeNoNumber, "", ""}
	want[2] = struct{ status, code, account, number string }{"failed", store.CodeInvalid, "", ""}
	if recs[1][2] != `'=HYPERLINK("http://evil")` {
		t.Errorf("report.csv firstname: got %q, want it neutralised", recs[1][2])
	}
	for i, w := range want {
		r := recs[i+1]
		if r[4] != w.status || r[8] != w.code || r[9] != w.account || r[6] != w.number {
			t.Errorf("report.csv line %d: got status %q, reason_code %q, account_id %q, multiline_number %q; want %q %q %q %q",
				i+2, r[4], r[8], r[9], r[6], w.status, w.code, w.account, w.number)
		}
	}

	got := s.Do("GET", "/v1/batches/"+b.ID+"/report.xlsx", s.RootToken, nil)
	if got.Status != http.StatusOK || got.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Fatalf("report.xlsx: got %d %q, want 200 and the workbook type", got.Status, got.Header.Get("Content-Type"))
	}
	f, err := excelize.OpenReader(bytes.NewReader(got.Body))
	if err != nil {
		t.Fatalf("open report.xlsx: %v", err)
	}
	defer f.Close()
	rows, err := f.GetRows(batchreport.SheetName)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || !slices.Equal(rows[0], batchreport.Columns) {
		t.Fatalf("report.xlsx: got %d rows, header %q; want 4 and %q", len(rows), rows[0], batchreport.Columns)
	}
	cell := func(ref string) (string, excelize.CellType, string) {
		v, _ := f.GetCellValue(batchreport.SheetName, ref)
		typ, _ := f.GetCellType(batchreport.SheetName, ref)
		formula, _ := f.GetCellFormula(batchreport.SheetName, ref)
		return v, typ, formula
	}
	number := fmt.Sprintf("G%d", won+2) // the succeeded row's multiline_number
	if v, typ, _ := cell(number); v != want[won].number || typ != excelize.CellTypeSharedString {
		t.Errorf("report.xlsx %s: got %q of type %v, want %q as a text cell", number, v, typ, want[won].number)
	}
	if v, typ, formula := cell("C2"); v != `=HYPERLINK("http://evil")` || typ != excelize.CellTypeSharedString || formula != "" {
		t.Errorf("report.xlsx C2: got %q of type %v, formula %q; want the text as it is, no formula", v, typ, formula)
	}
	for i, w := range want {
		line := rows[i+1]
		line = append(line, make([]string, len(batchreport.Columns)-len(line))...) // GetRows drops trailing empty cells
		if line[4] != w.status || line[8] != w.code || line[9] != w.account {
			t.Errorf("report.xlsx row %d: got %q, want status %q, reason_code %q, account_id %q", i+2, line, w.status, w.code, w.account)
		}
	}
	var filter string
	for _, d := range f.GetDefinedName() {
		if d.Name == "_xlnm._FilterDatabase" {
			filter = d.RefersTo
		}
	}
	if want := "'" + batchreport.SheetName + "'!$A$1:$J$4"; filter != want {
		t.Errorf("report.xlsx auto filter: got %q, want %q", filter, want)
	}

	t.Run("canceled rows", func(t *testing.T) {
		// No worker while the batch is canceled, so that no row runs before the cancel.
		worker.Stop()
		b := upload(t, s, org, group, stacktest.CSV("acme.test", 10, 2), false)
		if got := s.Do("POST", "/v1/batches/"+b.ID+"/cancel", s.RootToken, nil); got.Status != http.StatusAccepted {
			t.Fatalf("cancel: got %d %s", got.Status, got.Body)
		}
		s.StartWorker(1)
		if done := s.WaitBatch(b.ID, 30*time.Second); done.Canceled != 2 {
			t.Fatalf("got %+v, want 2 canceled", done)
		}
		for _, r := range report(t, s, b.ID)[1:] {
			if r[4] != "canceled" || r[8] != store.CodeCanceled || r[9] != "" {
				t.Errorf("report.csv: got %q, want canceled, reason_code canceled, no account_id", r)
			}
		}
	})
}
