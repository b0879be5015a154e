package mailer

import (
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The functions here stand between values that come from a CSV file or a
// template and the message header: nothing they return can start a new
// header line or smuggle a second address.

// hasControl reports whether s holds a C0 or C1 control character or DEL.
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// cleanHeaderText makes s safe for a header value: CR, LF, tab and every
// other control character become a space, runs of spaces collapse to one
// and the ends are trimmed. Unicode line and paragraph separators go too,
// and bidirectional controls are dropped.
func cleanHeaderText(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case isBidiControl(r):
			return -1
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// isBidiControl reports whether r is a bidirectional embedding, override or
// isolate (U+202A to U+202E, U+2066 to U+2069): it makes the text around it
// show in another order than it is written, and has no place in a name or a
// header. csvfile refuses the same characters in names.
func isBidiControl(r rune) bool {
	return r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069'
}

// BidiControl returns the first bidirectional control character in s, if any.
func BidiControl(s string) (rune, bool) {
	if i := strings.IndexFunc(s, isBidiControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return r, true
	}
	return 0, false
}

// needsWords reports whether a header value must be written as encoded-words
// although go-mail would pass it through: it holds "=?", so a mail client
// could read part of it as an encoded-word (RFC 2047) and decode it into
// other text, line breaks included. go-mail, through mime.WordEncoder and
// net/mail, leaves printable ASCII as it is.
func needsWords(s string) bool {
	return strings.Contains(s, "=?")
}

// encodeWords writes s as base64 encoded-words (RFC 2047) of at most 68
// characters, each holding whole characters, joined by folding whitespace:
// a reader decodes exactly s, as data.
func encodeWords(s string) string {
	const maxBytes = 42 // 56 characters of base64, 68 with =?UTF-8?B? and ?=
	var b strings.Builder
	for s != "" {
		n := min(len(s), maxBytes)
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n--
		}
		if b.Len() > 0 {
			b.WriteString("\r\n ")
		}
		b.WriteString("=?UTF-8?B?")
		b.WriteString(base64.StdEncoding.EncodeToString([]byte(s[:n])))
		b.WriteString("?=")
		s = s[n:]
	}
	return b.String()
}

// errInvalid marks a message that no retry can deliver.
var errInvalid = errors.New("invalid message")

// parseRecipient accepts only a bare address such as "anna@example.com"
// (angle brackets allowed): no display name, no list, no control characters.
func parseRecipient(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("%w: empty recipient address", errInvalid)
	}
	if hasControl(s) {
		return "", fmt.Errorf("%w: recipient address contains control characters", errInvalid)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("%w: recipient address %q: %w", errInvalid, s, err)
	}
	if a.Name != "" || (s != a.Address && s != "<"+a.Address+">") {
		return "", fmt.Errorf("%w: recipient %q is not a bare address", errInvalid, s)
	}
	return a.Address, nil
}

// normalizeMessageID checks a caller's Message-ID such as
// "<invitation-42@multiline>" and returns it without angle brackets, which
// go-mail adds back. Only printable ASCII without spaces, brackets, quotes or
// parentheses is allowed, with exactly one "@" that has text on both sides.
func normalizeMessageID(raw string) (string, error) {
	id := strings.TrimSpace(raw)
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	left, right, ok := strings.Cut(id, "@")
	if !ok || left == "" || right == "" || strings.Contains(right, "@") || len(id) > 250 {
		return "", fmt.Errorf("%w: message id %q: want <left@right>", errInvalid, raw)
	}
	for _, r := range id {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`<>()"\,;:`, r) {
			return "", fmt.Errorf("%w: message id %q: character %q not allowed", errInvalid, raw, r)
		}
	}
	return id, nil
}

// cleanContentType returns ct when it is a well-formed media type and
// application/octet-stream otherwise.
func cleanContentType(ct string) string {
	if ct == "" || hasControl(ct) {
		return "application/octet-stream"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "application/octet-stream"
	}
	return mime.FormatMediaType(mediaType, params)
}

// cleanFilename keeps an attachment name on one line and free of path
// separators and quotes.
func cleanFilename(name string) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), r == '/', r == '\\', r == '"':
			return '_'
		}
		return r
	}, cleanHeaderText(name))
	if name == "" {
		return "attachment"
	}
	return name
}

// MessageIDDomain returns the domain of the sender address from, such as
// "example.com" for "MultiLine <no-reply@example.com>", for the right-hand side of
// Message-IDs; "localhost" when from holds no usable domain.
func MessageIDDomain(from string) string {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return "localhost"
	}
	_, domain, ok := strings.Cut(a.Address, "@")
	domain = strings.Trim(domain, "[]")
	if !ok || domain == "" {
		return "localhost"
	}
	if _, err := normalizeMessageID("x@" + domain); err != nil {
		return "localhost"
	}
	return strings.ToLower(domain)
}
