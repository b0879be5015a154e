package csvfile

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// filledTemplate returns the .xlsx template with cells set as Excel sets them when a person
// types or picks them: cells maps "B2" to a string (typed into a Text cell or picked from a
// drop-down), an int (a number typed into a cell that was not Text, or pasted as a value) or
// a bool.
func filledTemplate(t *testing.T, social bool, cells map[string]any) []byte {
	t.Helper()
	data, err := TemplateXLSX(social)
	if err != nil {
		t.Fatal(err)
	}
	wb := openXLSX(t, data)
	for cell, v := range cells {
		var err error
		switch v := v.(type) {
		case string:
			err = wb.SetCellStr(TemplateSheet, cell, v)
		case int:
			err = wb.SetCellInt(TemplateSheet, cell, int64(v))
		case float64:
			err = wb.SetCellFloat(TemplateSheet, cell, v, -1, 64)
		case bool:
			err = wb.SetCellBool(TemplateSheet, cell, v)
		default:
			t.Fatalf("cell %s: %T", cell, v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	buf, err := wb.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rowCells fills one row of the template (social messaging columns) from A.
func rowCells(cells map[string]any, row int, values ...any) {
	for i, v := range values {
		if v == nil {
			continue
		}
		name, _ := excelize.CoordinatesToCellName(i+1, row)
		cells[name] = v
	}
}

func TestParseWorkbook(t *testing.T) {
	cells := map[string]any{}
	rowCells(cells, 2, "Ann", "Lee", "ann@example.com", "Yes", "+15550100001", "auto", "on", nil, "true", "English")
	rowCells(cells, 3, "Bob", "Ray", "+1 555 010 0002", "No", nil, "off", "off", "+44 20 7946 0958", nil, "Italian")
	// Row 4 is left empty; row 5 has the phone typed as a number (Excel drops the "+") and
	// restrict as the boolean Excel makes of a typed TRUE.
	rowCells(cells, 5, "Cy", nil, 15550100003, "Yes", 15550100004, "auto", "on", 442079460959, true, "de")
	f, err := Parse(filledTemplate(t, true, cells), Options{SocialMessaging: true})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, f, "2 ann@example.com", "3 +15550100002", "5 +15550100003")
	if f.Format != FormatXLSX || f.Sheet != TemplateSheet || f.Encoding != "" || f.NoteLine != 0 {
		t.Errorf("file: got format %q sheet %q encoding %q note line %d, want xlsx %s \"\" 0", f.Format, f.Sheet, f.Encoding, f.NoteLine, TemplateSheet)
	}
	want := []Row{
		{MultilineNumber: "+15550100001", MonitorCalls: "auto", MonitorSMS: "on", RestrictIncomingSocialMessaging: true, SocialMessaging: true, Language: "en"},
		{MonitorCalls: "off", MonitorSMS: "off", ForwardingNumber: "+442079460958", Language: "it"},
		{MultilineNumber: "+15550100004", MonitorCalls: "auto", MonitorSMS: "on", ForwardingNumber: "+442079460959", RestrictIncomingSocialMessaging: true, SocialMessaging: true, Language: "de"},
	}
	for i, w := range want {
		r := f.Rows[i]
		got := fmt.Sprintf("%s %s %s %s %v %v %s", r.MultilineNumber, r.MonitorCalls, r.MonitorSMS, r.ForwardingNumber, r.RestrictIncomingSocialMessaging, r.SocialMessaging, r.Language)
		exp := fmt.Sprintf("%s %s %s %s %v %v %s", w.MultilineNumber, w.MonitorCalls, w.MonitorSMS, w.ForwardingNumber, w.RestrictIncomingSocialMessaging, w.SocialMessaging, w.Language)
		if got != exp {
			t.Errorf("row %d: got %s, want %s", r.Line, got, exp)
		}
	}
	if f.Rows[2].RawIdentifier != "15550100003" {
		t.Errorf("raw identifier of a number cell: got %q, want its digits", f.Rows[2].RawIdentifier)
	}
}

// csvLikeWorkbook is the CSV text (header on line 1) put into the template's cells, one
// line per row, each value a string.
func csvLikeWorkbook(t *testing.T, lines ...string) []byte {
	t.Helper()
	cells := map[string]any{}
	for i, l := range lines {
		var vals []any
		for _, v := range strings.Split(l, ",") {
			if v == "" {
				vals = append(vals, nil)
			} else {
				vals = append(vals, v)
			}
		}
		rowCells(cells, i+2, vals...)
	}
	return filledTemplate(t, false, cells)
}

func TestParseWorkbookRowErrorsAsCSV(t *testing.T) {
	rows := []string{
		"Ann,Lee,ann@example.com,Yes,,auto,on,,English",
		"Cy,Bad,cy@example.com,Maybe,,on,on,,Klingon",
		"Dup,Row,ANN@example.com,No,,off,off,,",
		",,,No,,,,,",
	}
	csv := strings.Join(append([]string{strings.Join(Columns(false), ",")}, rows...), "\r\n") + "\r\n"
	want, err := Parse([]byte(csv), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(csvLikeWorkbook(t, rows...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, w := fmt.Sprint(got.Errors()), fmt.Sprint(want.Errors())
	if g != w {
		t.Errorf("row errors:\ngot  %s\nwant %s (the CSV file's)", g, w)
	}
	if !strings.Contains(g, `row 3, social_messaging: "Maybe" is not one of`) {
		t.Errorf("row errors: got %s, want one on row 3, the row Excel shows", g)
	}
	if !strings.Contains(g, "row 5, email address or device: is required") {
		t.Errorf("row errors: got %s, want an empty mandatory cell to be required, not missing", g)
	}
}

func TestParseWorkbookLimitsAndSheets(t *testing.T) {
	t.Run("1001 rows", func(t *testing.T) {
		cells := map[string]any{}
		for i := range 1001 {
			rowCells(cells, i+2, "U", "", fmt.Sprintf("u%d@example.com", i), "No", nil, "off", "off")
		}
		fe := fileError(t, string(filledTemplate(t, false, cells)), Options{})
		if fe.Code != "too_many_rows" || !strings.Contains(fe.Message, "the file has 1001 accounts; the limit is 1000") {
			t.Errorf("got %s %q, want too_many_rows with 1001 and 1000", fe.Code, fe.Message)
		}
	})
	t.Run("first sheet when none is named Accounts", func(t *testing.T) {
		wb := excelize.NewFile()
		defer wb.Close()
		_ = wb.SetSheetName("Sheet1", "Staff")
		_, _ = wb.NewSheet("Other")
		_ = wb.SetSheetRow("Staff", "A3", &[]string{"email address or device", "social_messaging", "monitor_calls", "monitor_sms"})
		_ = wb.SetSheetRow("Staff", "A4", &[]any{"a@example.com", "No", "off", "off"})
		_ = wb.SetSheetRow("Other", "A1", &[]string{"nothing", "here"})
		buf, _ := wb.WriteToBuffer()
		f, err := Parse(buf.Bytes(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkRows(t, f, "4 a@example.com")
		if f.Sheet != "Staff" {
			t.Errorf("sheet: got %q, want Staff", f.Sheet)
		}
	})
	t.Run("the sheet named Accounts when it is not first", func(t *testing.T) {
		wb := excelize.NewFile()
		defer wb.Close()
		_, _ = wb.NewSheet(" accounts ")
		_ = wb.SetSheetRow("Sheet1", "A1", &[]string{"notes"})
		_ = wb.SetSheetRow(" accounts ", "A1", &[]string{"email address or device", "social_messaging", "monitor_calls", "monitor_sms"})
		_ = wb.SetSheetRow(" accounts ", "A2", &[]any{"+15550100001", "No", "off", "off"})
		buf, _ := wb.WriteToBuffer()
		f, err := Parse(buf.Bytes(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkRows(t, f, "2 +15550100001")
	})
	t.Run("a value beyond the named columns", func(t *testing.T) {
		cells := map[string]any{}
		rowCells(cells, 2, "A", "B", "a@example.com", "No", nil, "off", "off", nil, nil, "stray")
		f, err := Parse(filledTemplate(t, false, cells), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if e := fmt.Sprint(f.Errors()); !strings.Contains(e, `row 2: has 10 values but the header names 9 columns (extra: "stray"); remove them`) {
			t.Errorf("errors: got %s, want the extra value named without CSV quoting advice", e)
		}
	})
}

func TestWholeNumber(t *testing.T) {
	for in, want := range map[string]string{
		"15550100001": "15550100001", "1.5550100001E+10": "15550100001", "442079460958.0": "442079460958",
		"12.5": "12.5", "1E+20": "1E+20", "abc": "abc",
	} {
		if got := wholeNumber(in); got != want {
			t.Errorf("wholeNumber(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestParseWorkbookUnreadable(t *testing.T) {
	_, err := Parse([]byte("PK\x05\x06"+strings.Repeat("\x00", 18)), Options{})
	var fe *FileError
	if !errors.As(err, &fe) || fe.Code != "unreadable_workbook" {
		t.Fatalf("empty zip: got %v, want unreadable_workbook", err)
	}
}
