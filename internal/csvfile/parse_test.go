package csvfile

import (
	"errors"
	"strings"
	"testing"
)

// mandatoryHeader has only the mandatory columns.
const mandatoryHeader = "email address or device,social_messaging,monitor_calls,monitor_sms"

// fileError parses data and returns its *FileError, failing without one.
func fileError(t *testing.T, data string, opts Options) *FileError {
	t.Helper()
	f, err := Parse([]byte(data), opts)
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, %v, want a *FileError", f, err)
	}
	if f != nil {
		t.Errorf("file: got %v, want nil with a FileError", f)
	}
	return fe
}

func TestFileErrors(t *testing.T) {
	rows := func(n int) string {
		var b strings.Builder
		b.WriteString(mandatoryHeader + "\n")
		for i := range n {
			b.WriteString("u" + itoa(i) + "@example.com,No,off,off\n")
		}
		return b.String()
	}
	tests := []struct {
		name, data string
		opts       Options
		code       string
		message    string // exact message, or "" to check only the code and says
		says       string
	}{
		{"empty", "", Options{}, "empty_file", "the file is empty; fill in the template and upload it", ""},
		{"white space", " \r\n\r\n\t", Options{}, "empty_file", "", ""},
		{"BOM only", "\xEF\xBB\xBF\r\n", Options{}, "empty_file", "", ""},
		{"only delimiters", ",,,,\r\n;;;\r\n", Options{}, "empty_file", "", "no header line"},
		{"header only", mandatoryHeader + "\r\n", Options{}, "no_rows", "the file has a header but no accounts; add one row per account below the header", ""},
		{"header and blank lines", mandatoryHeader + "\r\n,,,\r\n\r\n", Options{}, "no_rows", "", ""},
		{"header and note", mandatoryHeader + "\r\nNote: delete this line\r\n", Options{}, "no_rows", "", "line 2 is the template's Note line"},
		{"1001 rows", rows(1001), Options{}, "too_many_rows", "the file has 1001 accounts; the limit is 1000 per file: split it into several files", ""},
		{"6 rows with MaxRows 5", rows(6), Options{MaxRows: 5}, "too_many_rows", "the file has 6 accounts; the limit is 5 per file: split it into several files", ""},
		{"missing column", "email address or device,social_messaging,monitor_calls\na@example.com,No,off\n", Options{}, "missing_columns",
			`missing mandatory column "monitor_sms"; the template has every column`, ""},
		{"missing columns", "firstname,email address or device\nA,a@example.com\n", Options{}, "missing_columns",
			`missing mandatory columns "social_messaging", "monitor_calls" and "monitor_sms"; the template has every column`, ""},
		{"duplicate column", mandatoryHeader + ",Monitor SMS\n", Options{}, "duplicate_columns",
			`column "monitor_sms" appears more than once; keep only one`, ""},
		{"unknown column", mandatoryHeader + ",monitr_sms2\n", Options{}, "unknown_columns",
			`unknown column "monitr_sms2": did you mean "monitor_sms"?`, ""},
		{"unknown column without suggestion", mandatoryHeader + ",department\n", Options{}, "unknown_columns",
			`unknown column "department"; the known columns are firstname, lastname, email address or device, social_messaging, multiline_number, monitor_calls, monitor_sms, forwarding_number, restrict_incoming_social_messaging, Language`, ""},
		{"unknown alias", "email,social_messaging,monitor_calls,monitor_sms\n", Options{}, "unknown_columns",
			`unknown column "email": did you mean "email address or device"?`, ""},
		{"header in one cell", `"firstname,lastname,email address or device,social_messaging"` + "\n", Options{}, "missing_columns", "", "the whole header is in one cell"},
		{"pipe separated", "firstname|email address or device|social_messaging|monitor_calls|monitor_sms\n", Options{}, "unknown_columns", "", "the known columns are"},
		{"bare quote", mandatoryHeader + "\na@example.com,No,off,off\nb@exa\"mple.com,No,off,off\n", Options{}, "malformed_csv",
			`line 3 has a double quote (") inside a value that does not start with one; put the whole value in double quotes and write the quote inside it twice (""), or remove it`, ""},
		{"unclosed quote", mandatoryHeader + "\n\"a@example.com,No,off,off\nb@example.com,No,off,off\n", Options{}, "malformed_csv",
			"the quoted value that starts on line 2 is never closed, so the rest of the file was read into it; add the missing closing double quote", ""},
		{"text after quote", mandatoryHeader + "\n\"a@example.com\"x,No,off,off\n", Options{}, "malformed_csv", "", "line 2 has a quoted value followed by more text"},
		{"truncated xlsx", "PK\x03\x04\x14\x00\x00\x00", Options{}, "unreadable_workbook",
			"this looks like an Excel workbook (.xlsx) but it cannot be read; open it in Excel, save it again as Excel Workbook (.xlsx) or as CSV UTF-8, and upload that file", ""},
		{"xls", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00", Options{}, "xls_unsupported", "", "Excel 97-2003 workbook (.xls)"},
		{"PDF", "%PDF-1.7\n", Options{}, "not_text", "", "PDF"},
		{"NUL bytes", mandatoryHeader + "\n\x00\x01\x02", Options{}, "not_text", "", "binary data (NUL bytes)"},
		{"control characters", strings.Repeat("\x01\x02\x03a", 10), Options{}, "not_text", "", "binary data (control characters)"},
		{"UTF-32", "\xFF\xFE\x00\x00e\x00\x00\x00", Options{}, "not_text", "", "UTF-32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := fileError(t, tt.data, tt.opts)
			if fe.Code != tt.code {
				t.Errorf("code: got %q, want %q (message %q)", fe.Code, tt.code, fe.Message)
			}
			if tt.message != "" && fe.Message != tt.message {
				t.Errorf("message:\ngot  %q\nwant %q", fe.Message, tt.message)
			}
			if !strings.Contains(fe.Message, tt.says) {
				t.Errorf("message: got %q, want it to contain %q", fe.Message, tt.says)
			}
			if fe.Error() != fe.Message {
				t.Errorf("Error(): got %q, want the message", fe.Error())
			}
		})
	}
}

func TestFileErrorDetails(t *testing.T) {
	fe := fileError(t, "firstname,monitor_call,social_messaging,email address or device,social_messaging\n", Options{})
	want := []string{
		`column "social_messaging" appears more than once`,
		`unknown column "monitor_call": did you mean "monitor_calls"?`,
		`mandatory column "monitor_calls" is missing`,
		`mandatory column "monitor_sms" is missing`,
	}
	if fe.Code != "duplicate_columns" {
		t.Errorf("code: got %q, want duplicate_columns", fe.Code)
	}
	if strings.Join(fe.Details, "|") != strings.Join(want, "|") {
		t.Errorf("details:\ngot  %q\nwant %q", fe.Details, want)
	}
	if want := `column "social_messaging" appears more than once; keep only one; unknown column "monitor_call": did you mean "monitor_calls"? missing mandatory column "monitor_sms"; the template has every column`; fe.Message != want {
		t.Errorf("message:\ngot  %q\nwant %q", fe.Message, want)
	}
}

func TestManyUnknownColumns(t *testing.T) {
	header := mandatoryHeader + strings.Repeat(",x", 5000)
	fe := fileError(t, header+"\n", Options{})
	if fe.Code != "unknown_columns" || len(fe.Details) != maxReported+1 || fe.Details[maxReported] != "and 4980 more unknown columns" {
		t.Errorf("got %s with %d details ending %q, want unknown_columns with %d details ending with the count",
			fe.Code, len(fe.Details), fe.Details[len(fe.Details)-1], maxReported+1)
	}
}

func TestMaxRowsExactly(t *testing.T) {
	var b strings.Builder
	b.WriteString(mandatoryHeader + "\r\nNote: delete this line\r\n")
	for i := range MaxRows {
		b.WriteString("u" + itoa(i) + "@example.com,No,off,off\r\n,,,\r\n")
	}
	f, err := Parse([]byte(b.String()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != MaxRows || f.Valid() != MaxRows {
		t.Errorf("rows: got %d (%d valid), want %d", len(f.Rows), f.Valid(), MaxRows)
	}
	if last := f.Rows[MaxRows-1].Line; last != 2*MaxRows+1 {
		t.Errorf("last line: got %d, want %d", last, 2*MaxRows+1)
	}
}

func TestRecordShape(t *testing.T) {
	data := "firstname,lastname,email address or device,social_messaging,monitor_calls,monitor_sms,,\r\n" +
		"A,B,a@example.com,No,off,off,,\r\n" + // empty trailing cells: fine
		"A,B,b@example.com,No,off,off,,,,,\r\n" + // more empty cells than the header: fine
		"Smith, Jr,B,c@example.com,No,off,off\r\n" + // an unquoted comma in a name: 7 values for 6 named columns
		"A,B,d@example.com,No,off,off,x,y,z\r\n" + // beyond the header
		"A,B,e@example.com,No\r\n" + // short
		"A,B,f@example.com,No,off,off,surprise\r\n" + // a value under an empty header cell
		"firstname,lastname,Email Address or Device,social_messaging,monitor_calls,monitor_sms\r\n" // the header again
	want := []string{
		`row 4: has 7 values but the header names 6 columns (extra: "off"); a value that contains a comma must be in double quotes`,
		`row 5: has 9 values but the header names 6 columns (extra: "x", "y" and "z"); a value that contains a comma must be in double quotes`,
		`row 6: has 4 values but the header has 8 columns: "monitor_calls" and "monitor_sms" are missing`,
		`row 7: has 7 values but the header names 6 columns (extra: "surprise"); a value that contains a comma must be in double quotes`,
		`row 8: repeats the header line; remove it (two files pasted together?)`,
	}
	checkErrors(t, data, want)

	data = "firstname,,email address or device;social_messaging;monitor_calls;monitor_sms\r\n"
	data = strings.ReplaceAll(data, ",", ";") + "A;between;a@example.com;No;off;off\r\n"
	checkErrors(t, data, []string{
		`row 2: has the value "between" in column 2, which has no header; remove it or add the column's name`,
	})
}

// checkErrors parses data and compares every row error with want.
func checkErrors(t *testing.T, data string, want []string) {
	t.Helper()
	f, err := Parse([]byte(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range f.Errors() {
		got = append(got, e.Error())
		if e.Column == "" || e.Line < 1 {
			t.Errorf("FieldError without a column or line: %+v", e)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\ngot  %q\nwant %q", got, want)
	}
}

func TestNoteLineRecognition(t *testing.T) {
	const row = "a@example.com,No,off,off"
	tests := []struct {
		name     string
		data     string
		noteLine int
		rows     int
	}{
		{"Note: after header", mandatoryHeader + "\nNote: fill in and delete\n" + row, 2, 1},
		{"NOTE - with trailing cells", mandatoryHeader + "\nNOTE - delete me,,,\n" + row, 2, 1},
		{"quoted note with delimiters", mandatoryHeader + "\n\"Note: a, b, c; delete\",,,\n" + row, 2, 1},
		{"note split over cells", mandatoryHeader + "\nNote: mandatory are email address or device, social_messaging, monitor_calls\n" + row, 2, 1},
		{"bare word note", mandatoryHeader + "\nnote\n" + row, 2, 1},
		{"note before header", "Note: delete this line\n" + mandatoryHeader + "\n" + row, 1, 1},
		{"note in the middle", mandatoryHeader + "\n" + row + "\n\nNote: delete\nb@example.com,No,off,off", 4, 2},
		{"semicolon file", strings.ReplaceAll(mandatoryHeader, ",", ";") + "\nNote: a, b; delete;;;\n" + strings.ReplaceAll(row, ",", ";"), 2, 1},
		{"Notes is a word", mandatoryHeader + "\nNotes,No,off,off\n" + row, 0, 2},
		{"note@ is an address", mandatoryHeader + "\nnote@example.com,No,off,off\n" + row, 0, 2},
		{"person called Note", "firstname," + mandatoryHeader + "\nNote,b@example.com,No,off,off\nNote: delete\n", 3, 1},
		{"note with a phone number", "firstname," + mandatoryHeader + "\nNote,+1 555 010 0001,No,off,off\n", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if f.NoteLine != tt.noteLine {
				t.Errorf("NoteLine: got %d, want %d", f.NoteLine, tt.noteLine)
			}
			if len(f.Rows) != tt.rows {
				t.Errorf("rows: got %d, want %d", len(f.Rows), tt.rows)
			}
			if tt.noteLine > 0 && (len(f.Notices) == 0 || !strings.HasPrefix(f.Notices[0], "line "+itoa(tt.noteLine)+" is the template's Note line")) {
				t.Errorf("notices: got %q, want one about line %d", f.Notices, tt.noteLine)
			}
		})
	}
}

func TestLayouts(t *testing.T) {
	tests := []struct {
		name      string
		data      string
		delimiter rune
		lines     []int
	}{
		{"reordered columns", "monitor_sms,monitor_calls,social_messaging,email address or device\r\non,auto,Yes,a@example.com\r\n", ',', []int{2}},
		{"blank lines and spaces", "\r\n\r\n" + mandatoryHeader + "\r\n\r\n  \r\na@example.com , No , off , off \r\n\r\n", ',', []int{6}},
		{"mixed line ends", mandatoryHeader + "\ra@example.com,No,off,off\r\nb@example.com,No,off,off\nc@example.com,No,off,off", ',', []int{2, 3, 4}},
		{"tab", strings.ReplaceAll(mandatoryHeader, ",", "\t") + "\na@example.com\tNo\toff\toff\n", '\t', []int{2}},
		{"semicolon with commas in values", "firstname;lastname;" + strings.ReplaceAll(mandatoryHeader, ",", ";") + "\nA,B;C,D;a@example.com;No;off;off\n", ';', []int{2}},
		{"sep hint with comma", "sep=,\n" + mandatoryHeader + "\na@example.com,No,off,off\n", ',', []int{3}},
		{"double BOM", "\xEF\xBB\xBF\uFEFF" + mandatoryHeader + "\na@example.com,No,off,off\n", ',', []int{2}},
		{"UTF-16LE without BOM", utf16leNoBOM(mandatoryHeader + "\r\na@example.com,No,off,off\r\n"), ',', []int{2}},
		{"quoted header", `"email address or device","social_messaging","monitor_calls","monitor_sms"` + "\n" + `"a@example.com","No","off","off"` + "\n", ',', []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if f.Delimiter != tt.delimiter {
				t.Errorf("delimiter: got %q, want %q", f.Delimiter, tt.delimiter)
			}
			var lines []int
			for _, r := range f.Rows {
				lines = append(lines, r.Line)
				if !r.Valid() {
					t.Errorf("row %d: got errors %v, want none", r.Line, r.Errors)
				}
			}
			if !equalInts(lines, tt.lines) {
				t.Errorf("lines: got %v, want %v", lines, tt.lines)
			}
		})
	}
}

func utf16leNoBOM(s string) string {
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return string(b)
}

func TestFieldErrorFormat(t *testing.T) {
	tests := []struct {
		e    FieldError
		want string
	}{
		{FieldError{Line: 7, Column: ColMonitorCalls, Value: "on", Message: `"on" is not one of auto, off`}, `row 7, monitor_calls: "on" is not one of auto, off`},
		{FieldError{Line: 3, Column: ColRecord, Message: "has 12 values"}, "row 3: has 12 values"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestColumns(t *testing.T) {
	want := "firstname|lastname|email address or device|social_messaging|multiline_number|monitor_calls|monitor_sms|forwarding_number|restrict_incoming_social_messaging|Language"
	if got := strings.Join(Columns(true), "|"); got != want {
		t.Errorf("Columns(true): got %q, want %q", got, want)
	}
	want = strings.Replace(want, "|restrict_incoming_social_messaging", "", 1)
	if got := strings.Join(Columns(false), "|"); got != want {
		t.Errorf("Columns(false): got %q, want %q", got, want)
	}
	for _, c := range Columns(true) {
		want := c == ColIdentifier || c == ColSocialMessaging || c == ColMonitorCalls || c == ColMonitorSMS
		if got := Mandatory(c); got != want {
			t.Errorf("Mandatory(%q): got %v, want %v", c, got, want)
		}
	}
}

func TestHeaderKeyAndSuggestion(t *testing.T) {
	for _, h := range []string{"Email_Address_or_Device", " LANGUAGE ", "email address  or device", "\uFEFFfirstname", "First Name", "MONITOR_SMS", "Restrict Incoming Social Messaging"} {
		if _, ok := headerKeys[headerKey(h)]; !ok {
			t.Errorf("header %q: got no match, want a column", h)
		}
	}
	tests := []struct{ cell, want string }{
		{"monitor_call", ColMonitorCalls},
		{"socal_mesaging", ColSocialMessaging},
		{"Lang", ColLanguage},
		{"languages", ColLanguage},
		{"multiline number(s)", ColMultilineNumber},
		{"surname", ColLastname},
		{"department", ""},
		{strings.Repeat("x", 500), ""},
	}
	for _, tt := range tests {
		if got := suggestColumn(tt.cell); got != tt.want {
			t.Errorf("suggestColumn(%q): got %q, want %q", tt.cell, got, tt.want)
		}
	}
}
