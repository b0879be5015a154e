package jobs

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"

	"github.com/multiline/onboarding/internal/store"
)

// ReportColumns are the columns of the Batch Operations Report.
var ReportColumns = []string{"row", "email address or device", "firstname", "lastname", "status",
	"reason", "multiline_number", "invitation"}

// BuildReport writes the Batch Operations Report: one line per data row of the file, in
// file order, with a UTF-8 BOM and CRLF so that Excel opens it as UTF-8.
func BuildReport(rows []store.ReportRow) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	if err := w.Write(ReportColumns); err != nil {
		return nil, err
	}
	for _, r := range rows {
		rec := []string{strconv.Itoa(r.Line), r.RawIdentifier, r.Firstname, r.Lastname, r.Status,
			r.Reason, r.MultilineNumber, r.Invitation}
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

// Neutralize makes a cell that a spreadsheet would run as a formula into plain text by
// prefixing an apostrophe (OWASP's advice for CSV injection). Phone numbers starting with
// "+" are prefixed too: a spreadsheet would otherwise turn them into arithmetic.
func Neutralize(cell string) string {
	if cell == "" {
		return cell
	}
	if strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
