package metrics

import (
	"strings"

	"github.com/multiline/onboarding/internal/csvfile"
)

// RefusedColumns are the label values of RowsRefused: the template's columns in snake_case,
// and "record" for a problem of the record as a whole (more values than the header has).
var RefusedColumns = refusedColumns()

func refusedColumns() []string {
	var out []string
	for _, col := range csvfile.Columns(true) {
		out = append(out, columnLabel(col))
	}
	return append(out, columnLabel(csvfile.ColRecord))
}

// columnLabel is the label value of a canonical column name.
func columnLabel(col string) string {
	if col == csvfile.ColIdentifier {
		return "identifier"
	}
	return strings.ToLower(col)
}

// CountRefusedRows counts the rows of an accepted upload that validation refused, each by the
// column of its first problem.
func (m *API) CountRefusedRows(file *csvfile.File) {
	for i := range file.Rows {
		if errs := file.Rows[i].Errors; len(errs) > 0 {
			m.RowsRefused.WithLabelValues(columnLabel(errs[0].Column)).Inc()
		}
	}
}
