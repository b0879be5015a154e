package csvfile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// read parses the decoded text into f: it finds the delimiter and the
// header, then reads the records (see readRecords).
func read(text string, opts Options, f *File) error {
	hl, sep := headerLine(text)
	if hl == "" {
		return &FileError{Code: "empty_file", Message: "the file has no header line and no data; fill in the template and upload it"}
	}
	f.Delimiter = sep
	if f.Delimiter == 0 {
		f.Delimiter = detectDelimiter(hl)
	}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = f.Delimiter
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	src := &csvRecords{r: r, delim: f.Delimiter}
	return readRecords(src, opts, f, f.Delimiter, min(strings.Count(text, "\n")+1, opts.MaxRows))
}

// records is where readRecords gets the records of a file: the CSV reader, or a workbook's
// sheet. next returns a record and the line (row) where it starts, or io.EOF after the last;
// an error other than io.EOF is a *FileError.
type records interface {
	next() (rec []string, line int, err error)
}

// csvRecords reads the records of CSV text.
type csvRecords struct {
	r     *csv.Reader
	delim rune
}

func (c *csvRecords) next() ([]string, int, error) {
	rec, err := c.r.Read()
	if err == io.EOF {
		return nil, 0, err
	}
	if err != nil {
		return nil, 0, csvError(err, c.delim)
	}
	line, _ := c.r.FieldPos(0)
	return rec, line, nil
}

// readRecords reads the records of src into f: it skips blank and Note lines, takes the
// first other record as the header, validates each data row and enforces the row limit.
// delim is the CSV delimiter that messages name, 0 for a workbook; about is a guess of how
// many rows there are.
func readRecords(src records, opts Options, f *File, delim rune, about int) error {
	var (
		v         *validator
		noteLines []int
		dataRows  int
	)
	for {
		rec, line, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if dataRows > opts.MaxRows {
				break // too many rows is the more useful thing to say
			}
			return err
		}
		if blankRecord(rec) {
			continue
		}
		if v == nil {
			switch {
			case isSepHint(rec):
			case isNoteRecord(rec, -1):
				noteLines = append(noteLines, line)
			default:
				h, err := parseHeader(rec, opts)
				if err != nil {
					return err
				}
				v = newValidator(h, opts, delim, about)
			}
			continue
		}
		if isNoteRecord(rec, v.h.index[colIdentifier]) {
			noteLines = append(noteLines, line)
			continue
		}
		dataRows++
		if dataRows > opts.MaxRows {
			continue // keep counting, to say how many there are
		}
		if delim == 0 && len(rec) < v.h.width {
			// A sheet's row ends at its last filled cell: the empty cells after it are
			// empty values, not missing ones.
			rec = append(rec, make([]string, v.h.width-len(rec))...)
		}
		f.Rows = append(f.Rows, v.row(rec, line))
	}
	if v == nil {
		return &FileError{Code: "empty_file", Message: "the file has no header line; fill in the template and upload it"}
	}
	if len(noteLines) > 0 {
		f.NoteLine = noteLines[0]
		f.Notices = append(f.Notices, fmt.Sprintf("%s %s %s the template's Note line: skipped, not an account",
			plural(len(noteLines), "line", "lines"), lineList(noteLines), plural(len(noteLines), "is", "are")))
	}
	switch {
	case dataRows > opts.MaxRows:
		return &FileError{Code: "too_many_rows",
			Message: fmt.Sprintf("the file has %d accounts; the limit is %d per file: split it into several files", dataRows, opts.MaxRows),
			Details: []string{fmt.Sprintf("rows: %d", dataRows), fmt.Sprintf("limit: %d", opts.MaxRows)}}
	case dataRows == 0:
		msg := "the file has a header but no accounts; add one row per account below the header"
		if len(noteLines) > 0 {
			msg += fmt.Sprintf(" (line %d is the template's Note line, which is not an account)", noteLines[0])
		}
		return &FileError{Code: "no_rows", Message: msg}
	}
	f.Notices = append(f.Notices, v.notices()...)
	return nil
}

// blankRecord trims every cell in place and reports whether all are empty,
// as on the ",,,,,," lines Excel writes after the data.
func blankRecord(rec []string) bool {
	blank := true
	for i, c := range rec {
		c = trimCell(c)
		rec[i] = c
		if c != "" {
			blank = false
		}
	}
	return blank
}

// trimCell removes surrounding white space, including non-breaking spaces
// and byte order marks.
func trimCell(s string) string {
	if s == "" || (s[0] > ' ' && s[0] < utf8.RuneSelf && s[len(s)-1] > ' ' && s[len(s)-1] < utf8.RuneSelf) {
		return s
	}
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' })
}

// isSepHint recognises Excel's "sep=;" line once split into cells.
func isSepHint(rec []string) bool {
	if len(rec[0]) < 4 || len(rec[0]) > 6 || !strings.EqualFold(rec[0][:4], "sep=") {
		return false
	}
	for _, c := range rec[1:] {
		if c != "" {
			return false
		}
	}
	return true
}

// isNoteRecord recognises the template's instruction line: its first
// non-empty cell starts with the word "Note" ("Note:", "NOTE -"), and the
// identifier cell at idCol (when idCol >= 0 and is another cell) does not
// hold something that looks like an email address or a phone number, so a
// person whose first name is Note is still an account.
func isNoteRecord(rec []string, idCol int) bool {
	first := -1
	for i, c := range rec {
		if c != "" {
			first = i
			break
		}
	}
	if first < 0 || !looksLikeNote(rec[first]) {
		return false
	}
	if idCol >= 0 && idCol != first && idCol < len(rec) {
		return !looksLikeIdentifier(rec[idCol])
	}
	return true
}

// looksLikeNote reports whether cell starts with the word "Note".
func looksLikeNote(cell string) bool {
	if len(cell) < 4 || !strings.EqualFold(cell[:4], "note") {
		return false
	}
	if len(cell) == 4 {
		return true
	}
	if strings.IndexByte(cell, '@') >= 0 && strings.IndexFunc(cell, unicode.IsSpace) < 0 {
		return false // note@example.com is an address
	}
	r, _ := utf8.DecodeRuneInString(cell[4:])
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '.' && r != '@' && r != '+'
}

// looksLikeIdentifier reports whether s has an "@" or at least four digits.
func looksLikeIdentifier(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '@':
			return true
		case s[i] >= '0' && s[i] <= '9':
			digits++
		}
	}
	return digits >= 4
}

// csvError explains a quoting error from encoding/csv as a FileError.
func csvError(err error, delim rune) *FileError {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return &FileError{Code: "malformed_csv", Message: "the file could not be read as CSV: " + err.Error()}
	}
	d := delimiterName(delim)
	var msg string
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		msg = fmt.Sprintf("line %d has a double quote (\") inside a value that does not start with one; "+
			"put the whole value in double quotes and write the quote inside it twice (\"\"), or remove it", pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote) && pe.Line > pe.StartLine:
		msg = fmt.Sprintf("the quoted value that starts on line %d is never closed, so the rest of the file was read into it; "+
			"add the missing closing double quote", pe.StartLine)
	case errors.Is(pe.Err, csv.ErrQuote):
		msg = fmt.Sprintf("line %d has a quoted value followed by more text before the next %s, or a quote that is never closed; "+
			"a value in double quotes must end with a double quote followed by a %s", pe.Line, d, d)
	default:
		msg = fmt.Sprintf("line %d could not be read as CSV: %v", pe.Line, pe.Err)
	}
	return &FileError{Code: "malformed_csv", Message: msg,
		Details: []string{fmt.Sprintf("line %d, column %d: %v", pe.Line, pe.Column, pe.Err)}}
}

// delimiterName names a delimiter for messages.
func delimiterName(d rune) string {
	switch d {
	case ';':
		return "semicolon"
	case '\t':
		return "tab"
	}
	return "comma"
}
