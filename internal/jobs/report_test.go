package jobs

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/multiline/onboarding/internal/store"
)

func TestReportNeutralisesFormulas(t *testing.T) {
	rows := []store.ReportRow{
		{Line: 2, RawIdentifier: "=HYPERLINK(\"http://evil\")", Firstname: "+1+1", Lastname: "-2", Status: "failed",
			Reason: "@SUM(A1)", MultilineNumber: "+15550100001", Invitation: "not_sent"},
		{Line: 3, RawIdentifier: "\tTAB", Firstname: "\rCR", Lastname: "Plain", Status: "succeeded", Invitation: "sent"},
	}
	b, err := BuildReport(rows)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\uFEFF")) {
		t.Errorf("report lacks the UTF-8 BOM Excel needs")
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		ReportColumns,
		{"2", `'=HYPERLINK("http://evil")`, "'+1+1", "'-2", "failed", "'@SUM(A1)", "'+15550100001", "not_sent"},
		{"3", "'\tTAB", "'CR", "Plain", "succeeded", "", "", "sent"}, // the CRLF writer drops a lone CR
	}
	for i := range want {
		for j := range want[i] {
			if recs[i][j] != want[i][j] {
				t.Errorf("line %d column %d: got %q, want %q", i+1, j+1, recs[i][j], want[i][j])
			}
		}
	}
}
