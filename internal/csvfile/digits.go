package csvfile

import (
	"fmt"
	"strings"
)

// msgScientific is the advice for a number Excel displayed (and saved) in
// scientific notation, which has lost its last digits for good.
const msgScientific = ": Excel turned this number into scientific notation; format the column as Text and re-enter it"

// plainDigits appends the ASCII digits of s to buf when s is written with
// only digits, spaces, dashes, dots, slashes, parentheses and one leading
// "+"; ok is false for anything else, and when buf's capacity runs out.
func plainDigits(s string, buf []byte) (digits []byte, plus, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if len(buf) == cap(buf) {
				return nil, false, false
			}
			buf = append(buf, c)
		case c == '+':
			if plus || len(buf) > 0 {
				return nil, false, false
			}
			plus = true
		case c == ' ' || c == '-' || c == '.' || c == '/' || c == ')':
		case c == '(':
			if strings.HasPrefix(s[i:], "(0)") {
				return nil, false, false // "+44 (0)20": a national prefix
			}
		case c >= 0x80:
			n := spaceOrDash(s[i:])
			if n == 0 {
				return nil, false, false
			}
			i += n - 1
		default:
			return nil, false, false
		}
	}
	return buf, plus, true
}

// spaceOrDash returns the byte length of the non-ASCII space or dash that
// starts s (no-break, narrow no-break and thin spaces, non-breaking hyphen,
// en dash), which spreadsheets in some locales put inside numbers, or 0.
func spaceOrDash(s string) int {
	for _, p := range []string{"\u00A0", "\u202F", "\u2009", "\u2011", "\u2013"} {
		if strings.HasPrefix(s, p) {
			return len(p)
		}
	}
	return 0
}

// trimApostrophe drops the leading apostrophe that makes a spreadsheet keep
// a number as text ("'+15550100001"), when some tool saved it too.
func trimApostrophe(s string) string {
	if len(s) > 1 && s[0] == '\'' && (s[1] == '+' || s[1] >= '0' && s[1] <= '9') {
		return s[1:]
	}
	return s
}

// isScientific recognises numbers such as 1.555E+10 or 4,4207946E+11.
func isScientific(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return false
	}
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i >= len(s) || (s[i] != 'e' && s[i] != 'E') {
		return false
	}
	i++
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	start = i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i > start && i == len(s)
}

// normalizeForwarding turns a forwarding number into "+" and 4 to 18 digits.
// Spaces, dashes, dots, slashes and parentheses are dropped, and a leading
// "+" or "00" is the international prefix.
func normalizeForwarding(s string) (string, string) {
	s = trimApostrophe(s)
	if isScientific(s) {
		return "", msgScientific
	}
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "00") {
		s = strings.Replace(s, "(0)", "", 1) // +44 (0)20: the 0 is dialled only at home
	}
	var buf [40]byte
	digits, plus, ok := plainDigits(s, buf[:0])
	if !ok {
		return "", "is not a forwarding number: use 4 to 18 digits with country code, e.g. +44 20 7946 0958"
	}
	if !plus && len(digits) > 2 && digits[0] == '0' && digits[1] == '0' {
		digits = digits[2:]
	}
	if len(digits) < 4 || len(digits) > 18 {
		return "", fmt.Sprintf("has %d digits; a forwarding number has 4 to 18 digits with country code", len(digits))
	}
	return "+" + string(digits), ""
}
