package csvfile

import (
	"fmt"

	"github.com/xuri/excelize/v2"
)

// TemplateSheet names the data sheet of the .xlsx template; an uploaded workbook is read
// from the sheet of this name when it has one.
const TemplateSheet = "Accounts"

// InstructionsSheet names the template's second sheet, which holds what the CSV template's
// Note line says.
const InstructionsSheet = "Instructions"

// numFmtText is Excel's built-in number format "@": the cell holds text as typed.
const numFmtText = 49

// choices lists the accepted values of each closed-set column, as the drop-down shows them.
var choices = map[int][]string{
	colSocialMessaging: {"Yes", "No"},
	colMonitorCalls:    {"auto", "off"},
	colMonitorSMS:      {"on", "off"},
	colRestrict:        {"true", "false"},
	colLanguage:        {"English", "Italian", "German", "French", "Spanish"},
}

// columnHelp says for the Instructions sheet what each column accepts.
var columnHelp = [numColumns]string{
	colFirstname:        "text",
	colLastname:         "text",
	colIdentifier:       "an email address, or a phone number with country code such as +1 555 010 0001",
	colSocialMessaging:  "Yes or No; Yes enables WhatsApp, WeChat and LINE",
	colMultilineNumber:  "an Available number of this organization, with country code; empty lets the user pick one",
	colMonitorCalls:     "auto (records calls) or off",
	colMonitorSMS:       "on (records SMS) or off",
	colForwardingNumber: "4 to 18 digits with country code, for accounts without voice calling",
	colRestrict:         "true or false; only applies when social_messaging is Yes",
	colLanguage:         "English, Italian, German, French or Spanish; empty is English",
}

// columnWidth is each column's width in characters.
var columnWidth = [numColumns]float64{
	colFirstname: 16, colLastname: 16, colIdentifier: 30, colSocialMessaging: 17, colMultilineNumber: 18,
	colMonitorCalls: 14, colMonitorSMS: 13, colForwardingNumber: 18, colRestrict: 34, colLanguage: 12,
}

// TemplateXLSX returns the .xlsx template for an organization: the CSV template's columns
// on the sheet TemplateSheet, with a frozen header row, every cell below it formatted as
// Text (Excel keeps a number's "+" and digits instead of writing 1.5E+10), a drop-down
// list on each closed-set column for MaxRows rows, and the instructions on the sheet
// InstructionsSheet instead of a Note line.
func TemplateXLSX(socialMessaging bool) ([]byte, error) {
	wb := excelize.NewFile()
	defer wb.Close()
	if err := buildTemplate(wb, socialMessaging); err != nil {
		return nil, fmt.Errorf("build xlsx template: %w", err)
	}
	buf, err := wb.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("write xlsx template: %w", err)
	}
	return buf.Bytes(), nil
}

func buildTemplate(wb *excelize.File, socialMessaging bool) error {
	const sh = TemplateSheet
	if err := wb.SetSheetName(wb.GetSheetName(0), sh); err != nil {
		return err
	}
	text, err := wb.NewStyle(&excelize.Style{NumFmt: numFmtText})
	if err != nil {
		return err
	}
	head, err := wb.NewStyle(&excelize.Style{NumFmt: numFmtText, Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return err
	}
	lastRow := MaxRows + 1
	pos := 0
	for col := range numColumns {
		if col == colRestrict && !socialMessaging {
			continue
		}
		pos++
		name, err := excelize.ColumnNumberToName(pos)
		if err != nil {
			return err
		}
		if err := wb.SetColStyle(sh, name, text); err != nil {
			return err
		}
		if err := wb.SetColWidth(sh, name, name, columnWidth[col]); err != nil {
			return err
		}
		if err := wb.SetCellStr(sh, name+"1", allColumns[col]); err != nil {
			return err
		}
		if err := wb.SetCellStyle(sh, name+"1", name+"1", head); err != nil {
			return err
		}
		list, ok := choices[col]
		if !ok {
			continue
		}
		dv := excelize.NewDataValidation(true)
		dv.SetSqref(fmt.Sprintf("%s2:%s%d", name, name, lastRow))
		if err := dv.SetDropList(list); err != nil {
			return err
		}
		dv.SetError(excelize.DataValidationErrorStyleStop, allColumns[col], "Choose one of the list: "+columnHelp[col])
		if err := wb.AddDataValidation(sh, dv); err != nil {
			return err
		}
	}
	if err := wb.SetPanes(sh, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return err
	}
	return instructions(wb, socialMessaging, head)
}

// instructions writes the InstructionsSheet: how to fill in the template, and one line per
// column saying whether it is mandatory and what it accepts.
func instructions(wb *excelize.File, socialMessaging bool, head int) error {
	const sh = InstructionsSheet
	if _, err := wb.NewSheet(sh); err != nil {
		return err
	}
	lines := [][]string{
		{"How to fill in the " + TemplateSheet + " sheet"},
		{},
		{fmt.Sprintf("One row per account below the header row, at most %d rows. Keep the header row as it is.", MaxRows)},
		{"Columns with a closed set of values have a drop-down list: choose from it. The cells are formatted as Text, so Excel keeps the + and every digit of a phone number."},
		{"Upload this workbook as it is (.xlsx): only the " + TemplateSheet + " sheet is read, this sheet can stay."},
		{},
	}
	header := len(lines) + 1
	lines = append(lines, []string{"column", "mandatory", "accepted values"})
	for col := range numColumns {
		if col == colRestrict && !socialMessaging {
			continue
		}
		req := "no"
		if mandatory[col] {
			req = "yes"
		}
		lines = append(lines, []string{allColumns[col], req, columnHelp[col]})
	}
	for i, l := range lines {
		if len(l) == 0 {
			continue
		}
		if err := wb.SetSheetRow(sh, fmt.Sprintf("A%d", i+1), &l); err != nil {
			return err
		}
	}
	for _, cells := range [][2]string{{"A1", "A1"}, {fmt.Sprintf("A%d", header), fmt.Sprintf("C%d", header)}} {
		if err := wb.SetCellStyle(sh, cells[0], cells[1], head); err != nil {
			return err
		}
	}
	if err := wb.SetColWidth(sh, "A", "A", 36); err != nil {
		return err
	}
	if err := wb.SetColWidth(sh, "B", "B", 11); err != nil {
		return err
	}
	return wb.SetColWidth(sh, "C", "C", 90)
}
