package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// PostgreSQL's text holds UTF-8 without NUL: a query given a NUL byte or bytes that are not
// UTF-8 fails with 22021 (character_not_in_repertoire), which the store cannot tell apart from
// a fault of its own. What a client sends is checked here first, so that such input is
// answered like any other unknown id or invalid value, never with a 500.

// storableText reports whether s is text PostgreSQL can hold: valid UTF-8 without NUL.
func storableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// errPathNotText answers a path that cannot name anything: no id holds those bytes.
func errPathNotText() *Error {
	return errorf(http.StatusNotFound, "not_found", "nothing exists at this path: it holds a NUL byte or bytes that are not UTF-8")
}

// jsonTextProblem says what in the well-formed JSON document raw cannot be stored as text:
// bytes that are not UTF-8, a \u0000 escape, or a \u escape of half a surrogate pair.
// encoding/json would quietly turn the first and the last into U+FFFD; "" when there is none.
func jsonTextProblem(raw []byte) string {
	if !utf8.Valid(raw) {
		return "bytes that are not UTF-8"
	}
	// A backslash only occurs inside strings, where it starts an escape; each escape is
	// skipped whole, so the backslash of an escaped backslash never starts another.
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if i >= len(raw) || raw[i] != 'u' {
			continue
		}
		r := hexRune(raw[i+1:])
		i += 4
		switch {
		case r == 0:
			return `a NUL character (\u0000)`
		case utf16.IsSurrogate(r):
			// A high surrogate must be followed by the escape of a low one.
			if r < 0xDC00 && i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' &&
				utf16.DecodeRune(r, hexRune(raw[i+3:])) != utf8.RuneError {
				i += 6
				continue
			}
			return `half of a UTF-16 surrogate pair (\u` + strconv.FormatInt(int64(r), 16) + `)`
		}
	}
	return ""
}

// hexRune reads the four hex digits of a \u escape at the start of b; -1 when there are none
// (only in a document that is not well-formed JSON).
func hexRune(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 32)
	if err != nil {
		return -1
	}
	return rune(n)
}
