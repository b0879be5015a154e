package report

import (
	"bytes"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/multiline/onboarding/internal/store"
)

func TestXLSX(t *testing.T) {
	rows := []store.ReportRow{
		{Line: 2, RawIdentifier: "a@acme.test", Firstname: "Ann", Status: "succeeded", ReasonCode: "none",
			MultilineNumber: "+15550100001", Invitation: "sent", AccountID: "0b9c5a4e-1d5f-4c55-9d7e-2b1e0f3a6c11"},
		{Line: 3, RawIdentifier: `=HYPERLINK("http://evil","x")`, Firstname: "+1+1", Lastname: "-2", Status: "failed",
			Reason: "@SUM(A1)", ReasonCode: "invalid_value", Invitation: "not_sent"},
	}
	b, err := XLSX(rows)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got, []string{SheetName}) {
		t.Fatalf("sheets: got %v, want [%s]", got, SheetName)
	}
	got, err := f.GetRows(SheetName)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{Columns, Cells(rows[0]), Cells(rows[1])}
	for i := range want {
		// GetRows drops trailing empty cells.
		w := want[i]
		for len(w) > 0 && w[len(w)-1] == "" {
			w = w[:len(w)-1]
		}
		if i >= len(got) || !slices.Equal(got[i], w) {
			t.Errorf("row %d: got %q, want %q (values as they are, no apostrophe)", i+1, at(got, i), w)
		}
	}
	t.Run("every value is a text cell, never a formula", func(t *testing.T) {
		for _, ref := range []string{"A1", "A2", "G2", "B3", "C3", "D3", "F3"} {
			typ, err := f.GetCellType(SheetName, ref)
			if err != nil {
				t.Fatal(err)
			}
			if typ != excelize.CellTypeSharedString {
				t.Errorf("%s: got cell type %v, want a shared string", ref, typ)
			}
			if formula, _ := f.GetCellFormula(SheetName, ref); formula != "" {
				t.Errorf("%s: got formula %q, want none", ref, formula)
			}
		}
		if v, _ := f.GetCellValue(SheetName, "G2"); v != "+15550100001" {
			t.Errorf("G2: got %q, want +15550100001", v)
		}
		if v, _ := f.GetCellValue(SheetName, "B3"); v != `=HYPERLINK("http://evil","x")` {
			t.Errorf("B3: got %q, want the formula-looking text as it is", v)
		}
		id, _ := f.GetCellStyle(SheetName, "G2")
		st, err := f.GetStyle(id)
		if err != nil || st.NumFmt != 49 {
			t.Errorf("G2: got number format %v (%v), want 49 (text)", st, err)
		}
	})
	t.Run("the header carries the filter and stays in view", func(t *testing.T) {
		var filter string
		for _, d := range f.GetDefinedName() {
			if d.Name == "_xlnm._FilterDatabase" {
				filter = d.RefersTo
			}
		}
		if filter != "'"+SheetName+"'!$A$1:$J$3" {
			t.Errorf("auto filter: got %q, want '%s'!$A$1:$J$3", filter, SheetName)
		}
		p, err := f.GetPanes(SheetName)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Freeze || p.YSplit != 1 || p.TopLeftCell != "A2" {
			t.Errorf("panes: got %+v, want the first row frozen", p)
		}
	})
	t.Run("columns are as wide as their values, within bounds", func(t *testing.T) {
		for col, want := range map[string]float64{"A": minWidth, "B": 2 + float64(len(rows[1].RawIdentifier)),
			"G": 2 + float64(len("multiline_number")), "J": 2 + 36} {
			if got, _ := f.GetColWidth(SheetName, col); got != want {
				t.Errorf("column %s: got width %v, want %v", col, got, want)
			}
		}
	})
}

func at(rows [][]string, i int) []string {
	if i < len(rows) {
		return rows[i]
	}
	return nil
}
