package csvfile

import "fmt"

// maxReported is how many unknown columns a FileError names; a file with
// more is another kind of file, and suggesting names costs time per column.
const maxReported = 20

// unknownColumn is a header cell that names no known column.
type unknownColumn struct {
	cell       string
	suggestion string // the known column it probably means, or ""
}

// message names the unknown column and suggests the closest known one.
func (u unknownColumn) message() string {
	if u.suggestion != "" {
		return fmt.Sprintf("unknown column %s: did you mean %q?", quote(u.cell), u.suggestion)
	}
	return "unknown column " + quote(u.cell)
}

// aliases are names people give columns, for suggestions only: a file
// with them is still refused, because guessing could put data in the
// wrong place.
var aliases = map[string]string{
	"email": ColIdentifier, "e-mail": ColIdentifier, "emailaddress": ColIdentifier, "mail": ColIdentifier,
	"phone": ColIdentifier, "phonenumber": ColIdentifier, "mobile": ColIdentifier, "device": ColIdentifier,
	"identifier": ColIdentifier, "username": ColIdentifier, "login": ColIdentifier,
	"first": ColFirstname, "givenname": ColFirstname, "forename": ColFirstname, "name": ColFirstname,
	"last": ColLastname, "surname": ColLastname, "familyname": ColLastname,
	"socialmedia": ColSocialMessaging, "social": ColSocialMessaging, "whatsapp": ColSocialMessaging,
	"number": ColMultilineNumber, "multiline": ColMultilineNumber, "primarynumber": ColMultilineNumber,
	"forwarding": ColForwardingNumber, "forward": ColForwardingNumber, "lang": ColLanguage,
	"restrict": ColRestrictIncomingSocialMessaging,
}

// columnKeys holds each column's header key as runes, for editDistance.
var columnKeys = func() (keys [numColumns][]rune) {
	for i, name := range allColumns {
		keys[i] = []rune(headerKey(name))
	}
	return keys
}()

// suggestColumn returns the known column closest to cell by edit distance
// (or by a common alias), or "" when none is close enough to be a typo:
// at most a third of the name's letters, and at least 2, may differ.
func suggestColumn(cell string) string {
	key := headerKey(cell)
	if a, ok := aliases[key]; ok {
		return a
	}
	k := []rune(key)
	if len(k) > 100 {
		return "" // a header cell this long is no typo
	}
	best, bestDist := "", -1
	buf := make([]int, 2*64)
	for i, ck := range columnKeys {
		if d := editDistance(k, ck, buf); bestDist < 0 || d < bestDist {
			best, bestDist = allColumns[i], d
		}
	}
	if bestDist > max(2, len(k)/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b; buf is scratch
// space of at least 2*(len(b)+1) ints.
func editDistance(a, b []rune, buf []int) int {
	prev, cur := buf[:len(b)+1], buf[len(b)+1:2*(len(b)+1)]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
