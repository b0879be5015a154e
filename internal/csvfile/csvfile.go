// Package csvfile reads and validates the batch onboarding file that
// administrators fill in from the template, CSV or an .xlsx workbook: bytes
// in, rows and errors out. It also builds the templates.
//
// It survives what spreadsheets do to such files: a byte order mark, UTF-16
// or Windows-1252 text, semicolon or tab delimiters, CR line ends, edited
// headers, the template's Note line left in, phone numbers with their "+"
// stripped or turned into scientific notation. File-level problems are a
// *FileError; problems with a row are FieldErrors on that Row.
package csvfile

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxRows is the most data rows a file may hold.
const MaxRows = 1000

// Options describe the organization the file is uploaded for.
type Options struct {
	SocialMessaging bool // the org has social messaging: restrict_incoming_social_messaging applies
	SMTPDataOffload bool // the identifier must be an email address
	MaxRows         int  // 0 (or less) means MaxRows
}

// Row is one data record of the file, normalised, with its problems.
type Row struct {
	Line                            int    // line of the file where the record starts (a workbook's row number); the header is line 1 in the template
	Firstname, Lastname             string // as written, trimmed
	Identifier                      string // lower-cased bare email address, or phone number in E.164
	IdentifierKind                  string // "email" or "phone"; for an invalid identifier what it looked like, or ""
	RawIdentifier                   string // the identifier cell as written, trimmed
	SocialMessaging                 bool
	MultilineNumber                 string // E.164, or ""
	MonitorCalls                    string // "auto" or "off"
	MonitorSMS                      string // "on" or "off"
	ForwardingNumber                string // "+" and digits, or ""
	RestrictIncomingSocialMessaging bool
	Language                        string       // "en", "it", "de", "fr", "es"; "" when not given
	Errors                          []FieldError // empty when the row is valid
	Notices                         []string     // things ignored on purpose, for the report
}

// Identifier kinds.
const (
	KindEmail = "email"
	KindPhone = "phone"
)

// Valid reports whether the row has no errors.
func (r *Row) Valid() bool { return len(r.Errors) == 0 }

// FieldError is a problem with one value (or, with Column ColRecord, one record).
type FieldError struct {
	Line    int    // line of the file where the record starts
	Column  string // canonical column name, or ColRecord
	Value   string // the cell as written, trimmed
	Message string // what is wrong and what is accepted; it quotes the value
}

// Error formats the problem as `row 7, monitor_calls: "on" is not one of auto, off`.
func (e FieldError) Error() string {
	if e.Column == ColRecord {
		return fmt.Sprintf("row %d: %s", e.Line, e.Message)
	}
	return fmt.Sprintf("row %d, %s: %s", e.Line, e.Column, e.Message)
}

// File is a parsed upload.
type File struct {
	Rows      []Row    // data rows in file order; the Note line and blank lines are not rows
	Format    string   // FormatCSV or FormatXLSX
	Encoding  string   // one of the Encoding constants; "" for a workbook
	Delimiter rune     // ',', ';' or '\t'; ',' for a workbook
	Sheet     string   // the sheet read from a workbook, "" for CSV
	NoteLine  int      // line of the skipped Note line, 0 if none
	Notices   []string // file-level notices for the response
}

// Valid counts the rows without errors.
func (f *File) Valid() int {
	n := 0
	for i := range f.Rows {
		if f.Rows[i].Valid() {
			n++
		}
	}
	return n
}

// Invalid counts the rows with errors.
func (f *File) Invalid() int { return len(f.Rows) - f.Valid() }

// Errors returns every row error in file order.
func (f *File) Errors() []FieldError {
	var errs []FieldError
	for i := range f.Rows {
		errs = append(errs, f.Rows[i].Errors...)
	}
	return errs
}

// FileError is a problem with the file as a whole: nothing of it is usable.
type FileError struct {
	Code    string   // snake_case, e.g. "missing_columns"
	Message string   // for a person: what is wrong and what to do
	Details []string // specifics, such as one line per column
}

// Error returns the message.
func (e *FileError) Error() string { return e.Message }

// Parse reads and validates a whole file. A file-level problem is returned
// as a *FileError; problems with rows are in each Row's Errors.
func Parse(data []byte, opts Options) (*File, error) {
	if opts.MaxRows <= 0 {
		opts.MaxRows = MaxRows
	}
	if isWorkbook(data) {
		return parseWorkbook(data, opts)
	}
	text, encoding, err := decode(data)
	if err != nil {
		return nil, err
	}
	f := &File{Format: FormatCSV, Encoding: encoding}
	if encoding == EncodingWindows1252 {
		f.Notices = append(f.Notices, "the file is not UTF-8; it was read as Windows-1252 (Western European): check that accented names look right")
	}
	if err := read(text, opts, f); err != nil {
		return nil, err
	}
	return f, nil
}

// lineList formats line numbers for a notice, eliding a long tail.
func lineList(lines []int) string {
	const show = 20
	var b strings.Builder
	for i, l := range lines {
		if i == show {
			fmt.Fprintf(&b, " and %d more", len(lines)-show)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(l))
	}
	return b.String()
}

// maxQuoted is how many characters of a value a message quotes. A cell can hold megabytes
// (a whole file pasted into a name); a message that repeated it would be as large, in the
// dry run's answer and in every stored reason.
const maxQuoted = 100

// quote quotes s for a message like strconv.Quote, keeping at most maxQuoted characters and
// marking a cut with an ellipsis inside the quotes: "Aaaa…".
func quote(s string) string {
	n := 0
	for i := range s {
		if n == maxQuoted {
			q := strconv.Quote(s[:i])
			return q[:len(q)-1] + "…\""
		}
		n++
	}
	return strconv.Quote(s)
}
