package mailer

import (
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"unicode"
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
// and the ends are trimmed. Unicode line and paragraph separators go too.
func cleanHeaderText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
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
