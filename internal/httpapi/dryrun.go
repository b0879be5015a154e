package httpapi

import (
	"fmt"

	"github.com/multiline/onboarding/internal/csvfile"
	"github.com/multiline/onboarding/internal/store"
)

// numberCheck is the dry run's count of the numbers an upload needs from the organization's
// pool: Needed rows want a free number, Available numbers can be given to them now, and
// Shortfall rows will fail with store.CodeNoNumber if the pool does not grow first.
type numberCheck struct {
	Needed    int          `json:"needed"`
	Available int          `json:"available"`
	Shortfall int          `json:"shortfall"`
	warnings  []rowWarning // one per row of the shortfall
}

// rowWarning is a row the dry run accepts but the import may still fail.
type rowWarning struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// checkNumbers counts what the import will ask of the pool (see store's claim.reserve): an
// Import & Invite row without a multiline_number takes a free Available number of the
// organization, and fails with no_number when none is left; an Import row without one takes
// none. The numbers the file's valid rows name are Available (or the row is an error) and
// go to those rows, so they are not free for the others.
//
// Which rows go without is decided as the workers claim them, several at a time and not in
// file order; the warnings are on the last rows of the file, and their words count rows
// rather than promise which ones.
func checkNumbers(f *csvfile.File, chk orgCheck, available int, invite bool) numberCheck {
	free := max(available-len(chk.named), 0)
	out := numberCheck{Available: free, warnings: []rowWarning{}}
	if !invite {
		return out
	}
	var needy []int // lines of the valid rows that need a free number, in file order
	for _, row := range f.Rows {
		if len(row.Errors) == 0 && len(chk.errs[row.Line]) == 0 && row.MultilineNumber == "" {
			needy = append(needy, row.Line)
		}
	}
	out.Needed = len(needy)
	out.Shortfall = max(out.Needed-free, 0)
	for _, line := range needy[out.Needed-out.Shortfall:] {
		out.warnings = append(out.warnings, rowWarning{Row: line, Column: csvfile.ColMultilineNumber, Code: store.CodeNoNumber,
			Message: fmt.Sprintf("row %d, %s: %s", line, csvfile.ColMultilineNumber, shortfallSentence(out))})
	}
	return out
}

// shortfallSentence says what a shortfall means for the import, without naming rows.
func shortfallSentence(n numberCheck) string {
	rows, are := "rows need", "are"
	if n.Needed == 1 {
		rows = "row needs"
	}
	if n.Available == 1 {
		are = "is"
	}
	return fmt.Sprintf("%d %s a free number and %d %s Available in this organization now: "+
		"about %d of them will fail with \"No number available\" unless numbers are added first "+
		"(which rows is decided as the import runs, not by their order in the file)",
		n.Needed, rows, n.Available, are, n.Shortfall)
}
