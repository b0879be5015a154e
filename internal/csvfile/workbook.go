package csvfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// maxUnzipped caps what a workbook may unpack to. An upload is at most a few MiB, but a zip
// of repeated XML unpacks to a thousand times its size; a real sheet of 1000 rows is about
// 1 MiB of XML. The same cap keeps excelize from writing large sheets to temporary files.
const maxUnzipped = 64 << 20

// FormatCSV and FormatXLSX are the values of File.Format.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// isWorkbook reports whether data starts like a zip archive, as an .xlsx workbook does.
func isWorkbook(data []byte) bool {
	return bytes.HasPrefix(data, magicZip) || bytes.HasPrefix(data, magicZip0)
}

// parseWorkbook reads an .xlsx workbook: the sheet named TemplateSheet when there is one,
// else the first. Its rows become the same records as a CSV file's lines, numbered as Excel
// numbers its rows, and go through the same checks (readRecords).
func parseWorkbook(data []byte, opts Options) (f *File, err error) {
	defer func() {
		// excelize is a large parser of what the uploader sent; a crafted archive that
		// trips it is a file that cannot be read, not a crash of the request.
		if p := recover(); p != nil {
			f, err = nil, unreadableWorkbook(fmt.Errorf("%v", p))
		}
	}()
	wb, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		UnzipSizeLimit: maxUnzipped, UnzipXMLSizeLimit: maxUnzipped,
	})
	if err != nil {
		return nil, unreadableWorkbook(err)
	}
	defer wb.Close()
	sheet := dataSheet(wb.GetSheetList())
	if sheet == "" {
		return nil, unreadableWorkbook(errors.New("it has no worksheet"))
	}
	rows, err := wb.Rows(sheet)
	if err != nil {
		return nil, unreadableWorkbook(err)
	}
	defer rows.Close()
	f = &File{Format: FormatXLSX, Delimiter: ',', Sheet: sheet}
	src := &sheetRecords{wb: wb, sheet: sheet, rows: rows}
	if err := readRecords(src, opts, f, 0, opts.MaxRows); err != nil {
		return nil, err
	}
	return f, nil
}

// dataSheet picks the sheet to read from the workbook's sheets in order: the one named like
// the template's data sheet (ignoring case and surrounding spaces), else the first.
func dataSheet(sheets []string) string {
	for _, s := range sheets {
		if strings.EqualFold(strings.TrimSpace(s), TemplateSheet) {
			return s
		}
	}
	if len(sheets) == 0 {
		return ""
	}
	return sheets[0]
}

// unreadableWorkbook is the FileError of a zip archive excelize cannot read as a workbook.
func unreadableWorkbook(err error) *FileError {
	return &FileError{Code: "unreadable_workbook",
		Message: "this looks like an Excel workbook (.xlsx) but it cannot be read; open it in Excel, " +
			"save it again as Excel Workbook (.xlsx) or as CSV UTF-8, and upload that file",
		Details: []string{"format: xlsx", "problem: " + err.Error()}}
}

// sheetRecords reads the rows of one sheet as records.
type sheetRecords struct {
	wb    *excelize.File
	sheet string
	rows  *excelize.Rows
	line  int
}

func (s *sheetRecords) next() ([]string, int, error) {
	if !s.rows.Next() {
		if err := s.rows.Error(); err != nil {
			return nil, 0, unreadableWorkbook(err)
		}
		return nil, 0, io.EOF
	}
	s.line++ // Next visits every row number, empty rows included
	// Raw values: a number keeps every digit whatever its display format ("0.00",
	// "Scientific"), which would otherwise come back as 15550100001.00 or 1.56E+10.
	rec, err := s.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, 0, unreadableWorkbook(err)
	}
	for i, v := range rec {
		if v != "" && looksNumeric(v) {
			rec[i] = s.typed(i, v)
		}
	}
	return rec, s.line, nil
}

// typed returns the text of the cell in column col (0-based) of the current row whose raw
// value is v: a number as its digits without exponent or ".0" where it is a whole number,
// a boolean as TRUE or FALSE, and text as written.
func (s *sheetRecords) typed(col int, v string) string {
	cell, err := excelize.CoordinatesToCellName(col+1, s.line)
	if err != nil {
		return v
	}
	t, err := s.wb.GetCellType(s.sheet, cell)
	if err != nil {
		return v
	}
	switch t {
	case excelize.CellTypeBool:
		if v == "1" {
			return "TRUE"
		}
		return "FALSE"
	case excelize.CellTypeUnset, excelize.CellTypeNumber:
		return wholeNumber(v)
	}
	return v
}

// looksNumeric reports whether v could be a number cell's raw value.
func looksNumeric(v string) bool {
	c := v[0]
	return c >= '0' && c <= '9' || c == '-' || c == '.'
}

// wholeNumber writes a number that is a whole number below 10^18 with its digits only
// ("1.5550100001E+10" and "15550100001.0" are 15550100001); anything else is left as is.
func wholeNumber(v string) string {
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n != math.Trunc(n) || math.Abs(n) >= 1e18 {
		return v
	}
	return strconv.FormatFloat(n, 'f', -1, 64)
}
