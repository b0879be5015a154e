package csvfile

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// openXLSX opens a workbook held in memory, closing it when the test ends.
func openXLSX(t *testing.T, data []byte) *excelize.File {
	t.Helper()
	wb, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("open workbook: %v", err)
	}
	t.Cleanup(func() { wb.Close() })
	return wb
}

func TestTemplateXLSX(t *testing.T) {
	for _, social := range []bool{true, false} {
		data, err := TemplateXLSX(social)
		if err != nil {
			t.Fatal(err)
		}
		wb := openXLSX(t, data)
		if got, want := wb.GetSheetList(), []string{TemplateSheet, InstructionsSheet}; !slices.Equal(got, want) {
			t.Fatalf("social=%v sheets: got %q, want %q", social, got, want)
		}
		if got := wb.GetActiveSheetIndex(); got != 0 {
			t.Errorf("social=%v active sheet: got %d, want 0 (%s)", social, got, TemplateSheet)
		}
		rows, err := wb.GetRows(TemplateSheet)
		if err != nil {
			t.Fatal(err)
		}
		cols := Columns(social)
		if len(rows) != 1 || !slices.Equal(rows[0], cols) {
			t.Fatalf("social=%v rows: got %q, want only the header %q", social, rows, cols)
		}

		t.Run("text format", func(t *testing.T) {
			for i, name := range cols {
				letter, _ := excelize.ColumnNumberToName(i + 1)
				id, err := wb.GetColStyle(TemplateSheet, letter)
				if err != nil {
					t.Fatal(err)
				}
				st, err := wb.GetStyle(id)
				if err != nil {
					t.Fatal(err)
				}
				if st.NumFmt != numFmtText {
					t.Errorf("social=%v column %s (%s): number format %d, want %d (\"@\", Text)", social, letter, name, st.NumFmt, numFmtText)
				}
			}
		})

		t.Run("drop-down lists", func(t *testing.T) {
			dvs, err := wb.GetDataValidations(TemplateSheet)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, dv := range dvs {
				if dv.Type != "list" || !dv.ShowErrorMessage {
					t.Errorf("validation %s: type %q, error shown %v; want a list that refuses other values", dv.Sqref, dv.Type, dv.ShowErrorMessage)
				}
				got[dv.Sqref] = dv.Formula1
			}
			want := map[string]string{
				"D2:D1001": `"Yes,No"`, "F2:F1001": `"auto,off"`, "G2:G1001": `"on,off"`,
			}
			if social {
				want["I2:I1001"] = `"true,false"`
				want["J2:J1001"] = `"English,Italian,German,French,Spanish"`
			} else {
				want["I2:I1001"] = `"English,Italian,German,French,Spanish"`
			}
			if len(got) != len(want) {
				t.Errorf("social=%v: got %d validations %q, want %d", social, len(got), got, len(want))
			}
			for ref, f := range want {
				if got[ref] != f {
					t.Errorf("social=%v validation of %s: got %q, want %q", social, ref, got[ref], f)
				}
			}
		})

		t.Run("frozen header", func(t *testing.T) {
			p, err := wb.GetPanes(TemplateSheet)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Freeze || p.YSplit != 1 || p.XSplit != 0 || p.TopLeftCell != "A2" {
				t.Errorf("social=%v panes: got %+v, want row 1 frozen", social, p)
			}
		})

		t.Run("instructions", func(t *testing.T) {
			rows, err := wb.GetRows(InstructionsSheet)
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			for _, r := range rows {
				text.WriteString(strings.Join(r, "\t") + "\n")
			}
			for _, s := range []string{"at most 1000 rows", "Text", ColIdentifier + "\tyes", ColSocialMessaging + "\tyes",
				ColMonitorCalls + "\tyes", ColMonitorSMS + "\tyes", ColFirstname + "\tno", "4 to 18 digits",
				"English, Italian, German, French or Spanish"} {
				if !strings.Contains(text.String(), s) {
					t.Errorf("social=%v instructions: got\n%s\nwant them to say %q", social, text.String(), s)
				}
			}
			if got := strings.Contains(text.String(), ColRestrictIncomingSocialMessaging); got != social {
				t.Errorf("social=%v instructions mention restrict: got %v, want %v", social, got, social)
			}
			if strings.Contains(text.String(), "DELETE THIS LINE") {
				t.Errorf("instructions: got a Note line's text, want none")
			}
		})
	}
}

func TestTemplateXLSXAloneHasNoRows(t *testing.T) {
	data, err := TemplateXLSX(true)
	if err != nil {
		t.Fatal(err)
	}
	fe := fileError(t, string(data), Options{SocialMessaging: true})
	if fe.Code != "no_rows" {
		t.Errorf("got %s %q, want no_rows", fe.Code, fe.Message)
	}
}
