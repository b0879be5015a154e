package csvfile

import "testing"

func TestMixedScripts(t *testing.T) {
	const retype = ", so it can look like another address; retype it"
	tests := []struct {
		name, addr, want string // want "" for accepted
	}{
		{"Cyrillic а in a Latin local part", "\u0430nna.rossi@example.com", "mixes Latin and Cyrillic letters (Cyrillic а, U+0430, at position 1)" + retype},
		{"capital Cyrillic А", "\u0410NNA@example.com", "mixes Latin and Cyrillic letters (Cyrillic А, U+0410, at position 1)" + retype},
		{"Cyrillic letter in the domain", "anna.rossi@ex\u0430mple.com", "mixes Latin and Cyrillic letters (Cyrillic а, U+0430, at position 14)" + retype},
		{"Cyrillic letter in the top-level domain", "anna@example.c\u043em", "mixes Latin and Cyrillic letters (Cyrillic о, U+043E, at position 15)" + retype},
		{"Greek ο in a Latin local part", "j\u03bfhn@example.com", "mixes Latin and Greek letters (Greek ο, U+03BF, at position 2)" + retype},
		{"Latin a in a Cyrillic local part", "\u0438\u0432a\u043d@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", "mixes Latin and Cyrillic letters (Latin a, U+0061, at position 3)" + retype},
		{"Cyrillic and Greek", "\u0438\u0432\u0430\u043d\u03bf@example.com", "mixes Cyrillic and Greek letters (Greek ο, U+03BF, at position 5)" + retype},
		{"labels of a local part are one part", "\u0430.rossi@example.com", "mixes Latin and Cyrillic letters (Cyrillic а, U+0430, at position 1)" + retype},

		{"Latin", "anna.rossi@example.com", ""},
		{"Latin with diacritics", "zo\u00eb.m\u00fcller@example.com", ""},
		{"Cyrillic local part, Latin domain", "\u0438\u0432\u0430\u043d@example.com", ""},
		{"Cyrillic throughout", "\u0438\u0432\u0430\u043d@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", ""},
		{"a Cyrillic label beside Latin labels", "anna@mail.\u043f\u0440\u0438\u043c\u0435\u0440.com", ""},
		{"Greek throughout", "\u03b4\u03b7\u03bc\u03ae\u03c4\u03c1\u03b7\u03c2@example.gr", ""},
		{"Latin and Han", "anna.\u674e@example.com", ""},
		{"digits and punctuation", "1.2-3_4@example.com", ""},
		{"Punycode", "anna@xn--e1afmkfd.xn--p1ai", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mixedScripts(tc.addr); got != tc.want {
				t.Errorf("mixedScripts(%q): got %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

// TestLookalikeNextToLatin parses a file holding an address and the same address with a
// Cyrillic а: the second is a row failure, not a second account.
func TestLookalikeNextToLatin(t *testing.T) {
	f, err := Parse(fileWith(rowWith(colIdentifier, "anna.rossi@example.com"), rowWith(colIdentifier, "\u0430nna.rossi@example.com")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 2 || !f.Rows[0].Valid() || f.Rows[0].Identifier != "anna.rossi@example.com" {
		t.Fatalf("got rows %+v, want the Latin address valid first", f.Rows)
	}
	want := `row 3, email address or device: "аnna.rossi@example.com" mixes Latin and Cyrillic letters (Cyrillic а, U+0430, at position 1), so it can look like another address; retype it`
	if errs := f.Rows[1].Errors; len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("look-alike row: got errors %v, want %q", errs, want)
	}
	if id := f.Rows[1].Identifier; id != "" {
		t.Errorf("look-alike row: got identifier %q, want none", id)
	}
}
