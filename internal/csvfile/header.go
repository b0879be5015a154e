package csvfile

import (
	"fmt"
	"strings"
)

// Canonical column names, spelled as in the template and the source page.
const (
	ColFirstname                       = "firstname"
	ColLastname                        = "lastname"
	ColIdentifier                      = "email address or device"
	ColSocialMessaging                 = "social_messaging"
	ColMultilineNumber                 = "multiline_number"
	ColMonitorCalls                    = "monitor_calls"
	ColMonitorSMS                      = "monitor_sms"
	ColForwardingNumber                = "forwarding_number"
	ColRestrictIncomingSocialMessaging = "restrict_incoming_social_messaging"
	ColLanguage                        = "Language"
)

// ColRecord is the pseudo column of a FieldError about the record as a whole,
// such as one with more values than the header has columns.
const ColRecord = "record"

// column indexes into allColumns; the order is the source page's.
const (
	colFirstname = iota
	colLastname
	colIdentifier
	colSocialMessaging
	colMultilineNumber
	colMonitorCalls
	colMonitorSMS
	colForwardingNumber
	colRestrict
	colLanguage
	numColumns
)

var allColumns = [numColumns]string{
	ColFirstname, ColLastname, ColIdentifier, ColSocialMessaging, ColMultilineNumber,
	ColMonitorCalls, ColMonitorSMS, ColForwardingNumber, ColRestrictIncomingSocialMessaging, ColLanguage,
}

var mandatory = [numColumns]bool{
	colIdentifier: true, colSocialMessaging: true, colMonitorCalls: true, colMonitorSMS: true,
}

// headerKeys maps a header key (see headerKey) to a column index.
var headerKeys = func() map[string]int {
	m := make(map[string]int, numColumns)
	for i, name := range allColumns {
		m[headerKey(name)] = i
	}
	return m
}()

// Columns returns the template's column names in order; the
// restrict_incoming_social_messaging column is included only when socialMessaging.
func Columns(socialMessaging bool) []string {
	cols := make([]string, 0, numColumns)
	for i, name := range allColumns {
		if i == colRestrict && !socialMessaging {
			continue
		}
		cols = append(cols, name)
	}
	return cols
}

// Mandatory reports whether the named canonical column must be present and filled in.
func Mandatory(column string) bool {
	i, ok := headerKeys[headerKey(column)]
	return ok && mandatory[i]
}

// headerKey folds a header cell for matching: case, surrounding spaces, a
// stray byte order mark, and underscores or spaces between words are ignored,
// so "Email_Address_or_Device", " LANGUAGE " and "first name" all match.
func headerKey(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\uFEFF", ""))
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		if r == '_' || r == ' ' || r == '\u00A0' {
			return -1
		}
		return r
	}, s)
}

// header maps record positions to columns.
type header struct {
	index           [numColumns]int // position of each column in a record, -1 when absent
	width           int             // number of cells in the header record
	namedWidth      int             // position of the last named column, plus one
	named           []bool          // named[i]: position i has a known column
	restrictIgnored bool            // restrict column present but the org has no social messaging
}

// parseHeader matches the header record against the known columns.
func parseHeader(rec []string, opts Options) (*header, error) {
	h := &header{width: len(rec), named: make([]bool, len(rec))}
	for i := range h.index {
		h.index[i] = -1
	}
	if e := oneCellHeader(rec); e != nil {
		return nil, e
	}
	var unknown []unknownColumn
	var duplicate, details []string
	seenDup := map[int]bool{}
	for pos, cell := range rec {
		cell = strings.TrimSpace(strings.ReplaceAll(cell, "\uFEFF", ""))
		if cell == "" {
			continue // Excel writes empty header cells after the last column
		}
		col, ok := headerKeys[headerKey(cell)]
		if !ok {
			u := unknownColumn{cell: cell}
			if len(unknown) < maxReported {
				u.suggestion = suggestColumn(cell)
			}
			unknown = append(unknown, u)
			continue
		}
		if h.index[col] >= 0 {
			if !seenDup[col] {
				seenDup[col] = true
				duplicate = append(duplicate, allColumns[col])
				details = append(details, fmt.Sprintf("column %q appears more than once", allColumns[col]))
			}
			continue
		}
		h.index[col] = pos
		h.named[pos] = true
		h.namedWidth = pos + 1
	}
	for i, u := range unknown {
		if i == maxReported {
			details = append(details, fmt.Sprintf("and %d more unknown columns", len(unknown)-maxReported))
			break
		}
		details = append(details, u.message())
	}
	var missing []string
	for col, need := range mandatory {
		if need && h.index[col] < 0 {
			missing = append(missing, allColumns[col])
			details = append(details, fmt.Sprintf("mandatory column %q is missing", allColumns[col]))
		}
	}
	if len(unknown)+len(duplicate)+len(missing) > 0 {
		return nil, headerError(unknown, duplicate, missing, details)
	}
	if h.index[colRestrict] >= 0 && !opts.SocialMessaging {
		h.restrictIgnored = true
	}
	return h, nil
}

// oneCellHeader explains a header whose columns all sit in one cell, as
// when a spreadsheet set for another delimiter opened the file and the
// whole line landed in column A.
func oneCellHeader(rec []string) *FileError {
	var only string
	for _, c := range rec {
		if c == "" {
			continue
		}
		if only != "" {
			return nil
		}
		only = c
	}
	if !strings.ContainsAny(only, ",;\t") {
		return nil
	}
	return &FileError{Code: "missing_columns",
		Message: fmt.Sprintf("the whole header is in one cell (%s): the columns were not split. "+
			"In your spreadsheet, import the file choosing the right delimiter (Data > From Text/CSV), "+
			"then save it as CSV", quote(only)),
		Details: []string{"header: " + quote(only)}}
}

// headerError builds one FileError for every header problem. The code is the
// first of duplicate, unknown, missing, because an unknown (misspelt) column
// usually explains a missing one and the message names both.
func headerError(unknown []unknownColumn, duplicate, missing, details []string) *FileError {
	var code string
	var parts []string
	if len(duplicate) > 0 {
		code = "duplicate_columns"
		parts = append(parts, fmt.Sprintf("%s %s %s more than once; keep only one",
			plural(len(duplicate), "column", "columns"), quoteList(duplicate),
			plural(len(duplicate), "appears", "appear")))
	}
	explained := map[string]bool{} // missing columns an unknown one was probably meant to be
	if len(unknown) > 0 {
		if code == "" {
			code = "unknown_columns"
		}
		listKnown := false
		for i, u := range unknown {
			if i == maxReported {
				parts = append(parts, fmt.Sprintf("and %d more unknown columns", len(unknown)-maxReported))
				break
			}
			parts = append(parts, u.message())
			explained[u.suggestion] = true
			listKnown = listKnown || u.suggestion == ""
		}
		if listKnown {
			parts = append(parts, "the known columns are "+strings.Join(allColumns[:], ", "))
		}
	}
	if len(missing) > 0 {
		if code == "" {
			code = "missing_columns"
		}
		var unexplained []string
		for _, m := range missing {
			if !explained[m] {
				unexplained = append(unexplained, m)
			}
		}
		if len(unexplained) > 0 {
			msg := fmt.Sprintf("missing mandatory %s %s; the template has every column",
				plural(len(unexplained), "column", "columns"), quoteList(unexplained))
			if len(missing) == len(mandatoryNames()) && len(unknown) <= 1 {
				msg += "; if the file has them, save it as CSV separated by commas, semicolons or tabs"
			}
			parts = append(parts, msg)
		}
	}
	var msg strings.Builder
	for i, p := range parts {
		if i > 0 {
			if strings.HasSuffix(parts[i-1], "?") {
				msg.WriteString(" ")
			} else {
				msg.WriteString("; ")
			}
		}
		msg.WriteString(p)
	}
	return &FileError{Code: code, Message: msg.String(), Details: details}
}

// mandatoryNames lists the mandatory columns in order.
func mandatoryNames() []string {
	var names []string
	for col, need := range mandatory {
		if need {
			names = append(names, allColumns[col])
		}
	}
	return names
}

// quoteList formats names as "a", "b" and "c".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	switch len(q) {
	case 0:
		return ""
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// plural picks one or many by n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
