package httpapi_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/multiline/onboarding/internal/csvfile"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

// fillWorkbook sets cells of the Accounts sheet of a downloaded template as Excel does when
// a person picks from a drop-down or types into a Text cell (a string) or pastes a number
// into it (an int: a number cell, its "+" gone).
func fillWorkbook(t *testing.T, tpl []byte, rows map[int][]any) []byte {
	t.Helper()
	wb, err := excelize.OpenReader(bytes.NewReader(tpl))
	if err != nil {
		t.Fatalf("open template: %v", err)
	}
	defer wb.Close()
	for row, values := range rows {
		for i, v := range values {
			cell, _ := excelize.CoordinatesToCellName(i+1, row)
			switch v := v.(type) {
			case nil:
			case string:
				err = wb.SetCellStr(csvfile.TemplateSheet, cell, v)
			case int:
				err = wb.SetCellInt(csvfile.TemplateSheet, cell, int64(v))
			default:
				t.Fatalf("cell %s: %T", cell, v)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	buf, err := wb.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestXLSXTemplateFilledAndUploaded(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	s.StartWorker(4)
	ctx := context.Background()
	var org struct{ ID string }
	s.Do("POST", "/v1/organizations", s.RootToken, map[string]any{"name": "Social", "social_messaging": true}).JSON(t, &org)
	if _, err := s.Store.AddNumbers(ctx, org.ID, stacktest.Numbers(0, 10)); err != nil {
		t.Fatal(err)
	}
	group, err := s.Store.CreatePermissionGroup(ctx, org.ID, "Staff")
	if err != nil {
		t.Fatal(err)
	}

	got := s.Do("GET", "/v1/organizations/"+org.ID+"/accounts/template.xlsx", s.RootToken, nil)
	if got.Status != 200 || got.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" ||
		!strings.Contains(got.Header.Get("Content-Disposition"), `filename="multiline-accounts-template.xlsx"`) {
		t.Fatalf("template.xlsx: got %d %q %q", got.Status, got.Header.Get("Content-Type"), got.Header.Get("Content-Disposition"))
	}
	// Columns: firstname, lastname, identifier, social_messaging, multiline_number,
	// monitor_calls, monitor_sms, forwarding_number, restrict, Language.
	file := fillWorkbook(t, got.Body, map[int][]any{
		2: {"Ann", "Lee", "ann@social.test", "Yes", "+15550000001", "auto", "on", nil, "true", "English"},
		3: {"Bob", "Ray", "bob@social.test", "No", nil, "off", "off", "+44 20 7946 0958", nil, "Italian"},
		4: {"Cy", "Sun", 15550109003, "Yes", 15550000002, "auto", "on", nil, "false", "Spanish"},
	})
	up := s.Upload(s.RootToken, org.ID, group.ID, file, map[string]string{"invite": "true"})
	if up.Status != 202 {
		t.Fatalf("upload: got %d %s, want 202", up.Status, up.Body)
	}
	var b store.Batch
	up.JSON(t, &b)
	done := s.WaitBatch(b.ID, 20*time.Second)
	if done.Total != 3 || done.Succeeded != 3 || done.Failed != 0 {
		t.Fatalf("batch: got total %d succeeded %d failed %d, want 3 3 0", done.Total, done.Succeeded, done.Failed)
	}
	// Invitations go by email: the account identified by a phone number is created but not
	// invited (see jobs), so two emails.
	s.SMTP.WaitForMessages(t, 2, 10*time.Second)

	var list struct{ Accounts []store.Account }
	s.Do("GET", "/v1/organizations/"+org.ID+"/accounts", s.RootToken, nil).JSON(t, &list)
	accounts := map[string]store.Account{}
	for _, a := range list.Accounts {
		accounts[a.Identifier] = a
	}
	for _, w := range []struct{ identifier, number, language, invitation string }{
		{"ann@social.test", "+15550000001", "en", "sent"},
		{"bob@social.test", "", "it", "sent"},
		{"+15550109003", "+15550000002", "es", ""},
	} {
		a, ok := accounts[w.identifier]
		if !ok {
			t.Errorf("no account %s; got %v", w.identifier, slices.Collect(maps.Keys(accounts)))
			continue
		}
		if w.number != "" && (a.MultilineNumber == nil || *a.MultilineNumber != w.number) {
			t.Errorf("%s: multiline_number got %v, want %s", w.identifier, deref(a.MultilineNumber), w.number)
		}
		if a.Language != w.language {
			t.Errorf("%s: language got %q, want %q", w.identifier, a.Language, w.language)
		}
		if w.invitation != "" && (a.Invitation == nil || *a.Invitation != w.invitation) {
			t.Errorf("%s: invitation got %v, want %s", w.identifier, deref(a.Invitation), w.invitation)
		}
	}

	// The round trip ends in the report as a workbook: each row on the line Excel showed it,
	// with its identifier as the file held it (Cy's phone was typed as a number, so without
	// its +), and the numbers the rows got as +E.164 text cells, not numbers and not prefixed.
	rep := s.Do("GET", "/v1/batches/"+b.ID+"/report.xlsx", s.RootToken, nil)
	if rep.Status != 200 {
		t.Fatalf("report.xlsx: got %d %s", rep.Status, rep.Body)
	}
	wb, err := excelize.OpenReader(bytes.NewReader(rep.Body))
	if err != nil {
		t.Fatalf("open report: %v", err)
	}
	defer wb.Close()
	sheet := wb.GetSheetName(0)
	rows, err := wb.GetRows(sheet)
	if err != nil || len(rows) != 4 {
		t.Fatalf("report rows: got %d, %v; want a header and 3 rows", len(rows), err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for i, w := range []struct{ line, identifier, number string }{
		{"2", "ann@social.test", "+15550000001"},
		{"3", "bob@social.test", ""},
		{"4", "15550109003", "+15550000002"},
	} {
		r := rows[i+1]
		if r[col["row"]] != w.line || r[col["email address or device"]] != w.identifier || r[col["status"]] != "succeeded" {
			t.Errorf("report row %d: got %v, want line %s %s succeeded", i+1, r, w.line, w.identifier)
		}
		if w.number == "" {
			continue
		}
		cell, _ := excelize.CoordinatesToCellName(col["multiline_number"]+1, i+2)
		typ, _ := wb.GetCellType(sheet, cell)
		if got := r[col["multiline_number"]]; got != w.number || typ == excelize.CellTypeNumber {
			t.Errorf("report row %d multiline_number: got %q (cell type %v), want the text %q", i+1, got, typ, w.number)
		}
	}
}

func TestXLSXUploadRefusedAsCSVIs(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 10)

	t.Run("1001 rows", func(t *testing.T) {
		x := s.Upload(s.RootToken, org, group, stacktest.XLSX("acme.test", 0, 1001), nil)
		c := s.Upload(s.RootToken, org, group, stacktest.CSV("acme.test", 0, 1001), nil)
		if x.Status != 422 || x.ErrorCode(t) != "too_many_rows" {
			t.Fatalf("xlsx: got %d %s, want 422 too_many_rows", x.Status, x.Body)
		}
		if string(x.Body) != string(c.Body) {
			t.Errorf("xlsx answer:\ngot  %s\nwant %s (the CSV file's)", x.Body, c.Body)
		}
	})

	t.Run("a bad value, on the row Excel shows", func(t *testing.T) {
		tpl, err := csvfile.TemplateXLSX(false)
		if err != nil {
			t.Fatal(err)
		}
		// Row 3 left empty; row 4 has monitor_calls "on" typed over the drop-down.
		file := fillWorkbook(t, tpl, map[int][]any{
			2: {"Ann", "Lee", "ann@acme.test", "Yes", nil, "auto", "on", nil, "English"},
			4: {"Cy", "Sun", "cy@acme.test", "No", nil, "on", "on", nil, nil},
		})
		csv := strings.Join(csvfile.Columns(false), ",") + "\r\n" +
			"Ann,Lee,ann@acme.test,Yes,,auto,on,,English\r\n" +
			",,,,,,,,\r\n" +
			"Cy,Sun,cy@acme.test,No,,on,on,,\r\n"
		dry := map[string]string{"dry_run": "true"}
		x := s.Upload(s.RootToken, org, group, file, dry)
		c := s.Upload(s.RootToken, org, group, []byte(csv), dry)
		var xr, cr struct {
			Total, Valid, Invalid int
			Errors                []struct {
				Row             int
				Column, Message string
			}
		}
		x.JSON(t, &xr)
		c.JSON(t, &cr)
		if x.Status != 200 || xr.Total != 2 || xr.Valid != 1 || len(xr.Errors) != 1 {
			t.Fatalf("xlsx dry run: got %d %s, want 2 rows, 1 valid, 1 error", x.Status, x.Body)
		}
		e := xr.Errors[0]
		if e.Row != 4 || e.Column != "monitor_calls" || e.Message != `Row 4, monitor_calls: "on" is not one of auto, off` {
			t.Errorf("xlsx error: got %+v, want row 4 monitor_calls", e)
		}
		if len(cr.Errors) != 1 || cr.Errors[0] != e {
			t.Errorf("errors: got %+v for xlsx, %+v for CSV; want the same", xr.Errors, cr.Errors)
		}

		imp := s.Upload(s.RootToken, org, group, file, nil)
		if imp.Status != 202 {
			t.Fatalf("import: got %d %s, want 202", imp.Status, imp.Body)
		}
		var b store.Batch
		imp.JSON(t, &b)
		if b.Total != 2 || b.Failed != 1 {
			t.Errorf("import: got total %d failed %d, want 2 and 1 failed at upload", b.Total, b.Failed)
		}
	})
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
