package csvfile

import (
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks Parse's promises on any input: it does not panic, it
// returns either a File or a *FileError with a code and a message, never
// more than MaxRows rows, and every row error names a line and a column.
func FuzzParse(f *testing.F) {
	for _, d := range []string{
		"",
		mandatoryHeader + "\r\na@example.com,Yes,auto,on\r\n",
		string(Template(true)) + "Zoë,Müller,+1 555 010 0001,No,1.555E+10,on,off,12,true,xx\r\n",
		"sep=;\n" + strings.ReplaceAll(mandatoryHeader, ",", ";") + "\n\"a;b\";Yes;auto;on\n",
		mandatoryHeader + "\n\"unclosed,Yes,auto,on\n",
		"Note: x\n" + mandatoryHeader + "\nnote,Yes,off,off\n,,,\n",
		"firstname,,email address or device,social_messaging,monitor_calls,monitor_sms\nA,B,a@b.co,No,off,off,x\nC\n",
		"\xFF\xFEe\x00m\x00",
		"PK\x03\x04",
		"\xE9\xE8," + mandatoryHeader,
	} {
		f.Add([]byte(d), false, false, uint8(0))
		f.Add([]byte(d), true, true, uint8(2))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b, true, false, uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, social, offload bool, maxRows uint8) {
		opts := Options{SocialMessaging: social, SMTPDataOffload: offload, MaxRows: int(maxRows % 8)}
		limit := opts.MaxRows
		if limit == 0 {
			limit = MaxRows
		}
		file, err := Parse(data, opts)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FileError", err, err)
			}
			if fe.Code == "" || fe.Message == "" || file != nil {
				t.Fatalf("FileError %+v with file %v: want a code, a message and no file", fe, file)
			}
			return
		}
		if file == nil {
			t.Fatal("no file and no error")
		}
		if len(file.Rows) == 0 || len(file.Rows) > limit {
			t.Fatalf("got %d rows, want 1 to %d", len(file.Rows), limit)
		}
		if file.Delimiter != ',' && file.Delimiter != ';' && file.Delimiter != '\t' {
			t.Fatalf("delimiter %q", file.Delimiter)
		}
		prev := 0
		for _, r := range file.Rows {
			if r.Line <= prev {
				t.Fatalf("row line %d after %d", r.Line, prev)
			}
			prev = r.Line
			if r.Line == file.NoteLine {
				t.Fatalf("row on the Note line %d", r.Line)
			}
			for _, e := range r.Errors {
				if e.Line != r.Line || e.Line < 1 || e.Column == "" || e.Message == "" {
					t.Fatalf("FieldError %+v of row at line %d", e, r.Line)
				}
			}
			if r.Valid() {
				checkValidRow(t, r, opts)
			}
		}
	})
}

// checkValidRow checks the normalised values of a row without errors.
func checkValidRow(t *testing.T, r Row, opts Options) {
	t.Helper()
	switch r.IdentifierKind {
	case KindEmail:
		if r.Identifier != strings.ToLower(r.Identifier) || !strings.Contains(r.Identifier, "@") {
			t.Fatalf("email identifier %q", r.Identifier)
		}
	case KindPhone:
		if opts.SMTPDataOffload || !isE164(r.Identifier) {
			t.Fatalf("phone identifier %q (offload %v)", r.Identifier, opts.SMTPDataOffload)
		}
	default:
		t.Fatalf("identifier kind %q", r.IdentifierKind)
	}
	if r.MultilineNumber != "" && !isE164(r.MultilineNumber) {
		t.Fatalf("multiline_number %q", r.MultilineNumber)
	}
	if n := len(r.ForwardingNumber); n != 0 && (n < 5 || n > 19 || !isE164(r.ForwardingNumber)) {
		t.Fatalf("forwarding_number %q", r.ForwardingNumber)
	}
	if (r.MonitorCalls != "auto" && r.MonitorCalls != "off") || (r.MonitorSMS != "on" && r.MonitorSMS != "off") {
		t.Fatalf("monitor values %q %q", r.MonitorCalls, r.MonitorSMS)
	}
	if r.Language != "" && !strings.Contains(" en it de fr es ", " "+r.Language+" ") {
		t.Fatalf("language %q", r.Language)
	}
	if r.RestrictIncomingSocialMessaging && (!opts.SocialMessaging || !r.SocialMessaging) {
		t.Fatalf("restrict set without social messaging")
	}
	for _, n := range []string{r.Firstname, r.Lastname} {
		if utf8.RuneCountInString(n) > MaxNameLength || !utf8.ValidString(n) {
			t.Fatalf("name %q", n)
		}
	}
}

// isE164 reports whether s is "+" and up to 18 digits, the first not 0.
func isE164(s string) bool {
	if len(s) < 2 || len(s) > 19 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FuzzSimpleEmail checks that every address the fast path accepts is one
// mail.ParseAddress accepts unchanged.
func FuzzSimpleEmail(f *testing.F) {
	for _, s := range []string{"a@example.com", "a.b+c@x-y.example.org", "a..b@x.com", "a@-x.com", "a@x", "\"a\"@x.com", "a@x.com."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !simpleEmail(s) {
			return
		}
		a, err := mail.ParseAddress(s)
		if err != nil || a.Name != "" || a.Address != s {
			t.Fatalf("simpleEmail(%q) but ParseAddress gives %v, %v", s, a, err)
		}
	})
}
