package sentence_test

import (
	"testing"

	"github.com/multiline/onboarding/internal/sentence"
)

func TestCapitalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a", "A"},
		{"the file is empty; fill in the template and upload it", "The file is empty; fill in the template and upload it"},
		{"row 4, email address or device: is empty", "Row 4, email address or device: is empty"},
		{"note: line 2 is the Note line", "Note: line 2 is the Note line"},
		{"école fermée", "École fermée"},
		{"é", "É"},
		{"ǆungla", "ǅungla"}, // a digraph takes its title case, not its upper case
		{"don't", "Don't"},
		{"e-mail addresses only", "E-mail addresses only"},
		{"Already upper case", "Already upper case"},
		{"Élan", "Élan"},
		{`"on" is not one of auto, off`, `"on" is not one of auto, off`},
		{"“on” is not one of auto, off", "“on” is not one of auto, off"},
		{"'x' is not valid", "'x' is not valid"},
		{"4 rows need a free number", "4 rows need a free number"},
		{"+15550100001 is reserved", "+15550100001 is reserved"},
		{"{{.Link}} is missing from the text", "{{.Link}} is missing from the text"},
		{"multiline_number +15550100001 is reserved", "multiline_number +15550100001 is reserved"},
		{"dry_run must be true or false", "dry_run must be true or false"},
		{"example.com answered 550", "example.com answered 550"},
		{"iPhone users", "iPhone users"},
		{"x86 only", "x86 only"},
		{"admin@example.com is taken", "admin@example.com is taken"},
		{" leading space", " leading space"},
		{"\xffbytes that are not UTF-8", "\xffbytes that are not UTF-8"},
		{"ßtraße", "ßtraße"}, // ß has no one-rune upper case: left as it is
	} {
		if got := sentence.Capitalize(tc.in); got != tc.want {
			t.Errorf("Capitalize(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}
