package report

import (
	"fmt"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/multiline/onboarding/internal/store"
)

// SheetName is the name of the report's sheet in the .xlsx.
const SheetName = "Batch Operations Report"

// Column widths, in characters: wide enough for the header and most values, never so wide
// that a long reason pushes the other columns off the screen.
const (
	minWidth = 8
	maxWidth = 60
)

// XLSX writes the Batch Operations Report as an Excel workbook: the columns of Columns, a
// bold header row that stays in view and carries an auto filter, then one row per data row
// of the file, in file order. Every cell is a text cell in the text number format ("@"):
// a spreadsheet never runs a text cell as a formula, so values need no apostrophe, and
// "+15550100001" stays a number with its "+" rather than becoming 15550100001.
func XLSX(rows []store.ReportRow) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SheetName); err != nil {
		return nil, fmt.Errorf("name sheet: %w", err)
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return nil, fmt.Errorf("text style: %w", err)
	}
	header, err := f.NewStyle(&excelize.Style{NumFmt: 49, Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, fmt.Errorf("header style: %w", err)
	}
	widths := make([]int, len(Columns))
	put := func(line int, cells []string) error {
		for i, v := range cells {
			ref, err := excelize.CoordinatesToCellName(i+1, line)
			if err != nil {
				return err
			}
			if err := f.SetCellStr(SheetName, ref, v); err != nil {
				return err
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(v))
		}
		return nil
	}
	if err := put(1, Columns); err != nil {
		return nil, fmt.Errorf("write header: %w", err)
	}
	for i, r := range rows {
		if err := put(i+2, Cells(r)); err != nil {
			return nil, fmt.Errorf("write row %d: %w", r.Line, err)
		}
	}
	last, err := excelize.CoordinatesToCellName(len(Columns), len(rows)+1)
	if err != nil {
		return nil, err
	}
	lastCol, _ := excelize.ColumnNumberToName(len(Columns))
	if err := f.SetColStyle(SheetName, "A:"+lastCol, text); err != nil {
		return nil, fmt.Errorf("text columns: %w", err)
	}
	if err := f.SetCellStyle(SheetName, "A2", last, text); err != nil {
		return nil, fmt.Errorf("text cells: %w", err)
	}
	if err := f.SetCellStyle(SheetName, "A1", lastCol+"1", header); err != nil {
		return nil, fmt.Errorf("header cells: %w", err)
	}
	for i, w := range widths {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(SheetName, col, col, float64(min(max(w+2, minWidth), maxWidth))); err != nil {
			return nil, fmt.Errorf("column width: %w", err)
		}
	}
	if err := f.AutoFilter(SheetName, "A1:"+last, nil); err != nil {
		return nil, fmt.Errorf("auto filter: %w", err)
	}
	if err := f.SetPanes(SheetName, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return nil, fmt.Errorf("freeze header: %w", err)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("write workbook: %w", err)
	}
	return buf.Bytes(), nil
}
