package csvfile

import (
	"fmt"
	"strings"
)

// validator checks data rows against the header and remembers what it has
// seen, so that a repeated identifier or number fails on its later row.
type validator struct {
	h                *header
	opts             Options
	seenID           map[string]int // identifier → line
	seenNumber       map[string]int // multiline_number → line
	restrictOnNoRows []int          // lines where restrict was ignored because social_messaging is No
	delim            rune
}

// newValidator returns a validator for about n rows.
func newValidator(h *header, opts Options, delim rune, n int) *validator {
	return &validator{h: h, opts: opts, delim: delim, seenID: make(map[string]int, n), seenNumber: make(map[string]int)}
}

// rowCheck accumulates the errors of one row.
type rowCheck struct {
	row  *Row
	rec  []string
	v    *validator
	skip [numColumns]bool // columns already reported by a record error
}

// cell returns the trimmed value of col, "" when the column or cell is absent.
func (c *rowCheck) cell(col int) string {
	i := c.v.h.index[col]
	if i < 0 || i >= len(c.rec) {
		return ""
	}
	return c.rec[i]
}

// fail records a problem with col; the message starts with the quoted value.
func (c *rowCheck) fail(col int, value, problem string) {
	sep := " "
	if strings.HasPrefix(problem, ":") {
		sep = ""
	}
	c.row.Errors = append(c.row.Errors, FieldError{Line: c.row.Line, Column: allColumns[col], Value: value,
		Message: quote(value) + sep + problem})
}

// required reports whether col has a value, recording an error when it has
// none.
func (c *rowCheck) required(col int, accepted string) (string, bool) {
	v := c.cell(col)
	if v == "" {
		if !c.skip[col] {
			c.row.Errors = append(c.row.Errors, FieldError{Line: c.row.Line, Column: allColumns[col],
				Message: "is required; use " + accepted})
		}
		return "", false
	}
	return v, true
}

// recordError records a problem with the record as a whole.
func (c *rowCheck) recordError(value, msg string) {
	c.row.Errors = append(c.row.Errors, FieldError{Line: c.row.Line, Column: ColRecord, Value: value, Message: msg})
}

// row validates one data record starting at line.
func (v *validator) row(rec []string, line int) Row {
	row := Row{Line: line}
	c := &rowCheck{row: &row, rec: rec, v: v}
	row.RawIdentifier = c.cell(colIdentifier)
	if !c.shape() {
		return row
	}
	if c.repeatsHeader() {
		c.recordError(row.RawIdentifier, "repeats the header line; remove it (two files pasted together?)")
		return row
	}

	if s := c.cell(colFirstname); s != "" {
		if p := checkName(s); p != "" {
			c.fail(colFirstname, s, p)
		} else {
			row.Firstname = s
		}
	}
	if s := c.cell(colLastname); s != "" {
		if p := checkName(s); p != "" {
			c.fail(colLastname, s, p)
		} else {
			row.Lastname = s
		}
	}
	if s, ok := c.required(colIdentifier, "an email address or "+phoneExample); ok {
		id, kind, p := parseIdentifier(s, v.opts.SMTPDataOffload)
		row.IdentifierKind = kind
		switch {
		case p != "":
			c.fail(colIdentifier, s, p)
		case v.seenID[id] != 0:
			c.fail(colIdentifier, s, fmt.Sprintf("is a duplicate of row %d; each account appears once per file", v.seenID[id]))
		default:
			row.Identifier = id
			v.seenID[id] = line
		}
	}
	socialKnown := false
	if s, ok := c.required(colSocialMessaging, acceptSocial); ok {
		if b, ok := yesNo(s); ok {
			row.SocialMessaging, socialKnown = b, true
		} else {
			c.fail(colSocialMessaging, s, "is not one of "+acceptSocial)
		}
	}
	if s := c.cell(colMultilineNumber); s != "" {
		n, p := normalizePhone(s)
		switch {
		case p != "":
			c.fail(colMultilineNumber, s, p)
		case v.seenNumber[n] != 0:
			c.fail(colMultilineNumber, s, fmt.Sprintf("is also the multiline_number of row %d; a number goes to one account", v.seenNumber[n]))
		default:
			row.MultilineNumber = n
			v.seenNumber[n] = line
		}
	}
	if s, ok := c.required(colMonitorCalls, acceptCalls); ok {
		if row.MonitorCalls = keyword(s, "auto", "off"); row.MonitorCalls == "" {
			c.fail(colMonitorCalls, s, "is not one of "+acceptCalls)
		}
	}
	if s, ok := c.required(colMonitorSMS, acceptSMS); ok {
		if row.MonitorSMS = keyword(s, "on", "off"); row.MonitorSMS == "" {
			c.fail(colMonitorSMS, s, "is not one of "+acceptSMS)
		}
	}
	if s := c.cell(colForwardingNumber); s != "" {
		if n, p := normalizeForwarding(s); p != "" {
			c.fail(colForwardingNumber, s, p)
		} else {
			row.ForwardingNumber = n
		}
	}
	if s := c.cell(colRestrict); s != "" && !v.h.restrictIgnored {
		if socialKnown && !row.SocialMessaging {
			row.Notices = append(row.Notices, fmt.Sprintf("%s %s ignored: it applies only when %s is Yes",
				ColRestrictIncomingSocialMessaging, quote(s), ColSocialMessaging))
			v.restrictOnNoRows = append(v.restrictOnNoRows, line)
		} else if b, ok := trueFalse(s); ok {
			row.RestrictIncomingSocialMessaging = b
		} else {
			c.fail(colRestrict, s, "is not one of "+acceptRestrict)
		}
	}
	if s := c.cell(colLanguage); s != "" {
		if row.Language = parseLanguage(s); row.Language == "" {
			c.fail(colLanguage, s, "is not one of "+acceptLanguages)
		}
	}
	return row
}

// shape checks the record's number of cells against the header. Values
// beyond the last named column usually mean (in a CSV file) a value with an unquoted
// delimiter that shifted the rest, so such a record gets one error and no further checks;
// a short record gets one error naming the mandatory columns it lacks.
func (c *rowCheck) shape() bool {
	h := c.v.h
	var extra []string
	last := 0
	for i, cell := range c.rec {
		if cell != "" {
			last = i + 1
			if i >= h.namedWidth {
				extra = append(extra, cell)
			}
		}
	}
	if len(extra) > 0 && c.v.delim == 0 { // a workbook: no delimiter shifted anything
		c.recordError(strings.Join(extra, ", "), fmt.Sprintf(
			"has %d values but the header names %d columns (extra: %s); remove them or give their columns a name in the header",
			last, h.namedWidth, quoteList(extra)))
		return false
	}
	if len(extra) > 0 {
		d := delimiterName(c.v.delim)
		c.recordError(strings.Join(extra, string(c.v.delim)), fmt.Sprintf(
			"has %d values but the header names %d columns (extra: %s); a value that contains a %s must be in double quotes",
			last, h.namedWidth, quoteList(extra), d))
		return false
	}
	for i := 0; i < len(c.rec) && i < h.namedWidth; i++ {
		if c.rec[i] != "" && !h.named[i] {
			c.recordError(c.rec[i], fmt.Sprintf("has the value %s in column %d, which has no header; remove it or add the column's name",
				quote(c.rec[i]), i+1))
		}
	}
	if len(c.rec) < h.width {
		var lacking []string
		for col, need := range mandatory {
			if need && h.index[col] >= len(c.rec) {
				lacking = append(lacking, allColumns[col])
				c.skip[col] = true
			}
		}
		if len(lacking) > 0 {
			c.recordError("", fmt.Sprintf("has %d values but the header has %d columns: %s %s missing",
				len(c.rec), h.width, quoteList(lacking), plural(len(lacking), "is", "are")))
		}
	}
	return true
}

// repeatsHeader reports whether the record is the header again: its
// mandatory cells hold their own column names.
func (c *rowCheck) repeatsHeader() bool {
	if looksLikeIdentifier(c.cell(colIdentifier)) {
		return false // the common case, without headerKey's allocations
	}
	for col, need := range mandatory {
		if need && headerKey(c.cell(col)) != string(columnKeys[col]) {
			return false
		}
	}
	return true
}

// notices summarises for the file what the rows ignored.
func (v *validator) notices() []string {
	var out []string
	if v.h.restrictIgnored {
		out = append(out, fmt.Sprintf("the %s column was ignored: this organization does not use social messaging",
			ColRestrictIncomingSocialMessaging))
	}
	if len(v.restrictOnNoRows) > 0 {
		out = append(out, fmt.Sprintf("the %s column was ignored on %s %s because %s is No there",
			ColRestrictIncomingSocialMessaging, plural(len(v.restrictOnNoRows), "row", "rows"),
			lineList(v.restrictOnNoRows), ColSocialMessaging))
	}
	return out
}
