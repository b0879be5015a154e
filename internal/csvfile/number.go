package csvfile

import (
	"errors"
	"strings"
)

// NormalizeNumber returns a phone number in E.164 by the same rules as the CSV's
// multiline_number column, or an error that says what is wrong with it, quoting s as a row's
// problem does: the value a client sent is never written with a capital.
func NormalizeNumber(s string) (string, error) {
	e164, problem := normalizePhone(strings.TrimSpace(s))
	if problem != "" {
		return "", errors.New(quote(strings.TrimSpace(s)) + " " + problem)
	}
	return e164, nil
}
