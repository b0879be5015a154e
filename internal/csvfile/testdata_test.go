package csvfile

import (
	"archive/zip"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

var update = flag.Bool("update", false, "rewrite the files in testdata from testdataFiles")

// header10 is the header of an organization with social messaging.
var header10 = strings.Join(Columns(true), ",")

// testdataFiles returns the test files as the bytes that spreadsheets write.
// TestTestdataUpToDate keeps testdata/ in step with it; run
// `go test -run TestTestdataUpToDate -update` after changing it.
func testdataFiles(t *testing.T) map[string][]byte {
	t.Helper()
	crlf := func(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }
	utf16 := func(s string, e unicode.Endianness) []byte {
		b, err := unicode.UTF16(e, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cp1252 := func(s string) []byte {
		b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tab := func(s string) string { return strings.ReplaceAll(s, ",", "\t") }
	semi := func(s string) string { return strings.ReplaceAll(s, ",", ";") }

	rows := []string{
		"Zoë,Müller,zoe.muller@example.com,Yes,+1 555 010 0001,auto,on,+44 20 7946 0958,true,Deutsch",
		"José,Núñez,15550100002,No,15550100003,off,off,,,Español",
		"Ann,O'Neil,ANN@Example.COM,no,,Auto,ON,0044 20 7946 0959,,fr",
	}
	files := map[string][]byte{
		"utf8.csv":                  []byte(crlf(append([]string{header10}, rows...)...)),
		"utf8-lf.csv":               []byte(strings.Join(append([]string{header10}, rows...), "\n") + "\n\n\n"),
		"utf8-bom-semicolon.csv":    append([]byte{0xEF, 0xBB, 0xBF}, crlf(semi(header10)+";;", semi(rows[0]), semi(rows[1]), semi(rows[2]), ";;;;;;;;;;;", ";;;;;;;;;;;")...),
		"utf16le-tab.txt":           utf16(crlf(tab(header10), tab(rows[0]), tab(rows[1]), tab(rows[2])), unicode.LittleEndian),
		"utf16be-tab.txt":           utf16(crlf(tab(header10), tab(rows[0]), tab(rows[1]), tab(rows[2])), unicode.BigEndian),
		"windows1252.csv":           cp1252(crlf(header10, rows[0], rows[1], rows[2], ",,,,,,,,,")),
		"windows1252-semicolon.csv": cp1252(crlf(semi(header10), semi(rows[0]), semi(rows[1]), semi(rows[2]))),
		"cr-only.csv":               []byte(strings.Join([]string{header10, rows[0], rows[1], rows[2]}, "\r") + "\r"),
		"quoted-multiline.csv": []byte(crlf(header10,
			`"Zoë","Müller, Jr","zoe@example.com","Yes","","auto","on","","",""`,
			`"Line","Break","line.break@example.com","No","","off","off","","","English"`,
			`"Say ""Hi""",Smith,"say@example.com",No,,off,off,,,`,
			`Multi,"first line`+"\r\n"+`second line",multi@example.com,No,,off,off,,,`,
			`After,Multi,after@example.com,No,,off,off,,,`)),
		"with-note-line.csv": append(Template(true), crlf(rows[0], rows[1])...),
		"note-line-edited.csv": []byte(crlf(header10,
			rows[0],
			`NOTE - delete this line before uploading,,,,,,,,,`,
			rows[1])),
		"sep-hint.csv": []byte(crlf("sep=;", semi(header10), semi(rows[0]))),
		"excel-mangled.csv": []byte(crlf(header10,
			"Sci,Number,1.555E+10,No,,off,off,,,",
			"Sci,Multiline,sci@example.com,No,4.4207946E+11,off,off,,,",
			"Plus,Stripped,15550100004,No,442079460958,off,off,442079460960,,",
			"Spaced,Header,=cmd|' /C calc'!A0,No,,off,off,,,")),
		"headers-edited.csv": []byte(crlf(
			" FIRSTNAME ,Last_Name,Email_Address_or_Device,Social Messaging,MULTILINE NUMBER,Monitor_Calls,monitor sms,Forwarding_Number, LANGUAGE ",
			"Ed,Ited,ed@example.com,Yes,,auto,on,,Italian")),
		"unknown-column.csv": []byte(crlf(
			"firstname,lastname,email address or device,social_messaging,monitor_call,monitor_sms",
			"A,B,a@example.com,Yes,auto,on")),
		"not-csv.xlsx": xlsx(t),
		"old.xls":      append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 504)...),
		"binary.bin":   {0x7F, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0x3E, 0},
	}
	corpus := map[string]struct {
		data            string
		social, offload bool
		maxRows         uint8
	}{
		"template-rows":   {string(Template(true)) + crlf(rows...), true, false, 0},
		"too-many":        {crlf(header10, rows[0], rows[1], rows[2]), true, false, 2},
		"offload":         {crlf(header10, rows[0], rows[1]), false, true, 0},
		"unclosed-quote":  {"email address or device,social_messaging,monitor_calls,monitor_sms\n\"a@x.com,Yes,auto,on\n", false, false, 0},
		"utf16-no-bom":    {"e\x00m\x00a\x00i\x00l\x00,\x00", false, false, 0},
		"cp1252-semi-cr":  {string(cp1252(semi(header10) + "\r" + semi(rows[0]) + "\r")), true, false, 0},
		"shape-and-notes": {"Note: x\n" + header10 + "\nNote,a@b.co,No,,,off,off,,true,,extra\nnote\n,,\nb@c.de", true, true, 3},
	}
	for name, c := range corpus {
		files[filepath.Join("fuzz", "FuzzParse", name)] = []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\nbool(%v)\nbyte(%q)\n",
			c.data, c.social, c.offload, rune(c.maxRows)))
	}
	return files
}

// xlsx returns a small zip archive shaped like an Excel workbook.
func xlsx(t *testing.T) []byte {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	w, err := z.CreateHeader(&zip.FileHeader{Name: "[Content_Types].xml", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(`<?xml version="1.0"?><Types/>`)); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTestdataUpToDate(t *testing.T) {
	for name, want := range testdataFiles(t) {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestTestdataUpToDate -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: differs from testdataFiles; run go test -run TestTestdataUpToDate -update", path)
		}
	}
}

// readTestdata reads one file of testdata/.
func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
