// Package sentence writes text for people: messages in API answers, reasons in reports and
// what mlctl prints. Go error strings start lower case, because they are composed into
// other messages ("read header: " + err); the text a person reads starts with a capital.
// Each place where text leaves for a person calls Capitalize once, instead of every literal
// being written twice, once per case.
package sentence

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Capitalize returns s with its first letter upper case: "row 4, monitor_calls: …" becomes
// "Row 4, monitor_calls: …", "école" becomes "École". s is returned as it is when it starts
// with anything but a lower-case letter (a quote, a digit, "{{.Link}}", an upper-case
// letter), and when its first word is code or a name rather than a word: one holding an
// underscore, a dot, a digit or a symbol, or an upper-case letter after the first
// ("multiline_number", "example.com", "iPhone"), which would be wrong with a capital.
func Capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if !unicode.IsLower(r) || !plainWord(firstWord(s)) {
		return s
	}
	return string(unicode.ToTitle(r)) + s[size:]
}

// firstWord is s up to its first space, without the punctuation that may end a word.
func firstWord(s string) string {
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		s = s[:i]
	}
	return strings.TrimRight(s, `,;:.!?)"'`)
}

// plainWord reports whether w is a lower-case word of letters, hyphens and apostrophes.
func plainWord(w string) bool {
	for _, r := range w {
		switch {
		case unicode.IsLower(r), r == '-', r == '\'', r == '’':
		case unicode.IsLetter(r) && !unicode.IsUpper(r) && !unicode.IsTitle(r): // scripts without case
		default:
			return false
		}
	}
	return true
}
