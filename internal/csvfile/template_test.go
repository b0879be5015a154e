package csvfile

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

func TestTemplateShape(t *testing.T) {
	for _, social := range []bool{true, false} {
		tpl := Template(social)
		if !bytes.HasSuffix(tpl, []byte("\r\n")) || bytes.Count(tpl, []byte("\r\n")) != 2 || bytes.Count(tpl, []byte("\n")) != 2 {
			t.Errorf("social=%v: got %q, want two CRLF lines", social, tpl)
		}
		r := csv.NewReader(bytes.NewReader(tpl))
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("social=%v: %v", social, err)
		}
		if got, want := strings.Join(recs[0], ","), strings.Join(Columns(social), ","); got != want {
			t.Errorf("social=%v header: got %q, want %q", social, got, want)
		}
		note := recs[1][0]
		for _, s := range []string{"Note:", "DELETE THIS LINE", ColIdentifier, "Yes or No", "auto or off", "on or off", "4 to 18 digits", "English, Italian, German, French or Spanish"} {
			if !strings.Contains(note, s) {
				t.Errorf("social=%v note: got %q, want it to mention %q", social, note, s)
			}
		}
		if got := strings.Contains(note, ColRestrictIncomingSocialMessaging); got != social {
			t.Errorf("social=%v note mentions restrict: got %v, want %v", social, got, social)
		}
	}
}

func TestTemplateAloneHasNoRows(t *testing.T) {
	for _, social := range []bool{true, false} {
		fe := fileError(t, string(Template(social)), Options{SocialMessaging: social})
		if fe.Code != "no_rows" || !strings.Contains(fe.Message, "line 2 is the template's Note line") {
			t.Errorf("social=%v: got %s %q, want no_rows naming the Note line", social, fe.Code, fe.Message)
		}
	}
}

func TestTemplateWithRows(t *testing.T) {
	data := string(Template(false)) +
		"Ann,Lee,ann@example.com,Yes,,auto,on,,English\r\n" +
		"Bob,Ray,+1 555 010 0001,No,+1 555 010 0002,off,off,+1 555 010 0003,it\r\n"
	f, err := Parse([]byte(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f.NoteLine != 2 {
		t.Errorf("NoteLine: got %d, want 2", f.NoteLine)
	}
	checkRows(t, f, "3 ann@example.com", "4 +15550100001")
	if f.Valid() != 2 || f.Invalid() != 0 {
		t.Errorf("valid/invalid: got %d/%d, want 2/0", f.Valid(), f.Invalid())
	}
}
