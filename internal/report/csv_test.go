package report

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/multiline/onboarding/internal/store"
)

func TestNeutralize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Plain", "Plain"},
		{"+15550100001", "+15550100001"}, // a phone number is data, not a formula
		{"+1555", "+1555"},
		{"+123", "'+123"}, // too short to be a number
		{"+1234567890123456789", "'+1234567890123456789"}, // too long
		{"+1+1", "'+1+1"},
		{"+1 555 010 0001", "'+1 555 010 0001"},
		{"+", "'+"},
		{`=HYPERLINK("http://evil")`, `'=HYPERLINK("http://evil")`},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"-2", "'-2"},
		{"-1+1", "'-1+1"},
		{"\tTAB", "'\tTAB"},
		{"\rCR", "'\rCR"},
		{"a=1", "a=1"},
	}
	for _, tt := range tests {
		if got := Neutralize(tt.in); got != tt.want {
			t.Errorf("Neutralize(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCSVNeutralisesFormulasButNotNumbers(t *testing.T) {
	rows := []store.ReportRow{
		{Line: 2, RawIdentifier: "=HYPERLINK(\"http://evil\")", Firstname: "+1+1", Lastname: "-2", Status: "failed",
			Reason: "@SUM(A1)", ReasonCode: "invalid_value", MultilineNumber: "+15550100001", Invitation: "not_sent"},
		{Line: 3, RawIdentifier: "\tTAB", Firstname: "\rCR", Lastname: "Plain", Status: "succeeded", ReasonCode: "none",
			Invitation: "sent", AccountID: "0b9c5a4e-1d5f-4c55-9d7e-2b1e0f3a6c11"},
	}
	b, err := CSV(rows)
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
		{"row", "email address or device", "firstname", "lastname", "status", "reason", "multiline_number", "invitation",
			"reason_code", "account_id"},
		{"2", `'=HYPERLINK("http://evil")`, "'+1+1", "'-2", "failed", "'@SUM(A1)", "+15550100001", "not_sent", "invalid_value", ""},
		{"3", "'\tTAB", "'CR", "Plain", "succeeded", "", "", "sent", "none", "0b9c5a4e-1d5f-4c55-9d7e-2b1e0f3a6c11"}, // the CRLF writer drops a lone CR
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d lines, want %d", len(recs), len(want))
	}
	for i := range want {
		if len(recs[i]) != len(want[i]) {
			t.Errorf("line %d: got %d columns, want %d", i+1, len(recs[i]), len(want[i]))
			continue
		}
		for j := range want[i] {
			if recs[i][j] != want[i][j] {
				t.Errorf("line %d column %d: got %q, want %q", i+1, j+1, recs[i][j], want[i][j])
			}
		}
	}
}
