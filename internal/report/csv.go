// Package report builds the Batch Operations Report of a finished batch, as CSV and as
// .xlsx, from the same cells.
package report

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"strconv"
	"strings"

	"github.com/multiline/onboarding/internal/store"
)

// Columns are the columns of the Batch Operations Report: the SPEC's, then the reason's
// stable code and the account the row created.
var Columns = []string{"row", "email address or device", "firstname", "lastname", "status",
	"reason", "multiline_number", "invitation", "reason_code", "account_id"}

// Cells returns the cells of row r, one per column of Columns, as they are: each format
// makes them safe in its own way.
func Cells(r store.ReportRow) []string {
	return []string{strconv.Itoa(r.Line), r.RawIdentifier, r.Firstname, r.Lastname, r.Status,
		r.Reason, r.MultilineNumber, r.Invitation, r.ReasonCode, r.AccountID}
}

// CSV writes the Batch Operations Report: one line per data row of the file, in file order,
// with a UTF-8 BOM and CRLF so that Excel opens it as UTF-8.
func CSV(rows []store.ReportRow) ([]byte, error) { return CSVWith(rows, ',') }

// CSVWith is CSV with another delimiter (";" or a tab), for spreadsheets set up for it.
func CSVWith(rows []store.ReportRow, comma rune) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	w := csv.NewWriter(&buf)
	w.Comma = comma
	w.UseCRLF = true
	if err := w.Write(Columns); err != nil {
		return nil, err
	}
	for _, r := range rows {
		rec := Cells(r)
		for i := range rec {
			rec[i] = Neutralize(rec[i])
		}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// phoneNumber is a value that is only a "+" and digits, as E.164 numbers are written.
var phoneNumber = regexp.MustCompile(`^\+[0-9]{4,18}$`)

// Neutralize makes a cell that a spreadsheet would run as a formula into plain text by
// prefixing an apostrophe (OWASP's advice for CSV injection): one starting with "=", "+",
// "-", "@", a tab or a CR. A phone number ("+" and digits only) is left as it is: a
// spreadsheet reads it as a number at worst, never as a formula, and an apostrophe in
// front of every number made the report unreadable in LibreOffice.
func Neutralize(cell string) string {
	if cell == "" || phoneNumber.MatchString(cell) {
		return cell
	}
	if strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
