package csvfile

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the most characters (runes) a first or last name may have.
const MaxNameLength = 100

// maxEmailLength is the longest email address SMTP allows.
const maxEmailLength = 254

// checkName refuses control characters, bidirectional controls, unreadable
// characters and names longer than MaxNameLength; any other Unicode text is a
// name.
func checkName(s string) string {
	n := 0
	for _, r := range s {
		n++
		switch {
		case r == '\n' || r == '\t':
			return "contains a line break or a tab; write the name on one line"
		case unicode.IsControl(r):
			return fmt.Sprintf("contains the control character %U; remove it", r)
		case isBidiControl(r):
			return fmt.Sprintf("contains the invisible bidirectional control character %U, which makes text show in another order than it is written; remove it", r)
		case r == utf8.RuneError:
			return "contains a character that could not be read (\uFFFD); save the file as CSV UTF-8 and upload it again"
		}
	}
	if n > MaxNameLength {
		return fmt.Sprintf("is %d characters long; the limit is %d", n, MaxNameLength)
	}
	return ""
}

// isBidiControl reports whether r is a bidirectional embedding, override or
// isolate (U+202A to U+202E, U+2066 to U+2069). In a name it can make an
// email's subject or greeting read as something else; the mailer drops the
// same characters from headers.
func isBidiControl(r rune) bool {
	return r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069'
}

// parseIdentifier reads the "email address or device" cell: an address when
// it has an "@", otherwise a phone number.
func parseIdentifier(s string, smtpOffload bool) (id, kind, problem string) {
	if strings.IndexByte(s, '@') >= 0 {
		id, problem = normalizeEmail(s)
		return id, KindEmail, problem
	}
	if isScientific(s) {
		return "", KindPhone, msgScientific
	}
	if smtpOffload {
		if looksLikeIdentifier(s) {
			return "", KindPhone, "is a phone number, but this organization uses SMTP data offload: give the user's email address"
		}
		return "", "", "is not an email address; this organization uses SMTP data offload, so every account needs one"
	}
	if !strings.ContainsFunc(s, unicode.IsDigit) || strings.ContainsFunc(s, unicode.IsLetter) {
		return "", "", "is not an email address or " + phoneExample
	}
	id, problem = normalizePhone(s)
	return id, KindPhone, problem
}

// normalizeEmail accepts a bare address (no display name, no angle
// brackets) with a domain that has a dot, and lower-cases it. An address
// whose local part or a domain label mixes Latin, Cyrillic and Greek letters
// is refused: it can pass for another person's (see mixedScripts).
func normalizeEmail(s string) (string, string) {
	if len(s) > maxEmailLength {
		return "", fmt.Sprintf("is too long for an email address (%d characters; the limit is %d)", len(s), maxEmailLength)
	}
	if simpleEmail(s) {
		return strings.ToLower(s), "" // the common case, without ParseAddress's allocations
	}
	addr, err := mail.ParseAddress(s)
	if err != nil {
		return "", "is not a valid email address; write it as name@example.com"
	}
	if addr.Name != "" || addr.Address != s {
		return "", fmt.Sprintf("has more than the address; put only the address, e.g. %s", addr.Address)
	}
	domain := addr.Address[strings.LastIndexByte(addr.Address, '@')+1:]
	if !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") || strings.HasPrefix(domain, "[") {
		return "", "is not a valid email address: the domain after @ must be a name such as example.com"
	}
	if p := mixedScripts(addr.Address); p != "" {
		return "", p
	}
	return strings.ToLower(addr.Address), ""
}

// simpleEmail reports whether s is a plain address: a dot-atom local part
// of letters, digits and !#$%&'*+/=?^_`{|}~- , an "@", and a domain of at
// least two labels of ASCII letters, digits and inner hyphens. Every such
// address is one that mail.ParseAddress accepts unchanged.
func simpleEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at < 1 || at > 64 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	prev := byte('.')
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case c == '.':
			if prev == '.' {
				return false
			}
		case isAlnum(c) || strings.IndexByte("!#$%&'*+/=?^_`{|}~-", c) >= 0:
		default:
			return false
		}
		prev = c
	}
	if prev == '.' {
		return false
	}
	labels, start := 0, 0
	for i := 0; i <= len(domain); i++ {
		if i < len(domain) && domain[i] != '.' {
			if c := domain[i]; !isAlnum(c) && c != '-' {
				return false
			}
			continue
		}
		label := domain[start:i]
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' || len(label) > 63 {
			return false
		}
		labels++
		start = i + 1
	}
	return labels >= 2
}

// isAlnum reports whether c is an ASCII letter or digit.
func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// yesNo parses the social_messaging cell.
func yesNo(s string) (v, ok bool) {
	switch {
	case strings.EqualFold(s, "yes"):
		return true, true
	case strings.EqualFold(s, "no"):
		return false, true
	}
	return false, false
}

// trueFalse parses the restrict_incoming_social_messaging cell.
func trueFalse(s string) (v, ok bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// keyword returns the one of words that s equals ignoring case, or "".
func keyword(s string, words ...string) string {
	for _, w := range words {
		if strings.EqualFold(s, w) {
			return w
		}
	}
	return ""
}

// languages maps the accepted Language values, lower-cased, to ISO codes.
var languages = map[string]string{
	"english": "en", "en": "en", "eng": "en",
	"italian": "it", "it": "it", "ita": "it", "italiano": "it",
	"german": "de", "de": "de", "deu": "de", "ger": "de", "deutsch": "de",
	"french": "fr", "fr": "fr", "fra": "fr", "fre": "fr", "français": "fr", "francais": "fr",
	"spanish": "es", "es": "es", "spa": "es", "español": "es", "espanol": "es", "castellano": "es",
}

// parseLanguage returns the ISO code for a Language cell: a name in English
// or in the language itself, or an ISO code, optionally with a region
// ("en-GB", "fr_CA").
func parseLanguage(s string) string {
	var buf [16]byte
	l, ok := lowerASCII(s, buf[:0])
	if !ok {
		l = []byte(strings.ToLower(s)) // Français, ESPAÑOL
	}
	if code, ok := languages[string(l)]; ok {
		return code
	}
	if len(l) > 3 && (l[2] == '-' || l[2] == '_') {
		return languages[string(l[:2])]
	}
	return ""
}

// lowerASCII appends s lower-cased to buf if s is ASCII and fits in buf.
func lowerASCII(s string, buf []byte) ([]byte, bool) {
	if len(s) > cap(buf) {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			return nil, false
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf, true
}

// Accepted values, as messages list them.
const (
	acceptSocial    = "Yes, No"
	acceptCalls     = "auto, off"
	acceptSMS       = "on, off"
	acceptRestrict  = "true, false"
	acceptLanguages = "English, Italian, German, French, Spanish (or en, it, de, fr, es)"
)
