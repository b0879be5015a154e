package csvfile

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// checkRows compares the rows' lines and identifiers with want, which
// lists "line identifier" pairs, and fails on any row error.
func checkRows(t *testing.T, f *File, want ...string) {
	t.Helper()
	var got []string
	for _, r := range f.Rows {
		got = append(got, itoa(r.Line)+" "+r.Identifier)
		for _, e := range r.Errors {
			t.Errorf("unexpected row error: %v", e)
		}
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("rows: got %q, want %q", got, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// checkStandardRows checks the three rows every encoding variant holds.
func checkStandardRows(t *testing.T, f *File, firstLine int) {
	t.Helper()
	checkRows(t, f, itoa(firstLine)+" zoe.muller@example.com", itoa(firstLine+1)+" +15550100002", itoa(firstLine+2)+" ann@example.com")
	if len(f.Rows) != 3 {
		return
	}
	zoe, jose, ann := f.Rows[0], f.Rows[1], f.Rows[2]
	for _, c := range []struct{ name, got, want string }{
		{"Zoë firstname", zoe.Firstname, "Zoë"},
		{"Zoë lastname", zoe.Lastname, "Müller"},
		{"Zoë multiline_number", zoe.MultilineNumber, "+15550100001"},
		{"Zoë forwarding_number", zoe.ForwardingNumber, "+442079460958"},
		{"Zoë language", zoe.Language, "de"},
		{"Zoë monitor_calls", zoe.MonitorCalls, "auto"},
		{"José firstname", jose.Firstname, "José"},
		{"José lastname", jose.Lastname, "Núñez"},
		{"José kind", jose.IdentifierKind, KindPhone},
		{"José raw identifier", jose.RawIdentifier, "15550100002"},
		{"José multiline_number", jose.MultilineNumber, "+15550100003"},
		{"José language", jose.Language, "es"},
		{"Ann lastname", ann.Lastname, "O'Neil"},
		{"Ann kind", ann.IdentifierKind, KindEmail},
		{"Ann raw identifier", ann.RawIdentifier, "ANN@Example.COM"},
		{"Ann monitor_calls", ann.MonitorCalls, "auto"},
		{"Ann monitor_sms", ann.MonitorSMS, "on"},
		{"Ann forwarding_number", ann.ForwardingNumber, "+442079460959"},
		{"Ann language", ann.Language, "fr"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if !zoe.SocialMessaging || !zoe.RestrictIncomingSocialMessaging || jose.SocialMessaging {
		t.Errorf("social messaging flags: got %v/%v/%v, want true/true/false",
			zoe.SocialMessaging, zoe.RestrictIncomingSocialMessaging, jose.SocialMessaging)
	}
}

func TestParseTestdataEncodings(t *testing.T) {
	tests := []struct {
		file      string
		encoding  string
		delimiter rune
		firstLine int
	}{
		{"utf8.csv", EncodingUTF8, ',', 2},
		{"utf8-lf.csv", EncodingUTF8, ',', 2},
		{"utf8-bom-semicolon.csv", EncodingUTF8BOM, ';', 2},
		{"utf16le-tab.txt", EncodingUTF16LE, '\t', 2},
		{"utf16be-tab.txt", EncodingUTF16BE, '\t', 2},
		{"windows1252.csv", EncodingWindows1252, ',', 2},
		{"windows1252-semicolon.csv", EncodingWindows1252, ';', 2},
		{"cr-only.csv", EncodingUTF8, ',', 2},
		{"sep-hint.csv", EncodingUTF8, ';', 3},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := Parse(readTestdata(t, tt.file), Options{SocialMessaging: true})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f.Encoding != tt.encoding {
				t.Errorf("encoding: got %q, want %q", f.Encoding, tt.encoding)
			}
			if f.Delimiter != tt.delimiter {
				t.Errorf("delimiter: got %q, want %q", f.Delimiter, tt.delimiter)
			}
			if tt.file == "sep-hint.csv" {
				checkRows(t, f, "3 zoe.muller@example.com")
				return
			}
			checkStandardRows(t, f, tt.firstLine)
			if f.NoteLine != 0 {
				t.Errorf("NoteLine: got %d, want 0", f.NoteLine)
			}
		})
	}
}

func TestParseTestdataWindows1252Notice(t *testing.T) {
	f, err := Parse(readTestdata(t, "windows1252.csv"), Options{SocialMessaging: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Notices) == 0 || !strings.Contains(f.Notices[0], "Windows-1252") {
		t.Errorf("notices: got %q, want one about Windows-1252", f.Notices)
	}
}

func TestParseTestdataQuotedMultiline(t *testing.T) {
	f, err := Parse(readTestdata(t, "quoted-multiline.csv"), Options{SocialMessaging: true})
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, r := range f.Rows {
		lines = append(lines, r.Line)
	}
	if got, want := lines, []int{2, 3, 4, 5, 7}; !equalInts(got, want) {
		t.Fatalf("lines: got %v, want %v", got, want)
	}
	if got, want := f.Rows[0].Lastname, "Müller, Jr"; got != want {
		t.Errorf("embedded comma: got %q, want %q", got, want)
	}
	if got, want := f.Rows[2].Firstname, `Say "Hi"`; got != want {
		t.Errorf("embedded quotes: got %q, want %q", got, want)
	}
	multi := f.Rows[3]
	if len(multi.Errors) != 1 || multi.Errors[0].Column != ColLastname || !strings.Contains(multi.Errors[0].Message, "line break") {
		t.Errorf("name with a line break: got %v, want one lastname error about the line break", multi.Errors)
	}
	if got, want := f.Invalid(), 1; got != want {
		t.Errorf("invalid rows: got %d, want %d", got, want)
	}
}

func TestParseTestdataNoteLines(t *testing.T) {
	f, err := Parse(readTestdata(t, "with-note-line.csv"), Options{SocialMessaging: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.NoteLine != 2 {
		t.Errorf("NoteLine: got %d, want 2", f.NoteLine)
	}
	checkRows(t, f, "3 zoe.muller@example.com", "4 +15550100002")
	if len(f.Notices) == 0 || !strings.Contains(f.Notices[0], "line 2") {
		t.Errorf("notices: got %q, want one naming line 2", f.Notices)
	}

	f, err = Parse(readTestdata(t, "note-line-edited.csv"), Options{SocialMessaging: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.NoteLine != 3 {
		t.Errorf("NoteLine: got %d, want 3", f.NoteLine)
	}
	checkRows(t, f, "2 zoe.muller@example.com", "4 +15550100002")
}

func TestParseTestdataExcelMangled(t *testing.T) {
	f, err := Parse(readTestdata(t, "excel-mangled.csv"), Options{SocialMessaging: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`row 2, email address or device: "1.555E+10": Excel turned this number into scientific notation; format the column as Text and re-enter it`,
		`row 3, multiline_number: "4.4207946E+11": Excel turned this number into scientific notation; format the column as Text and re-enter it`,
		`row 5, email address or device: "=cmd|' /C calc'!A0" is not an email address or a phone number with country code, e.g. +1 555 010 0001`,
	}
	var got []string
	for _, e := range f.Errors() {
		got = append(got, e.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\ngot  %q\nwant %q", got, want)
	}
	plus := f.Rows[2]
	if plus.Identifier != "+15550100004" || plus.MultilineNumber != "+442079460958" || plus.ForwardingNumber != "+442079460960" {
		t.Errorf("numbers without +: got %q %q %q, want +15550100004 +442079460958 +442079460960",
			plus.Identifier, plus.MultilineNumber, plus.ForwardingNumber)
	}
}

func TestParseTestdataHeaders(t *testing.T) {
	f, err := Parse(readTestdata(t, "headers-edited.csv"), Options{})
	if err != nil {
		t.Fatalf("edited headers: %v", err)
	}
	if r := f.Rows[0]; r.Firstname != "Ed" || r.Lastname != "Ited" || r.Language != "it" || r.MonitorSMS != "on" {
		t.Errorf("edited headers: got %+v, want Ed Ited it on", r)
	}

	_, err = Parse(readTestdata(t, "unknown-column.csv"), Options{})
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("unknown column: got %v, want a *FileError", err)
	}
	if want := `unknown column "monitor_call": did you mean "monitor_calls"?`; fe.Code != "unknown_columns" || fe.Message != want {
		t.Errorf("unknown column: got %s %q, want unknown_columns %q", fe.Code, fe.Message, want)
	}
}

func TestParseTestdataNotCSV(t *testing.T) {
	tests := []struct{ file, code, says string }{
		{"not-csv.xlsx", "unreadable_workbook", "save it again as Excel Workbook (.xlsx) or as CSV UTF-8"},
		{"old.xls", "xls_unsupported", "save it without a password as Excel Workbook (.xlsx) or as CSV UTF-8"},
		{"binary.bin", "not_text", "binary data"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := Parse(readTestdata(t, tt.file), Options{})
			var fe *FileError
			if !errors.As(err, &fe) || f != nil {
				t.Fatalf("got %v, %v, want nil and a *FileError", f, err)
			}
			if fe.Code != tt.code || !strings.Contains(fe.Message, tt.says) {
				t.Errorf("got %s %q, want %s and a message with %q", fe.Code, fe.Message, tt.code, tt.says)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
